//! Who a container is, before step 24: its hostname is its ID, and it gets
//! no `/etc` files of its own (step 24 adds `identity_files.rs`: `HOME`,
//! `/etc/hostname`, `/etc/hosts`, `/etc/resolv.conf`).

use std::path::Path;

use anyhow::Result;

use super::spec::Config;
use crate::syscall::Syscall;

/// A container's hostname.
#[derive(Debug)]
pub struct Identity {
    pub hostname: String,
}

impl Identity {
    /// The hostname is the container's ID.
    pub fn plan(_root: &Path, _config: &Config, id: &str) -> Result<Identity> {
        Ok(Identity {
            hostname: id.to_string(),
        })
    }

    /// Nothing to install before step 24.
    pub fn install(
        &self,
        _sys: &dyn Syscall,
        _dir: &Path,
        _rootfs: &Path,
        _config: &Config,
    ) -> Result<()> {
        Ok(())
    }
}

/// Nothing to mount again before step 24.
#[cfg(feature = "isolation")]
pub fn remount(
    _sys: &dyn Syscall,
    _dir: &Path,
    _rootfs: &Path,
    _volumes: &[crate::fs::volume::Volume],
) -> Result<()> {
    Ok(())
}
