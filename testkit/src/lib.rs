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
