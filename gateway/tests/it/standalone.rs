//! `wsgate` as a tool in someone's own folder: it finds what to run, installs
//! the runtimes it needs into the cache, and starts the default backend
//! (MiniStack) when none is given; `--offline` installs nothing and says what
//! is missing.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::*;

/// The app's folder copied outside the repo (a user's project lives anywhere).
fn project(app: &str) -> tempfile::TempDir {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apps")
        .join(app);
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", from.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// `wsgate` installed as a user installs it: `cargo install --path gateway
/// --root ROOT`. Its build folder is kept in the build's scratch folder
/// (`scripts/test` fills it before the run, with this same command), so here it
/// is the install itself: the binary copied into a root of its own.
fn cargo_install(root: &Path) -> std::path::PathBuf {
    let gateway = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["install", "--locked", "--debug", "--quiet", "--path"])
        .arg(gateway)
        .arg("--root")
        .arg(root)
        .arg("--target-dir")
        .arg(&target)
        // As scripts/test builds it first (dependencies unoptimised: the install
        // is what is checked, and a cold CI stays short).
        .args(["--config", "profile.dev.package.\"*\".opt-level=0"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo install --path gateway failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = root.join("bin/wsgate");
    assert!(
        bin.is_file(),
        "cargo install put wsgate in {}",
        bin.display()
    );
    bin
}

/// `wsgate` (the binary `bin`) with no arguments in `dir`, with a home of its
/// own; waits for its ready line and returns the socket URL it printed.
async fn wsgate_in(
    bin: &Path,
    dir: &Path,
    home: &Path,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let mut child = Command::new(bin)
        .current_dir(dir)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env_remove("WSGATE_AWS_ENDPOINT_URL")
        .env_remove("WSGATE_PYTHON")
        .env_remove("WSGATE_CONFIG")
        .env_remove("WSGATE_TEMPLATE")
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let err = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let kept = log.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(err).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            kept.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    // The first start installs the runtimes and the backend: minutes on a cold machine.
    let url = tokio::time::timeout(Duration::from_secs(600), async {
        while let Ok(Some(line)) = out.next_line().await {
            if let Some(url) = line.strip_prefix("wsgate ready: ") {
                return url.to_string();
            }
        }
        panic!("wsgate ended before it was ready:\n{}", log.lock().unwrap());
    })
    .await
    .unwrap_or_else(|_| panic!("not ready within 600 s:\n{}", log.lock().unwrap()));
    (child, url)
}

/// Stores a note (the Python function, DynamoDB) and has them sent back (the
/// Node function, a push through `@connections`).
async fn note_and_share(url: &str, text: &str) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let reply = ask(
        &mut ws,
        &serde_json::json!({ "action": "note", "text": text }).to_string(),
    )
    .await;
    assert_eq!(reply["stored"], text, "{reply}");
    let pushed = ask(&mut ws, r#"{"action":"share"}"#).await;
    let notes = pushed["notes"].as_array().expect("the notes pushed");
    assert!(notes.iter().any(|n| n == text), "{pushed}");
}

fn stop(child: &tokio::process::Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
}

/// A Node + Python app in a folder of its own, run by a `cargo install`ed
/// `wsgate` alone: it finds the template, installs the Node runtime and the
/// Python functions' venv into the cache, starts MiniStack (no endpoint given),
/// and a message and a push work. Then `wsgate setup all` finds everything in
/// place and `--offline`, with no registry answering, starts in under a second.
#[tokio::test(flavor = "multi_thread")]
async fn wsgate_alone_runs_a_project_with_what_it_needs() {
    let root = tempfile::tempdir().unwrap();
    let wsgate = cargo_install(root.path());
    let app = project("standalone");
    let home = tempfile::tempdir().unwrap();
    // What wsgate caches is big: kept across runs in the build's scratch folder,
    // as a user's cache keeps it across starts. A fresh build folder starts empty.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let node_runtime = cache.join("standalone-node");
    let python_venv = cache.join("standalone-python");
    let ministack_venv = cache.join("standalone-ministack");
    let build_tools = cache.join("standalone-build-tools");
    let env = [
        ("WSGATE_BUILD_TOOLS_VENV", build_tools.to_str().unwrap()),
        ("WSGATE_NODE_RUNTIME", node_runtime.to_str().unwrap()),
        ("WSGATE_PYTHON_VENV", python_venv.to_str().unwrap()),
        ("WSGATE_MINISTACK_VENV", ministack_venv.to_str().unwrap()),
    ];
    // A backend someone runs already (scripts/dev) is used, not replaced.
    let ours = tokio::net::TcpStream::connect("127.0.0.1:4566")
        .await
        .is_err();
    let started = std::time::Instant::now();
    let (mut child, url) = wsgate_in(&wsgate, app.path(), home.path(), &env).await;
    eprintln!("first start: ready after {:?}", started.elapsed());
    assert!(url.ends_with("/dev"), "{url}");
    note_and_share(&url, "hello").await;
    assert!(
        python_venv.join("bin/python").is_file(),
        "the functions' venv is in the cache"
    );
    assert!(
        node_runtime.join("node_modules/aws-lambda-ric").is_dir(),
        "the Node runtime is in the cache"
    );
    // Stopped as a user stops it: the backend it started ends with it.
    stop(&child);
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("wsgate stops on SIGTERM")
        .unwrap();
    eventually("MiniStack ended with wsgate", async || {
        if !ours {
            return true;
        }
        tokio::net::TcpStream::connect("127.0.0.1:4566")
            .await
            .is_err()
    })
    .await;

    // `wsgate setup all` finds everything in place; then a second start,
    // `--offline` with no registry answering, installs nothing and serves.
    let setup = Command::new(&wsgate)
        .args(["setup", "all"])
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&setup.stderr);
    assert!(setup.status.success(), "{said}");
    assert!(!said.contains("installing"), "nothing to install: {said}");
    let mut offline_env = env.to_vec();
    offline_env.extend([
        ("npm_config_registry", "http://127.0.0.1:9/"),
        ("PIP_INDEX_URL", "http://127.0.0.1:9/"),
        ("WSGATE_OFFLINE", "true"),
    ]);
    let started = std::time::Instant::now();
    let (mut again, url) = wsgate_in(&wsgate, app.path(), home.path(), &offline_env).await;
    let ready = started.elapsed();
    eprintln!("second start, offline: ready after {ready:?}");
    note_and_share(&url, "again").await;
    stop(&again);
    let _ = tokio::time::timeout(Duration::from_secs(30), again.wait()).await;
}

/// `--offline` installs nothing: a Node function with no runtime in the cache is
/// refused at start, naming what is missing and how to get it.
#[tokio::test(flavor = "multi_thread")]
async fn offline_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wsgate.toml"),
        "[functions.f]\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\n[routes]\n\"$default\" = { function = \"f\" }\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_wsgate"))
        .current_dir(dir.path())
        .env("HOME", home.path())
        .env("XDG_CACHE_HOME", home.path().join(".cache"))
        .env_remove("WSGATE_NODE_RUNTIME")
        .env_remove("WSGATE_CONFIG")
        .env_remove("WSGATE_TEMPLATE")
        // No registry answers, as on a machine without one.
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("PIP_INDEX_URL", "http://127.0.0.1:9/")
        .args(["--offline", "--listen", "127.0.0.1:0"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("the Node runtime")
            && err.contains("--offline installs nothing")
            && err.contains("wsgate setup node"),
        "{err}"
    );
}
