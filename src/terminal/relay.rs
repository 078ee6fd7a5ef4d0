//! Relaying a container's terminal to the caller's (step 36): one loop
//! over `poll(2)`, as `docker attach` or runc's `--tty` in the foreground.
//!
//! Three things are watched at once:
//! - the caller's stdin (with `-i`): what is typed goes to the container's
//!   terminal, and its line discipline makes it input, or a signal;
//! - the *peer*: the terminal's master itself (`run -t`, `exec -t`), or for
//!   `attach` a socket to the monitor that holds it. What the program writes
//!   comes out there and goes to the caller's stdout. Once every slave is
//!   closed, reading a master fails with `EIO` (and `poll` reports a
//!   hang-up): it is then left alone;
//! - a `signalfd` (`man 2 signalfd`) for the signals `run` blocks
//!   ([`crate::signals`]): they arrive as data rather than
//!   interrupting the loop. SIGCHLD means the container may have ended;
//!   SIGWINCH means the caller's window changed, and the new size is set on
//!   the master (the kernel then sends SIGWINCH to the program's
//!   foreground group, so it is not passed on); any other is passed on to
//!   the container's process, as without a terminal.
//!
//! `run` and `exec` relay until their child exits, then copy out what the
//! master still holds. `attach` relays until the monitor closes the socket
//! (the container ended) or the user types the detach keys, ctrl-p ctrl-q,
//! as Docker's.
//!
//! Input waiting for the peer (the program is not reading) is kept in a
//! buffer and stdin is not read meanwhile, while the peer's output is
//! still copied: neither side can block the other.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use anyhow::{Context, Result};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use super::pty;
use crate::signals;

/// ctrl-p ctrl-q, Docker's detach keys.
pub const DETACH_KEYS: [u8; 2] = [0x10, 0x11];

/// What to relay.
pub struct Relay {
    /// The process signals go to.
    pub pid: Pid,
    /// Whether `pid` is this process's child, whose end ends the relay
    /// (`run`, `exec`); else the peer's end of file does (`attach`).
    pub child: bool,
    /// The terminal's master, or a socket to whoever holds it.
    pub peer: OwnedFd,
    /// The master, whose size follows the caller's terminal.
    pub master: OwnedFd,
    /// The caller's stdin to copy in (with `-i`).
    pub input: Option<BorrowedFd<'static>>,
    /// The caller's terminal, whose size the container's follows.
    pub size_from: Option<BorrowedFd<'static>>,
    /// Whether ctrl-p ctrl-q on the input detaches (`attach`).
    pub detach_keys: bool,
}

/// How a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The child exited with this code (128+N when killed by signal N).
    Exited(i32),
    /// The peer closed (the monitor saw the container end).
    Closed,
    /// The user typed the detach keys.
    Detached,
}

const CHUNK: usize = 16 * 1024;

