//! The `wsgate` binary as a user runs it: start-up, logs, bad configs and shutdown.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::connect_async;

use crate::common::*;

pub struct Running {
    pub child: Child,
    pub url: String,
    log: Arc<Mutex<String>>,
    pub dir: tempfile::TempDir,
}

impl Running {
    fn events_file(&self) -> std::path::PathBuf {
        self.dir.path().join("events.jsonl")
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

const APP: &str = r#"
[functions.probe]
# A shell in between: its child is a grandchild of the gateway.
command = ["/bin/sh", "-c", "{probe}; echo unreachable"]
env = { PROBE_LOG = "{log}" }
[routes]
"$connect" = { function = "probe" }
"$disconnect" = { function = "probe" }
echo = { function = "probe", route_response = true }
"#;

async fn run_wsgate(extra: &str) -> Running {
    run_wsgate_with(extra, &[], &[]).await
}

/// The binary with more arguments and environment variables.
pub async fn run_wsgate_with(extra: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
    run_wsgate_limited(extra, args, env, None).await
}

/// … and at most `nofile` open files (soft and hard limit), as `ulimit -n` sets.
pub async fn run_wsgate_limited(
    extra: &str,
    args: &[&str],
    env: &[(&str, &str)],
    nofile: Option<u64>,
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("wsgate.toml");
    std::fs::write(
        &config,
        config_text("", extra, &dir.path().join("events.jsonl")),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wsgate"));
    // A test that runs a template gives `--template` itself.
    if !args.contains(&"--template") {
        command.arg("--config").arg(&config);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(n) = nofile {
        // SAFETY: only setrlimit, async-signal-safe, runs between fork and exec.
        unsafe {
            command.pre_exec(move || {
                use nix::sys::resource::{Resource, setrlimit};
                setrlimit(Resource::RLIMIT_NOFILE, n, n).map_err(std::io::Error::from)
            });
        }
    }
    let mut child = command.spawn().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let sink = log.clone();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("wsgate ready: ") {
                return url.to_string();
            }
        }
        panic!("wsgate exited before it was ready");
    })
    .await
    .expect("wsgate starts within 20 s");
    // Keep reading: a closed pipe would make the gateway's next print fail.
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    Running {
        child,
        url,
        log,
        dir,
    }
}

async fn wait_for_log(r: &Running, needle: &str) {
    for _ in 0..500 {
        if r.log().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the log never showed {needle:?}:\n{}", r.log());
}

#[tokio::test]
async fn sigterm_disconnects_everyone_and_leaves_no_process_behind() {
    let mut r = run_wsgate(APP).await;
    let (mut a, _) = connect_async(&r.url).await.unwrap();
    let (mut b, _) = connect_async(&r.url).await.unwrap();
    let ida = connection_id(&mut a).await;
    let idb = connection_id(&mut b).await;
    let pid = ask(&mut a, r#"{"action":"echo"}"#).await["pid"]
        .as_i64()
        .unwrap();

    // Function output and Lambda's START / END / REPORT lines, prefixed with the function.
    wait_for_log(&r, "[probe] probe: starting").await;
    wait_for_log(&r, "[probe] START RequestId: ").await;
    wait_for_log(&r, "[probe] END RequestId: ").await;
    wait_for_log(&r, "Init Duration: ").await;
    assert!(
        r.log().contains("[probe] REPORT RequestId: "),
        "{}",
        r.log()
    );
    assert!(r.log().contains("Billed Duration: "));
    assert!(r.log().contains("Max Memory Used: "));

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(expect_close(&mut a).await.0, 1001);
    assert_eq!(expect_close(&mut b).await.0, 1001);
    let status = tokio::time::timeout(Duration::from_secs(30), r.child.wait())
        .await
        .expect("wsgate exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");

    let events = std::fs::read_to_string(r.events_file()).unwrap();
    for id in [&ida, &idb] {
        assert!(
            events
                .lines()
                .any(|l| l.contains("\"DISCONNECT\"") && l.contains(id.as_str())),
            "no $disconnect for {id}"
        );
    }
    // Killed processes may take a moment to go; a zombie counts as gone.
    let alive = || crate::common::procs::alive(pid as u32);
    for _ in 0..100 {
        if !alive() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(), "the function process {pid} outlived the gateway");
    assert!(r.log().contains("wsgate stopped"));
    // Idle instances are stopped, not answered with an error their runtime cannot read.
    // A clean stop: nothing panicked, and from the signal on nothing was
    // warned of or failed (an instance answered with an error its runtime
    // cannot read, a process refused as it was killed, a lost invocation).
    let log = r.log();
    let stopping = log
        .find("shutting down: closing 2 connection(s)")
        .unwrap_or_else(|| panic!("no shutdown line: {log}"));
    let complaints: Vec<&str> = log[stopping..]
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR ") || l.contains("panicked"))
        .collect();
    assert!(
        complaints.is_empty(),
        "a clean stop complained: {complaints:#?}"
    );
}

#[tokio::test]
async fn ctrl_c_stops_the_gateway_too() {
    let mut r = run_wsgate(APP).await;
    let (mut a, _) = connect_async(&r.url).await.unwrap();
    let id = connection_id(&mut a).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(expect_close(&mut a).await.0, 1001);
    let status = r.child.wait().await.unwrap();
    assert!(status.success());
    let events = std::fs::read_to_string(r.events_file()).unwrap();
    assert!(events.contains(&id) && events.contains("DISCONNECT"));
}

#[tokio::test]
async fn a_bad_config_stops_start_up_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("broken.toml");
    std::fs::write(&config, "[api]\nstage = \"dev\"\nidle_timeout = 5\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wsgate"))
        .arg("--config")
        .arg(&config)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.toml"), "{err}");
    assert!(err.contains("idle_timeout"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_wsgate"))
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

/// A Node handler's `console.log` lines and the error it throws reach the
/// gateway's log under the function's name, as Lambda's logs show them.
#[tokio::test(flavor = "multi_thread")]
async fn node_output_and_errors_reach_the_gateway_log() {
    use futures_util::SinkExt;
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/node-edges/src");
    let r = run_wsgate(&format!(
        r#"
[functions.thrower]
runtime = "nodejs20.x"
handler = "throws.handler"
working_dir = "{}"

[routes]
"$default" = {{ function = "thrower" }}
"#,
        src.display()
    ))
    .await;
    let (mut ws, _) = connect_async(&r.url).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::text("hi"))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["message"], "Internal server error");
    wait_for_log(&r, "INFO\tabout to fail for").await;
    assert!(r.log().contains("[thrower] "), "{}", r.log());
    wait_for_log(&r, "Error: Error: Something went wrong").await;
}

/// `--log-format json`: one object per line, with the function, the request id
/// and the connection as fields; a function's own output is attributed to the
/// request it was handling.
#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_function_request_and_connection() {
    let r = run_wsgate_with(APP, &["--log-format", "json"], &[]).await;
    let (mut ws, _) = connect_async(&r.url).await.unwrap();
    let reply = ask(&mut ws, r#"{"action":"echo"}"#).await;
    let request_id = reply["requestId"].as_str().unwrap().to_string();
    // Its own END (the $connect's came first), so its START was read before.
    wait_for_log(&r, &format!("END RequestId: {request_id}")).await;
    let lines: Vec<serde_json::Value> = r
        .log()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for line in &lines {
        assert!(
            line["timestamp"].is_string() && line["level"].is_string(),
            "{line}"
        );
        assert!(line["message"].is_string(), "{line}");
    }
    let start = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("START RequestId"))
                && l["request_id"] == request_id.as_str()
        })
        .unwrap_or_else(|| panic!("no START for {request_id}: {lines:?}"));
    assert_eq!(start["function"], "probe");
    assert!(
        lines
            .iter()
            .any(|l| l["connection"].is_string() && l["message"] == "connected"),
        "{lines:?}"
    );
    // The human format keeps the fields out of the line: the message says them.
    let human = run_wsgate(APP).await;
    let (mut ws, _) = connect_async(&human.url).await.unwrap();
    ask(&mut ws, r#"{"action":"echo"}"#).await;
    wait_for_log(&human, "END RequestId").await;
    let log = human.log();
    assert!(log.contains("[probe] START RequestId"), "{log}");
    assert!(!log.contains("request_id="), "{log}");
}

