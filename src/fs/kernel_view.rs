//! The container's view of the kernel (step 35). `/proc` and `/sys` are
//! not per container: apart from the process directories (`/proc/PID`,
//! which follow the PID namespace) and the network parts, they show the
//! host. `/proc/kcore` is the host's physical memory as an ELF core file,
//! `/proc/keys` the keyrings of every user, `/proc/timer_list` and
//! `/proc/sched_debug` the host's timers and tasks with their addresses,
//! `/sys/firmware` the machine's ACPI tables and EFI variables, and
//! `/proc/sys`, `/proc/sysrq-trigger` and `/proc/irq` *change* the host:
//! `echo c > /proc/sysrq-trigger` crashes it, `/proc/sys/kernel/core_pattern`
//! names a program the host's kernel runs as root.
//!
//! Capabilities close part of this; the rest is closed by mounts, with the
//! runtime-spec's two lists (`linux.maskedPaths`, `linux.readonlyPaths`)
//! filled in as Docker fills them:
//!
//! - **masked**: a file gets `/dev/null` bind-mounted over it (it reads
//!   empty), a directory an empty read-only tmpfs. A path this kernel does
//!   not have is skipped;
//! - **read-only**: the path is bind-mounted onto itself, then that bind is
//!   remounted `ro,nosuid,nodev,noexec`. Two calls, because the kernel
//!   ignores `MS_RDONLY` on the bind itself; and a remount with `MS_BIND`
//!   changes only this mount's flags, not the filesystem's (the host's
//!   `/proc/sys` stays writable for the host).
//!
//! `--privileged` turns both lists off, as in Docker.
//!
//! The same module makes the rest of the container's filesystem view of
//! this step: `--tmpfs` mounts ([`super::tmpfs`]) and `--read-only`, which
//! remounts the container's `/` read-only (its own bind mount: volumes,
//! `/proc`, `/dev` and `--tmpfs` are mounts of their own and keep their
//! flags; the `/etc` files of step 24 are remounted read-only too, as
//! Docker does). All run in `init` after `/proc`, `/dev` and
//! `/sys` are mounted: the masks need `/proc` and `/dev/null` there, and the
//! read-only remount comes last, once nothing else needs a directory made.

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::MsFlags;
use serde::{Deserialize, Serialize};

use super::tmpfs::Tmpfs;
use crate::syscall::Syscall;

/// Docker's masked paths (moby `oci/defaults.go`).
pub const MASKED: [&str; 10] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Docker's read-only paths.
pub const READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// What of this step's view a container gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// Mask [`MASKED`] and make [`READ_ONLY`] read-only (not with
    /// `--privileged`).
    pub mask: bool,
    /// `--read-only`: the root filesystem is mounted read-only.
    pub read_only: bool,
    /// `--tmpfs`, in the order given.
    pub tmpfs: Vec<Tmpfs>,
    /// Files bind-mounted into the root that `--read-only` makes read-only
    /// too: the container's `/etc/hostname`, `/etc/hosts` and
    /// `/etc/resolv.conf` when no volume covers them (Docker's
    /// `NetworkMounts`: writable unless the root is read-only).
    #[serde(default)]
    pub read_only_files: Vec<std::path::PathBuf>,
}

/// Make the view in the container's root, seen at `inside` (`/` once
/// pivoted; a temporary directory in unit tests): the tmpfs mounts, the
/// masks and read-only paths, then the read-only root.
pub fn apply(sys: &dyn Syscall, view: &View, inside: &Path) -> Result<()> {
    super::tmpfs::mount_all(sys, &view.tmpfs, inside)?;
    if view.mask {
        mask(sys, inside)?;
    }
    if view.read_only {
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        sys.mount(None, inside, None, ro, None)
            .context("remount the root filesystem read-only (--read-only)")?;
        for file in &view.read_only_files {
            let target = inside.join(file.strip_prefix("/").unwrap_or(file));
            // EINVAL: not a mount point (a mode without its own file).
            match sys.mount(None, &target, None, ro, None) {
                Ok(()) | Err(nix::Error::EINVAL | nix::Error::ENOENT) => {}
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("remount {} read-only (--read-only)", file.display())
                    });
                }
            }
        }
    }
    Ok(())
}

/// Mask [`MASKED`] and make [`READ_ONLY`] read-only, skipping paths this
/// kernel does not have.
pub fn mask(sys: &dyn Syscall, inside: &Path) -> Result<()> {
    mask_paths(sys, inside, &MASKED, &READ_ONLY)
}

