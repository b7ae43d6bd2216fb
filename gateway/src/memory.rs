//! Memory back to the system after a burst. glibc's allocator keeps what a
//! flood freed (20 000 messages leave some 45 MB resident for good); asking it
//! now and then to return free pages brings the process back to its idle size.
//! The walk costs little when little is free, so every 10 s is cheap.

use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(10);

/// Runs for the life of the process.
pub async fn give_back_periodically() {
    loop {
        tokio::time::sleep(PERIOD).await;
        give_back();
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
