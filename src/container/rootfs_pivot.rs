//! From step 10, inside: pivot into the container's root filesystem and
//! give it `/proc`, `/dev` and `/sys` of its own.

use anyhow::{Context, Result};

use super::spec::Spec;
use crate::fs::pivot;

/// Prepare the container's view of the filesystem.
pub fn setup(spec: &Spec) -> Result<()> {
    super::init::make_private()?;
    let root = spec
        .rootfs
        .as_ref()
        .context("the spec names no root filesystem")?;
    pivot::pivot_root(root)?;
    pivot::mount_pseudo_filesystems()
}
