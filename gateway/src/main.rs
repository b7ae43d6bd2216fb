//! `wsgate`: runs one WebSocket API from a config file until Ctrl-C or SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let mut config = Config::load(&args.config)?;
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    let gateway = Gateway::start(config)
        .await
        .context("cannot start wsgate")?;
    println!("wsgate ready: {}", gateway.ws_url());
    println!(
        "management API: {}/@connections/{{connectionId}}",
        gateway.management_endpoint()
    );
    wait_for_signal().await?;
    gateway.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}
