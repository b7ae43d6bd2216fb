//! What functions run on, and the default backend, installed by wsgate itself
//! into the per-user cache on first need (or ahead of time, `wsgate setup`):
//! the Node runtime (`node.rs`), a Python venv for `python*` functions and
//! MiniStack's venv (`python.rs`), and MiniStack started when no backend is
//! given (`backend.rs`). The pins are the repo's own files, built into the
//! binary. `--offline` installs nothing and says what is missing.

mod backend;
mod node;
mod python;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use backend::Backend;
pub use node::ensure_node_runtime;
pub use python::{ensure_functions_venv, ensure_ministack_venv};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "{what} is not installed in {dir}, and --offline installs nothing: run `wsgate setup {setup}` where a registry answers"
    )]
    Offline {
        what: &'static str,
        dir: PathBuf,
        setup: &'static str,
    },
    #[error("{what} needs {tool}: {hint}")]
    Missing {
        what: &'static str,
        tool: &'static str,
        hint: &'static str,
    },
    #[error("installing {what} into {dir} failed: {detail}")]
    Failed {
        what: &'static str,
        dir: PathBuf,
        detail: String,
    },
}

/// Where the Node runtime goes (`WSGATE_NODE_RUNTIME`, else the cache).
pub fn node_runtime_dir() -> PathBuf {
    crate::node::default_runtime_dir()
}

/// wsgate's cache folder for `leaf` (`$XDG_CACHE_HOME/wsgate/leaf`, else `~/.cache/wsgate/leaf`).
pub fn cache_dir(override_var: &str, leaf: &str) -> PathBuf {
    crate::dirs::user_dir(override_var, "XDG_CACHE_HOME", ".cache", leaf)
}

/// True when `tool` runs (`tool --version`).
fn has(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs an installer step, its output kept for the error.
async fn run(
    what: &'static str,
    dir: &Path,
    command: &mut tokio::process::Command,
) -> Result<(), SetupError> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| SetupError::Failed {
            what,
            dir: dir.to_owned(),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut detail = String::from_utf8_lossy(&output.stderr).into_owned();
    detail.push_str(&String::from_utf8_lossy(&output.stdout));
    let detail: String = detail
        .trim()
        .chars()
        .rev()
        .take(1500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(SetupError::Failed {
        what,
        dir: dir.to_owned(),
        detail,
    })
}

/// The one line said at the start and at the end of an install.
struct Progress {
    what: &'static str,
    started: Instant,
}

impl Progress {
    fn start(what: &'static str, dir: &Path, takes: &str) -> Self {
        tracing::info!(
            "installing {what} into {} ({takes} the first time)",
            dir.display()
        );
        Self {
            what,
            started: Instant::now(),
        }
    }

    fn done(self) {
        tracing::info!(
            "{} installed in {:.0} s",
            self.what,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// What a run needs that `wsgate setup` provides, ensured before it starts.
pub struct Needs {
    /// Install nothing; say what is missing.
    pub offline: bool,
    /// `--python` was given: `python*` functions run on that interpreter.
    pub python_given: bool,
}

/// True when the model calls AWS services: tables or queues to create, queues
/// to poll, topics or state machines, or AWS service integrations.
pub fn uses_backend(configs: &[crate::Config]) -> bool {
    configs.iter().any(|c| {
        !c.provision.is_empty()
            || !c.sqs.is_empty()
            || c.integrations
                .values()
                .any(|i| i.kind == crate::config::IntegrationType::Aws && i.function.is_none())
    })
}

/// True for the default backend's own address (`http://127.0.0.1:4566`, `localhost` too).
pub fn is_default_backend(endpoint: &str) -> bool {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    host == backend::DEFAULT || host == "localhost:4566"
}

/// The backend to use when none is given: whatever answers on 127.0.0.1:4566,
/// else MiniStack started from its cached venv (None: something answers there).
pub async fn default_backend(offline: bool) -> Result<Option<Backend>, SetupError> {
    let addr = backend::DEFAULT.parse().expect("a literal address");
    if backend::answers(addr).await {
        tracing::info!("using the backend that answers on {}", backend::DEFAULT);
        return Ok(None);
    }
    let venv = cache_dir("WSGATE_MINISTACK_VENV", "ministack");
    let python = ensure_ministack_venv(&venv, offline).await?;
    let started = Backend::start(&python, &venv.join("ministack.log")).await?;
    tracing::info!(
        "started MiniStack, the default backend, on {} (stopped with wsgate; --aws-endpoint-url picks another)",
        started.endpoint
    );
    Ok(Some(started))
}

/// The runtimes the model's functions need, installed where missing: the Node
/// runtime for `nodejs*`, the cached venv for `python*` (unless `--python` named one).
pub async fn ensure_runtimes(
    configs: &mut [crate::Config],
    needs: &Needs,
) -> Result<(), SetupError> {
    for config in configs.iter_mut() {
        if config.functions.values().any(|f| f.is_node()) {
            let dir = config
                .node
                .runtime_dir
                .clone()
                .unwrap_or_else(crate::node::default_runtime_dir);
            ensure_node_runtime(&dir, needs.offline).await?;
        }
        if needs.python_given {
            continue;
        }
        let python_functions: Vec<String> = config
            .functions
            .iter()
            .filter(|(_, f)| {
                f.command.first().is_some_and(|c| c == "python3")
                    && f.command.iter().any(|a| a == "awslambdaric")
            })
            .map(|(name, _)| name.clone())
            .collect();
        if python_functions.is_empty() {
            continue;
        }
        let venv = cache_dir("WSGATE_PYTHON_VENV", "python");
        let python = ensure_functions_venv(&venv, needs.offline).await?;
        for name in python_functions {
            if let Some(f) = config.functions.get_mut(&name) {
                f.command[0] = python.to_string_lossy().into_owned();
            }
        }
    }
    Ok(())
}