impl Relay {
    /// Relay until the end (see [`Ended`]).
    pub fn run(self) -> Result<Ended> {
        let Relay {
            pid,
            child,
            peer,
            master,
            mut input,
            size_from,
            detach_keys,
        } = self;
        fcntl(&peer, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
            .context("make the terminal non-blocking")?;
        let signals = SignalFd::with_flags(
            &signals::forwarded_set(),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .context("create a signalfd")?;
        let mut stdout = std::io::stdout();
        let mut pending: Vec<u8> = Vec::new();
        let mut keys = DetachKeys::default();
        let mut peer_open = true;
        let mut buf = vec![0u8; CHUNK];
        loop {
            if child && let Some(code) = signals::reap(pid)? {
                drain(peer.as_fd(), &mut stdout, &mut buf);
                return Ok(Ended::Exited(code));
            }
            if !child && !peer_open {
                return Ok(Ended::Closed);
            }
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            let peer_at = peer_open.then(|| {
                let mut events = PollFlags::POLLIN;
                if !pending.is_empty() {
                    events |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(peer.as_fd(), events));
                fds.len() - 1
            });
            let input_at = match input {
                Some(fd) if pending.is_empty() && peer_open => {
                    fds.push(PollFd::new(fd, PollFlags::POLLIN));
                    Some(fds.len() - 1)
                }
                _ => None,
            };
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(e) => return Err(e).context("wait for the terminal (poll)"),
            }
            let got = |at: Option<usize>| {
                at.and_then(|i| fds[i].revents())
                    .unwrap_or(PollFlags::empty())
            };
            let (from_peer, from_input) = (got(peer_at), got(input_at));
            drop(fds);

            while let Some(info) = signals.read_signal().context("read a signal")? {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) => {}
                    Ok(Signal::SIGWINCH) => {
                        if let Some(size) = size_from.and_then(pty::size) {
                            let _ = pty::set_size(master.as_fd(), size);
                        }
                    }
                    // The container may already be gone; that is fine.
                    Ok(sig) => drop(kill(pid, sig)),
                    Err(_) => {}
                }
            }
            if from_peer.contains(PollFlags::POLLOUT) {
                match nix::unistd::write(&peer, &pending) {
                    Ok(n) => drop(pending.drain(..n)),
                    Err(nix::Error::EAGAIN) => {}
                    Err(_) => peer_open = false,
                }
            }
            if from_peer.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                match nix::unistd::read(&peer, &mut buf) {
                    Ok(0) | Err(nix::Error::EIO | nix::Error::ECONNRESET) => peer_open = false,
                    Ok(n) => copy_out(&mut stdout, &buf[..n]),
                    Err(nix::Error::EAGAIN) => {}
                    Err(e) => return Err(e).context("read the container's terminal"),
                }
            }
            if !peer_open {
                pending.clear();
            }
            if let Some(fd) = input
                && from_input.intersects(PollFlags::POLLIN | PollFlags::POLLHUP)
            {
                match nix::unistd::read(fd, &mut buf) {
                    Ok(0) | Err(nix::Error::EIO) => input = None,
                    Ok(n) if detach_keys => {
                        if keys.feed(&buf[..n], &mut pending) {
                            return Ok(Ended::Detached);
                        }
                    }
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(nix::Error::EAGAIN | nix::Error::EINTR) => {}
                    Err(e) => return Err(e).context("read standard input"),
                }
            }
        }
    }
}

/// Watches typed input for [`DETACH_KEYS`]. A ctrl-p is held back until
/// the next byte shows whether it starts the sequence (as Docker does).
#[derive(Debug, Default)]
struct DetachKeys {
    held: bool,
}

impl DetachKeys {
    /// Pass `typed` on to `out`, less the detach keys; true when they were
    /// typed (what follows them is dropped).
    fn feed(&mut self, typed: &[u8], out: &mut Vec<u8>) -> bool {
        for &b in typed {
            if self.held {
                self.held = false;
                if b == DETACH_KEYS[1] {
                    return true;
                }
                out.push(DETACH_KEYS[0]);
            }
            if b == DETACH_KEYS[0] {
                self.held = true;
            } else {
                out.push(b);
            }
        }
        false
    }
}

/// Write `bytes` to the caller's stdout. If it has gone away (a closed
/// pipe) the output is dropped: the program goes on, as under Docker.
fn copy_out(stdout: &mut std::io::Stdout, bytes: &[u8]) {
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
}

/// Copy out what the master still holds once the program has ended.
fn drain(master: BorrowedFd, stdout: &mut std::io::Stdout, buf: &mut [u8]) {
    while let Ok(n @ 1..) = nix::unistd::read(master, buf) {
        copy_out(stdout, &buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_p_ctrl_q_detaches_and_a_lone_ctrl_p_passes_on() {
        let mut out = Vec::new();
        let mut keys = DetachKeys::default();
        assert!(!keys.feed(b"ab\x10", &mut out));
        assert_eq!(out, b"ab");
        assert!(!keys.feed(b"c\x10\x10", &mut out));
        assert_eq!(out, b"ab\x10c\x10");
        assert!(keys.feed(b"\x11rest", &mut out));
        assert_eq!(out, b"ab\x10c\x10");
    }
}
