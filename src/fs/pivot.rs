//! `pivot_root` (step 10, `man 2 pivot_root`): make a directory the root of
//! this mount namespace and detach the old root, so nothing of the host's
//! filesystem stays reachable.
//!
//! `chroot` only changes how one process resolves `/`; the old root is still
//! mounted, and a root process can climb back out (keep a descriptor to a
//! directory outside, `chroot` deeper, `fchdir` back, `chdir("..")` up to the
//! real root, `chroot(".")`). `pivot_root` moves the mounts themselves: the
//! new root becomes `/`, the old one is stacked on top of it and then
//! unmounted, and there is nothing left to climb to.
//!
//! The sequence, as runc does it:
//! 1. the new root must be a mount point: bind-mount it onto itself;
//! 2. `chdir` into it and `pivot_root(".", ".")`: the old root is now
//!    mounted over the new one, at `/`;
//! 3. `umount2(".", MNT_DETACH)` takes the old root away (the mount tree is
//!    private, so this does not reach the host), and `chdir("/")`.
//!
//! Then the container gets its own `/proc`, a small `/dev` on tmpfs with the
//! usual device nodes, and a read-only `/sys`.
//!
//! Every call goes through the [`Syscall`] seam, so the tests below check
//! this order without root.

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{MntFlags, MsFlags};
use nix::sys::stat::{Mode, SFlag, makedev};

use super::mount_ns;
use crate::syscall::Syscall;

/// Make `new_root` the root of this mount namespace; the old root is gone.
pub fn pivot_root(sys: &dyn Syscall, new_root: &Path) -> Result<()> {
    bind_onto_itself(sys, new_root)?;
    pivot_into(sys, new_root)
}

/// Step 1: make `new_root` a mount point, bind-mounting it onto itself.
/// Mounts made in it afterwards stay what they are (a recursive bind
/// would leave out an unbindable one).
pub fn bind_onto_itself(sys: &dyn Syscall, new_root: &Path) -> Result<()> {
    sys.mount(
        Some(new_root),
        new_root,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
    )
    .with_context(|| format!("bind-mount {} onto itself", new_root.display()))
}

/// Steps 2 and 3: pivot into `new_root`, already a mount point, and
/// detach the old root.
pub fn pivot_into(sys: &dyn Syscall, new_root: &Path) -> Result<()> {
    sys.chdir(new_root)
        .with_context(|| format!("chdir to {}", new_root.display()))?;
    let here = Path::new(".");
    sys.pivot_root(here, here)
        .with_context(|| format!("pivot_root into {}", new_root.display()))?;
    sys.umount2(here, MntFlags::MNT_DETACH)
        .context("detach the old root")?;
    sys.chdir(Path::new("/")).context("chdir to the new root")?;
    Ok(())
}

/// A container that shares the caller's mount namespace (step 40: a
/// bundle that lists none) cannot pivot, which would move the caller's
/// root too: it `chroot`s into `new_root` instead, as runc does. Its
/// mounts stay in the caller's namespace, and the host stays reachable
/// to a process with `CAP_SYS_CHROOT` (see above).
#[cfg(feature = "oci_runtime")]
pub fn chroot_into(sys: &dyn Syscall, new_root: &Path) -> Result<()> {
    sys.chdir(new_root)
        .with_context(|| format!("chdir to {}", new_root.display()))?;
    sys.chroot(Path::new("."))
        .with_context(|| format!("chroot into {}", new_root.display()))?;
    sys.chdir(Path::new("/")).context("chdir to the new root")
}

/// The device nodes every container gets: (name, major, minor).
const DEVICES: [(&str, u64, u64); 7] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
    ("console", 5, 1),
];

