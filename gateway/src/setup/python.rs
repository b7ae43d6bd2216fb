//! Python venvs in the cache: one for `python*` functions (awslambdaric, boto3),
//! one for MiniStack (it pins an older botocore than boto3's), and one with
//! cmake for machines without it (aws-lambda-ric's addon), at the repo's pins.

use std::path::{Path, PathBuf};

use super::{Progress, SetupError, has, run};

const FUNCTIONS: &str = include_str!("../../../runtimes/python/requirements.txt");
const MINISTACK: &str = include_str!("../../../scripts/requirements-ministack.txt");
const BUILD_TOOLS: &str = include_str!("../../../runtimes/node/requirements-build.txt");

/// The venv's interpreter.
pub fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

async fn ensure_venv(
    venv: &Path,
    requirements: &str,
    what: &'static str,
    setup: &'static str,
    offline: bool,
) -> Result<PathBuf, SetupError> {
    let stamp = venv.join(".requirements");
    if python_in(venv).is_file() && std::fs::read_to_string(&stamp).is_ok_and(|r| r == requirements)
    {
        return Ok(python_in(venv));
    }
    if offline {
        return Err(SetupError::Offline {
            what,
            dir: venv.to_owned(),
            setup,
        });
    }
    if !has("python3") {
        return Err(SetupError::Missing {
            what,
            tool: "python3",
            hint: "Python 3.10 or later with venv (Debian: apt-get install python3-venv; macOS: brew install python)",
        });
    }
    let progress = Progress::start(what, venv, "about a minute");
    if !python_in(venv).is_file() {
        run(
            what,
            venv,
            tokio::process::Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(venv),
        )
        .await?;
    }
    let failed = |e: std::io::Error| SetupError::Failed {
        what,
        dir: venv.to_owned(),
        detail: e.to_string(),
    };
    let file = venv.join("requirements.txt");
    std::fs::write(&file, requirements).map_err(failed)?;
    run(
        what,
        venv,
        tokio::process::Command::new(python_in(venv))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&file),
    )
    .await?;
    std::fs::write(&stamp, requirements).map_err(failed)?;
    progress.done();
    Ok(python_in(venv))
}

/// The venv `python*` functions run in; its interpreter.
pub async fn ensure_functions_venv(venv: &Path, offline: bool) -> Result<PathBuf, SetupError> {
    ensure_venv(
        venv,
        FUNCTIONS,
        "the Python runtime (awslambdaric, boto3)",
        "python",
        offline,
    )
    .await
}

/// MiniStack's venv; its interpreter.
pub async fn ensure_ministack_venv(venv: &Path, offline: bool) -> Result<PathBuf, SetupError> {
    ensure_venv(
        venv,
        MINISTACK,
        "MiniStack (the default backend)",
        "backend",
        offline,
    )
    .await
}

/// A venv with cmake (from PyPI), for building aws-lambda-ric's addon on a
/// machine without one; the folder holding its `cmake`.
pub async fn ensure_build_tools_venv(venv: &Path, offline: bool) -> Result<PathBuf, SetupError> {
    ensure_venv(venv, BUILD_TOOLS, "cmake (from PyPI)", "node", offline).await?;
    Ok(venv.join("bin"))
}
