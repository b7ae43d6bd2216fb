//! The browser demo in a real headless Chromium, driven over the DevTools
//! protocol: the page signs in, connects with its token, and shows a download
//! link when a `NotifyUser` message for its user arrives, and only then.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::app::*;
use crate::common::*;

pub struct Chromium {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub async fn start() -> Self {
        let program = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        assert!(
            std::path::Path::new(&program).exists(),
            "{program} is missing: scripts/test installs Debian's chromium (or set CHROMIUM)"
        );
        let profile = tempfile::tempdir().unwrap();
        let child = tokio::process::Command::new(&program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-address=127.0.0.1",
            ])
            // Its own pick, written to the profile: a port chosen here could be
            // taken by another listener before Chromium binds it.
            .arg("--remote-debugging-port=0")
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let active = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let port = loop {
            // The port on its first line once the file is whole (its path is the second).
            let text = std::fs::read_to_string(&active).unwrap_or_default();
            if let Some(port) = text
                .split_once('\n')
                .and_then(|(port, _)| port.parse::<u16>().ok())
            {
                break port;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Chromium did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            child,
            addr,
            _profile: profile,
        }
    }

    /// Opens a tab at `url` and attaches to it.
    pub async fn open(&self, url: &str) -> Page {
        let (status, _, body) = http(self.addr, "PUT", &format!("/json/new?{url}"), "").await;
        assert_eq!(status, 200, "{body}");
        let target: Value = serde_json::from_str(&body).unwrap();
        let (ws, _) =
            tokio_tungstenite::connect_async(target["webSocketDebuggerUrl"].as_str().unwrap())
                .await
                .unwrap();
        Page { ws, next_id: 0 }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

pub struct Page {
    ws: Ws,
    next_id: u64,
}

impl Page {
    async fn command(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params });
        self.ws
            .send(Message::text(request.to_string()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(15), self.ws.next())
                .await
                .expect("DevTools answers")
                .unwrap()
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == id {
                return reply;
            }
        }
    }

    async fn eval(&mut self, expression: &str) -> Value {
        let reply = self
            .command(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true }),
            )
            .await;
        reply["result"]["result"]["value"].clone()
    }

    pub async fn wait_for(
        &mut self,
        what: &str,
        expression: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(expression).await;
            if done(&value) {
                return value;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{what}: still {value} after 30 s; page: {}",
                self.eval("document.body.innerText").await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&mut self, path: &std::path::Path) {
        use base64::Engine;
        let reply = self
            .command("Page.captureScreenshot", json!({ "format": "png" }))
            .await;
        if let Some(data) = reply["result"]["data"].as_str() {
            let png = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
            let _ = std::fs::write(path, png);
        }
    }
}

pub const STATE: &str = "document.getElementById('state').dataset.state";
pub const LINKS: &str = "[...document.querySelectorAll('a.download')].map(a => a.href)";
const COUNT: &str = "document.querySelectorAll('li.notification').length";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_a_download_link_for_its_user_only() {
    let app = start_app_in("authorizer", &[("TokenSecret", "browser-test-secret")]).await;
    let browser = Chromium::start().await;
    let page = |user: &str| format!("http://{}/web/?userId={user}", app.gateway.local_addr());
    let mut alice = browser.open(&page("alice")).await;
    let mut bob = browser.open(&page("bob")).await;
    for tab in [&mut alice, &mut bob] {
        tab.wait_for("the page connects", STATE, |v| v == "connected")
            .await;
    }

    let url = "https://example.com/reports/alice.pdf";
    app.send_with_cli(
        "NotifyUser",
        &json!({"userId":"alice","data":{"type":"download","url":url}}).to_string(),
    )
    .await;
    alice
        .wait_for("alice's link", LINKS, |v| v == &json!([url]))
        .await;

    // Bob's page gets its own notification, and nothing of alice's.
    let bobs = "https://example.com/reports/bob.pdf";
    app.send_with_cli(
        "NotifyUser",
        &json!({"userId":"bob","data":{"type":"download","url":bobs}}).to_string(),
    )
    .await;
    bob.wait_for("bob's link", LINKS, |v| v == &json!([bobs]))
        .await;
    assert_eq!(bob.eval(COUNT).await, 1);
    assert_eq!(alice.eval(COUNT).await, 1);
    assert_eq!(alice.eval(LINKS).await, json!([url]));

    let shot = bin_dir().join("browser-demo.png");
    alice.screenshot(&shot).await;
    app.gateway.shutdown().await;
}

/// The inspector in Chromium: a connection and its frames appear live, the
/// invocation with its function and trigger, and the page's actions reach the
/// client (send) and the route (replay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_shows_connections_frames_and_invocations_live() {
    let gw = start(PROBE_APP).await;
    let browser = Chromium::start().await;
    let mut page = browser
        .open(&format!("http://{}/_wsgate/", gw.gateway.local_addr()))
        .await;
    page.wait_for(
        "the page is live",
        "document.getElementById('status').dataset.state",
        |v| v == "live",
    )
    .await;
    // A client connects after the page is open: it appears without a reload.
    let mut ws = gw.connect("").await;
    let id = connection_id(&mut ws).await;
    let row = format!("document.querySelector('tr.connection[data-id=\"{id}\"]')");
    page.wait_for("the connection's row", &format!("!!{row}"), |v| v == true)
        .await;
    ask(&mut ws, r#"{"action":"echo","n":1}"#).await;
    page.eval(&format!("{row}.click()")).await;
    page.wait_for(
        "its frames, both ways",
        "[...document.querySelectorAll('#frames tbody tr')].map(r => r.cells[1].textContent).sort().join()",
        |v| v.as_str().is_some_and(|s| s.contains("in") && s.contains("out")),
    )
    .await;
    page.wait_for(
        "the invocation",
        "[...document.querySelectorAll('#invocations tbody tr')].some(r => r.cells[1].textContent === 'probe' && r.cells[2].textContent === 'echo' && r.cells[6].textContent === 'success')",
        |v| v == true,
    )
    .await;

    // Send a frame to the client from the page.
    page.eval("document.getElementById('frame').value = 'hello from the inspector'; document.getElementById('send').click()")
        .await;
    assert_eq!(next_text(&mut ws).await, "hello from the inspector");
    // Replay a frame as the client: it is routed and answered to the client.
    page.eval(r#"document.getElementById('frame').value = '{"action":"echo","replayed":true}'; document.getElementById('replay').click()"#)
        .await;
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["routeKey"], "echo", "{reply}");
    assert!(
        reply["echo"].as_str().unwrap().contains("replayed"),
        "{reply}"
    );

    let shot = bin_dir().join("inspector.png");
    page.screenshot(&shot).await;
    // And close it from the page.
    page.eval("document.getElementById('close').click()").await;
    assert_eq!(expect_close(&mut ws).await.0, 1000);
    gw.gateway.shutdown().await;
}
