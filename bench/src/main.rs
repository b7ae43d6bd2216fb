//! `wsgate-bench`: measures the gateway against a bare tokio-tungstenite echo
//! server in the same run, and writes docs/benchmarks.md and .json.

mod backends;
mod burst;
mod client;
mod echo;
mod peer;
mod report;
mod scenarios;
mod target;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Idle sockets to hold (this machine allows 20000 open files per process).
    #[arg(long, default_value_t = 15000)]
    connections: usize,
    /// Sockets sending routed messages.
    #[arg(long, default_value_t = 64)]
    senders: usize,
    /// Seconds per load measurement.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Sockets of the one user in the fan-out scenario.
    #[arg(long, default_value_t = 1000)]
    fanout: usize,
    /// Backlogs of NotifyConnection messages to drain.
    #[arg(long, value_delimiter = ',', default_value = "2000,10000")]
    backlogs: Vec<usize>,
    /// Sockets the backlog is spread over (one user each).
    #[arg(long, default_value_t = 100)]
    backlog_sockets: usize,
    /// NotifyUser messages in the app's burst.
    #[arg(long, default_value_t = 2000)]
    burst: usize,
    /// Users in the burst, each with `--burst-sockets` sockets.
    #[arg(long, default_value_t = 5)]
    burst_users: usize,
    #[arg(long, default_value_t = 4)]
    burst_sockets: usize,
    /// Sockets sending to the Node echo service on wsgate and on serverless-offline.
    #[arg(long, default_value_t = 50)]
    peer_senders: usize,
    /// Builds the burst runs on: debug (scripts/dev's) and release.
    #[arg(long, value_delimiter = ',', default_value = "debug,release")]
    builds: Vec<String>,
    /// Backends the app scenarios run on (ministack, moto).
    #[arg(long, value_delimiter = ',', default_value = "ministack,moto")]
    backends: Vec<String>,
    /// Where the report goes (Markdown; the JSON goes beside it).
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// The baseline server (run by the benchmark itself).
    EchoServer,
    /// Only the routed and push scenarios against the gateway, printed (for profiling).
    Routed,
    /// Only the push scenario against the gateway, printed (for profiling).
    Pushes,
    /// Only the app's scenarios (fan-out, backlog drains) on each backend, printed.
    Backends,
    /// Only the app's burst on each backend and build, printed.
    Burst,
    /// Only the Node echo service on wsgate and on serverless-offline, printed.
    Peer,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::EchoServer) = args.command {
        client::raise_fd_limit();
        return echo::serve().await;
    }
    let limit = client::raise_fd_limit();
    eprintln!("open-file limit: {limit}");
    let run = Duration::from_secs(args.seconds);
    if let Some(Command::Backends) = args.command {
        app_scenarios(&args).await?;
        return Ok(());
    }
    if let Some(Command::Peer) = args.command {
        peer::compare(args.peer_senders, run).await?;
        return Ok(());
    }
    if let Some(Command::Burst) = args.command {
        bursts(&args).await?;
        return Ok(());
    }
    if let Some(Command::Pushes) = args.command {
        let gw = scenarios::gateway_for_messages().await?;
        let (push, delivered) = scenarios::pushes(&gw, 1000, 8, run, true).await?;
        eprintln!("pushes: {push:?}, {delivered:.0} delivered/s");
        gw.stop().await;
        return Ok(());
    }
    if let Some(Command::Routed) = args.command {
        let gw = scenarios::gateway_for_messages().await?;
        let max = scenarios::routed(&gw, args.senders, run, None).await?;
        eprintln!("max: {max:?}");
        let one = scenarios::routed(&gw, 1, run, None).await?;
        eprintln!("one sender: {one:?}");
        let (push, delivered) = scenarios::pushes(&gw, 1000, 8, run, true).await?;
        eprintln!("pushes: {push:?}, {delivered:.0} delivered/s");
        gw.stop().await;
        return Ok(());
    }
    let mut report = report::Report::new(&args);

    eprintln!("idle sockets: {} on the echo baseline…", args.connections);
    let echo = target::echo_server().await?;
    let echo_idle = scenarios::idle(&echo, args.connections).await?;
    eprintln!("idle sockets: the gateway without $connect…");
    let gw = target::gateway(false, "").await?;
    let gw_idle = scenarios::idle(&gw, args.connections).await?;
    gw.stop().await;
    eprintln!("idle sockets: the gateway with a no-op $connect…");
    let gw = target::gateway(true, "").await?;
    let gw_idle_connect = scenarios::idle(&gw, args.connections).await?;
    gw.stop().await;
    report.idle(&echo_idle, &gw_idle, &gw_idle_connect);

    eprintln!(
        "routed messages: {} senders, as fast as they go…",
        args.senders
    );
    let echo_max = scenarios::routed(&echo, args.senders, run, None).await?;
    let gw = scenarios::gateway_for_messages().await?;
    let gw_max = scenarios::routed(&gw, args.senders, run, None).await?;
    let half = gw_max.messages_per_sec / 2.0 / args.senders as f64;
    eprintln!("routed messages: at half of the gateway's maximum…");
    let gw_half = scenarios::routed(&gw, args.senders, run, Some(half)).await?;
    let echo_half = scenarios::routed(&echo, args.senders, run, Some(half)).await?;
    report.routed(&echo_max, &gw_max, &echo_half, &gw_half);
    eprintln!("routed messages: one sender, one at a time…");
    let echo_one = scenarios::routed(&echo, 1, run, None).await?;
    let gw_one = scenarios::routed(&gw, 1, run, None).await?;
    report.single(&echo_one, &gw_one);

    eprintln!("pushes: @connections POSTs…");
    let (push, delivered) =
        scenarios::pushes(&gw, 1000.min(args.connections), 8, run, true).await?;
    let echo_send = scenarios::routed(&echo, 1000.min(args.connections), run, None).await?;
    gw.stop().await;
    eprintln!("pushes: @connections POSTs, unsigned, to a gateway with sigv4 = false…");
    let gw = scenarios::gateway_for_messages_with("sigv4 = false").await?;
    let (unsigned, unsigned_delivered) =
        scenarios::pushes(&gw, 1000.min(args.connections), 8, run, false).await?;
    report.pushes(&push, delivered, &unsigned, unsigned_delivered, &echo_send);
    gw.stop().await;
    echo.stop().await;

    let sides = peer::compare(args.peer_senders, run).await?;
    report.peer(&sides);

    eprintln!("cold starts: the first message to a function with no instance…");
    let cold = scenarios::cold_starts(5).await?;
    report.cold(&cold);

    let backends = app_scenarios(&args).await?;
    report.backends(&backends);
    let bursts = bursts(&args).await?;
    report.bursts(&bursts);

    report.write(&args.out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}