/// Mask `masked` and make `read_only` read-only (absolute paths inside
/// the container), skipping paths this kernel does not have: Docker's
/// lists, or a bundle's own (step 40).
pub fn mask_paths(
    sys: &dyn Syscall,
    inside: &Path,
    masked: &[&str],
    read_only: &[&str],
) -> Result<()> {
    let at = |p: &str| inside.join(p.trim_start_matches('/'));
    let null = at("/dev/null");
    for &path in masked {
        let target = at(path);
        let result = match std::fs::metadata(&target) {
            Err(_) => continue,
            Ok(m) if m.is_dir() => sys.mount(
                Some(Path::new("tmpfs")),
                &target,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None,
            ),
            Ok(_) => sys.mount(Some(&null), &target, None, MsFlags::MS_BIND, None),
        };
        skip_missing(result).with_context(|| format!("mask {path}"))?;
    }
    let ro = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    for &path in read_only {
        let target = at(path);
        if !target.exists() {
            continue;
        }
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        skip_missing(sys.mount(Some(&target), &target, None, bind, None))
            .and_then(|()| sys.mount(None, &target, None, ro, None))
            .with_context(|| format!("make {path} read-only"))?;
    }
    Ok(())
}

/// A path that went away between the check and the mount (a process's
/// file under `/proc`) is as good as masked.
fn skip_missing(result: nix::Result<()>) -> nix::Result<()> {
    match result {
        Err(nix::Error::ENOENT) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, Recording};

    /// A fake root with some of the paths: kcore a file, acpi a directory.
    fn fake_root() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for dir in ["proc/acpi", "proc/sys", "dev"] {
            std::fs::create_dir_all(t.path().join(dir)).unwrap();
        }
        for file in ["proc/kcore", "proc/sysrq-trigger", "dev/null"] {
            std::fs::write(t.path().join(file), "").unwrap();
        }
        t
    }

    #[test]
    fn files_get_dev_null_directories_a_read_only_tmpfs_missing_ones_nothing() {
        let t = fake_root();
        let sys = Recording::new();
        mask(&sys, t.path()).unwrap();
        let calls = sys.calls();
        assert!(calls.contains(&Call::Mount {
            source: Some(t.path().join("dev/null")),
            target: t.path().join("proc/kcore"),
            fstype: None,
            flags: MsFlags::MS_BIND,
            data: None,
        }));
        assert!(calls.contains(&Call::Mount {
            source: Some("tmpfs".into()),
            target: t.path().join("proc/acpi"),
            fstype: Some("tmpfs".into()),
            flags: MsFlags::MS_RDONLY,
            data: None,
        }));
        let keys = t.path().join("proc/keys");
        assert!(!calls.iter().any(|c| c.mount_target() == Some(&keys)));
    }

    #[test]
    fn read_only_paths_are_bound_then_remounted() {
        let t = fake_root();
        let sys = Recording::new();
        mask(&sys, t.path()).unwrap();
        let target = t.path().join("proc/sys");
        let calls = sys.calls();
        let on: Vec<&Call> = calls
            .iter()
            .filter(|c| c.mount_target() == Some(&target))
            .collect();
        assert_eq!(on.len(), 2, "{on:#?}");
        let Call::Mount { flags: first, .. } = on[0] else {
            unreachable!()
        };
        let Call::Mount { flags: second, .. } = on[1] else {
            unreachable!()
        };
        assert!(first.contains(MsFlags::MS_BIND) && !first.contains(MsFlags::MS_RDONLY));
        assert!(second.contains(MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOEXEC));
        assert!(
            sys.calls()
                .iter()
                .any(|c| c.mount_target() == Some(t.path().join("proc/sysrq-trigger").as_path()))
        );
    }

    #[test]
    fn tmpfs_first_then_masks_then_the_read_only_root() {
        let t = fake_root();
        let sys = Recording::new();
        let view = View {
            mask: true,
            read_only: true,
            tmpfs: vec![super::super::tmpfs::parse("/tmp").unwrap()],
            read_only_files: vec!["/etc/hosts".into()],
        };
        apply(&sys, &view, t.path()).unwrap();
        let tmp = t.path().join("tmp");
        let kcore = t.path().join("proc/kcore");
        let at = |p: &Path| sys.position("mount", |c| c.mount_target() == Some(p));
        let last = sys.calls().len() - 1;
        assert!(at(&tmp) < at(&kcore));
        assert_eq!(at(t.path()), last - 1);
        assert_eq!(at(&t.path().join("etc/hosts")), last);
        let Call::Mount { flags, .. } = &sys.calls()[last - 1] else {
            unreachable!()
        };
        assert_eq!(
            *flags,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY
        );
    }

    #[test]
    fn privileged_masks_nothing() {
        let t = fake_root();
        let sys = Recording::new();
        apply(&sys, &View::default(), t.path()).unwrap();
        assert!(sys.calls().is_empty(), "{:#?}", sys.calls());
    }
}
