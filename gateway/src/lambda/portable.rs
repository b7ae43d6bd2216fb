//! Which way an instance's processes are watched: through Linux's own means
//! (prctl, /proc) on Linux, portable ones (a watchdog process, sysinfo)
//! elsewhere. `WSGATE_PORTABLE_PROCESSES=1` forces the portable ways on Linux
//! too, so the tests hold them to the same behaviour here.

use std::sync::OnceLock;

/// The variable that forces the portable ways.
pub const FORCE: &str = "WSGATE_PORTABLE_PROCESSES";

/// Whether the portable ways are in use (read once per process).
pub fn in_use() -> bool {
    static PORTABLE: OnceLock<bool> = OnceLock::new();
    *PORTABLE.get_or_init(|| {
        !cfg!(target_os = "linux")
            || std::env::var(FORCE).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
    })
}
