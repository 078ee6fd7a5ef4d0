//! Stopping a container (step 19): SIGTERM, a grace period, then SIGKILL,
//! as `docker stop` does.
//!
//! Every signal goes through [`signal`], which checks that the recorded
//! PID still belongs to the container (same start time): a PID the kernel
//! has handed to another process is never signalled.

use std::time::{Duration, Instant};

use anyhow::Result;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::state::{ContainerInfo, Store};

/// Send `sig` to the container's first process, if it still runs.
/// Returns whether it was sent.
pub fn signal(info: &ContainerInfo, sig: Signal) -> bool {
    match info.live_pid() {
        Some(pid) => kill(Pid::from_raw(pid), sig).is_ok(),
        None => false,
    }
}

/// Poll until `done` holds or `timeout` passes; returns whether it held.
/// A timeout too long for `Instant` to hold is no deadline at all.
fn wait_until(timeout: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if done() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The grace period of `stop -t SECS` and `restart -t SECS`: negative
/// seconds are no deadline at all (no SIGKILL), as Docker's API 1.42 and
/// later read `-t -1`.
pub fn grace(secs: i64) -> Duration {
    u64::try_from(secs).map_or(Duration::MAX, Duration::from_secs)
}

/// Stop a container: SIGTERM, wait up to `timeout`, then SIGKILL. A
/// container that is not running is left as it is.
pub fn stop(store: &Store, info: &ContainerInfo, timeout: Duration) -> Result<()> {
    stopped_by_user(store, &info.name);
    if !info.is_alive() {
        return Ok(());
    }
    signal(info, Signal::SIGTERM);
    if !wait_until(timeout, || !info.is_alive()) {
        signal(info, Signal::SIGKILL);
        if !wait_until(Duration::from_secs(10), || !info.is_alive()) {
            anyhow::bail!("container {} did not die after SIGKILL", info.name);
        }
    }
    store.wait_exit_recorded(&info.name);
    Ok(())
}

/// Before step 37 nothing starts a stopped container again.
#[cfg(not(feature = "lifecycle"))]
fn stopped_by_user(_store: &Store, _name: &str) {}

/// From step 37: record that the user stopped the container (before any
/// signal, so its monitor reads it when recording the exit): its restart
/// policy does not start it again. A monitor waiting to restart it reads
/// the mark when its wait ends; that is waited for too (at most the
/// longest backoff), so the container is stopped when this returns.
#[cfg(feature = "lifecycle")]
pub fn stopped_by_user(store: &Store, name: &str) {
    let _ = store.update(name, |i| i.manually_stopped = true);
    let deadline = Instant::now() + super::restart::MAX_BACKOFF + Duration::from_secs(1);
    while Instant::now() < deadline && store.load(name).is_ok_and(|i| i.restarting) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Past the longest wait, no monitor is left to clear it (one was
    // killed while it waited).
    let _ = store.update(name, |i| i.restarting = false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_timeout_is_waited_without_overflow() {
        // `stop -t 18446744073709551615`: a deadline past what Instant holds.
        assert!(wait_until(Duration::MAX, || true));
        assert!(wait_until(Duration::from_secs(u64::MAX), || true));
        assert!(!wait_until(Duration::ZERO, || false));
    }
}
