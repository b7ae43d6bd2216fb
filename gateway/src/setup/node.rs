//! The Node runtime: aws-lambda-ric (with its native addon) and the AWS SDK for
//! JavaScript v3 that Lambda's Node runtimes provide, at the repo's pins.

use std::path::Path;

use super::python::ensure_build_tools_venv;
use super::{Progress, SetupError, has, run};

/// `runtimes/node/package.json`, built in.
const PACKAGE: &str = include_str!("../../../runtimes/node/package.json");
const WHAT: &str = "the Node runtime (aws-lambda-ric, the AWS SDK v3)";

fn installed(dir: &Path) -> bool {
    dir.join("node_modules/aws-lambda-ric/index.mjs").is_file()
        && dir
            .join("node_modules/aws-lambda-ric/rapid-client.node")
            .is_file()
        && std::fs::read_to_string(dir.join(".installed")).is_ok_and(|p| p == PACKAGE)
}

/// Makes sure `dir` holds the Node runtime at the built-in pins.
pub async fn ensure_node_runtime(dir: &Path, offline: bool) -> Result<(), SetupError> {
    if installed(dir) {
        return Ok(());
    }
    if offline {
        return Err(SetupError::Offline {
            what: WHAT,
            dir: dir.to_owned(),
            setup: "node",
        });
    }
    if !has("npm") {
        return Err(SetupError::Missing {
            what: WHAT,
            tool: "npm",
            hint: "Node.js 18 or later (Debian: apt-get install nodejs npm; macOS: brew install node)",
        });
    }
    if !has("c++") && !has("g++") {
        return Err(SetupError::Missing {
            what: WHAT,
            tool: "a C++ compiler",
            hint: "aws-lambda-ric builds a native addon (Debian: apt-get install g++ cmake; macOS: xcode-select --install; brew install cmake)",
        });
    }
    // No cmake on the machine: PyPI's, in a venv of wsgate's own, found first on PATH.
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if !has("cmake") {
        if !has("python3") {
            return Err(SetupError::Missing {
                what: WHAT,
                tool: "cmake (or python3, to fetch it from PyPI)",
                hint: "aws-lambda-ric builds a native addon with it (Debian: apt-get install cmake; macOS: brew install cmake)",
            });
        }
        let venv = super::cache_dir("WSGATE_BUILD_TOOLS_VENV", "build-tools");
        let bin = ensure_build_tools_venv(&venv, offline).await?;
        path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&path)))
            .map_err(|e| SetupError::Failed {
                what: WHAT,
                dir: dir.to_owned(),
                detail: e.to_string(),
            })?;
    }
    let nodedir = local_node_headers();
    let failed = |e: std::io::Error| SetupError::Failed {
        what: WHAT,
        dir: dir.to_owned(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    std::fs::write(dir.join("package.json"), PACKAGE).map_err(failed)?;
    let progress = Progress::start(WHAT, dir, "about 2 minutes");
    run(
        WHAT,
        dir,
        tokio::process::Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-package-lock",
                "--loglevel=error",
            ])
            .env("PATH", &path)
            .envs(nodedir.iter().map(|d| ("npm_config_nodedir", d)))
            .current_dir(dir),
    )
    .await?;
    // npm may skip install scripts it was not told to allow; the addon is what matters.
    if !dir
        .join("node_modules/aws-lambda-ric/rapid-client.node")
        .is_file()
    {
        run(
            WHAT,
            dir,
            tokio::process::Command::new("npm")
                .args(["rebuild", "aws-lambda-ric", "--foreground-scripts"])
                .env("PATH", &path)
                .envs(nodedir.iter().map(|d| ("npm_config_nodedir", d)))
                .current_dir(dir),
        )
        .await?;
    }
    std::fs::write(dir.join(".installed"), PACKAGE).map_err(failed)?;
    if !installed(dir) {
        return Err(SetupError::Failed {
            what: WHAT,
            dir: dir.to_owned(),
            detail: "aws-lambda-ric's native addon did not build".into(),
        });
    }
    progress.done();
    Ok(())
}

/// The installed Node's own prefix when it carries its headers (Debian's
/// nodejs, nodejs.org's tarballs) and no `nodedir` is configured: node-gyp then
/// builds the addon against them instead of downloading them.
fn local_node_headers() -> Option<std::path::PathBuf> {
    if std::env::vars_os().any(|(k, _)| k.eq_ignore_ascii_case("npm_config_nodedir")) {
        return None;
    }
    let out = std::process::Command::new("node")
        .args(["-p", "process.execPath"])
        .output()
        .ok()?;
    let exec = std::path::PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    let prefix = exec.parent()?.parent()?;
    prefix
        .join("include/node/common.gypi")
        .is_file()
        .then(|| prefix.to_owned())
}
