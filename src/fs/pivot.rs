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

use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sys::stat::{Mode, SFlag, makedev, mknod};

/// Make `new_root` the root of this mount namespace; the old root is gone.
pub fn pivot_root(new_root: &Path) -> Result<()> {
    mount(
        Some(new_root),
        new_root,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .with_context(|| format!("bind-mount {} onto itself", new_root.display()))?;
    nix::unistd::chdir(new_root).with_context(|| format!("chdir to {}", new_root.display()))?;
    nix::unistd::pivot_root(".", ".")
        .with_context(|| format!("pivot_root into {}", new_root.display()))?;
    umount2(".", MntFlags::MNT_DETACH).context("detach the old root")?;
    nix::unistd::chdir("/").context("chdir to the new root")?;
    Ok(())
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
/// pivoted) root.
pub fn mount_pseudo_filesystems() -> Result<()> {
    for dir in ["/proc", "/dev", "/sys"] {
        std::fs::create_dir_all(dir).with_context(|| format!("create {dir}"))?;
    }
    crate::container::init::mount_proc(Path::new("/proc"))?;

    let flags = MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME;
    mount(
        Some("tmpfs"),
        "/dev",
        Some("tmpfs"),
        flags,
        Some("mode=755,size=65536k"),
    )
    .context("mount tmpfs on /dev")?;
    for (name, major, minor) in DEVICES {
        let path = Path::new("/dev").join(name);
        mknod(
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
        std::os::unix::fs::symlink(target, Path::new("/dev").join(link))
            .with_context(|| format!("link /dev/{link}"))?;
    }
    for dir in ["/dev/pts", "/dev/shm"] {
        std::fs::create_dir(dir).with_context(|| format!("create {dir}"))?;
    }
    mount(
        Some("devpts"),
        "/dev/pts",
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )
    .context("mount devpts on /dev/pts")?;
    mount(
        Some("shm"),
        "/dev/shm",
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .context("mount tmpfs on /dev/shm")?;

    let ro = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("sysfs"), "/sys", Some("sysfs"), ro, None::<&str>).context("mount sysfs on /sys")?;
    Ok(())
}
