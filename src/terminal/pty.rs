//! Opening a pseudo-terminal pair (step 36, `man 4 pts`, `man 2
//! ioctl_tty`).
//!
//! Opening `ptmx` of a devpts instance makes a new pair there and returns
//! its master; the slave appears as `pts/N` beside it, locked until the
//! master unlocks it (`TIOCSPTLCK`). `TIOCGPTPEER` then opens the slave
//! from the master itself, with no path lookup (no race with someone
//! swapping `/dev/pts/N`, the reason runc uses it).
//!
//! Which devpts instance matters. Each container mounts a new one
//! (`newinstance`, step 10), so its `/dev/pts` lists only its own
//! terminals. The pair is therefore made *inside*, through the container's
//! `/dev/pts/ptmx`: the program's `tty` prints `/dev/pts/0`, a path that
//! exists where it runs. A pair made on the host would be invisible there.
//!
//! A process takes the slave as its controlling terminal by becoming a
//! session leader (`setsid`, which also drops any terminal it had) and
//! asking for it (`TIOCSCTTY`).

#![allow(unsafe_code)]

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::{Size, TerminalError};

/// Both sides of a new pseudo-terminal, close-on-exec.
#[derive(Debug)]
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// The slave's path in the devpts it was made in (`DEVPTS/N`).
    pub slave_path: PathBuf,
}

/// Make a new pair in the devpts instance mounted at `devpts` (`/dev/pts`
/// of this process's mount namespace).
pub fn open(devpts: &Path) -> Result<Pty, TerminalError> {
    let ptmx = devpts.join("ptmx");
    let master: OwnedFd = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&ptmx)
        .map_err(|e| TerminalError::Sys {
            what: format!("open {}", ptmx.display()),
            source: nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?
        .into();
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer, which is valid.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) };
    nix::errno::Errno::result(r).map_err(TerminalError::sys("unlock the terminal's slave"))?;
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the valid pointer.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut number) };
    nix::errno::Errno::result(r).map_err(TerminalError::sys("read the terminal's number"))?;
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new
    // descriptor, which the OwnedFd below owns.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    let slave = nix::errno::Errno::result(slave).map_err(TerminalError::sys(
        "open the terminal's slave (TIOCGPTPEER)",
    ))?;
    Ok(Pty {
        master,
        // SAFETY: a new descriptor that nothing else owns.
        slave: unsafe { OwnedFd::from_raw_fd(slave) },
        slave_path: devpts.join(number.to_string()),
    })
}

/// The window size of the terminal open at `fd`, if it is one.
pub fn size(fd: BorrowedFd) -> Option<Size> {
    let mut ws = std::mem::MaybeUninit::<libc::winsize>::zeroed();
    // SAFETY: TIOCGWINSZ writes a winsize through the valid pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, ws.as_mut_ptr()) };
    // SAFETY: zero-initialised, and filled in when the call succeeded.
    let ws = unsafe { ws.assume_init() };
    (r == 0).then_some(Size {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Set the window size of the terminal open at `fd` (either side of a
/// pair); the kernel sends SIGWINCH to its foreground process group.
pub fn set_size(fd: BorrowedFd, size: Size) -> Result<(), TerminalError> {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from the valid pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    nix::errno::Errno::result(r)
        .map(drop)
        .map_err(TerminalError::sys("set the terminal's window size"))
}

/// Make `slave` the controlling terminal of this process, in a new
/// session, and its stdin, stdout and stderr.
pub fn take_as_controlling(slave: &OwnedFd) -> Result<(), TerminalError> {
    nix::unistd::setsid().map_err(TerminalError::sys("start a new session (setsid)"))?;
    // SAFETY: TIOCSCTTY takes an int by value (0: do not steal it from
    // another session).
    let r = unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) };
    nix::errno::Errno::result(r).map_err(TerminalError::sys(
        "make the terminal controlling (TIOCSCTTY)",
    ))?;
    let put = |fd: i32, result: nix::Result<()>| {
        result.map_err(TerminalError::sys(format!(
            "put the terminal on descriptor {fd}"
        )))
    };
    put(0, nix::unistd::dup2_stdin(slave))?;
    put(1, nix::unistd::dup2_stdout(slave))?;
    put(2, nix::unistd::dup2_stderr(slave))?;
    Ok(())
}
