//! The signals `run` and the monitor handle for a container (step 05), in
//! one place below both the container's start (`container::process`) and
//! the terminal relays (`terminal`, step 36), which wait on them too.
//!
//! A signal sent to `run` is passed on to the container's first process
//! instead of ending `run`; SIGCHLD says that a child changed state, and
//! [`reap`] collects it without blocking. Both are read synchronously:
//! blocked first, then taken with `sigwait` or a `signalfd`.

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::exit_code::signal_exit_code;

/// Signals `run` passes on to the container instead of dying of them.
pub const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// The signals `run` blocks and waits for: [`FORWARDED`] and SIGCHLD.
pub fn forwarded_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// Collect `pid` if it has exited, without blocking: its exit code, or
/// `None` while it runs.
pub fn reap(pid: Pid) -> Result<Option<i32>> {
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(Some(signal_exit_code(sig as i32))),
            Ok(_) => return Ok(None),
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e).context("wait for the container"),
        }
    }
}
