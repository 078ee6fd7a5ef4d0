//! A bundle's own filesystem view (step 40): the mounts of `config.json`
//! in their order, its device nodes, sysctls, masked and read-only paths.
//!
//! Docker's `run` leaves the standard mounts (`/proc`, `/dev`, `/sys`) to
//! init, which makes them one fixed way. An OCI configuration lists them
//! itself, each with its type, source and options, and a caller relies on
//! what it asked for (a `/dev` without `noexec`, a `/sys/fs/cgroup`, a
//! bind of a host file). So under the OCI front end init makes the list
//! as given, in order, as runc does:
//!
//! 1. *before* `pivot_root`, while the host is still reachable (a bind's
//!    source is a host path): each destination is resolved inside the
//!    root, a symlink followed within it ([`super::scoped`]), never out to
//!    the host; the kernel ignores `MS_RDONLY` and friends on a bind, so a
//!    bind with options is remounted (`MS_REMOUNT | MS_BIND`) with them;
//!    propagation (`rprivate`, `shared`, ...) is a call of its own;
//! 2. the device nodes, when `/dev` is not a bind of the host's: the
//!    default ones (`null`, `zero`, `full`, `random`, `urandom`, `tty` and
//!    the `fd`, `stdin`... links) and `linux.devices`, each with its type,
//!    numbers, mode and owner (in a user namespace of the container's own,
//!    where `mknod` is refused, a bind of the host's node);
//! 3. after `pivot_root`: the root's propagation (`linux.rootfsPropagation`),
//!    the sysctls (files under `/proc/sys`: `net.ipv4.ip_forward` is
//!    `/proc/sys/net/ipv4/ip_forward`), then `linux.maskedPaths` and
//!    `linux.readonlyPaths` exactly as listed ([`super::kernel_view`] does
//!    the masking, with these lists instead of Docker's).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::MsFlags;
use nix::sys::stat::{Mode, SFlag, makedev};
use serde::{Deserialize, Serialize};

use crate::syscall::Syscall;

/// One entry of `mounts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// Where, inside the container (absolute).
    pub destination: PathBuf,
    /// The filesystem type (`proc`, `tmpfs`, `cgroup`...; `none` or empty
    /// for a bind).
    pub fstype: String,
    /// A host path for a bind, else the filesystem's source name.
    pub source: Option<PathBuf>,
    /// `MsFlags` bits of its options (`MS_BIND`, `MS_REC` for a bind).
    pub flags: u64,
    /// `MsFlags` propagation bits (`MS_PRIVATE`, `MS_SHARED`... with
    /// `MS_REC` for the `r` forms), applied after the mount; 0: none.
    pub propagation: u64,
    /// The filesystem's own options (`mode=755,size=65536k`).
    pub data: String,
}

/// One device node of `linux.devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Its path inside the container (`/dev/fuse`).
    pub path: PathBuf,
    /// `c`, `b` or `p` (a FIFO; `u` is `c`).
    pub kind: char,
    pub major: u64,
    pub minor: u64,
    /// Permission bits (default 0666 as runc).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Everything of a bundle's view init makes besides the root's
/// read-only remount (which stays [`super::kernel_view::View::read_only`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleView {
    pub mounts: Vec<Mount>,
    pub devices: Vec<Node>,
    /// `(key, value)`, as `linux.sysctl`.
    pub sysctl: Vec<(String, String)>,
    pub masked: Vec<String>,
    pub read_only: Vec<String>,
    /// `MsFlags` bits for `/` after the pivot (`linux.rootfsPropagation`);
    /// 0: left private.
    pub root_propagation: u64,
    /// The container's cgroup directories for a `cgroup` mount, read by
    /// the runtime before init's clone: inside a new cgroup namespace
    /// init's `/proc/self/cgroup` is relative to the namespace's root, so
    /// init could not find them itself. `None`: init reads its own.
    #[serde(default)]
    pub cgroups: Option<CgroupDirs>,
    /// The container shares the caller's mount namespace (none listed):
    /// its mounts are made there and init `chroot`s instead of pivoting,
    /// nor makes the caller's mounts private, as runc does.
    #[serde(default)]
    pub callers_mounts: bool,
}

