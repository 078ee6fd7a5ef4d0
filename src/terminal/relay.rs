//! Relaying a container's terminal to the caller's (step 36): one loop
//! over `poll(2)`, as `docker attach` or runc's `--tty` in the foreground.
//!
//! Three things are watched at once:
//! - the caller's stdin (with `-i`): what is typed goes to the master, and
//!   the container's line discipline makes it input, or a signal;
//! - the master: what the program writes comes out there and goes to the
//!   caller's stdout. Once every slave is closed, reading it fails with
//!   `EIO` (and `poll` reports a hang-up): it is then left alone;
//! - a `signalfd` (`man 2 signalfd`) for the signals `run` blocks
//!   ([`crate::container::process`]): they arrive as data rather than
//!   interrupting the loop. SIGCHLD means the container may have ended;
//!   SIGWINCH means the caller's window changed, and the new size is set on
//!   the master (the kernel then sends SIGWINCH to the program's
//!   foreground group, so it is not passed on); any other is passed on to
//!   the container's first process, as without a terminal.
//!
//! When the first process has exited, what is still buffered in the master
//! is copied out, and its exit code returned.
//!
//! Input waiting for the master (the program is not reading) is kept in a
//! buffer and stdin is not read meanwhile, while the master's output is
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
use crate::container::process;

/// What to relay: the container's first process, the master of its
/// terminal, the caller's stdin to copy in (with `-i`), and the caller's
/// terminal whose size the container's follows.
pub struct Relay {
    pub pid: Pid,
    pub master: OwnedFd,
    pub input: Option<BorrowedFd<'static>>,
    pub size_from: Option<BorrowedFd<'static>>,
}

const CHUNK: usize = 16 * 1024;

impl Relay {
    /// Relay until `pid` exits; returns its exit code (128+N when killed
    /// by signal N).
    pub fn run(self) -> Result<i32> {
        let Relay {
            pid,
            master,
            mut input,
            size_from,
        } = self;
        fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
            .context("make the terminal's master non-blocking")?;
        let signals = SignalFd::with_flags(
            &process::forwarded_set(),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .context("create a signalfd")?;
        let mut stdout = std::io::stdout();
        let mut pending: Vec<u8> = Vec::new();
        let mut master_open = true;
        let mut buf = vec![0u8; CHUNK];
        loop {
            if let Some(code) = process::reap(pid)? {
                drain(master.as_fd(), &mut stdout, &mut buf);
                return Ok(code);
            }
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            let master_at = master_open.then(|| {
                let mut events = PollFlags::POLLIN;
                if !pending.is_empty() {
                    events |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(master.as_fd(), events));
                fds.len() - 1
            });
            let input_at = match input {
                Some(fd) if pending.is_empty() && master_open => {
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
            let (from_master, from_input) = (got(master_at), got(input_at));
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
            if from_master.contains(PollFlags::POLLOUT) {
                match nix::unistd::write(&master, &pending) {
                    Ok(n) => drop(pending.drain(..n)),
                    Err(nix::Error::EAGAIN) => {}
                    Err(_) => master_open = false,
                }
            }
            if from_master.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                match nix::unistd::read(&master, &mut buf) {
                    Ok(0) | Err(nix::Error::EIO) => master_open = false,
                    Ok(n) => copy_out(&mut stdout, &buf[..n]),
                    Err(nix::Error::EAGAIN) => {}
                    Err(e) => return Err(e).context("read the container's terminal"),
                }
            }
            if !master_open {
                pending.clear();
            }
            if let Some(fd) = input
                && from_input.intersects(PollFlags::POLLIN | PollFlags::POLLHUP)
            {
                match nix::unistd::read(fd, &mut buf) {
                    Ok(0) | Err(nix::Error::EIO) => input = None,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                    Err(nix::Error::EAGAIN | nix::Error::EINTR) => {}
                    Err(e) => return Err(e).context("read standard input"),
                }
            }
        }
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
