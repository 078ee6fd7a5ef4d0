//! The program's stdin, stdout and stderr from step 36, as Docker's:
//!
//! - `-t`: a pseudo-terminal of its own, made in the container's devpts
//!   (`crate::terminal`). For `run`, init makes it after the pivot and
//!   hands the master back over a console socket, which it receives as its
//!   stdin; for `exec`, the helper makes it once it has joined the
//!   container's mount namespace, and its child takes the slave. The
//!   caller's side relays it ([`crate::terminal::relay`]), its own terminal
//!   raw with `-i`. For `run -d -t` the monitor holds the master instead
//!   (`crate::terminal::server`), and `attach` relays it;
//! - `-i` without `-t`: the caller's stdin, handed over as it is (Docker
//!   copies it through a pipe; the program sees the same bytes and the same
//!   end of file);
//! - neither: stdin is `/dev/null`, so a program that reads gets end of
//!   file at once instead of stealing the caller's input.
//!
//! `-it` with a stdin that is not a terminal is refused before anything is
//! made, as Docker refuses it: `the input device is not a TTY` (exit 125,
//! where the docker client exits 1).

use std::fs::{File, OpenOptions};
use std::io::IsTerminal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::unistd::Pid;

use super::process;
use super::spec::Spec;
use crate::terminal::pty::{self, Pty};
use crate::terminal::raw_mode::RawMode;
use crate::terminal::relay::{Ended, Relay};
use crate::terminal::server;
use crate::terminal::{Size, console_socket};

/// What the program's standard descriptors will be.
pub struct Stdio {
    tty: bool,
    interactive: bool,
    /// Its stdin without `-i`.
    null: Option<File>,
    /// The console socket of `run -t`: `(outside, inside)`.
    socket: Option<(OwnedFd, OwnedFd)>,
    /// Where `attach` connects, for the monitor of `run -d -t`.
    listener: Option<UnixListener>,
    /// The pair `exec -t` made in the container.
    pty: Option<Pty>,
    /// The caller's window size (0x0 when it has no terminal).
    size: Size,
}

/// The caller's terminal, if any: stdout (where the program's output is
/// shown), else stdin.
fn caller_terminal() -> Option<BorrowedFd<'static>> {
    let (stdout, stdin) = (std::io::stdout(), std::io::stdin());
    if stdout.is_terminal() {
        Some(stdout_fd())
    } else if stdin.is_terminal() {
        Some(stdin_fd())
    } else {
        None
    }
}

fn stdin_fd() -> BorrowedFd<'static> {
    crate::terminal::standard_fd(0)
}

fn stdout_fd() -> BorrowedFd<'static> {
    crate::terminal::standard_fd(1)
}

impl Stdio {
    /// From `-t` (`tty`) and `-i` (`interactive`). Refuses `-it` when
    /// stdin is not a terminal; opens `/dev/null` without `-i`.
    pub fn plan(tty: bool, interactive: bool) -> Result<Stdio> {
        if tty && interactive && !std::io::stdin().is_terminal() {
            bail!("the input device is not a TTY");
        }
        let null = if interactive {
            None
        } else {
            Some(
                OpenOptions::new()
                    .read(true)
                    .open("/dev/null")
                    .context("open /dev/null for the container's stdin")?,
            )
        };
        let size = caller_terminal().and_then(pty::size).unwrap_or_default();
        Ok(Stdio {
            tty,
            interactive,
            null,
            socket: None,
            listener: None,
            pty: None,
            size,
        })
    }

    /// The spec, with the terminal init is to make (`-t`) and its size.
    pub fn configure(&self, spec: Spec) -> Spec {
        Spec {
            terminal: self.tty.then_some(self.size),
            ..spec
        }
    }

