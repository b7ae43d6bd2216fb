//! Test support shared by the workspace's tests: the Python venv that
//! scripts/test makes, and a moto server to stand in for DynamoDB and SQS.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The venv's `bin` folder (`WSGATE_TEST_PYTHON`'s, else the repo's `.venv`).
pub fn venv_bin() -> PathBuf {
    let python = match std::env::var("WSGATE_TEST_PYTHON") {
        Ok(p) => PathBuf::from(p),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
    };
    assert!(
        python.exists(),
        "{} is missing: run scripts/test, which makes the venv (awslambdaric, boto3, awscli, moto)",
        python.display()
    );
    python.parent().unwrap().to_owned()
}

/// The venv's Python.
pub fn python() -> String {
    venv_bin().join("python").to_string_lossy().into_owned()
}

/// A program from the venv (`aws`, `moto_server`), else from PATH.
pub fn venv_program(name: &str) -> String {
    let path = venv_bin().join(name);
    if path.exists() {
        path.to_string_lossy().into_owned()
    } else {
        name.to_string()
    }
}

/// A moto server on a free loopback port, stopped when dropped.
pub struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// On a given port (for tests that start the backend late).
    pub fn start_on(port: u16) -> Self {
        let child = Command::new(venv_program("moto_server"))
            // LocalStack's account id, as scripts/dev uses.
            .env("MOTO_ACCOUNT_ID", "000000000000")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts (scripts/test installs it into the venv)");
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
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

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for Moto {
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
