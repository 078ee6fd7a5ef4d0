//! The parent's half of the container's root filesystem: what `run`
//! prepares on the host before the container starts, and removes after.
//! Each chapter replaces [`prepare`] (one seam per chapter):
//!
//! - before step 10 the container shares the host's filesystem;
//! - step 10: `--rootfs DIR`, a prepared directory to pivot into;
//! - step 11: the image's extracted layer itself;
//! - step 12: a union of the image layer and a write layer (step 13 adds
//!   the volumes, mounted into it).

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::RunArgs;
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
}

/// Before step 10: no root filesystem of its own.
#[cfg(not(feature = "pivot"))]
pub fn prepare(
    _sys: &dyn Syscall,
    _root: &std::path::Path,
    _args: &RunArgs,
    _name: &str,
) -> Result<Option<Rootfs>> {
    Ok(None)
}

/// Step 10: the directory given with `--rootfs`.
#[cfg(all(feature = "pivot", not(feature = "image")))]
pub fn prepare(
    _sys: &dyn Syscall,
    _root: &std::path::Path,
    args: &RunArgs,
    _name: &str,
) -> Result<Option<Rootfs>> {
    use anyhow::Context;
    let path = args
        .rootfs
        .canonicalize()
        .with_context(|| format!("root filesystem {}", args.rootfs.display()))?;
    anyhow::ensure!(
        path.is_dir(),
        "root filesystem {} is not a directory",
        path.display()
    );
    Ok(Some(Rootfs { path }))
}

/// Step 11: the image's layer, extracted once.
#[cfg(all(feature = "image", not(feature = "layers")))]
pub fn prepare(
    _sys: &dyn Syscall,
    root: &std::path::Path,
    args: &RunArgs,
    _name: &str,
) -> Result<Option<Rootfs>> {
    let path = crate::fs::image::layer(root, &args.image)?;
    Ok(Some(Rootfs { path }))
}

/// Step 12: a write layer over the image layer; from step 13 the volumes
/// are mounted into the result. A failure part way undoes every mount.
#[cfg(feature = "layers")]
pub fn prepare(
    sys: &dyn Syscall,
    root: &std::path::Path,
    args: &RunArgs,
    name: &str,
) -> Result<Option<Rootfs>> {
    use crate::fs::layers::ContainerLayers;
    use anyhow::Context;

    let image_layer = crate::fs::image::layer(root, &args.image)?;
    let layers = ContainerLayers::new(root, name);
    if let Err(e) = layers.mount(&image_layer) {
        if !matches!(e, crate::fs::layers::Error::Busy(_)) {
            let _ = layers.remove();
        }
        return Err(e).context("mount the container's layers");
    }
    let rootfs = Rootfs {
        path: layers.merged(),
        layers: Some(layers),
    };
    if let Err(e) = mount_volumes(sys, &rootfs, args) {
        let _ = rootfs.release();
        return Err(e);
    }
    Ok(Some(rootfs))
}

/// Before step 13 there are no volumes.
#[cfg(all(feature = "layers", not(feature = "volume")))]
fn mount_volumes(_sys: &dyn Syscall, _rootfs: &Rootfs, _args: &RunArgs) -> Result<()> {
    Ok(())
}

/// Step 13: bind-mount each `-v` into the root filesystem, parents first.
#[cfg(feature = "volume")]
fn mount_volumes(sys: &dyn Syscall, rootfs: &Rootfs, args: &RunArgs) -> Result<()> {
    crate::fs::volume::mount_all(sys, &args.volumes, &rootfs.path)?;
    Ok(())
}
