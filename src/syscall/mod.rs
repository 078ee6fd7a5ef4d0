//! The system calls that shape a container, behind one seam (step 05).
//!
//! Making a container is mostly a sequence of system calls whose *order*
//! is the point: `/` must be made private (`MS_REC | MS_PRIVATE`) before
//! anything is mounted, or the mounts leak to the host; the new root must
//! be a mount point before `pivot_root(2)`, and the old root is detached
//! only after it; a `:ro` volume is bound first and remounted read-only
//! afterwards, because the kernel ignores `MS_RDONLY` on the bind itself.
//! Those rules can only be checked by running the calls as root, inside new
//! namespaces, unless the calls go through a trait.
//!
//! [`Syscall`] is that trait. The engine never calls `mount`, `umount2`,
//! `pivot_root`, `chdir`, `sethostname`, `mknod` or `setns` itself: it is
//! handed a `&dyn Syscall` by whoever starts it. [`Linux`] makes the real
//! calls (through nix); in unit tests a recording fake
//! (`recording.rs`) notes each call and can refuse chosen ones, so the
//! order is checked without root (`cargo test --lib`).
//!
//! The seam is passed explicitly, never chosen by `cfg!(test)`: what a
//! function may do to the system shows in its signature.

#[cfg(test)]
pub mod recording;

use std::os::fd::AsFd;
use std::path::Path;

use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use nix::sys::stat::{Mode, SFlag};

/// The calls that change mounts, the root, the hostname, device nodes and
/// namespaces. Each returns the kernel's error; callers add what they were
/// doing and to which path.
pub trait Syscall {
    /// `mount(2)`: `source` on `target` with filesystem type `fstype`.
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()>;
    /// `umount2(2)`.
    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()>;
    /// `pivot_root(2)`: `new_root` becomes `/`, the old root goes to
    /// `put_old`.
    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()>;
    /// `chdir(2)`.
    fn chdir(&self, dir: &Path) -> nix::Result<()>;
    /// `chroot(2)`: `dir` becomes `/` for this process alone (step 40: a
    /// bundle that shares the caller's mount namespace).
    #[cfg(feature = "oci_runtime")]
    fn chroot(&self, dir: &Path) -> nix::Result<()>;
    /// `sethostname(2)`, in this UTS namespace.
    fn sethostname(&self, name: &str) -> nix::Result<()>;
    /// `mknod(2)`: a device node of `kind` with device number `dev`.
    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> nix::Result<()>;
    /// `setns(2)`: join the namespace open at `fd`.
    fn setns(&self, fd: &dyn AsFd, nstype: CloneFlags) -> nix::Result<()>;
}

/// The real calls, made by the kernel.
#[derive(Debug, Default, Clone, Copy)]
pub struct Linux;

impl Syscall for Linux {
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> nix::Result<()> {
        nix::mount::mount(source, target, fstype, flags, data)
    }

    fn umount2(&self, target: &Path, flags: MntFlags) -> nix::Result<()> {
        nix::mount::umount2(target, flags)
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> nix::Result<()> {
        nix::unistd::pivot_root(new_root, put_old)
    }

    fn chdir(&self, dir: &Path) -> nix::Result<()> {
        nix::unistd::chdir(dir)
    }

    #[cfg(feature = "oci_runtime")]
    fn chroot(&self, dir: &Path) -> nix::Result<()> {
        nix::unistd::chroot(dir)
    }

    fn sethostname(&self, name: &str) -> nix::Result<()> {
        nix::unistd::sethostname(name)
    }

    fn mknod(&self, path: &Path, kind: SFlag, perm: Mode, dev: u64) -> nix::Result<()> {
        nix::sys::stat::mknod(path, kind, perm, dev)
    }

    fn setns(&self, fd: &dyn AsFd, nstype: CloneFlags) -> nix::Result<()> {
        nix::sched::setns(fd.as_fd(), nstype)
    }
}
