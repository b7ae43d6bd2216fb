//! `wsgate`: runs one WebSocket API from a config file until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use wsgate::config::ApiConfig;
use wsgate::discover::Input;
use wsgate::template::{self, TemplateOptions};
use wsgate::{Config, Gateway};

fn parse_parameter(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}` is not Name=value"))
}

#[derive(Parser)]
#[command(
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("WSGATE_COMMIT"), ")"),
    about = "The AWS API Gateway WebSocket API, run locally"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The config file describing the API, its routes and functions. With no
    /// --config, --template or --serverless, the current folder's wsgate.toml,
    /// template.yaml, .aws-sam/build/template.yaml, serverless.yml or
    /// cdk.out/*.template.json is run, in that order.
    #[arg(short, long, env = "WSGATE_CONFIG")]
    config: Option<PathBuf>,
    /// A SAM / CloudFormation template (YAML or JSON) to run instead of a config file.
    #[arg(short, long, env = "WSGATE_TEMPLATE", conflicts_with = "config")]
    template: Option<PathBuf>,
    /// A Serverless Framework service file (serverless.yml); `-p stage=prod` is `--stage prod`.
    #[arg(long, env = "WSGATE_SERVERLESS", conflicts_with_all = ["config", "template"])]
    serverless: Option<PathBuf>,
    /// A template parameter: `Name=value` (repeat for more; in the environment, space-separated).
    #[arg(short = 'p', long = "parameter", env = "WSGATE_PARAMETERS", value_delimiter = ' ', value_parser = parse_parameter)]
    parameters: Vec<(String, String)>,
    /// Another stack's export for `Fn::ImportValue`: `Name=value` (repeat for more; in the environment, space-separated).
    #[arg(long = "import", env = "WSGATE_IMPORTS", value_delimiter = ' ', value_parser = parse_parameter)]
    imports: Vec<(String, String)>,
    /// Where the template's function binaries are (default: `$CARGO_TARGET_DIR` or target, then debug/).
    #[arg(long, env = "WSGATE_BIN_DIR")]
    bin_dir: Option<PathBuf>,
    /// A folder to serve at /web/ beside a template's API.
    #[arg(long, env = "WSGATE_STATIC_DIR")]
    static_dir: Option<PathBuf>,
    /// `AWS::StackName` in a template.
    #[arg(long, env = "WSGATE_STACK_NAME", default_value = "wsgate")]
    stack_name: String,
    /// `AWS::Region` in a template.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// The Python that runs a template's python* functions (with awslambdaric).
    #[arg(long, env = "WSGATE_PYTHON", default_value = "python3")]
    python: String,
    /// Listen address, overriding `api.listen` (port 0 picks a free one).
    #[arg(short, long, env = "WSGATE_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// DynamoDB/SQS endpoint, overriding `aws.endpoint_url`; `aws` means real AWS.
    #[arg(long, env = "WSGATE_AWS_ENDPOINT_URL")]
    aws_endpoint_url: Option<String>,
    /// `human` lines, or `json`: one object per line (time, level, function, request id, connection, message).
    #[arg(long, env = "WSGATE_LOG_FORMAT", value_enum, default_value = "human")]
    log_format: wsgate::logs::LogFormat,
    /// Reload a function when its code (binary, code folder, layers) changes on disk.
    #[arg(long, env = "WSGATE_WATCH")]
    watch: bool,
    /// Run this command (in the config's folder) when sources change, e.g. `cargo build`;
    /// a failed build leaves the last good code running.
    #[arg(long, env = "WSGATE_BUILD")]
    build: Option<String>,
    /// Turn off the live inspector at `/_wsgate/`.
    #[arg(long, env = "WSGATE_NO_INSPECTOR")]
    no_inspector: bool,
    /// Accept unsigned requests on `@connections` and the Lambda API (AWS requires SigV4).
    #[arg(long, env = "WSGATE_NO_SIGV4")]
    no_sigv4: bool,
    /// Install nothing (runtimes, the default backend): say what is missing instead.
    #[arg(long, env = "WSGATE_OFFLINE")]
    offline: bool,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Writes a commented wsgate.toml here: the choices a template cannot express.
    Init,
    /// Installs what runs need into the per-user cache ahead of time (for CI and
    /// images): the Node runtime, the Python runtime, the default backend (MiniStack).
    Setup {
        #[arg(value_enum, default_value = "all")]
        what: SetupWhat,
    },
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum SetupWhat {
    Node,
    Python,
    Backend,
    All,
}

/// `wsgate setup`: each part into its usual place in the cache.
async fn setup(what: SetupWhat) -> anyhow::Result<()> {
    use wsgate::setup::{
        cache_dir, ensure_functions_venv, ensure_ministack_venv, ensure_node_runtime,
    };
    let all = what == SetupWhat::All;
    if all || what == SetupWhat::Node {
        let dir = wsgate::setup::node_runtime_dir();
        ensure_node_runtime(&dir, false).await?;
        println!("the Node runtime: {}", dir.display());
    }
    if all || what == SetupWhat::Python {
        let python =
            ensure_functions_venv(&cache_dir("WSGATE_PYTHON_VENV", "python"), false).await?;
        println!("the Python runtime: {}", python.display());
    }
    if all || what == SetupWhat::Backend {
        let python =
            ensure_ministack_venv(&cache_dir("WSGATE_MINISTACK_VENV", "ministack"), false).await?;
        println!("MiniStack: {}", python.display());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    wsgate::logs::init(args.log_format);
    match args.command {
        Some(Command::Init) => return init(std::path::Path::new("wsgate.toml")),
        Some(Command::Setup { what }) => return setup(what).await,
        None => {}
    }
    tokio::spawn(wsgate::memory::give_back_periodically());
    let mut configs = load(&args)?;
    // No backend given and the model needs one: what answers on 4566, else MiniStack.
    // (A config that names the default backend's own address counts as none.)
    let _backend = if args.aws_endpoint_url.as_deref().is_none_or(str::is_empty)
        && configs.iter().all(|c| {
            c.aws
                .endpoint_url
                .as_deref()
                .is_none_or(wsgate::setup::is_default_backend)
        })
        && wsgate::setup::uses_backend(&configs)
    {
        let started = wsgate::setup::default_backend(args.offline).await?;
        let endpoint = started.as_ref().map_or_else(
            || format!("http://{}", "127.0.0.1:4566"),
            |b| b.endpoint.clone(),
        );
        // Loaded again: queue URLs and the functions' endpoints follow the backend.
        let _ = DEFAULT_ENDPOINT.set(endpoint);
        configs = load(&args)?;
        started
    } else {
        None
    };
    wsgate::setup::ensure_runtimes(&mut configs, &needs(&args)).await?;
    // Signal handlers before "ready", so a signal right after start-up is not fatal.
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut gateways = Vec::new();
    for config in configs {
        let gateway = Gateway::start(config)
            .await
            .context("cannot start wsgate")?;
        announce(&gateway);
        gateways.push(gateway);
    }
    let (changed_tx, mut changed) = tokio::sync::mpsc::unbounded_channel();
    let _model_watcher = if args.watch {
        watch_file(&model_file(&args), changed_tx)
            .map_err(|e| tracing::warn!("cannot watch {}: {e}", model_file(&args).display()))
            .ok()
    } else {
        None
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = interrupt.recv() => break,
            Some(_) = changed.recv() => {
                // A save is often several writes: wait for them to settle.
                while let Ok(Some(_)) =
                    tokio::time::timeout(std::time::Duration::from_millis(300), changed.recv()).await
                {}
                reload(&args, &gateways).await;
            }
        }
    }
    for gateway in gateways {
        gateway.shutdown().await;
    }
    Ok(())
}

/// The configs to run, from the template or the config file, with the
/// command line's overrides: the first is the main API, then any others.
/// What the runtimes' setup may do for this run.
fn needs(args: &Args) -> wsgate::setup::Needs {
    wsgate::setup::Needs {
        offline: args.offline,
        python_given: std::env::var_os("WSGATE_PYTHON").is_some() || args.python != "python3",
    }
}

/// The backend wsgate chose itself (no `--aws-endpoint-url`), for every later load.
static DEFAULT_ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn load(args: &Args) -> anyhow::Result<Vec<Config>> {
    let given = args.aws_endpoint_url.as_deref().filter(|e| !e.is_empty());
    let endpoint = match given.or(DEFAULT_ENDPOINT.get().map(String::as_str)) {
        None | Some("") => None,
        Some("aws") => Some(None),
        Some(url) => Some(Some(url.to_string())),
    };
    let mut more = Vec::new();
    let options = TemplateOptions {
        parameters: args.parameters.iter().cloned().collect(),
        imports: args.imports.iter().cloned().collect(),
        bin_dir: args.bin_dir.clone(),
        python: args.python.clone(),
        stack_name: args.stack_name.clone(),
        region: args.region.clone(),
        endpoint_url: endpoint.clone().flatten(),
        listen: args.listen.unwrap_or(ApiConfig::default().listen),
        static_dir: args.static_dir.clone(),
        ..TemplateOptions::default()
    };
    let input = input(args)?;
    let mut config = match &input {
        Input::Config(path) => Config::load(path)?,
        Input::Template(path) | Input::Serverless(path) => {
            let loaded = match input {
                Input::Serverless(_) => {
                    wsgate::serverless::load(path, &options, args.listen.is_some())?
                }
                _ => template::load(path, &options)?,
            };
            for warning in &loaded.warnings {
                tracing::warn!("{}: {warning}", path.display());
            }
            for note in &loaded.notes {
                tracing::info!("{}: {note}", path.display());
            }
            more = loaded.more;
            loaded.config
        }
    };
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    if let Some(endpoint) = endpoint {
        config.aws.endpoint_url = endpoint.clone();
        for other in &mut more {
            other.aws.endpoint_url = endpoint.clone();
        }
    }
    if let Some(command) = args.build.as_ref().filter(|c| !c.is_empty()) {
        config.build = Some(command.clone());
    }
    if args.watch {
        config.watch = true;
        for other in &mut more {
            other.watch = true;
        }
    }
    if args.no_inspector {
        config.api.inspector = false;
        for other in &mut more {
            other.api.inspector = false;
        }
    }
    if args.no_sigv4 {
        config.api.sigv4 = false;
        for other in &mut more {
            other.api.sigv4 = false;
        }
    }
    Ok(std::iter::once(config).chain(more).collect())
}

/// The file the model comes from, watched with `--watch`.
/// The starting point `wsgate init` writes; never over an existing file.
const INIT: &str = include_str!("init.toml");

fn init(path: &std::path::Path) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "{}: not written (it exists, or the folder is not writable)",
                path.display()
            )
        })?;
    file.write_all(INIT.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!("wrote {}: edit it, then run `wsgate`", path.display());
    Ok(())
}

/// What to run: the file named on the command line, else what the current
/// folder holds (said on one line).
fn input(args: &Args) -> anyhow::Result<Input> {
    if let Some(path) = &args.template {
        return Ok(Input::Template(path.clone()));
    }
    if let Some(path) = &args.serverless {
        return Ok(Input::Serverless(path.clone()));
    }
    if let Some(path) = &args.config {
        return Ok(Input::Config(path.clone()));
    }
    let found = wsgate::discover::discover(std::path::Path::new(".")).with_context(|| {
        format!(
            "nothing to run here: no --config, --template or --serverless, and none of {} in this folder",
            wsgate::discover::LOOKED_FOR
        )
    })?;
    // Said once, however often the model is loaded (a started backend, a reload).
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| tracing::info!("running {}", found.path().display()));
    Ok(found)
}

fn model_file(args: &Args) -> std::path::PathBuf {
    input(args).map_or_else(|_| "wsgate.toml".into(), |i| i.path().to_owned())
}

/// Reloads each running API from the changed file; a file that does not load
/// (or a change that needs a restart) leaves the running model in place.
async fn reload(args: &Args, gateways: &[Gateway]) {
    let file = model_file(args);
    let mut configs = match load(args) {
        Ok(configs) => configs,
        Err(e) => {
            tracing::warn!("{}: {e:#}; the running model stays", file.display());
            return;
        }
    };
    if let Err(e) = wsgate::setup::ensure_runtimes(&mut configs, &needs(args)).await {
        tracing::warn!("{}: {e}; the running model stays", file.display());
        return;
    }
    if configs.len() != gateways.len() {
        tracing::warn!(
            "{}: it now has {} API(s) instead of {}; that needs a restart",
            file.display(),
            configs.len(),
            gateways.len()
        );
        return;
    }
    for (gateway, config) in gateways.iter().zip(configs) {
        match gateway.reload(config).await {
            Ok(summary) => tracing::info!("{}: reloaded: {summary}", file.display()),
            Err(e) => tracing::warn!(
                "{}: not reloaded ({e}); the running model stays",
                file.display()
            ),
        }
    }
}

/// Sends the changed path when `file` changes (editors often replace it: its
/// folder is watched, and only its name is kept).
fn watch_file(
    file: &std::path::Path,
    changed: tokio::sync::mpsc::UnboundedSender<std::path::PathBuf>,
) -> notify::Result<notify::RecommendedWatcher> {
    use notify::Watcher;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<std::path::PathBuf>();
    let name = file.file_name().map(|n| n.to_os_string());
    tokio::spawn(async move {
        while let Some(path) = rx.recv().await {
            if path.file_name().map(|n| n.to_os_string()) == name && changed.send(path).is_err() {
                return;
            }
        }
    });
    let mut watcher = wsgate::watch::changes(tx)?;
    let folder = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    watcher.watch(&folder, notify::RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// The ready lines, one set per WebSocket API.
fn announce(gateway: &Gateway) {
    // Printing must not fail the gateway when its output is a closed pipe.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "wsgate ready: {}", gateway.ws_url());
    let _ = writeln!(
        out,
        "management API: {}/@connections/{{connectionId}}",
        gateway.management_endpoint()
    );
    if let Some(ca) = gateway.ca_cert() {
        let _ = writeln!(
            out,
            "TLS on the same port: {} (trust {})",
            gateway.ws_url().replacen("ws://", "wss://", 1),
            ca.display()
        );
    }
}
