//! A detached container's terminal (step 36): `run -d -t` leaves its
//! master with the monitor, as containerd's shim holds it for Docker.
//!
//! Nobody may be watching, yet the program must never block on a full
//! terminal: the monitor reads the master all the time and appends what it
//! reads to the container's log (so `logs` shows it, with the terminal's
//! `\r\n`). It also listens on a unix socket in the container's state
//! directory, `attach.sock` (mode 0600, root's alone): each `attach` that
//! connects is first sent a copy of the master (`SCM_RIGHTS`), only to set
//! the window size on it, then gets all further output over the socket,
//! and what it sends is typed into the terminal. Several may be attached
//! at once, screen-sharing style, as with Docker. An `attach` that does
//! not keep up loses output (the log keeps it all); one that leaves
//! changes nothing for the program.
//!
//! When the container's first process exits, what the master still holds
//! goes to the log and the clients, their connections are closed (so each
//! `attach` ends), and the exit code is returned to the monitor.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use anyhow::{Context, Result};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;

use super::console_socket;
use crate::signals;

/// The socket's name in the container's state directory.
pub const ATTACH_SOCKET: &str = "attach.sock";

/// Serve the terminal whose `master` belongs to the container's first
/// process `pid` (this process's child) until it exits; its exit code.
pub fn serve(
    pid: Pid,
    master: OwnedFd,
    listener: UnixListener,
    mut log: Box<dyn Write>,
) -> Result<i32> {
    fcntl(&master, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
        .context("make the terminal's master non-blocking")?;
    listener
        .set_nonblocking(true)
        .context("make the attach socket non-blocking")?;
    let signals = SignalFd::with_flags(
        &signals::forwarded_set(),
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )
    .context("create a signalfd")?;
    let mut clients: Vec<UnixStream> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut master_open = true;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if let Some(code) = signals::reap(pid)? {
            while let Ok(n @ 1..) = nix::unistd::read(&master, &mut buf) {
                show(&mut log, &mut clients, &buf[..n]);
            }
            return Ok(code);
        }
        let mut fds = vec![
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
        ];
        if master_open {
            let mut events = PollFlags::POLLIN;
            if !pending.is_empty() {
                events |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(master.as_fd(), events));
        }
        // Clients are read only while nothing waits for the master.
        let first_client = fds.len();
        if pending.is_empty() {
            fds.extend(
                clients
                    .iter()
                    .map(|c| PollFd::new(c.as_fd(), PollFlags::POLLIN)),
            );
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e).context("wait for the terminal (poll)"),
        }
        let events: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);

        // Only SIGCHLD matters here: the loop's top reaps.
        while let Ok(Some(_)) = signals.read_signal() {}
        if events[1].contains(PollFlags::POLLIN)
            && let Ok((client, _)) = listener.accept()
            && console_socket::send(client.as_fd(), master.as_fd()).is_ok()
            && client.set_nonblocking(true).is_ok()
        {
            clients.push(client);
        }
        if master_open {
            let from_master = events[2];
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
                    Ok(n) => show(&mut log, &mut clients, &buf[..n]),
                    Err(nix::Error::EAGAIN) => {}
                    Err(e) => return Err(e).context("read the container's terminal"),
                }
            }
            if !master_open {
                pending.clear();
            }
        }
        if first_client < events.len() {
            let mut gone = Vec::new();
            for (i, client) in clients.iter().enumerate() {
                let got = events[first_client + i];
                if !got.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                    continue;
                }
                match nix::unistd::read(client, &mut buf) {
                    Ok(0) => gone.push(i),
                    Ok(n) if master_open => pending.extend_from_slice(&buf[..n]),
                    Ok(_) | Err(nix::Error::EAGAIN) => {}
                    Err(_) => gone.push(i),
                }
            }
            for i in gone.into_iter().rev() {
                clients.remove(i);
            }
        }
    }
}

/// Append `bytes` to the log and send them to every client that keeps up;
/// a client whose socket fails is dropped.
fn show(log: &mut dyn Write, clients: &mut Vec<UnixStream>, bytes: &[u8]) {
    let _ = log.write_all(bytes);
    clients.retain_mut(|c| match c.write(bytes) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    });
}
