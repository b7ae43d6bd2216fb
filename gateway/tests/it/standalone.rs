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

/// `wsgate` with no arguments in `dir`, with a home of its own; waits for its
/// ready line and returns the socket URL it printed.
async fn wsgate_in(
    dir: &Path,
    home: &Path,
    env: &[(&str, &str)],
) -> (tokio::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsgate"))
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
    let url = tokio::time::timeout(Duration::from_secs(240), async {
        while let Ok(Some(line)) = out.next_line().await {
            if let Some(url) = line.strip_prefix("wsgate ready: ") {
                return url.to_string();
            }
        }
        panic!("wsgate ended before it was ready:\n{}", log.lock().unwrap());
    })
    .await
    .unwrap_or_else(|_| panic!("not ready within 240 s:\n{}", log.lock().unwrap()));
    (child, url)
}

/// A Python app in a folder of its own: `wsgate` alone finds its template,
/// makes the Python runtime's venv in the cache (no `--python`), starts
/// MiniStack (no endpoint), and a message round-trips through DynamoDB.
#[tokio::test(flavor = "multi_thread")]
async fn wsgate_alone_runs_a_project_with_what_it_needs() {
    let app = project("standalone-py");
    let home = tempfile::tempdir().unwrap();
    // The backends' venvs are big: kept across runs in the build's scratch folder,
    // as a user's cache keeps them across starts.
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let python_venv = cache.join("standalone-python");
    let ministack_venv = cache.join("standalone-ministack");
    let env = [
        ("WSGATE_PYTHON_VENV", python_venv.to_str().unwrap()),
        ("WSGATE_MINISTACK_VENV", ministack_venv.to_str().unwrap()),
    ];
    // A backend someone runs already (scripts/dev) is used, not replaced.
    let ours = tokio::net::TcpStream::connect("127.0.0.1:4566")
        .await
        .is_err();
    let (mut child, url) = wsgate_in(app.path(), home.path(), &env).await;
    assert!(url.ends_with("/dev"), "{url}");
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let reply = ask(&mut ws, r#"{"action":"note","text":"hello"}"#).await;
    assert_eq!(reply["stored"], "hello", "{reply}");
    assert!(
        python_venv.join("bin/python").is_file(),
        "the functions' venv is in the cache"
    );
    // Stopped as a user stops it: the backend it started ends with it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
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

    // `wsgate setup` finds everything in place; then a second start, `--offline`
    // with no registry answering, installs nothing and serves.
    let setup = Command::new(env!("CARGO_BIN_EXE_wsgate"))
        .args(["setup", "python"])
        .env("HOME", home.path())
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    assert!(
        setup.status.success(),
        "{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let mut offline_env = env.to_vec();
    offline_env.extend([
        ("npm_config_registry", "http://127.0.0.1:9/"),
        ("PIP_INDEX_URL", "http://127.0.0.1:9/"),
        ("WSGATE_OFFLINE", "true"),
    ]);
    let started = std::time::Instant::now();
    let (mut again, url) = wsgate_in(app.path(), home.path(), &offline_env).await;
    eprintln!("second start, offline: ready after {:?}", started.elapsed());
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let reply = ask(&mut ws, r#"{"action":"note","text":"again"}"#).await;
    assert_eq!(reply["stored"], "again", "{reply}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(again.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
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