/// Mount `/proc`, a minimal `/dev` and a read-only `/sys` in the (already
/// pivoted) root, which is seen at `root` (`/`; a temporary directory in
/// unit tests).
pub fn mount_pseudo_filesystems(sys: &dyn Syscall, root: &Path) -> Result<()> {
    let (proc, dev, sysfs) = (root.join("proc"), root.join("dev"), root.join("sys"));
    for dir in [&proc, &dev, &sysfs] {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    mount_ns::mount_proc(sys, &proc)?;

    let flags = MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME;
    let tmpfs = Some(Path::new("tmpfs"));
    sys.mount(
        tmpfs,
        &dev,
        Some("tmpfs"),
        flags,
        Some("mode=755,size=65536k"),
    )
    .with_context(|| format!("mount tmpfs on {}", dev.display()))?;
    for (name, major, minor) in DEVICES {
        let path = dev.join(name);
        sys.mknod(
            &path,
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            makedev(major, minor),
        )
        .with_context(|| format!("create {}", path.display()))?;
        // mknod is subject to the umask; set the mode exactly.
        nix::sys::stat::fchmodat(
            nix::fcntl::AT_FDCWD,
            &path,
            Mode::from_bits_truncate(0o666),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
        .with_context(|| format!("chmod {}", path.display()))?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .with_context(|| format!("link /dev/{link}"))?;
    }
    let (pts, shm) = (dev.join("pts"), dev.join("shm"));
    for dir in [&pts, &shm] {
        std::fs::create_dir(dir).with_context(|| format!("create {}", dir.display()))?;
    }
    sys.mount(
        Some(Path::new("devpts")),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .with_context(|| format!("mount devpts on {}", pts.display()))?;
    sys.mount(
        Some(Path::new("shm")),
        &shm,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .with_context(|| format!("mount tmpfs on {}", shm.display()))?;

    let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    sys.mount(Some(Path::new("sysfs")), &sysfs, Some("sysfs"), ro, None)
        .with_context(|| format!("mount sysfs on {}", sysfs.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, Recording};

    #[test]
    fn pivot_root_binds_the_new_root_first_and_detaches_the_old_one_after() {
        let sys = Recording::new();
        let new_root = Path::new("/var/lib/mydocker/containers/c/merged");
        pivot_root(&sys, new_root).unwrap();
        let here = Path::new(".").to_path_buf();
        assert_eq!(
            sys.calls(),
            [
                Call::Mount {
                    source: Some(new_root.into()),
                    target: new_root.into(),
                    fstype: None,
                    flags: MsFlags::MS_BIND | MsFlags::MS_REC,
                    data: None,
                },
                Call::Chdir(new_root.into()),
                Call::PivotRoot {
                    new_root: here.clone(),
                    put_old: here.clone(),
                },
                Call::Umount {
                    target: here,
                    flags: MntFlags::MNT_DETACH,
                },
                Call::Chdir("/".into()),
            ]
        );
    }

    #[test]
    fn a_refused_pivot_leaves_the_old_root_attached() {
        let sys = Recording::refusing(|c| matches!(c, Call::PivotRoot { .. }), nix::Error::EINVAL);
        let err = pivot_root(&sys, Path::new("/r")).unwrap_err();
        assert!(format!("{err:#}").contains("pivot_root into /r"), "{err:#}");
        assert!(
            !sys.calls().iter().any(|c| matches!(c, Call::Umount { .. })),
            "{:#?}",
            sys.calls()
        );
    }

    #[test]
    fn dev_is_a_tmpfs_before_its_nodes_are_made_and_sys_is_read_only() {
        let t = tempfile::tempdir().unwrap();
        let sys = Recording::new();
        mount_pseudo_filesystems(&sys, t.path()).unwrap();
        let on = |dir: &str| {
            let target = t.path().join(dir);
            sys.position(dir, move |c| c.mount_target() == Some(target.as_path()))
        };
        let first_node = sys.position("mknod", |c| matches!(c, Call::Mknod { .. }));
        assert_eq!(on("proc"), 0);
        assert!(on("dev") < first_node);
        assert!(first_node < on("dev/pts") && on("dev/pts") < on("dev/shm"));
        let Call::Mount { flags, .. } = &sys.calls()[on("sys")] else {
            unreachable!()
        };
        assert!(flags.contains(MsFlags::MS_RDONLY));
        assert!(sys.calls().contains(&Call::Mknod {
            path: t.path().join("dev/null"),
            dev: makedev(1, 3),
        }));
        let link = std::fs::read_link(t.path().join("dev/fd")).unwrap();
        assert_eq!(link, Path::new("/proc/self/fd"));
    }
}
