//! The start FIFO (step 40): how a container is *created* now and *started*
//! later, as runc's `exec.fifo` does it.
//!
//! An OCI runtime splits a container's birth in two: `create` makes
//! everything (namespaces, cgroups, mounts, hostname) and leaves the
//! container's first process waiting; `start` lets it `execve` the user's
//! program. Between the two the caller (containerd's shim, podman's conmon)
//! sets up what it needs, such as networking in the new network namespace.
//!
//! The waiting is done with a named pipe, made with `mkfifo(3)` in the
//! container's state directory. Opening a FIFO for writing blocks until
//! someone opens it for reading (`man 7 fifo`), so `init`, once set up,
//! opens it for writing and sleeps in the kernel; `start` opens it for
//! reading, `init` wakes, writes one byte and goes on to `execve`. `start`
//! reads that byte (proof that `init` was really there) and removes the
//! FIFO: from then on the container is `running`, and a FIFO left in the
//! directory means `created`, which is how `state` tells the two apart.
//!
//! `init` cannot name the FIFO's path once it has pivoted into the
//! container's root, so `create` hands it an `O_PATH` descriptor
//! ([`INIT_FD`]) and `init` opens `/proc/self/fd/N`, which reopens the
//! file that descriptor points to, whatever its path in this mount
//! namespace.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

/// The descriptor number `init` finds the FIFO on.
pub const INIT_FD: RawFd = 5;

/// The longest answer init writes (below `PIPE_BUF`, 4096).
const ANSWER_MAX: usize = 4000;

/// The FIFO's name in a container's state directory.
pub const NAME: &str = "exec.fifo";

/// Make the FIFO at `path` (mode 0622, as runc) and open the `O_PATH`
/// descriptor `init` gets as [`INIT_FD`].
pub fn make(path: &Path) -> Result<OwnedFd> {
    nix::unistd::mkfifo(path, Mode::from_bits_truncate(0o622))
        .with_context(|| format!("make the start FIFO {}", path.display()))?;
    // mkfifo is subject to the umask: set the mode exactly, so that an
    // init whose root is another user (a user namespace of its own) may
    // still open it for writing.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o622))
        .with_context(|| format!("chmod the start FIFO {}", path.display()))?;
    let fd = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
        .with_context(|| format!("open the start FIFO {}", path.display()))?;
    // Above every number init's descriptors are moved to (0 to INIT_FD):
    // the moves are done one after the other, and a source that is also
    // a later target would be overwritten before it is moved.
    let high = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(64))
        .context("move the start FIFO's descriptor")?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor owned by nobody.
    #[allow(unsafe_code)]
    Ok(unsafe { OwnedFd::from_raw_fd(high) })
}

/// In `init`, set up: tell the caller that creation is done (`ready`,
/// see `channel::announce_ready`), then block until `start` opens the FIFO
/// held at descriptor `fd`, run `started` (the `startContainer` hooks),
/// and write the byte `start` waits for: `0`, or `1` and why `started`
/// failed (then returned too).
pub fn wait_for_start(
    fd: RawFd,
    ready: fn() -> Result<()>,
    started: &dyn Fn() -> Result<()>,
) -> Result<()> {
    ready()?;
    let path = format!("/proc/self/fd/{fd}");
    let fifo = nix::fcntl::open(
        path.as_str(),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .context("wait on the start FIFO")?;
    let outcome = started();
    let answer = match &outcome {
        Ok(()) => b"0".to_vec(),
        // One write below PIPE_BUF arrives whole.
        Err(e) => format!("1{e:#}")
            .into_bytes()
            .into_iter()
            .take(ANSWER_MAX)
            .collect(),
    };
    nix::unistd::write(&fifo, &answer).context("answer `start` on the FIFO")?;
    outcome?;
    // SAFETY: `fd` is the O_PATH descriptor create placed here for init
    // alone; nothing else owns it.
    #[allow(unsafe_code)]
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(())
}

/// In `start`: let the container's `init` go on, and remove the FIFO;
/// when init answers that it cannot go on (a `startContainer` hook
/// failed), returns why.
/// `alive` tells whether init still exists: when it has ended there is
/// nobody to wake, and this says so rather than wait for ever.
pub fn release(path: &Path, alive: &dyn Fn() -> bool) -> Result<()> {
    let fifo = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("open the start FIFO {}", path.display()))?;
    let mut file = std::fs::File::from(fifo);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut answer = [0u8; ANSWER_MAX];
    let failure = loop {
        match file.read(&mut answer) {
            Ok(1..) if answer[0] == b'0' => break None,
            Ok(n @ 1..) => break Some(String::from_utf8_lossy(&answer[1..n]).to_string()),
            // No writer: init has not reached the FIFO yet, or is gone.
            Ok(0) => {
                if !alive() {
                    bail!("the container's process has ended before it was started");
                }
                if Instant::now() > deadline {
                    bail!("the container's process does not wait on its start FIFO");
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            // A writer is there and about to write.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let fd = unsafe_borrow(file.as_raw_fd());
                let mut poll = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
                let _ = nix::poll::poll(&mut poll, nix::poll::PollTimeout::from(100u16));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("read the start FIFO"),
        }
    };
    std::fs::remove_file(path).with_context(|| format!("remove {}", path.display()))?;
    match failure {
        Some(why) => bail!("{why}"),
        None => Ok(()),
    }
}

fn unsafe_borrow<'a>(fd: RawFd) -> std::os::fd::BorrowedFd<'a> {
    // SAFETY: borrowed from a File that outlives the poll call it is used
    // for.
    #[allow(unsafe_code)]
    unsafe {
        std::os::fd::BorrowedFd::borrow_raw(fd)
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::IntoRawFd;

    use super::*;

    /// Init's side in a thread, `start`'s here: `0` lets start succeed,
    /// a failure of `started` travels to `start` as its error, and either
    /// way the FIFO is gone.
    #[test]
    fn start_hears_whether_init_went_on_or_why_it_did_not() {
        for fails in [false, true] {
            let t = tempfile::tempdir().unwrap();
            let path = t.path().join(NAME);
            let fd = make(&path).unwrap().into_raw_fd();
            let init = std::thread::spawn(move || {
                let started = || {
                    if fails {
                        bail!("hooks.startContainer[0] /bin/false: failed")
                    }
                    Ok(())
                };
                wait_for_start(fd, || Ok(()), &started)
            });
            let started = release(&path, &|| true);
            let init = init.join().unwrap();
            assert!(!path.exists());
            if fails {
                let e = started.unwrap_err().to_string();
                assert_eq!(e, "hooks.startContainer[0] /bin/false: failed");
                assert!(init.is_err());
            } else {
                started.unwrap();
                init.unwrap();
            }
        }
    }
}
