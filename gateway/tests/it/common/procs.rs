//! What tests read about processes, the same way on Linux and macOS (sysinfo).

use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

fn one(pid: u32, kind: ProcessRefreshKind) -> (System, Pid) {
    let mut system = System::new().expect("process information");
    let pid = Pid::from_u32(pid);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, kind);
    (system, pid)
}

/// Whether a process runs (a zombie is dead for our purposes).
pub fn alive(pid: u32) -> bool {
    let (system, pid) = one(pid, ProcessRefreshKind::nothing());
    system
        .process(pid)
        .is_some_and(|p| p.status() != ProcessStatus::Zombie)
}

/// A process's resident memory, in KB.
pub fn rss_kb(pid: u32) -> u64 {
    let (system, pid) = one(pid, ProcessRefreshKind::nothing().with_memory());
    system.process(pid).map_or(0, |p| p.memory() / 1024)
}

/// How many live processes have `var` (`NAME=value`) in their environment.
pub fn carrying(var: &str) -> usize {
    let mut system = System::new().expect("process information");
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing().with_environ(UpdateKind::Always),
    );
    system
        .processes()
        .values()
        // Processes, not their threads (which Linux lists too).
        .filter(|p| p.status() != ProcessStatus::Zombie && p.thread_kind().is_none())
        .filter(|p| {
            p.environ()
                .iter()
                .any(|v| v.as_encoded_bytes() == var.as_bytes())
        })
        .count()
}
