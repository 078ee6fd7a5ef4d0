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
//! normal end, on an error, on a panic (mydocker's panic hook exits at
//! once, so a hook in front of it restores them first), and after a signal
//! `run` forwards (it never dies of one: they are read from a signalfd).
//! Only a signal `run` cannot catch or does not expect (SIGKILL, SIGALRM,
//! ...) leaves them raw (`stty sane` or `reset` repairs that).

use std::os::fd::BorrowedFd;
use std::sync::{Mutex, Once};

use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

use super::TerminalError;

/// The modes to put back if mydocker panics while a [`RawMode`] lives.
static SAVED: Mutex<Option<(BorrowedFd<'static>, Termios)>> = Mutex::new(None);

/// Put the saved modes back before the panic hook installed so far runs
/// (it exits the process, so no guard would be dropped).
fn restore_on_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let next = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut saved) = SAVED.lock()
                && let Some((fd, modes)) = saved.take()
            {
                let _ = tcsetattr(fd, SetArg::TCSANOW, &modes);
            }
            next(info)
        }));
    });
}

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
        restore_on_panic();
        if let Ok(mut slot) = SAVED.lock() {
            *slot = Some((fd, saved.clone()));
        }
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Ok(mut slot) = SAVED.lock() {
            *slot = None;
        }
        // Nothing better to do when this fails than leave it.
        let _ = tcsetattr(self.fd, SetArg::TCSANOW, &self.saved);
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, OwnedFd};

    use nix::sys::termios::LocalFlags;

    use super::*;

    #[test]
    fn raw_mode_clears_canonical_and_echo_and_puts_the_modes_back() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let slave: &'static OwnedFd = Box::leak(Box::new(pty.slave));
        let before = tcgetattr(slave.as_fd()).unwrap();
        {
            let _raw = RawMode::enter(slave.as_fd()).unwrap();
            let raw = tcgetattr(slave.as_fd()).unwrap();
            assert!(!raw.local_flags.contains(LocalFlags::ICANON));
            assert!(!raw.local_flags.contains(LocalFlags::ECHO));
            assert!(!raw.local_flags.contains(LocalFlags::ISIG));
        }
        let after = tcgetattr(slave.as_fd()).unwrap();
        assert_eq!(before.local_flags, after.local_flags);
        assert_eq!(before.input_flags, after.input_flags);
        assert_eq!(before.output_flags, after.output_flags);
        assert_eq!(before.control_chars, after.control_chars);
    }
}
