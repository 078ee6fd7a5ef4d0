//! The caller's terminal in raw mode (step 36, `man 3 termios`).
//!
//! While `run -it` relays, the caller's terminal must pass every byte on
//! as typed: no line buffering, no echo (the container's own terminal
//! echoes), and ctrl-c as the byte 0x03 rather than a SIGINT to `run`, so
//! that the *container's* line discipline turns it into a signal for the
//! program in its foreground. `cfmakeraw` clears exactly those modes.
//!
//! The modes belong to the terminal, not to the process: if `run` left
//! them raw, the user's shell would be unusable afterwards. So they are
//! saved first and restored when the [`RawMode`] guard is dropped: on a
//! normal end, on an error, on a panic (unwinding), and after a signal
//! `run` forwards (it never dies of one: they are read from a signalfd).
//! Only SIGKILL leaves them raw (`stty sane` or `reset` repairs that).

use std::os::fd::BorrowedFd;

use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use super::TerminalError;

/// The terminal at `fd` in raw mode until this is dropped.
pub struct RawMode {
    fd: BorrowedFd<'static>,
    saved: Termios,
}

impl RawMode {
    /// Save the modes of the terminal at `fd` and make it raw.
    pub fn enter(fd: BorrowedFd<'static>) -> Result<RawMode, TerminalError> {
        let saved = tcgetattr(fd).map_err(TerminalError::sys("read the terminal's modes"))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw)
            .map_err(TerminalError::sys("put the terminal in raw mode"))?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // Nothing better to do when this fails than leave it.
        let _ = tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}
