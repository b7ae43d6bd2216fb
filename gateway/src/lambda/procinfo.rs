//! What the gateway reads about function processes: which carry an instance's
//! marker in their environment (to end the descendants that left its process
//! group), and how much memory one uses (for REPORT lines). On Linux from
//! /proc; elsewhere, or with the portable ways forced, through sysinfo.

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

#[cfg(target_os = "linux")]
use super::portable;

/// The processes whose environment holds `var` (`NAME=value`) exactly.
pub fn carrying(var: &str) -> Vec<u32> {
    #[cfg(target_os = "linux")]
    if !portable::in_use() {
        return linux::carrying(var);
    }
    let Ok(mut system) = System::new() else {
        return Vec::new();
    };
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_environ(UpdateKind::Always),
    );
    system
        .processes()
        .iter()
        // Processes, not their threads (which Linux lists too).
        .filter(|(_, p)| p.thread_kind().is_none())
        .filter(|(_, p)| {
            p.environ()
                .iter()
                .any(|v| v.as_encoded_bytes() == var.as_bytes())
        })
        .map(|(pid, _)| pid.as_u32())
        .collect()
}

/// True while the process runs; one killed and not yet reaped (a zombie) does not.
pub fn running(pid: u32) -> bool {
    let Ok(mut system) = System::new() else {
        return true;
    };
    let pid = Pid::from_u32(pid);
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing(),
    );
    system
        .process(pid)
        .is_some_and(|p| p.status() != sysinfo::ProcessStatus::Zombie)
}

/// A process's peak resident memory on Linux (VmHWM); elsewhere its resident
/// memory now, which the caller keeps the highest of.
pub fn memory_mb(pid: u32) -> Option<u64> {
    #[cfg(target_os = "linux")]
    if !portable::in_use() {
        return linux::peak_mb(pid);
    }
    let mut system = System::new().ok()?;
    let pid = Pid::from_u32(pid);
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing().with_memory(),
    );
    Some(system.process(pid)?.memory().div_ceil(1024 * 1024))
}

#[cfg(target_os = "linux")]
mod linux {
    pub fn carrying(var: &str) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let environ = std::fs::read(entry.path().join("environ")).ok()?;
                environ
                    .split(|b| *b == 0)
                    .any(|v| v == var.as_bytes())
                    .then_some(pid)
            })
            .collect()
    }

    pub fn peak_mb(pid: u32) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb.div_ceil(1024))
    }
}
