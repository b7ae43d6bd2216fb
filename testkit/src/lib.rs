//! Test support shared by the workspace's tests: the Python venv that
//! scripts/test makes, and an emulator's server (MiniStack or moto) to stand
//! in for DynamoDB and SQS.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The venv's `bin` folder (`WSGATE_TEST_PYTHON`'s, else `WSGATE_VENV`'s,
/// else the repo's `.venv`).
pub fn venv_bin() -> PathBuf {
    let python = match (
        std::env::var("WSGATE_TEST_PYTHON"),
        std::env::var("WSGATE_VENV"),
    ) {
        (Ok(p), _) => PathBuf::from(p),
        (_, Ok(venv)) => Path::new(&venv).join("bin/python"),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
    };
    assert!(
        python.exists(),
        "{} is missing: run scripts/test, which makes the venv (awslambdaric, boto3, awscli, MiniStack, moto)",
        python.display()
    );
    python.parent().unwrap().to_owned()
}

/// The venv's Python.
pub fn python() -> String {
    venv_bin().join("python").to_string_lossy().into_owned()
}

/// A program from the venv (`aws`, `ministack`), else from PATH.
pub fn venv_program(name: &str) -> String {
    let path = venv_bin().join(name);
    if path.exists() {
        path.to_string_lossy().into_owned()
    } else {
        name.to_string()
    }
}

/// The DynamoDB and SQS emulators the README offers (LocalStack aside, which
/// needs Docker): MiniStack is scripts/dev's default, moto the other choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    MiniStack,
    Moto,
}

impl Kind {
    /// Every emulator the README offers; the app's end-to-end tests run on each.
    pub const ALL: [Kind; 2] = [Kind::MiniStack, Kind::Moto];

    /// The tests' backend: `WSGATE_TEST_BACKEND` (`ministack` or `moto`), else
    /// MiniStack, as scripts/dev starts.
    pub fn for_tests() -> Kind {
        match std::env::var("WSGATE_TEST_BACKEND").as_deref() {
            Ok("moto") => Kind::Moto,
            Ok("ministack") | Ok("") | Err(_) => Kind::MiniStack,
            Ok(other) => panic!("WSGATE_TEST_BACKEND={other}: use ministack or moto"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::MiniStack => "ministack",
            Kind::Moto => "moto",
        }
    }

    /// The server's command on `port`, quiet, with LocalStack's account id
    /// (queue URLs look the same on every backend). MiniStack lives in a venv
    /// of its own inside the main one (scripts/python-env).
    pub fn command(self, venv_bin: &Path, port: u16) -> Command {
        let mut command = match self {
            Kind::MiniStack => {
                // Its ASGI app under hypercorn, as `ministack -d` runs it; the
                // foreground `ministack` leaves a pid file behind when killed.
                let mut c = Command::new(venv_bin.join("../ministack/bin/python"));
                c.args(["-m", "hypercorn", "ministack.app:app", "--bind"])
                    .arg(format!("127.0.0.1:{port}"))
                    .args(["--log-level", "WARNING", "--keep-alive", "75"])
                    // In this process: a worker process would outlive a kill of it.
                    .args(["--workers", "0"])
                    .env("GATEWAY_PORT", port.to_string())
                    .env("SERVICES", "dynamodb,sqs,sns,states,events,kinesis")
                    .env("LOG_LEVEL", "WARNING")
                    .env("MINISTACK_ACCOUNT_ID", "000000000000");
                c
            }
            Kind::Moto => {
                let mut c = Command::new(venv_bin.join("moto_server"));
                c.env("MOTO_ACCOUNT_ID", "000000000000").args([
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ]);
                c
            }
        };
        command.stdout(Stdio::null()).stderr(Stdio::null());
        command
    }
}

/// A DynamoDB and SQS emulator on a free loopback port, stopped when dropped.
pub struct Emulator {
    child: Child,
    endpoint: String,
    kind: Kind,
}

impl Emulator {
    /// The tests' backend ([`Kind::for_tests`]).
    pub fn start() -> Self {
        Self::start_kind(Kind::for_tests())
    }

