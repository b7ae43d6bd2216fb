//! The default backend: MiniStack, started from its cached venv on
//! 127.0.0.1:4566 when no endpoint is given and nothing answers there, and
//! stopped with wsgate.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::SetupError;

/// Where the default backend listens (LocalStack's and MiniStack's usual port).
pub const DEFAULT: &str = "127.0.0.1:4566";

/// A backend wsgate started; it ends when this is dropped.
pub struct Backend {
    _child: tokio::process::Child,
    pub endpoint: String,
}

/// True when something accepts connections at `addr`.
pub async fn answers(addr: SocketAddr) -> bool {
    tokio::time::timeout(
        Duration::from_millis(300),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .is_ok_and(|c| c.is_ok())
}

impl Backend {
    /// Starts MiniStack from its venv's interpreter and waits until it answers.
    pub async fn start(python: &Path, log: &Path) -> Result<Self, SetupError> {
        let addr: SocketAddr = DEFAULT.parse().expect("a literal address");
        let failed = |detail: String| SetupError::Failed {
            what: "MiniStack (the default backend)",
            dir: python.to_owned(),
            detail,
        };
        let log_file =
            std::fs::File::create(log).map_err(|e| failed(format!("{}: {e}", log.display())))?;
        let mut command = tokio::process::Command::new(python);
        // Linux: the kernel ends it if wsgate dies without cleaning up (SIGKILL).
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; it runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let child = command
            .args(["-m", "hypercorn", "ministack.app:app", "--bind", DEFAULT])
            .args([
                "--keep-alive",
                "75",
                "--workers",
                "0",
                "--log-level",
                "WARNING",
            ])
            .env("GATEWAY_PORT", "4566")
            .env("SERVICES", "dynamodb,sqs,sns,states,events,kinesis")
            .env("MINISTACK_ACCOUNT_ID", "000000000000")
            .env("LOG_LEVEL", "WARNING")
            .stdout(log_file.try_clone().map_err(|e| failed(e.to_string()))?)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        for _ in 0..150 {
            if answers(addr).await {
                return Ok(Self {
                    _child: child,
                    endpoint: format!("http://{DEFAULT}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(failed(format!(
            "it did not answer on {DEFAULT} within 15 s (log: {})",
            log.display()
        )))
    }
}
