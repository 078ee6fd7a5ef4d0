//! From step 10, inside: pivot into the container's root filesystem and
//! give it `/proc`, `/dev` and `/sys` of its own; from step 35, mask what
//! of the host they show, and mount `--tmpfs` and `--read-only`; from step 40 a
//! bundle's own mounts instead ([`crate::fs::bundle_view`]).

use std::path::Path;

use anyhow::{Context, Result};

use super::spec::Spec;
use crate::fs::{mount_ns, pivot};
use crate::syscall::Syscall;

/// Prepare the container's view of the filesystem; `inside` is where its
/// root is seen once pivoted into (`/`, a temporary directory in unit
/// tests).
pub fn setup(sys: &dyn Syscall, spec: &Spec, inside: &Path) -> Result<()> {
    if own_mount_namespace(spec) {
        mount_ns::make_private(sys)?;
    }
    let root = spec
        .rootfs
        .as_ref()
        .context("the spec names no root filesystem")?;
    filesystems(sys, spec, root, inside)?;
    add_devices(sys, spec, inside)?;
    view(sys, spec, inside)
}

/// Before step 40 every container has a mount namespace of its own.
#[cfg(not(feature = "oci_runtime"))]
fn own_mount_namespace(_spec: &Spec) -> bool {
    true
}

/// From step 40 a bundle may share the caller's
/// ([`crate::fs::bundle_view::BundleView::callers_mounts`]).
#[cfg(feature = "oci_runtime")]
fn own_mount_namespace(spec: &Spec) -> bool {
    !spec.bundle_view.as_ref().is_some_and(|v| v.callers_mounts)
}

/// Pivot into `root`, then init's own `/proc`, `/dev` and `/sys`.
#[cfg(not(feature = "oci_runtime"))]
fn filesystems(sys: &dyn Syscall, _spec: &Spec, root: &Path, inside: &Path) -> Result<()> {
    pivot::pivot_root(sys, root)?;
    pivot::mount_pseudo_filesystems(sys, inside)
}

/// From step 40 a bundle's mounts are made, in order, before the pivot
/// (a bind's source is a host path), and its sysctls and masks after;
/// Docker's `run` keeps init's own.
#[cfg(feature = "oci_runtime")]
fn filesystems(sys: &dyn Syscall, spec: &Spec, root: &Path, inside: &Path) -> Result<()> {
    use crate::fs::bundle_view;
    let Some(view) = &spec.bundle_view else {
        pivot::pivot_root(sys, root)?;
        return pivot::mount_pseudo_filesystems(sys, inside);
    };
    // The root is a mount point first, so the bundle's mounts are made on
    // it as they are (as runc does).
    pivot::bind_onto_itself(sys, root)?;
    // The runtime reads the container's cgroups before the clone (see
    // `BundleView::cgroups`); without that, init's own.
    let dirs = || match &view.cgroups {
        Some(dirs) => Ok(dirs.clone()),
        None => cgroup_dirs(&[]),
    };
    bundle_view::before_pivot(sys, view, root, &dirs)?;
    if let Some(hooks) = &spec.hooks {
        hooks.create_container(root)?;
    }
    if view.callers_mounts {
        pivot::chroot_into(sys, root)?;
    } else {
        pivot::pivot_into(sys, root)?;
    }
    bundle_view::after_pivot(sys, view, inside)
}

/// Before step 35 `/dev` holds only the standard nodes.
#[cfg(not(feature = "hardening"))]
fn add_devices(_sys: &dyn Syscall, _spec: &Spec, _inside: &Path) -> Result<()> {
    Ok(())
}

/// From step 35: a node for each `--device`.
#[cfg(feature = "hardening")]
fn add_devices(sys: &dyn Syscall, spec: &Spec, inside: &Path) -> Result<()> {
    crate::devices::flag::create_nodes(sys, inside, &spec.devices)
}

/// Before step 35 the container sees `/proc` and `/sys` whole.
#[cfg(not(feature = "hardening"))]
fn view(_sys: &dyn Syscall, _spec: &Spec, _inside: &Path) -> Result<()> {
    Ok(())
}

/// From step 35: `--tmpfs`, the masked and read-only paths, `--read-only`
/// (last: the device nodes are made first).
#[cfg(feature = "hardening")]
fn view(sys: &dyn Syscall, spec: &Spec, inside: &Path) -> Result<()> {
    crate::fs::kernel_view::apply(sys, &spec.view, inside)
}

/// The cgroups this process is in, for a bundle's `cgroup` mount (step
/// 40), each replaced by the directory of `container` (host paths) that
/// lies in the same hierarchy. Read from `/proc/self/cgroup`, so outside
/// any new cgroup namespace: inside one the paths are relative to its
/// root, not to the hierarchy's.
#[cfg(feature = "oci_runtime")]
pub fn cgroup_dirs(container: &[std::path::PathBuf]) -> Result<crate::fs::bundle_view::CgroupDirs> {
    use crate::fs::bundle_view::CgroupDirs;
    let h = crate::cgroups::detect::Hierarchy::read(Path::new("/proc"))?;
    let own = |(mount, path): &(std::path::PathBuf, std::path::PathBuf)| match container
        .iter()
        .find(|d| d.starts_with(mount))
    {
        Some(dir) => dir.clone(),
        None => mount.join(path.strip_prefix("/").unwrap_or(path)),
    };
    if h.v1.is_empty() {
        let v2 = h.v2.as_ref().context("no cgroup hierarchy is mounted")?;
        return Ok(CgroupDirs::Unified(own(v2)));
    }
    let mut list: Vec<(String, std::path::PathBuf)> = Vec::new();
    for place in h.v1.values().chain(h.v2.iter()) {
        let Some(name) = place.0.file_name() else {
            continue;
        };
        let name = name.to_string_lossy().to_string();
        if !list.iter().any(|(n, _)| *n == name) {
            list.push((name, own(place)));
        }
    }
    Ok(CgroupDirs::PerHierarchy(list))
}
