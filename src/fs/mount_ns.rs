//! The first mounts of a container's new mount namespace (step 05).
//!
//! `clone(CLONE_NEWNS)` gives the container a *copy* of the host's mount
//! table, and with it each mount's propagation: on hosts where `/` is a
//! shared mount (systemd makes it so), a mount made in the copy would
//! propagate back to the host. [`make_private`] (`mount --make-rprivate /`)
//! cuts that tie, and must come before any other mount: the classic "host
//! /proc is broken after running a container" bug is a `/proc` mounted
//! while `/` was still shared. [`mount_proc`] then gives the container a
//! procfs of its own, which shows its PID namespace only
//! (`man 7 mount_namespaces`, `man 5 proc`).

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::MsFlags;

use crate::syscall::Syscall;

/// Stop mount events from propagating between this namespace and the host
/// (`mount --make-rprivate /`).
pub fn make_private(sys: &dyn Syscall) -> Result<()> {
    sys.mount(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
    .context("make the mount tree private (mount --make-rprivate /)")
}

/// Mount a new procfs at `target`: it shows this PID namespace only.
pub fn mount_proc(sys: &dyn Syscall, target: &Path) -> Result<()> {
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys.mount(Some(Path::new("proc")), target, Some("proc"), flags, None)
        .with_context(|| format!("mount proc on {}", target.display()))
}
