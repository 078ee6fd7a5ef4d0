//! The program's stdin, stdout and stderr before step 36: those of the
//! process that started it (`run`, or `exec`'s helper). `-t` only sets
//! `TERM` (step 24) and `-i` changes nothing: a program started from a
//! terminal reads and writes the caller's own, and `tty` inside prints
//! `not a tty`, since that terminal's device is not in the container's
//! `/dev/pts`. Step 36 swaps this module for `stdio_terminal.rs`.

use std::os::fd::RawFd;
use std::path::Path;

use anyhow::Result;
use nix::unistd::Pid;

use super::process;
use super::spec::Spec;

/// What the program's standard descriptors are: inherited.
pub struct Stdio;

impl Stdio {
    /// `-t` and `-i` (`tty`, `interactive`) change nothing here.
    pub fn plan(_tty: bool, _interactive: bool) -> Result<Stdio> {
        Ok(Stdio)
    }

    /// The spec as given: there is no terminal to make.
    pub fn configure(&self, spec: Spec) -> Spec {
        spec
    }

    /// The descriptor moves for `init` (`(source, target)` pairs): none.
    pub fn for_init(&mut self) -> Result<Vec<(RawFd, RawFd)>> {
        Ok(Vec::new())
    }

    /// For the monitor of `run -d`, whose container's state directory is
    /// `dir`: the descriptor moves for `init`, none.
    pub fn for_monitor(&mut self, _dir: &Path) -> Result<Vec<(RawFd, RawFd)>> {
        Ok(Vec::new())
    }

    /// For the monitor: wait for the container's first process `pid`
    /// (its output has reached the log by itself, `_log` is unused); its
    /// exit code.
    pub fn supervise(self, pid: Pid, _log: Box<dyn std::io::Write>) -> i32 {
        crate::namespaces::wait_exit_code(pid).unwrap_or(-1)
    }

    /// For `exec`, once in the container's namespaces: nothing to open.
    pub fn open_here(&mut self) -> Result<()> {
        Ok(())
    }

    /// In `exec`'s child, before it `execve`s: nothing to change.
    pub fn in_child(&self) -> Result<()> {
        Ok(())
    }

    /// Wait for the container's process `pid`, forwarding signals; its
    /// exit code.
    pub fn wait(self, pid: Pid) -> Result<i32> {
        process::wait_forwarding(pid)
    }
}
