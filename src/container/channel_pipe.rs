//! Step 08: the spec travels over a pipe. The parent creates a pipe, hands
//! the read end to `init` as descriptor 3, and writes the spec as JSON once
//! the child sits in its cgroups. `init` blocks reading until the parent
//! closes its end, so the user's program can never run outside its limits,
//! and arguments of any size, with spaces, quotes or newlines, arrive
//! intact and never show in `ps`.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::fcntl::OFlag;

use super::Prepared;
use super::spec::Spec;
use crate::cli::InitArgs;

/// The descriptor number `init` finds the pipe on.
pub const SPEC_FD: RawFd = 3;

/// The parent's half: the pipe's write end, and the read end that stays
/// open until the child has started.
pub struct Sender {
    write: File,
    _read: OwnedFd,
}

/// The argument vector that starts `init`, and the descriptors to hand it.
pub fn prepare(_spec: &Spec) -> Result<Prepared> {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("create the spec pipe")?;
    let argv = vec![CString::new("/proc/self/exe")?, CString::new("init")?];
    let fds = vec![(read.as_raw_fd(), SPEC_FD)];
    Ok(Prepared {
        argv,
        fds,
        sender: Sender {
            write: File::from(write),
            _read: read,
        },
    })
}

impl Sender {
    /// Write the spec and close the pipe; `init` then goes on.
    pub fn send(self, spec: &Spec) -> Result<()> {
        let Sender { mut write, _read } = self;
        drop(_read);
        let json = serde_json::to_vec(spec)?;
        write.write_all(&json).context("send the spec to init")?;
        Ok(())
    }
}

/// The child's half: read the spec from descriptor 3 until the parent
/// closes it.
pub fn receive(_args: &InitArgs) -> Result<Spec> {
    // SAFETY-free: descriptor 3 was placed here by the parent for us alone.
    let mut pipe = File::from(fd_three()?);
    let mut buf = Vec::new();
    pipe.read_to_end(&mut buf)
        .context("read the spec from the parent")?;
    serde_json::from_slice(&buf).context("decode the spec from the parent")
}

#[allow(unsafe_code)]
fn fd_three() -> Result<OwnedFd> {
    nix::fcntl::fcntl(
        // SAFETY: only borrowed for the F_GETFD probe below.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(SPEC_FD) },
        nix::fcntl::FcntlArg::F_GETFD,
    )
    .context("init was started without the spec pipe (it is run by `mydocker run`)")?;
    // SAFETY: descriptor 3 is open (checked above) and nothing else in init
    // owns it; the OwnedFd closes it when done.
    Ok(unsafe { OwnedFd::from_raw_fd(SPEC_FD) })
}
