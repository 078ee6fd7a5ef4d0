//! From step 10, inside: pivot into the container's root filesystem and
//! give it `/proc`, `/dev` and `/sys` of its own; from step 35, mask what
//! of the host they show, and mount `--tmpfs` and `--read-only`.

use std::path::Path;

use anyhow::{Context, Result};

use super::spec::Spec;
use crate::fs::{mount_ns, pivot};
use crate::syscall::Syscall;

/// Prepare the container's view of the filesystem; `inside` is where its
/// root is seen once pivoted into (`/`, a temporary directory in unit
/// tests).
pub fn setup(sys: &dyn Syscall, spec: &Spec, inside: &Path) -> Result<()> {
    mount_ns::make_private(sys)?;
    let root = spec
        .rootfs
        .as_ref()
        .context("the spec names no root filesystem")?;
    pivot::pivot_root(sys, root)?;
    pivot::mount_pseudo_filesystems(sys, inside)?;
    add_devices(sys, spec, inside)?;
    view(sys, spec, inside)
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
