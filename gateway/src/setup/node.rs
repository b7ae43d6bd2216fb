//! The Node runtime: aws-lambda-ric (with its native addon) and the AWS SDK for
//! JavaScript v3 that Lambda's Node runtimes provide, at the repo's pins.

use std::path::Path;

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
    if !has("cmake") {
        return Err(SetupError::Missing {
            what: WHAT,
            tool: "cmake",
            hint: "aws-lambda-ric builds a native addon with it (Debian: apt-get install cmake; macOS: brew install cmake; anywhere: pip install cmake)",
        });
    }
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