/// A gateway killed outright (SIGKILL: no shutdown runs) leaves no function
/// process behind, not even one that never talks to it (a helper the function
/// started in the background): Linux's own way (the kernel and the watchdog)
/// and the portable one (the watchdog alone, as on macOS).
#[tokio::test]
async fn a_gateway_killed_outright_leaves_no_function_behind() {
    let mark = format!("outright-{}", std::process::id());
    let app = format!(
        r#"
[functions.probe]
command = ["/bin/sh", "-c", "sleep 300 & exec {{probe}}"]
env = {{ PROBE_LOG = "{{log}}", PROBE_MARK = "{mark}" }}
[routes]
echo = {{ function = "probe", route_response = true }}
"#
    );
    let marked = || crate::common::procs::carrying(&format!("PROBE_MARK={mark}"));
    for env in [vec![], vec![(wsgate::FORCE_PORTABLE_PROCESSES, "1")]] {
        let mut r = run_wsgate_with(&app, &[], &env).await;
        let (mut a, _) = connect_async(&r.url).await.unwrap();
        ask(&mut a, r#"{"action":"echo"}"#).await;
        assert_eq!(marked(), 2, "the function and its helper run");
        r.child.kill().await.unwrap();
        eventually(
            "the function and its helper end with the gateway",
            async || marked() == 0,
        )
        .await;
    }
}

/// The portable ways, forced on Linux, do what Linux's do: REPORT's memory,
/// and the end of a descendant that left the instance's group and session.
#[tokio::test]
async fn the_portable_process_ways_hold_on_linux_too() {
    let mark = format!("portable-{}", std::process::id());
    let app = format!(
        r#"{APP}
[functions.spawner]
command = ["{python}", "-m", "awslambdaric", "spawner.handler"]
working_dir = "{{pyapp}}"
env = {{ PROBE_MARK = "{mark}" }}
[routes.spawn]
function = "spawner"
route_response = true
"#,
        python = python()
    );
    let mut r = run_wsgate_with(&app, &[], &[(wsgate::FORCE_PORTABLE_PROCESSES, "1")]).await;
    let (mut a, _) = connect_async(&r.url).await.unwrap();
    ask(&mut a, r#"{"action":"echo"}"#).await;
    wait_for_log(&r, "[probe] REPORT RequestId: ").await;
    let log = r.log();
    let used: u64 = log
        .split("Max Memory Used: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(used > 0, "{log}");

    futures_util::SinkExt::send(
        &mut a,
        tokio_tungstenite::tungstenite::Message::text(r#"{"action":"spawn"}"#),
    )
    .await
    .unwrap();
    let marked = || crate::common::procs::carrying(&format!("PROBE_MARK={mark}"));
    eventually("the runtime and its detached helper run", async || {
        marked() >= 2
    })
    .await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(r.child.id().unwrap() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    r.child.wait().await.unwrap();
    eventually("the detached helper ends with its instance", async || {
        marked() == 0
    })
    .await;
}
