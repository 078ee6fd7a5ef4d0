//! A [`Syscall`] that makes no system call (unit tests only): it records
//! each call in order, answers `Ok`, and refuses the calls a test chooses,
//! so the order of a container's mounts can be checked without root.
//!
//! `mknod` leaves an empty file where the node would be, so the code that
//! goes on to `chmod` it finds something there.

use std::cell::RefCell;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

use super::Syscall;

/// One call as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Mount {
        source: Option<PathBuf>,
        target: PathBuf,
        fstype: Option<String>,
        flags: MsFlags,
        data: Option<String>,
    },
    Umount {
        target: PathBuf,
        flags: MntFlags,
    },
    PivotRoot {
        new_root: PathBuf,
        put_old: PathBuf,
    },
    Chdir(PathBuf),
    #[cfg(feature = "oci_runtime")]
    Chroot(PathBuf),
    Sethostname(String),
    Mknod {
        path: PathBuf,
        dev: u64,
    },
    Setns(CloneFlags),
}

impl Call {
    /// The mount target, for a mount.
    pub fn mount_target(&self) -> Option<&Path> {
        match self {
            Call::Mount { target, .. } => Some(target),
            _ => None,
        }
    }
}

/// Which calls fail, and with what.
type Refusal = Box<dyn Fn(&Call) -> Option<nix::Error>>;

/// The recording fake.
#[derive(Default)]
pub struct Recording {
    calls: RefCell<Vec<Call>>,
    refuse: Option<Refusal>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    /// A fake that answers `err` to every call `which` picks (the call is
    /// still recorded).
    pub fn refusing(which: impl Fn(&Call) -> bool + 'static, err: nix::Error) -> Recording {
        Recording {
            calls: RefCell::default(),
            refuse: Some(Box::new(move |c| which(c).then_some(err))),
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    /// Where the first call matching `which` is, panicking with the whole
    /// record when there is none.
    #[track_caller]
    pub fn position(&self, what: &str, which: impl Fn(&Call) -> bool) -> usize {
        let calls = self.calls.borrow();
        calls
            .iter()
            .position(which)
            .unwrap_or_else(|| panic!("no call {what} among {calls:#?}"))
    }

    fn record(&self, call: Call) -> nix::Result<()> {
        let refused = self.refuse.as_ref().and_then(|r| r(&call));
        self.calls.borrow_mut().push(call);
        refused.map_or(Ok(()), Err)
    }
}

impl Syscall for Recording {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        self.record(Call::Mount {
            source: source.map(Path::to_path_buf),
            target: target.to_path_buf(),
            fstype: fstype.map(str::to_string),
            flags,
            data: data.map(str::to_string),
        })
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
        self.record(Call::Umount {
            target: target.to_path_buf(),
            flags,
        })
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
        self.record(Call::PivotRoot {
            new_root: new_root.to_path_buf(),
            put_old: put_old.to_path_buf(),
        })
    }

    fn chdir(&self, dir: &Path) -> nix::Result<()> {
        self.record(Call::Chdir(dir.to_path_buf()))
    }

    #[cfg(feature = "oci_runtime")]
    fn chroot(&self, dir: &Path) -> nix::Result<()> {
        self.record(Call::Chroot(dir.to_path_buf()))
    }

    fn sethostname(&self, name: &str) -> nix::Result<()> {
        self.record(Call::Sethostname(name.to_string()))
    }

    fn mknod(&self, path: &Path, _kind: SFlag, _perm: Mode, dev: u64) -> nix::Result<()> {
        self.record(Call::Mknod {
            path: path.to_path_buf(),
            dev,
        })?;
        std::fs::File::create(path)
            .map(drop)
            .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    }

    fn setns(&self, _fd: &dyn AsFd, nstype: CloneFlags) -> nix::Result<()> {
        self.record(Call::Setns(nstype))
    }
}