    pub fn start_kind(kind: Kind) -> Self {
        // The port was free a moment ago, but the emulator binds it seconds
        // later: another listener may take it meanwhile. The emulator then
        // exits, and another port is tried.
        for _ in 0..5 {
            if let Some(emulator) = Self::try_start(kind, free_port()) {
                return emulator;
            }
        }
        panic!("{} exited at start on five free ports", kind.name());
    }

    /// On a given port (for tests that start the backend late).
    pub fn start_on(kind: Kind, port: u16) -> Self {
        Self::try_start(kind, port)
            .unwrap_or_else(|| panic!("{} exited at start (port {port} taken?)", kind.name()))
    }

    /// The emulator once it answers on `port`; `None` when it exited first.
    fn try_start(kind: Kind, port: u16) -> Option<Self> {
        let child = kind.command(&venv_bin(), port).spawn().unwrap_or_else(|e| {
            panic!(
                "{} starts (scripts/test installs it into the venv): {e}",
                kind.name()
            )
        });
        let mut emulator = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            kind,
        };
        let started = Instant::now();
        loop {
            if let Ok(Some(_)) = emulator.child.try_wait() {
                return None;
            }
            if answers_as_dynamodb(port) {
                return Some(emulator);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} did not answer within 30 s",
                kind.name()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's process id (to stall it with SIGSTOP in fault tests).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An SDK config for this server, with the test credentials it accepts.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.endpoint).await
    }
}

/// An SDK config for a local endpoint (moto, LocalStack) with test credentials.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// Whether DynamoDB's ListTables answers on `port`: a connect alone could
/// reach another listener that took the port. moto picks the service from the
/// signature's credential scope (it checks no signature).
fn answers_as_dynamodb(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         X-Amz-Target: DynamoDB_20120810.ListTables\r\n\
         Content-Type: application/x-amz-json-1.0\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    // Up to the answer, not the connection's end: a server may keep it open.
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        answer.extend_from_slice(&chunk[..n]);
        if answer.windows(10).any(|w| w == b"TableNames") {
            return true;
        }
    }
    false
}

/// A loopback port that was free a moment ago, and never handed out before in
/// this process: two tests' emulators are never told the same port (the
/// second would exit, and the first's answers would pass for its own).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SigV4 headers for a request, as an AWS SDK would sign it with `test`/`test`
/// in us-east-1: `service` is `execute-api` for `@connections`, `lambda` for
/// the Lambda API. For raw HTTP clients (tests, the benchmark).
pub fn sigv4_headers(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    service: &str,
) -> Vec<(String, String)> {
    sigv4_headers_at(
        method,
        url,
        headers,
        body,
        service,
        std::time::SystemTime::now(),
    )
}

/// [`sigv4_headers`] at a given time (a signature is valid for 5 minutes either side).
pub fn sigv4_headers_at(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    service: &str,
    time: std::time::SystemTime,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity =
        aws_credential_types::Credentials::new("test", "test", None, None, "testkit").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("a signable request");
    let (instructions, _) = sign(request, &params).expect("signed").into_parts();
    instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A TCP proxy in front of an endpoint that counts how often a text appears in
/// what clients send (an `X-Amz-Target` such as `AmazonSQS.SendMessageBatch`):
/// how many requests of a kind an SDK made.
pub struct CountingProxy {
    pub endpoint: String,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CountingProxy {
    pub async fn start(upstream: &str, pattern: &'static str) -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = count.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                let counted = counted.clone();
                tokio::spawn(async move {
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let down = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    });
                    // Scanned with the tail of the last read kept, so a match split
                    // across reads still counts.
                    let mut carry: Vec<u8> = Vec::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        carry.extend_from_slice(&buf[..n]);
                        let p = pattern.as_bytes();
                        let found = carry.windows(p.len()).filter(|w| *w == p).count();
                        counted.fetch_add(found, Ordering::Relaxed);
                        let keep = carry.len().saturating_sub(p.len() - 1);
                        carry.drain(..keep);
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown().await;
                    let _ = down.await;
                });
            }
        });
        Self { endpoint, count }
    }

    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Says that a test skipped and why: on stderr, and, where the test runner
/// keeps one (`WSGATE_SKIP_LOG`, as scripts/test sets it), as a line in that
/// file, so the summary counts the test as skipped rather than passed.
pub fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let line = format!("{test}: skipped, {why}");
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(path) = std::env::var_os("WSGATE_SKIP_LOG")
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}
