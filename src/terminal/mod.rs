//! Terminals (step 36): `run -t` and `exec -t` give the program a
//! pseudo-terminal of its own, made in the container's devpts.
//!
//! A pseudo-terminal (`man 7 pty`) is a pair of character devices joined by
//! the kernel's *line discipline*: what is written to the **master** side
//! arrives as keyboard input on the **slave** side, and what the program
//! writes to the slave comes out of the master. The line discipline sits in
//! between, as it would for a real serial line: in *cooked* (canonical)
//! mode it collects a line, echoes it, handles backspace, turns `\n` into
//! `\r\n` on output, and turns the bytes ctrl-c, ctrl-\ and ctrl-z into
//! SIGINT, SIGQUIT and SIGTSTP for the terminal's *foreground process
//! group*. A terminal also has a window size (`TIOCSWINSZ`): changing it
//! sends SIGWINCH to that foreground group.
//!
//! The slave becomes a process's *controlling terminal* when a session
//! leader (`setsid`) without one asks for it (`TIOCSCTTY`); the shell it
//! runs then puts each job in its own process group and makes it the
//! terminal's foreground group, which is what job control and ctrl-c need.
//!
//! The pieces:
//! - [`pty`]: open a pair in the devpts mounted at `/dev/pts` and make the
//!   slave this process's controlling terminal and stdio;
//! - [`console_socket`]: hand the master from the container's init to
//!   `run` over a unix socket (`SCM_RIGHTS`), as runc's `--console-socket`;
//! - [`raw_mode`]: the caller's own terminal goes raw while it is relayed,
//!   and is restored however the relay ends;
//! - [`relay`]: copy the caller's stdin to the master and the master to
//!   the caller's stdout until the program ends; pass on resizes and
//!   signals (`run -t`, `exec -t`, `attach`);
//! - [`server`]: a detached container's master, held by its monitor, which
//!   logs its output and serves `attach`.

pub mod console_socket;
pub mod pty;
pub mod raw_mode;
pub mod relay;
pub mod server;

use std::os::fd::{BorrowedFd, RawFd};

use serde::{Deserialize, Serialize};

/// Descriptor 0, 1 or 2 of this process (the caller's stdin, stdout or
/// stderr), borrowed for as long as the process runs.
#[allow(unsafe_code)]
pub fn standard_fd(fd: RawFd) -> BorrowedFd<'static> {
    debug_assert!((0..3).contains(&fd));
    // SAFETY: the standard descriptors are open for the whole life of the
    // process, and nothing in mydocker closes them.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// A terminal's window size, in character cells (`struct winsize` without
/// the pixel fields, which nobody sets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

/// What failed while making or relaying a terminal.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// A system call on a terminal or its socket; `what` says which.
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
}

impl TerminalError {
    fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> TerminalError {
        let what = what.into();
        move |source| TerminalError::Sys { what, source }
    }
}
