//! This API's AWS host name inside function processes. Code written for AWS
//! builds `https://{apiId}.execute-api.{region}.amazonaws.com/{stage}` from the
//! event; a small library preloaded into each function process (`LD_PRELOAD`,
//! built from `native/hosts.c`) resolves exactly that name to a marker address
//! and sends connections to it to this gateway's port. Every other host is
//! untouched. It works for any dynamically linked runtime (Node, Python, Rust
//! with glibc); statically linked binaries (musl, Go) are not reached.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

const LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libwsgate_hosts.so"));

/// Writes the library where processes can load it; content-addressed, so
/// gateways of different versions never overwrite each other's.
pub fn install(dir: &Path) -> std::io::Result<PathBuf> {
    let digest = LIBRARY.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    let path = dir.join(format!("libwsgate_hosts-{digest:016x}.so"));
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir)?;
    crate::dirs::write_whole(&path, LIBRARY)?;
    Ok(path)
}

/// The variables that make `hosts` reach `gateway` in a function's process.
pub fn env(library: &Path, hosts: &[String], gateway: SocketAddr) -> Vec<(String, String)> {
    vec![
        ("LD_PRELOAD".into(), library.to_string_lossy().into_owned()),
        ("WSGATE_HOSTS".into(), hosts.join(",")),
        ("WSGATE_HOSTS_TARGET".into(), gateway.to_string()),
    ]
}
