//! Who is on the other end of a Runtime API connection. On Lambda only the
//! function's own runtime reaches its Runtime API; here any local process could
//! connect to the port, take the next event and forge the answer. On Linux the
//! peer socket's owner is found through /proc, and only processes that carry the
//! instance's marker are let in. Elsewhere every local peer is accepted.

use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};

/// A listener that serves only the instance's own processes.
pub(super) struct OwnProcesses {
    pub listener: TcpListener,
    /// `WSGATE_INSTANCE=…` as it appears in the processes' environment.
    pub needle: String,
    pub name: String,
}

impl axum::serve::Listener for OwnProcesses {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let (tcp, peer) = match self.listener.accept().await {
                Ok(pair) => pair,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let local = self.listener.local_addr().ok();
            let needle = self.needle.clone();
            let own = tokio::task::spawn_blocking(move || {
                local.is_none_or(|local| is_own(peer, local, &needle))
            })
            .await
            .unwrap_or(false);
            if own {
                // Small request/response pairs on loopback: no Nagle delay.
                let _ = tcp.set_nodelay(true);
                return (tcp, peer);
            }
            tracing::warn!(
                "[{}] refused a Runtime API connection from {peer}: not the function's own process",
                self.name
            );
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// True when the socket connected from `peer` to `local` belongs to a process
/// whose environment holds `needle` (or when that cannot be known here).
fn is_own(peer: SocketAddr, local: SocketAddr, needle: &str) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let Some(inode) = socket_inode(peer, local) else {
        // The table could not be read: nothing to decide on.
        return std::fs::metadata("/proc/net/tcp").is_err();
    };
    let link = format!("socket:[{inode}]");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let marked = std::fs::read(entry.path().join("environ"))
            .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()));
        marked
            && std::fs::read_dir(entry.path().join("fd")).is_ok_and(|fds| {
                fds.flatten().any(|fd| {
                    std::fs::read_link(fd.path())
                        .is_ok_and(|target| target.as_os_str() == link.as_str())
                })
            })
    })
}

/// The inode of the socket whose local end is `peer` and remote end `local`.
fn socket_inode(peer: SocketAddr, local: SocketAddr) -> Option<u64> {
    let table = match peer.ip() {
        IpAddr::V4(_) => "/proc/net/tcp",
        IpAddr::V6(_) => "/proc/net/tcp6",
    };
    let text = std::fs::read_to_string(table).ok()?;
    text.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (from, to, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
        (parse(from)? == peer && parse(to)? == local).then(|| inode.parse().ok())?
    })
}

/// `0100007F:1F90` (little-endian IPv4 as the kernel prints it, hex port).
fn parse(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::from(u32::from_str_radix(ip, 16).ok()?.swap_bytes().to_be_bytes()),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok()?;
                chunk.copy_from_slice(&word.swap_bytes().to_be_bytes());
            }
            IpAddr::from(bytes)
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_addresses() {
        assert_eq!(
            parse("0100007F:1F90"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(parse("nonsense"), None);
    }
}