    /// The descriptor moves for `init` (`(source, target)` pairs): with
    /// `-t` the console socket as its stdin, else `/dev/null` without `-i`.
    pub fn for_init(&mut self) -> Result<Vec<(RawFd, RawFd)>> {
        if self.tty {
            let (outside, inside) = console_socket::pair()?;
            let moves = vec![(inside.as_raw_fd(), 0)];
            self.socket = Some((outside, inside));
            return Ok(moves);
        }
        Ok(self.null.iter().map(|f| (f.as_raw_fd(), 0)).collect())
    }

    /// For the monitor of `run -d`, whose container's state directory is
    /// `dir`: with `-t`, listen for `attach` there (before the container
    /// starts, so an `attach` right after `run -d` finds the socket); the
    /// descriptor moves for `init`, as [`Stdio::for_init`].
    pub fn for_monitor(&mut self, dir: &Path) -> Result<Vec<(RawFd, RawFd)>> {
        if self.tty {
            let path = dir.join(server::ATTACH_SOCKET);
            let _ = std::fs::remove_file(&path);
            let listener = UnixListener::bind(&path)
                .with_context(|| format!("listen on {}", path.display()))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("chmod {}", path.display()))?;
            self.listener = Some(listener);
        }
        self.for_init()
    }

    /// For the monitor: with `-t`, hold the terminal (log its output, serve
    /// `attach`) until the first process `pid` exits; else wait for it.
    /// Its exit code.
    pub fn supervise(self, pid: Pid, log: Box<dyn std::io::Write>) -> i32 {
        let wait = || crate::namespaces::wait_exit_code(pid).unwrap_or(-1);
        let (Some((outside, inside)), Some(listener)) = (self.socket, self.listener) else {
            return wait();
        };
        drop(inside);
        let Ok(Some(master)) = console_socket::receive(outside.as_fd()) else {
            return wait();
        };
        server::serve(pid, master, listener, log).unwrap_or_else(|_| wait())
    }

    /// For `exec -t`, once in the container's mount namespace: make the
    /// pair in its `/dev/pts`, at the caller's size.
    pub fn open_here(&mut self) -> Result<()> {
        if self.tty {
            let pty = pty::open(std::path::Path::new("/dev/pts"))
                .context("make a terminal in the container")?;
            pty::set_size(pty.master.as_fd(), self.size)?;
            self.pty = Some(pty);
        }
        Ok(())
    }

    /// In `exec`'s child, before it `execve`s: take the terminal (a new
    /// session, controlling terminal, stdio), or `/dev/null` as stdin.
    pub fn in_child(&self) -> Result<()> {
        if let Some(pty) = &self.pty {
            pty::take_as_controlling(&pty.slave)?;
        } else if let Some(null) = &self.null {
            nix::unistd::dup2_stdin(null).context("put /dev/null on stdin")?;
        }
        Ok(())
    }

    /// Wait for the container's process `pid`: relay its terminal when it
    /// has one, else forward signals. Returns its exit code.
    pub fn wait(self, pid: Pid) -> Result<i32> {
        let master = match (self.pty, self.socket) {
            (Some(pty), _) => Some(pty.master),
            (None, Some((outside, inside))) => {
                // Only init may hold the inside end now: when it exits
                // without sending, the receive sees end of file.
                drop(inside);
                console_socket::receive(outside.as_fd()).unwrap_or_else(|e| {
                    eprintln!("mydocker: {e}");
                    None
                })
            }
            (None, None) => None,
        };
        let Some(master) = master else {
            return process::wait_forwarding(pid);
        };
        let input = self.interactive.then(stdin_fd);
        let _raw = match input {
            Some(fd) if std::io::stdin().is_terminal() => RawMode::enter(fd)
                .inspect_err(|e| eprintln!("mydocker: {e}"))
                .ok(),
            _ => None,
        };
        let ended = Relay {
            pid,
            child: true,
            master: master
                .try_clone()
                .context("duplicate the terminal's master")?,
            peer: master,
            input,
            size_from: caller_terminal(),
            detach_keys: false,
        }
        .run()?;
        match ended {
            Ended::Exited(code) => Ok(code),
            Ended::Closed | Ended::Detached => process::wait_forwarding(pid),
        }
    }
}
