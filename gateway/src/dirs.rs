//! Where wsgate keeps things per user, following the XDG base directories,
//! and how it writes them.

use std::path::{Path, PathBuf};

/// `$override`, else `$xdg/wsgate/leaf`, else `$HOME/home_default/wsgate/leaf`.
pub fn user_dir(override_var: &str, xdg_var: &str, home_default: &str, leaf: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(override_var) {
        return dir.into();
    }
    std::env::var_os(xdg_var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(home_default)))
        .unwrap_or_else(std::env::temp_dir)
        .join("wsgate")
        .join(leaf)
}

/// Writes `contents` to `path` whole or not at all: a process reading it now
/// (a function starting) never sees half a file. The temporary name is unique
/// per write: gateways in one process (tests) may write the same file at once.
pub fn write_whole(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}
