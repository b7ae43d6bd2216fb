//! `wsgate-bench`: measures the gateway against a bare tokio-tungstenite echo
//! server in the same run, and writes docs/benchmarks.md and .json.

mod client;
mod echo;
mod fanout;
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
    if let Some(Command::Routed) = args.command {
        let gw = scenarios::gateway_for_messages().await?;
        let max = scenarios::routed(&gw, args.senders, run, None).await?;
        eprintln!("max: {max:?}");
        let one = scenarios::routed(&gw, 1, run, None).await?;
        eprintln!("one sender: {one:?}");
        let (push, delivered) = scenarios::pushes(&gw, 1000, 8, run).await?;
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
    let (push, delivered) = scenarios::pushes(&gw, 1000.min(args.connections), 8, run).await?;
    let echo_send = scenarios::routed(&echo, 1000.min(args.connections), run, None).await?;
    report.pushes(&push, delivered, &echo_send);
    gw.stop().await;
    echo.stop().await;

    eprintln!("cold starts: the first message to a function with no instance…");
    let cold = scenarios::cold_starts(5).await?;
    report.cold(&cold);

    eprintln!(
        "fan-out: one NotifyUser message to {} sockets, through moto…",
        args.fanout
    );
    let fan = fanout::run(args.fanout, 5).await?;
    report.fanout(&fan);

    report.write(&args.out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
