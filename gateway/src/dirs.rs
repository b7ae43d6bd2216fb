//! Where wsgate keeps things per user, following the XDG base directories.

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
