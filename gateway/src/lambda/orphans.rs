//! No function process outlives a gateway that dies without stopping it
//! (SIGKILL, a crash). A watchdog sees to it on every Unix: a small POSIX shell
//! process in a group of its own that reads the instances' process groups from
//! a pipe only the gateway holds. When the gateway is gone, however it went,
//! the pipe closes and the watchdog kills every group still listed, so a
//! wrapper's children go too. On Linux the kernel also kills each instance's
//! first process at once (PR_SET_PDEATHSIG), unless the portable ways are
//! forced to test the watchdog alone.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

#[cfg(target_os = "linux")]
use super::portable;

/// `+GROUP` lists a group, `-GROUP` takes it off (its instance ended in order);
/// at the end of input every listed group is killed.
const WATCHDOG: &str = r#"groups=" "
while read -r line; do
  case "$line" in
    +*) groups="$groups${line#+} " ;;
    -*) kept=" "
        for g in $groups; do [ "$g" = "${line#-}" ] || kept="$kept$g "; done
        groups="$kept" ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
"#;

struct Watchdog {
    _process: Child,
    pipe: ChildStdin,
}

/// The process's watchdog, started on first need; None if it cannot start.
fn watchdog() -> Option<&'static Mutex<Watchdog>> {
    static WATCHDOG_PROCESS: OnceLock<Option<Mutex<Watchdog>>> = OnceLock::new();
    WATCHDOG_PROCESS
        .get_or_init(|| {
            use std::os::unix::process::CommandExt;
            // Its own group: a terminal's Ctrl-C is for the gateway, which
            // then stops its functions itself. The pipe is close-on-exec, so no
            // function inherits it and keeps it open.
            let started = Command::new("/bin/sh")
                .args(["-c", WATCHDOG])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn();
            match started {
                Ok(mut process) => {
                    let pipe = process.stdin.take()?;
                    Some(Mutex::new(Watchdog {
                        _process: process,
                        pipe,
                    }))
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot start the watchdog that ends functions if the gateway dies: {e}"
                    );
                    None
                }
            }
        })
        .as_ref()
}

fn tell(line: String) {
    if let Some(watchdog) = watchdog() {
        let mut watchdog = watchdog.lock().unwrap();
        let _ = watchdog.pipe.write_all(line.as_bytes());
    }
}

/// Before the spawn: on Linux, the kernel kills the child with the gateway.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
pub fn protect(cmd: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    if !portable::in_use() {
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill
        // the child if the gateway dies without cleaning up.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
    }
}

/// After the spawn: the watchdog learns the instance's group (led by its pid).
pub fn spawned(group: u32) {
    tell(format!("+{group}\n"));
}

/// The instance's group was killed in order: the watchdog forgets it (its id
/// may be reused).
pub fn ended(group: u32) {
    tell(format!("-{group}\n"));
}
