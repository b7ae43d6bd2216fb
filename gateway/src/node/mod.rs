//! `nodejs*` functions: AWS's runtime interface client for Node (`aws-lambda-ric`)
//! runs the handler, from the folder `scripts/node-runtime` fills, with the AWS
//! SDK for JavaScript v3 there for handlers that do not bundle it (the
//! function's own `node_modules` first, for `require` and `import` alike).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::NodeConfig;

const REGISTER: &str = include_str!("register.mjs");
const RESOLVE: &str = include_str!("resolve.mjs");
const CALLBACK: &str = include_str!("callback.mjs");
/// What a file URL's path escapes (and a quoted NODE_OPTIONS value must not hold).
const URL_PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'%')
    .add(b'#')
    .add(b'?')
    .add(b'"');
/// From this major on, Lambda refuses callback handlers (as aws-lambda-ric 4 does).
const NO_CALLBACKS_FROM: u32 = 24;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(
        "nodejs* functions need aws-lambda-ric in {0}: run scripts/node-runtime (or set WSGATE_NODE_RUNTIME / node.runtime_dir to where it installed)"
    )]
    NotInstalled(PathBuf),
    #[error("cannot prepare {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{binary}` (the Node for {runtime}) does not run: {message}")]
    NoNode {
        binary: String,
        runtime: String,
        message: String,
    },
}

/// The Node runtime folder, checked and ready for functions.
pub struct NodeRuntime {
    dir: PathBuf,
    config: NodeConfig,
}

/// Where `scripts/node-runtime` installs by default.
pub fn default_runtime_dir() -> PathBuf {
    crate::dirs::user_dir(
        "WSGATE_NODE_RUNTIME",
        "XDG_CACHE_HOME",
        ".cache",
        "node-runtime",
    )
}

impl NodeRuntime {
    /// Checks the folder, writes the resolve hooks, and checks each runtime's Node
    /// (one warning where its major version differs from the runtime's).
    pub fn prepare<'a>(
        config: &NodeConfig,
        runtimes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, NodeError> {
        let dir = config
            .runtime_dir
            .clone()
            .unwrap_or_else(default_runtime_dir);
        if !dir.join("node_modules/aws-lambda-ric/index.mjs").is_file() {
            return Err(NodeError::NotInstalled(dir));
        }
        let hooks = dir.join("wsgate");
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| NodeError::Io { path, source }
        };
        std::fs::create_dir_all(&hooks).map_err(io(&hooks))?;
        for (name, text) in [
            ("register.mjs", REGISTER),
            ("resolve.mjs", RESOLVE),
            ("callback.mjs", CALLBACK),
        ] {
            let path = hooks.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
                crate::dirs::write_whole(&path, text.as_bytes()).map_err(io(&path))?;
            }
        }
        let runtime = Self {
            dir,
            config: config.clone(),
        };
        // Each Node once, however many runtimes it runs; one warning per runtime.
        let mut versions: BTreeMap<String, String> = BTreeMap::new();
        let names: std::collections::BTreeSet<&str> = runtimes.into_iter().collect();
        for name in names {
            let binary = runtime.binary(name).to_string();
            let version = match versions.get(&binary) {
                Some(v) => v.clone(),
                None => {
                    let v = node_version(&binary).map_err(|message| NodeError::NoNode {
                        binary: binary.clone(),
                        runtime: name.into(),
                        message,
                    })?;
                    versions.insert(binary.clone(), v.clone());
                    v
                }
            };
            if let Some(warning) = mismatch(name, &binary, &version) {
                tracing::warn!("{warning}");
            }
        }
        Ok(runtime)
    }

    /// The Node that runs `runtime`.
    pub fn binary(&self, runtime: &str) -> &str {
        self.config
            .runtimes
            .get(runtime)
            .unwrap_or(&self.config.binary)
    }

    /// The command and the variables that run a handler under `runtime`, with
    /// `layers` (folders laid out as `/opt`).
    pub fn launch(
        &self,
        runtime: &str,
        handler: &str,
        layers: &[PathBuf],
        own_env: &BTreeMap<String, String>,
    ) -> (Vec<String>, Vec<(String, String)>) {
        let ric = self.dir.join("node_modules/aws-lambda-ric/index.mjs");
        // The client reads the handler from `_HANDLER`.
        let command = vec![
            self.binary(runtime).to_string(),
            ric.to_string_lossy().into_owned(),
        ];
        let register = self.dir.join("wsgate/register.mjs");
        // A file URL (spaces, `%`, `#` escaped), quoted as NODE_OPTIONS takes values.
        let url: String =
            percent_encoding::utf8_percent_encode(&register.to_string_lossy(), URL_PATH).collect();
        let import = format!("--import=\"file://{url}\"");
        // The function's own NODE_OPTIONS and NODE_PATH come after ours.
        let options = match own_env.get("NODE_OPTIONS") {
            Some(own) => format!("{import} {own}"),
            None => import,
        };
        // After the function's own node_modules: its layers, then the runtime's copy.
        let mut fallback = crate::layers::node_modules(layers, runtime_major(runtime));
        fallback.push(self.dir.join("node_modules"));
        let fallback: Vec<String> = fallback
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        let path = own_env
            .get("NODE_PATH")
            .into_iter()
            .cloned()
            .chain(fallback.iter().cloned())
            .collect::<Vec<_>>()
            .join(":");
        let mut env = vec![
            ("NODE_OPTIONS".into(), options),
            ("NODE_PATH".into(), path),
            ("WSGATE_NODE_MODULES".into(), fallback.join(":")),
        ];
        if runtime_major(runtime).is_some_and(|m| m < NO_CALLBACKS_FROM) {
            // The client loads our module, which loads the handler (see callback.mjs).
            let shim = self.dir.join("wsgate/callback.handler");
            env.push(("_HANDLER".into(), shim.to_string_lossy().into_owned()));
            env.push(("WSGATE_HANDLER".into(), handler.to_string()));
        }
        (command, env)
    }
}

/// The start-up warning when a runtime's Node is not the major version it names.
fn mismatch(runtime: &str, binary: &str, version: &str) -> Option<String> {
    let wanted = runtime_major(runtime)?;
    (major(version) != Some(wanted)).then(|| {
        format!(
            "{runtime} functions run on Node {version} (`{binary}`); to match, set node.runtimes.\"{runtime}\" to a Node {wanted}"
        )
    })
}

fn node_version(binary: &str) -> Result<String, String> {
    let out = std::process::Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("`--version` exited with {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `nodejs20.x` → 20.
fn runtime_major(runtime: &str) -> Option<u32> {
    runtime
        .strip_prefix("nodejs")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// `v20.20.2` → 20.
fn major(version: &str) -> Option<u32> {
    version
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(runtime_major("nodejs20.x"), Some(20));
        assert_eq!(runtime_major("nodejs24.x"), Some(24));
        assert_eq!(runtime_major("python3.12"), None);
        assert_eq!(major("v22.1.0"), Some(22));
        assert_eq!(mismatch("nodejs20.x", "node", "v20.20.2"), None);
        let warning = mismatch("nodejs22.x", "node", "v20.20.2").unwrap();
        assert!(warning.contains("Node v20.20.2"), "{warning}");
        assert!(
            warning.contains(r#"node.runtimes."nodejs22.x""#),
            "{warning}"
        );
    }
}
