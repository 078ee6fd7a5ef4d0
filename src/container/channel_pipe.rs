//! Step 08: the spec travels over a pipe. The parent creates a pipe, hands
//! the read end to `init` as descriptor 3 (`init --spec-fd 3`: a descriptor
//! 3 that some other program left open is never mistaken for it), and writes the spec as JSON once
//! the child sits in its cgroups, or with the cgroup files `init` writes
//! first to move itself there (v1, see `process::place`). `init` blocks
//! reading until the parent closes its end, so the user's program can
//! never run outside its limits,
//! and arguments of any size, with spaces, quotes or newlines, arrive
//! intact and never show in `ps`.
//!
//! A second pipe tells the parent when the program has started. `init`
//! gets its write end as descriptor 4 (`--ready-fd 4`) and marks it close-on-exec, so the
//! kernel closes it at the moment `execve` succeeds (or init exits). The
//! parent reads until end of file: when `run` returns, the container's root,
//! mounts and hostname are in place, and `exec` or `ps` never see a
//! half-made container. When the program cannot be started, init writes
//! its exit code and the reason into that pipe before it exits
//! ([`report_failure`]), so the parent knows which of the two happened.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;

use super::spec::Spec;
use super::{ExecFailure, Prepared};

/// The descriptor number `init` finds the pipe on.
pub const SPEC_FD: RawFd = 3;
/// The descriptor `init` holds open until it `execve`s the program.
pub const READY_FD: RawFd = 4;

/// What `init` was told on its command line: the descriptors of the two
/// pipes (`--spec-fd`, `--ready-fd`).
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    pub spec_fd: Option<RawFd>,
    pub ready_fd: Option<RawFd>,
}

/// The parent's half: the spec pipe's write end and the ready pipe's read
/// end, and the child's ends, kept open until the child has started.
pub struct Sender {
    write: File,
    _read: OwnedFd,
    ready: File,
    _ready_write: OwnedFd,
}

/// The argument vector that starts `init`, and the descriptors to hand it.
pub fn prepare(_spec: &Spec) -> Result<Prepared> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("create the spec pipe")?;
    let (ready, ready_write) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).context("create the ready pipe")?;
    let argv = [
        "/proc/self/exe",
        "init",
        "--spec-fd",
        "3",
        "--ready-fd",
        "4",
    ]
    .into_iter()
    .map(CString::new)
    .collect::<Result<_, _>>()?;
    let fds = vec![
        (read.as_raw_fd(), SPEC_FD),
        (ready_write.as_raw_fd(), READY_FD),
    ];
    Ok(Prepared {
        argv,
        fds,
        sender: Sender {
            write: File::from(write),
            _read: read,
            ready: File::from(ready),
            _ready_write: ready_write,
        },
    })
}

impl Sender {
    /// Write the spec and close the pipe; `init` then goes on. Returns once
    /// `init` has started the program (`None`) or given up: then why, as
    /// init reported it.
    pub fn send(self, spec: &Spec) -> Result<Option<ExecFailure>> {
        let Sender {
            write,
            _read,
            mut ready,
            _ready_write,
        } = self;
        // The child has its own copies now; only the child may hold them.
        drop((_read, _ready_write));
        let json = serde_json::to_vec(spec)?;
        {
            let mut write = write;
            write.write_all(&json).context("send the spec to init")?;
        }
        let mut rest = Vec::new();
        ready
            .read_to_end(&mut rest)
            .context("wait for init to start the program")?;
        Ok(parse_failure(&rest))
    }
}

/// Tell the parent, over the ready pipe, that the program cannot be
/// started: `CODE MESSAGE`. Best effort: nobody may be reading.
pub fn report_failure(failure: &ExecFailure) {
    // SAFETY: descriptor 4 is init's ready pipe (checked by `receive`),
    // borrowed for this one write; when it is gone the write fails, which
    // only means nobody waits for the word.
    #[allow(unsafe_code)]
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(READY_FD) };
    let line = format!("{} {}", failure.code, failure.message);
    let _ = nix::unistd::write(fd, line.as_bytes());
}

/// Under the OCI front end (step 40): tell the parent that init is set up
/// and about to wait for `start`, before `execve`: the ready pipe is
/// replaced by `/dev/null` (so the parent sees end of file, and a later
/// [`report_failure`] goes nowhere rather than into another descriptor
/// that took number 4).
#[cfg(feature = "oci_runtime")]
pub fn announce_ready() -> Result<()> {
    let null = nix::fcntl::open(
        "/dev/null",
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .context("open /dev/null")?;
    // SAFETY: descriptor 4 is init's own ready pipe; dup3 closes it and
    // puts /dev/null in its place, owned by nothing else.
    #[allow(unsafe_code)]
    let done = unsafe { libc::dup3(null.as_raw_fd(), READY_FD, libc::O_CLOEXEC) };
    if done < 0 {
        return Err(std::io::Error::last_os_error()).context("tell the parent init is set up");
    }
    Ok(())
}

/// What init wrote into the ready pipe: nothing when the program started,
/// else `CODE MESSAGE` ([`report_failure`]).
fn parse_failure(bytes: &[u8]) -> Option<ExecFailure> {
    let text = String::from_utf8_lossy(bytes);
    let (code, message) = text.split_once(' ')?;
    Some(ExecFailure {
        code: code.parse().ok()?,
        message: message.to_string(),
    })
}

/// The child's half: read the spec from descriptor 3 until the parent
/// closes it.
pub fn receive(inbox: &Inbox) -> Result<Spec> {
    let (Some(SPEC_FD), Some(READY_FD)) = (inbox.spec_fd, inbox.ready_fd) else {
        bail!("init was started without its pipes (it is run by `mydocker run`)");
    };
    let mut pipe = File::from(take_pipe(SPEC_FD)?);
    let mut buf = Vec::new();
    pipe.read_to_end(&mut buf)
        .context("read the spec from the parent")?;
    hold_ready_until_exec();
    serde_json::from_slice(&buf).context("decode the spec from the parent")
}

/// Mark descriptor 4 close-on-exec and leave it open: the parent sees end
/// of file once `execve` succeeds or init exits, whichever comes first.
#[allow(unsafe_code)]
fn hold_ready_until_exec() {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    // SAFETY: only borrowed for this call; when descriptor 4 is missing the
    // call fails with EBADF, which only means nobody waits for us.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(READY_FD) };
    let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
}

/// Take ownership of descriptor `fd`, which must be a pipe.
#[allow(unsafe_code)]
fn take_pipe(fd: RawFd) -> Result<OwnedFd> {
    // SAFETY: only borrowed for the fstat probe below.
    let stat = nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
        .with_context(|| {
            format!("init's descriptor {fd} is not open (it is run by `mydocker run`)")
        })?;
    if stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
        bail!("init's descriptor {fd} is not a pipe (it is run by `mydocker run`)");
    }
    // SAFETY: the descriptor is open (checked above) and was placed here by
    // the parent for init alone; the OwnedFd closes it when done.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
