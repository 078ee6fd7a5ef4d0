//! Steps 05-09, inside: the container keeps the host's filesystem and gets
//! only a private mount tree and its own `/proc`.

use std::path::Path;

use anyhow::Result;

use super::spec::Spec;
use crate::fs::mount_ns;
use crate::syscall::Syscall;

/// Prepare the container's view of the filesystem; `inside` is where its
/// root is seen (the host's `/`, a temporary directory in unit tests).
pub fn setup(sys: &dyn Syscall, _spec: &Spec, inside: &Path) -> Result<()> {
    mount_ns::make_private(sys)?;
    mount_ns::mount_proc(sys, &inside.join("proc"))
}