/// The default device nodes: (name, major, minor), all character devices
/// with mode 0666 (the runtime-spec's list).
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// The links every `/dev` has.
const DEFAULT_LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Step 1 and 2 above: the mounts and the device nodes in `root` (the
/// host path of the container's root, before the pivot).
/// `cgroup_dirs` is asked for the container's cgroups when a `cgroup`
/// mount needs them.
pub fn before_pivot(
    sys: &dyn Syscall,
    view: &BundleView,
    root: &Path,
    cgroup_dirs: &dyn Fn() -> Result<CgroupDirs>,
) -> Result<()> {
    for m in &view.mounts {
        mount(sys, m, root, cgroup_dirs)
            .with_context(|| format!("mounts: {}", m.destination.display()))?;
    }
    let dev_bound = view
        .mounts
        .iter()
        .any(|m| m.destination == Path::new("/dev") && m.flags & MsFlags::MS_BIND.bits() != 0);
    if !dev_bound {
        make_nodes(sys, view, root)?;
    }
    Ok(())
}

/// Step 3 above, in the pivoted root seen at `inside` (`/`).
pub fn after_pivot(sys: &dyn Syscall, view: &BundleView, inside: &Path) -> Result<()> {
    if view.root_propagation != 0 {
        let flags = MsFlags::from_bits_truncate(view.root_propagation);
        sys.mount(None, inside, None, flags, None)
            .context("linux.rootfsPropagation: set the root's propagation")?;
    }
    for (key, value) in &view.sysctl {
        let file = inside.join("proc/sys").join(key.replace('.', "/"));
        std::fs::write(&file, value)
            .with_context(|| format!("linux.sysctl: set {key} to {value:?}"))?;
    }
    let masked: Vec<&str> = view.masked.iter().map(String::as_str).collect();
    let read_only: Vec<&str> = view.read_only.iter().map(String::as_str).collect();
    super::kernel_view::mask_paths(sys, inside, &masked, &read_only)
}

/// Mount one entry at its destination resolved inside `root`.
fn mount(
    sys: &dyn Syscall,
    m: &Mount,
    root: &Path,
    cgroup_dirs: &dyn Fn() -> Result<CgroupDirs>,
) -> Result<()> {
    let target = super::scoped::resolve(root, &m.destination)?;
    let flags = MsFlags::from_bits_truncate(m.flags);
    let bind = flags.contains(MsFlags::MS_BIND);
    let source_is_file = bind && m.source.as_ref().is_some_and(|s| !s.is_dir());
    if source_is_file {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        if !target.exists() {
            std::fs::File::create(&target)
                .with_context(|| format!("create {}", target.display()))?;
        }
    } else {
        std::fs::create_dir_all(&target).with_context(|| format!("create {}", target.display()))?;
    }
    let data = (!m.data.is_empty()).then_some(m.data.as_str());
    if bind {
        let source = m.source.as_deref().context("a bind mount needs a source")?;
        let first = flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
        sys.mount(Some(source), &target, None, first, None)
            .with_context(|| format!("bind {}", source.display()))?;
        if flags != first {
            // The options of a bind take a remount of it.
            let again = flags | MsFlags::MS_REMOUNT;
            sys.mount(None, &target, None, again, None)
                .context("remount the bind with its options")?;
        }
    } else if m.fstype == "cgroup" || m.fstype == "cgroup2" {
        let dirs = cgroup_dirs().context("read the container's cgroups")?;
        cgroups(sys, &dirs, &target, flags)?;
    } else {
        let source = m.source.as_deref().unwrap_or(Path::new(&m.fstype));
        let result = sys.mount(Some(source), &target, Some(&m.fstype), flags, data);
        match result {
            // Without a network namespace of its own sysfs may not be
            // mounted: the host's is bound instead, as runc does.
            Err(nix::Error::EPERM) if m.fstype == "sysfs" => {
                let rbind = MsFlags::MS_BIND | MsFlags::MS_REC;
                sys.mount(Some(Path::new("/sys")), &target, None, rbind, None)
                    .context("bind the host's /sys")?;
                let again = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
                sys.mount(None, &target, None, again, None)
                    .context("remount /sys with its options")?;
            }
            other => other.with_context(|| format!("mount {}", m.fstype))?,
        }
    }
    if m.propagation != 0 {
        let prop = MsFlags::from_bits_truncate(m.propagation);
        sys.mount(None, &target, None, prop, None)
            .context("set the mount's propagation")?;
    }
    Ok(())
}

/// The container's own cgroup directories on the host, which a `cgroup`
/// mount shows (read by the caller, which knows the hierarchies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupDirs {
    /// cgroup v2: its directory of the one tree.
    Unified(PathBuf),
    /// v1 and the hybrid layout: `(hierarchy name, its directory)`, one
    /// per hierarchy (`cpu`, `memory`, `unified`...).
    PerHierarchy(Vec<(String, PathBuf)>),
}

/// A `cgroup` mount: the container's own cgroups bound read-write or as
/// the options say, as runc does without a cgroup namespace. On v2 the
/// directory is bound at `target`; on v1 `target` is a tmpfs with one
/// bound directory per hierarchy.
fn cgroups(sys: &dyn Syscall, dirs: &CgroupDirs, target: &Path, flags: MsFlags) -> Result<()> {
    let bind = |source: &Path, at: &Path| -> Result<()> {
        std::fs::create_dir_all(at).with_context(|| format!("create {}", at.display()))?;
        let rbind = MsFlags::MS_BIND | MsFlags::MS_REC;
        sys.mount(Some(source), at, None, rbind, None)
            .with_context(|| format!("bind {}", source.display()))?;
        let again = flags | rbind | MsFlags::MS_REMOUNT;
        sys.mount(None, at, None, again, None)
            .with_context(|| format!("remount {} with its options", at.display()))
    };
    let list = match dirs {
        CgroupDirs::Unified(dir) => return bind(dir, target),
        CgroupDirs::PerHierarchy(list) => list,
    };
    let tmpfs = flags - MsFlags::MS_RDONLY;
    sys.mount(
        Some(Path::new("tmpfs")),
        target,
        Some("tmpfs"),
        tmpfs,
        Some("mode=755"),
    )
    .context("mount a tmpfs for the hierarchies")?;
    for (name, dir) in list {
        bind(dir, &target.join(name))?;
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let ro = tmpfs | MsFlags::MS_RDONLY | MsFlags::MS_REMOUNT;
        sys.mount(None, target, None, ro, None)
            .context("remount the hierarchies' tmpfs read-only")?;
    }
    Ok(())
}

