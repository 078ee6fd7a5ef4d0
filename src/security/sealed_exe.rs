//! The host's binary out of the container's reach (step 33,
//! CVE-2019-5736). A process that runs mydocker's code inside the
//! container, `init` before it `execve`s the command and `exec`'s child
//! before it does, shows up there as `/proc/PID/exe`: a link to the file it
//! runs, which opens that file whatever the container's root. runc's bug
//! was that this file was the host's runc: a container process (often one
//! whose image made `/bin/sh` a script `#!/proc/self/exe`, so the runtime
//! ran *itself* inside the container) opened it, waited for the runtime to
//! exit, and wrote over the host's binary, to be run as root next time.
//!
//! The fix, as runc's: those processes never run the host's file. `run`
//! starts `init`, and `exec` re-executes itself, from a copy in memory
//! (`memfd_create(2)`), sealed (`F_ADD_SEALS`: no write, no shrink, no
//! grow, no more seals) before it runs. `/proc/PID/exe` then leads to that
//! copy: the kernel refuses every write to it, and the host's file is no
//! inode any container process can name. The copy costs one in-kernel copy
//! of the binary (`copy_file_range`/`sendfile`) per container start and per
//! `exec` (see the step's README for the numbers).

use std::ffi::{CString, OsString};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::fcntl::{FcntlArg, SealFlag, fcntl};
use nix::sys::memfd::{MFdFlags, memfd_create};

/// Every seal: the copy can never change again.
fn seals() -> SealFlag {
    SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_WRITE
}

/// A failed step of making or running the sealed copy.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Sys {
        what: &'static str,
        #[source]
        source: nix::Error,
    },
}

/// Add every seal to `copy`. The kernel refuses `F_SEAL_WRITE` with EBUSY
/// while any page of the file still has a reference it cannot account for
/// (the in-kernel copy's pages on their way through, per-CPU page lists);
/// it waits about 150 ms for them itself, which a loaded machine can
/// outlast (CI saw it). So EBUSY is retried, with growing pauses, for at
/// most about two seconds more.
fn seal(copy: &File) -> nix::Result<()> {
    let mut pause = std::time::Duration::from_millis(5);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match fcntl(copy, FcntlArg::F_ADD_SEALS(seals())) {
            Err(nix::Error::EBUSY) if std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            done => return done.map(drop),
        }
    }
}

/// A sealed in-memory copy of the running binary, open close-on-exec.
#[derive(Debug)]
pub struct SealedExe {
    fd: OwnedFd,
}

impl SealedExe {
    /// Copy `/proc/self/exe` into a new memfd and seal it.
    pub fn new() -> Result<SealedExe, Error> {
        let sys = |what| move |source| Error::Sys { what, source };
        let io = |what| move |source| Error::Io { what, source };
        let fd = memfd_create(
            c"mydocker",
            MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING,
        )
        .map_err(sys("create a memfd for mydocker's copy"))?;
        let mut copy = File::from(fd);
        let mut exe = File::open("/proc/self/exe").map_err(io("open /proc/self/exe"))?;
        std::io::copy(&mut exe, &mut copy).map_err(io("copy mydocker into the memfd"))?;
        seal(&copy).map_err(sys("seal mydocker's copy"))?;
        Ok(SealedExe { fd: copy.into() })
    }

    /// The path that runs the copy from this process or a clone of it
    /// (made before this is dropped): `/proc/self/fd/N`.
    pub fn path(&self) -> CString {
        CString::new(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
            .expect("a path of digits holds no NUL")
    }
}

/// Is this process already running from a sealed copy?
pub fn running_sealed() -> bool {
    File::open("/proc/self/exe")
        .ok()
        .and_then(|f| fcntl(&f, FcntlArg::F_GET_SEALS).ok())
        .is_some_and(|s| SealFlag::from_bits_truncate(s).contains(seals()))
}

/// Run this same command again (its arguments and environment) from a
/// sealed copy, unless it already runs from one. Returns only when it
/// already does; an error when the copy cannot be made or run.
pub fn reexec_sealed() -> Result<(), Error> {
    if running_sealed() {
        return Ok(());
    }
    let exe = SealedExe::new()?;
    let c = |s: OsString| CString::new(s.as_bytes()).ok();
    let args: Vec<CString> = std::env::args_os().filter_map(c).collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            c(kv)
        })
        .collect();
    let err = nix::unistd::execve(&exe.path(), &args, &env).unwrap_err();
    Err(Error::Sys {
        what: "run mydocker's sealed copy",
        source: err,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_sealed_and_cannot_be_written() {
        let exe = SealedExe::new().unwrap();
        let seals = fcntl(&exe.fd, FcntlArg::F_GET_SEALS).unwrap();
        assert!(SealFlag::from_bits_truncate(seals).contains(super::seals()));
        let path = std::ffi::OsStr::from_bytes(exe.path().as_bytes()).to_owned();
        let opened = std::fs::OpenOptions::new().write(true).open(&path);
        if let Ok(mut f) = opened {
            use std::io::Write;
            assert!(f.write_all(b"x").is_err(), "a sealed copy took a write");
        }
        let want = std::fs::metadata("/proc/self/exe").unwrap().len();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), want);
        assert!(!running_sealed(), "the test binary runs from its file");
    }
}
