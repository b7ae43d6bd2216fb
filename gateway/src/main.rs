//! `wsgate`: runs one WebSocket API from a config file until Ctrl-C or SIGTERM.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;
use wsgate::{Config, Gateway};

#[derive(Parser)]
#[command(version, about = "The AWS API Gateway WebSocket API, run locally")]
struct Args {
    /// The config file describing the API, its routes and functions.
    #[arg(short, long, env = "WSGATE_CONFIG", default_value = "wsgate.toml")]
    config: PathBuf,
    /// Listen address, overriding `api.listen` (port 0 picks a free one).
    #[arg(short, long, env = "WSGATE_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// DynamoDB/SQS endpoint, overriding `aws.endpoint_url`; `aws` means real AWS.
    #[arg(long, env = "WSGATE_AWS_ENDPOINT_URL")]
    aws_endpoint_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = Config::load(&args.config)?;
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    match args.aws_endpoint_url.as_deref() {
        None | Some("") => {}
        Some("aws") => config.aws.endpoint_url = None,
        Some(url) => config.aws.endpoint_url = Some(url.to_string()),
    }
    // Signal handlers before "ready", so a signal right after start-up is not fatal.
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let gateway = Gateway::start(config)
        .await
        .context("cannot start wsgate")?;
    // Printing must not fail the gateway when its output is a closed pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "wsgate ready: {}", gateway.ws_url());
    let _ = writeln!(
        out,
        "management API: {}/@connections/{{connectionId}}",
        gateway.management_endpoint()
    );
    tokio::select! {
        _ = term.recv() => {}
        _ = interrupt.recv() => {}
    }
    gateway.shutdown().await;
    Ok(())
}