/// The default nodes, the links and `linux.devices` (a listed node
/// replaces a default one of the same path).
fn make_nodes(sys: &dyn Syscall, view: &BundleView, root: &Path) -> Result<()> {
    let dev = super::scoped::resolve(root, Path::new("/dev"))?;
    std::fs::create_dir_all(&dev).with_context(|| format!("create {}", dev.display()))?;
    let defaults = DEFAULT_DEVICES.iter().map(|(name, major, minor)| Node {
        path: Path::new("/dev").join(name),
        kind: 'c',
        major: *major,
        minor: *minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    });
    let listed = |p: &Path| view.devices.iter().any(|d| d.path == p);
    let nodes: Vec<Node> = defaults
        .filter(|d| !listed(&d.path))
        .chain(view.devices.iter().cloned())
        .collect();
    for node in &nodes {
        make_node(sys, node, root)
            .with_context(|| format!("linux.devices: {}", node.path.display()))?;
    }
    for (link, target) in DEFAULT_LINKS {
        let path = dev.join(link);
        if std::fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        std::os::unix::fs::symlink(target, &path).with_context(|| format!("link /dev/{link}"))?;
    }
    Ok(())
}

fn make_node(sys: &dyn Syscall, node: &Node, root: &Path) -> Result<()> {
    let path = super::scoped::resolve(root, &node.path)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("replace {}", path.display()));
        }
        _ => {}
    }
    let kind = match node.kind {
        'b' => SFlag::S_IFBLK,
        'p' => SFlag::S_IFIFO,
        _ => SFlag::S_IFCHR,
    };
    let mode = Mode::from_bits_truncate(node.mode & 0o7777);
    match sys.mknod(&path, kind, mode, makedev(node.major, node.minor)) {
        // In a user namespace of its own init may not make device nodes:
        // the host's node of the same path is bound instead, as runc does
        // (its mode and owner stay the host's).
        Err(nix::Error::EPERM) if kind != SFlag::S_IFIFO => {
            std::fs::File::create(&path).with_context(|| format!("create {}", path.display()))?;
            return sys
                .mount(Some(&node.path), &path, None, MsFlags::MS_BIND, None)
                .with_context(|| format!("bind the host's {}", node.path.display()));
        }
        other => other.context("mknod")?,
    }
    // mknod is subject to the umask; set the mode exactly.
    std::fs::set_permissions(
        &path,
        std::os::unix::fs::PermissionsExt::from_mode(node.mode & 0o7777),
    )
    .with_context(|| format!("chmod {}", path.display()))?;
    std::os::unix::fs::chown(&path, Some(node.uid), Some(node.gid))
        .with_context(|| format!("chown {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, Recording};

    #[test]
    fn a_bind_with_options_is_bound_then_remounted_and_its_propagation_set_last() {
        let root = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let sys = Recording::new();
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        let m = Mount {
            destination: "/data".into(),
            fstype: "bind".into(),
            source: Some(src.path().into()),
            flags: (bind | MsFlags::MS_RDONLY).bits(),
            propagation: MsFlags::MS_PRIVATE.bits(),
            data: String::new(),
        };
        mount(&sys, &m, root.path(), &|| unreachable!()).unwrap();
        let target = root.path().join("data");
        assert!(target.is_dir());
        let flags: Vec<MsFlags> = sys
            .calls()
            .iter()
            .filter_map(|c| match c {
                Call::Mount { flags, .. } if c.mount_target() == Some(&target) => Some(*flags),
                _ => None,
            })
            .collect();
        assert_eq!(
            flags,
            [
                bind,
                bind | MsFlags::MS_RDONLY | MsFlags::MS_REMOUNT,
                MsFlags::MS_PRIVATE
            ]
        );
    }

    #[test]
    fn a_destination_through_a_symlink_stays_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc", root.path().join("link")).unwrap();
        let sys = Recording::new();
        let m = Mount {
            destination: "/link/x".into(),
            fstype: "tmpfs".into(),
            ..Mount::default()
        };
        mount(&sys, &m, root.path(), &|| unreachable!()).unwrap();
        let inside = root.path().join("etc/x");
        assert!(inside.is_dir());
        assert_eq!(sys.calls()[0].mount_target(), Some(inside.as_path()));
    }
}
