//! Waiters of a `run -d --rm` container (step 37): its exit code outlives
//! its removal for every `wait` begun before it ended.
//!
//! The monitor records the exit in the container's state, then (with
//! `--rm`) removes the state directory: a `wait` polling the state may
//! look just before the exit is recorded and next after the directory is
//! gone. Docker's daemon answers such a waiter from memory; mydocker has
//! no daemon, so the removal waits for the readers instead. A waiter
//! holds a shared `flock(2)` on `ROOT/containers/NAME/wait.lock` from
//! before its first look at the state until it has read the exit code;
//! the monitor takes the lock exclusively before it removes the
//! container, and keeps it through the removal. Whoever comes first
//! decides: a waiter that locked first is waited for (it reads the code
//! within one poll), one that comes after finds the container gone, as
//! if it had begun after the removal.
//!
//! A waiter stopped with SIGSTOP would hold the removal forever: the
//! monitor waits at most [`DRAIN_LIMIT`], then removes anyway. A waiter
//! killed releases its lock with its descriptor.

use std::fs::{File, OpenOptions};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use super::state::Store;

/// The longest a removal waits for waiters: each reads the exit code
/// within a poll of the state (20 ms) once it is recorded.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// A waiter's shared lock, or the monitor's exclusive one.
pub struct Hold(#[allow(dead_code)] Flock<File>);

fn open(store: &Store, name: &str) -> Option<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.container_dir(name).join("wait.lock"))
        .ok()
}

/// Register as a waiter of container `name`: none when its directory is
/// already gone (or the lock cannot be taken; the waiter then polls
/// unprotected, as before). Blocks while a removal is under way.
pub fn register(store: &Store, name: &str) -> Option<Hold> {
    let file = open(store, name)?;
    Flock::lock(file, FlockArg::LockShared).ok().map(Hold)
}

/// Before removing container `name`: wait until no waiter holds its lock
/// (at most [`DRAIN_LIMIT`]), then hold it, so that a later waiter finds
/// the container gone. Keep the result until the removal is done.
pub fn drain(store: &Store, name: &str) -> Option<Hold> {
    let mut file = open(store, name)?;
    let deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Some(Hold(lock)),
            Err((f, _)) if Instant::now() < deadline => file = f,
            Err(_) => return None,
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
