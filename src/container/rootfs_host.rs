//! Steps 05-09, inside: the container keeps the host's filesystem and gets
//! only a private mount tree and its own `/proc`.

use std::path::Path;

use anyhow::Result;

use super::spec::Spec;

/// Prepare the container's view of the filesystem.
pub fn setup(_spec: &Spec) -> Result<()> {
    super::init::make_private()?;
    super::init::mount_proc(Path::new("/proc"))
}
