//! Memory back to the system after a burst. glibc's allocator keeps what a
//! flood freed (20 000 messages leave some 45 MB resident for good); asking it
//! now and then to return free pages brings the process back to its idle size.
//! The walk costs little when little is free, so every 10 s is cheap.
//!
//! The walk does not shrink the top of a thread's own arena, only free() does,
//! and glibc raises that trim threshold (up to 64 MB) each time a large, mmap'd
//! block is freed: after a flood, one arena could keep tens of MB for good, by
//! the luck of which thread freed what. A fixed threshold keeps it at 128 KiB
//! (mallopt(3): setting it turns the dynamic adjustment off). That keeps the
//! mmap threshold at its 128 KiB too: a block that large (a big message) costs
//! an mmap and a munmap, microseconds beside the invocation it belongs to.

use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(10);

/// Runs for the life of the process.
pub async fn give_back_periodically() {
    fix_trim_threshold();
    loop {
        tokio::time::sleep(PERIOD).await;
        give_back();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_trim_threshold() {
    // glibc's own default, made fixed.
    const TRIM_THRESHOLD: i32 = 128 * 1024;
    // SAFETY: mallopt only sets the allocator's parameters; it takes its own lock.
    unsafe {
        nix::libc::mallopt(nix::libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back() {
    // SAFETY: malloc_trim only returns free pages; it is thread-safe.
    unsafe {
        nix::libc::malloc_trim(0);
    }
}

/// Other allocators (musl, macOS) return memory on their own terms.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back() {}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_trim_threshold() {}
