//! Who is on the other end of a Runtime API connection. On Lambda only the
//! function's own runtime can reach its Runtime API; here any local process
//! could connect to the port, take events and forge answers. So each accepted
//! connection is traced to its owner: the kernel's socket table (netlink
//! `sock_diag`, one exact 4-tuple lookup) gives the client socket's inode, and
//! the socket must be among the open files of the instance's process or its
//! descendants. Checked once per connection; runtimes keep theirs open.
//!
//! Linux only; elsewhere every local connection is taken (see the README).

use std::net::SocketAddr;

/// Whether the connection from `peer` to `local` belongs to the process tree
/// rooted at `pid`.
#[cfg(target_os = "linux")]
pub fn owned_by_tree(peer: SocketAddr, local: SocketAddr, pid: u32) -> bool {
    let Some(inode) = linux::socket_inode(peer, local) else {
        return false;
    };
    let link = format!("socket:[{inode}]");
    linux::tree(pid).into_iter().any(|p| linux::holds(p, &link))
}

#[cfg(not(target_os = "linux"))]
pub fn owned_by_tree(_peer: SocketAddr, _local: SocketAddr, _pid: u32) -> bool {
    true
}

#[cfg(target_os = "linux")]
mod linux {
    use std::mem::size_of;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use nix::libc;

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const INET_DIAG_NOCOOKIE: u32 = !0;

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct SockId {
        sport: [u8; 2],
        dport: [u8; 2],
        src: [u8; 16],
        dst: [u8; 16],
        interface: u32,
        cookie: [u32; 2],
    }

    #[repr(C)]
    struct Request {
        header: libc::nlmsghdr,
        family: u8,
        protocol: u8,
        ext: u8,
        pad: u8,
        states: u32,
        id: SockId,
    }

    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Answer {
        family: u8,
        state: u8,
        timer: u8,
        retrans: u8,
        id: SockId,
        expires: u32,
        rqueue: u32,
        wqueue: u32,
        uid: u32,
        inode: u32,
    }

    fn address(ip: IpAddr) -> [u8; 16] {
        let mut out = [0u8; 16];
        match ip {
            IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out = v6.octets(),
        }
        out
    }

    /// The inode of the socket whose local end is `peer` and remote end `local`.
    pub fn socket_inode(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
        // SAFETY: a plain socket(2) call; the descriptor is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let family = if peer.is_ipv4() {
            libc::AF_INET
        } else {
            libc::AF_INET6
        };
        let request = Request {
            header: libc::nlmsghdr {
                nlmsg_len: size_of::<Request>() as u32,
                nlmsg_type: SOCK_DIAG_BY_FAMILY,
                nlmsg_flags: libc::NLM_F_REQUEST as u16,
                nlmsg_seq: 1,
                nlmsg_pid: 0,
            },
            family: family as u8,
            protocol: libc::IPPROTO_TCP as u8,
            ext: 0,
            pad: 0,
            states: !0,
            id: SockId {
                sport: peer.port().to_be_bytes(),
                dport: local.port().to_be_bytes(),
                src: address(peer.ip()),
                dst: address(local.ip()),
                interface: 0,
                cookie: [INET_DIAG_NOCOOKIE; 2],
            },
        };
        // SAFETY: the buffer is the request struct, fully initialised, of the length given.
        let sent = unsafe {
            libc::send(
                fd.as_raw_fd(),
                (&request as *const Request).cast(),
                size_of::<Request>(),
                0,
            )
        };
        if sent < 0 {
            return None;
        }
        let mut buf = [0u8; 512];
        // SAFETY: reads at most buf.len() bytes into buf.
        let got = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let got = usize::try_from(got).ok()?;
        let header_len = size_of::<libc::nlmsghdr>();
        if got < header_len + size_of::<Answer>() {
            return None;
        }
        // SAFETY: at least a header's worth of bytes; read unaligned.
        let header: libc::nlmsghdr = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast()) };
        if header.nlmsg_type != SOCK_DIAG_BY_FAMILY {
            return None;
        }
        // SAFETY: checked above that an answer's worth of bytes follows the header.
        let answer: Answer = unsafe { std::ptr::read_unaligned(buf[header_len..].as_ptr().cast()) };
        Some(answer.inode).filter(|i| *i != 0)
    }

    /// `pid` and its descendants, through each thread's `children` list.
    pub fn tree(pid: u32) -> Vec<u32> {
        let mut all = vec![pid];
        let mut next = 0;
        while next < all.len() && all.len() < 4096 {
            let parent = all[next];
            next += 1;
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Ok(children) = std::fs::read_to_string(task.path().join("children")) else {
                    continue;
                };
                all.extend(
                    children
                        .split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
        all
    }

    /// Whether one of `pid`'s open files is `link` (`socket:[inode]`).
    pub fn holds(pid: u32, link: &str) -> bool {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            return false;
        };
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == link))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_connection_of_this_process_is_found_and_a_stranger_is_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(local).unwrap();
        let peer = client.local_addr().unwrap();
        assert!(owned_by_tree(peer, local, std::process::id()));
        // Another process (our child, so its tree does not hold us) does not own it.
        let mut other = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        assert!(!owned_by_tree(peer, local, other.id()));
        let _ = other.kill();
        let _ = other.wait();
        // No such connection at all.
        let nobody = SocketAddr::from(([127, 0, 0, 1], 1));
        assert!(!owned_by_tree(nobody, local, std::process::id()));
    }
}