/// The app's fan-out and backlog drains on each backend, each on a fresh app.
async fn app_scenarios(
    args: &Args,
) -> anyhow::Result<Vec<(backends::Fanout, Vec<backends::Drain>)>> {
    let mut results = Vec::new();
    for name in &args.backends {
        let kind = backend_kind(name)?;
        eprintln!(
            "fan-out on {name}: one NotifyUser message to {} sockets…",
            args.fanout
        );
        let app = backends::App::start(kind).await?;
        let fan = backends::fanout(&app, args.fanout, 5).await?;
        eprintln!("{fan:?}");
        drop(app);
        let mut drains = Vec::new();
        for &n in &args.backlogs {
            eprintln!("backlog on {name}: {n} NotifyConnection messages queued, then drained…");
            let app = backends::App::start(kind).await?;
            let drain =
                backends::backlog(&app, n, args.backlog_sockets, Duration::from_secs(120)).await?;
            eprintln!("{drain:?}");
            drains.push(drain);
        }
        results.push((fan, drains));
    }
    Ok(results)
}

/// Every backend the app scenarios know, in the order the report lists them.
pub const BACKENDS: [&str; 2] = ["ministack", "moto"];

fn backend_kind(name: &str) -> anyhow::Result<testkit::Kind> {
    match name {
        "ministack" => Ok(testkit::Kind::MiniStack),
        "moto" => Ok(testkit::Kind::Moto),
        other => anyhow::bail!("unknown backend {other}: ministack or moto"),
    }
}

/// The app's burst on each backend, with each build, each on a fresh app.
async fn bursts(args: &Args) -> anyhow::Result<Vec<burst::Burst>> {
    let release = target::bin("wsgate")
        .parent()
        .map(std::path::Path::to_owned)
        .unwrap_or_default();
    let mut results = Vec::new();
    for name in &args.backends {
        let kind = backend_kind(name)?;
        for build in &args.builds {
            let (build, dir): (&'static str, _) = match build.as_str() {
                "release" => ("release", release.clone()),
                // target/debug beside target/release: the workspace's test build.
                "debug" => ("debug", release.with_file_name("debug")),
                other => anyhow::bail!("unknown build {other}: debug or release"),
            };
            anyhow::ensure!(
                dir.join("notify-user").exists(),
                "{} has no handler binaries: cargo build --workspace{}",
                dir.display(),
                if build == "release" { " --release" } else { "" }
            );
            eprintln!(
                "burst on {name}, {build} build: {} NotifyUser messages for {} users with {} sockets each…",
                args.burst, args.burst_users, args.burst_sockets
            );
            let app = backends::App::start_from(kind, &dir).await?;
            let run = burst::burst(
                &app,
                build,
                args.burst_users,
                args.burst_sockets,
                args.burst,
                Duration::from_secs(180),
            )
            .await?;
            eprintln!("{run:?}");
            results.push(run);
        }
    }
    Ok(results)
}
