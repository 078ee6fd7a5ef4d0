//! The parent's half of the container's root filesystem: what `run`
//! prepares on the host before the container starts, and removes after.
//! Each chapter replaces [`prepare`] (one seam per chapter):
//!
//! - before step 10 the container shares the host's filesystem;
//! - steps 10 and 11: the directory it is made from itself (`--rootfs DIR`
//!   in step 10, the image's extracted layer from step 11: `run` finds it,
//!   [`Config::lower`]);
//! - step 12: a union of that layer and a write layer (step 13 adds the
//!   volumes, mounted into it).

use std::path::PathBuf;

use anyhow::Result;

use super::spec::Config;
use crate::syscall::Syscall;

/// A prepared root filesystem.
#[derive(Debug)]
pub struct Rootfs {
    /// The directory `init` pivots into.
    pub path: PathBuf,
    /// The layers to remove afterwards (from step 12).
    #[cfg(feature = "layers")]
    pub layers: Option<crate::fs::layers::ContainerLayers>,
}

impl Rootfs {
    /// Undo what [`prepare`] did: before step 12 there is nothing to undo.
    #[cfg(not(feature = "layers"))]
    pub fn release(&self) -> Result<()> {
        Ok(())
    }

    /// Undo what [`prepare`] did: unmount and remove the layers.
    #[cfg(feature = "layers")]
    pub fn release(&self) -> Result<()> {
        if let Some(layers) = &self.layers {
            layers.remove()?;
        }
        Ok(())
    }

    /// Undo what [`prepare_again`] did (step 37): unmount, keep the layers.
    #[cfg(feature = "lifecycle")]
    pub fn unmount(&self) -> Result<()> {
        if let Some(layers) = &self.layers {
            layers.unmount_all()?;
        }
        Ok(())
    }
}

/// Step 37, `start`: the layers of a stopped container mounted again, its
/// write layer as it was left, and its volumes. A failure part way
/// unmounts what was mounted and never removes a layer: the container's
/// files are kept, whatever happens to its start.
#[cfg(feature = "lifecycle")]
pub fn prepare_again(sys: &dyn Syscall, root: &std::path::Path, config: &Config) -> Result<Rootfs> {
    use crate::fs::layers::ContainerLayers;
    use anyhow::Context;

    let layers = ContainerLayers::new(root, &config.name);
    anyhow::ensure!(
        layers.upper().is_dir(),
        "container {}: its write layer {} is gone",
        config.name,
        layers.upper().display()
    );
    // A container started again keeps its layers after it ends: never
    // volatile.
    layers
        .mount(&config.lower, false)
        .context("mount the container's layers again")?;
    let rootfs = Rootfs {
        path: layers.merged(),
        layers: Some(layers),
    };
    if let Err(e) = mount_volumes(sys, &rootfs, config) {
        let _ = rootfs.unmount();
        return Err(e);
    }
    Ok(rootfs)
}

/// Before step 10: no root filesystem of its own.
#[cfg(not(feature = "pivot"))]
pub fn prepare(
    _sys: &dyn Syscall,
    _root: &std::path::Path,
    _config: &Config,
) -> Result<Option<Rootfs>> {
    Ok(None)
}

/// Steps 10 and 11: the directory it is made from, as it is.
#[cfg(all(feature = "pivot", not(feature = "layers")))]
pub fn prepare(
    _sys: &dyn Syscall,
    _root: &std::path::Path,
    config: &Config,
) -> Result<Option<Rootfs>> {
    Ok(Some(Rootfs {
        path: config.lower.clone(),
    }))
}

/// Step 12: a write layer over the image layer; from step 13 the volumes
/// are mounted into the result. A failure part way undoes every mount.
#[cfg(feature = "layers")]
pub fn prepare(
    sys: &dyn Syscall,
    root: &std::path::Path,
    config: &Config,
) -> Result<Option<Rootfs>> {
    use crate::fs::layers::ContainerLayers;
    use anyhow::Context;

    let layers = ContainerLayers::new(root, &config.name);
    if let Err(e) = layers.mount(&config.lower, removed_when_it_ends(config)) {
        if !matches!(e, crate::fs::layers::Error::Busy(_)) {
            let _ = layers.remove();
        }
        return Err(e).context("mount the container's layers");
    }
    let rootfs = Rootfs {
        path: layers.merged(),
        layers: Some(layers),
    };
    if let Err(e) = mount_volumes(sys, &rootfs, config) {
        let _ = rootfs.release();
        return Err(e);
    }
    Ok(Some(rootfs))
}

/// Before step 15 every container runs in the foreground, and its layers
/// are removed when it ends.
#[cfg(all(feature = "layers", not(feature = "detach")))]
fn removed_when_it_ends(_config: &Config) -> bool {
    true
}

/// From step 15 a foreground container's layers are removed when it ends
/// (as `docker run --rm`); a detached one's stay until `rm`.
#[cfg(feature = "detach")]
fn removed_when_it_ends(config: &Config) -> bool {
    !config.detach
}

/// Before step 13 there are no volumes.
#[cfg(all(feature = "layers", not(feature = "volume")))]
fn mount_volumes(_sys: &dyn Syscall, _rootfs: &Rootfs, _config: &Config) -> Result<()> {
    Ok(())
}

/// Step 13: bind-mount each `-v` into the root filesystem, parents first.
#[cfg(feature = "volume")]
fn mount_volumes(sys: &dyn Syscall, rootfs: &Rootfs, config: &Config) -> Result<()> {
    crate::fs::volume::mount_all(sys, &config.volumes, &rootfs.path)?;
    Ok(())
}
