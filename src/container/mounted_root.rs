//! A stopped container's root filesystem, mounted again for as long as a
//! command needs it (step 21, for `commit` and `cp`): from step 21 an
//! exited container holds no mounts, as in Docker.

use std::path::Path;

use anyhow::{Context, Result};

use super::state::{ContainerInfo, Store};

/// A container's root filesystem mounted on the host, for `commit` and
/// `cp` ([`mounted_root`]); derefs to its path.
pub struct MountedRoot {
    path: std::path::PathBuf,
    /// The layers mounted again for this use, unmounted on drop; `None`
    /// while the container runs (its own mounts are used).
    remounted: Option<crate::fs::layers::ContainerLayers>,
    _lock: Option<nix::fcntl::Flock<std::fs::File>>,
}

impl std::ops::Deref for MountedRoot {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for MountedRoot {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for MountedRoot {
    fn drop(&mut self) {
        if let Some(layers) = &self.remounted
            && let Err(e) = layers.unmount_all()
        {
            eprintln!("mydocker: unmount {}: {e}", layers.merged().display());
        }
    }
}

/// The container's root filesystem as the host sees it: the merged mount
/// of its layers with its volumes and `/etc` files. While it runs, its own
/// mount. From step 21 a container that has exited holds no mounts (they
/// go when it ends, as in Docker), so they are made again for as long as
/// the returned guard lives: the image layer below the container's write
/// layer, the volumes, the `/etc` files. A lock file in the container's
/// directory keeps two such uses from unmounting under each other.
pub fn mounted_root(
    sys: &dyn crate::syscall::Syscall,
    store: &Store,
    info: &ContainerInfo,
) -> Result<MountedRoot> {
    use crate::fs::layers::ContainerLayers;
    let Some(base) = &info.layers else {
        anyhow::bail!("container {} has no root filesystem", info.name);
    };
    let layers = ContainerLayers { base: base.clone() };
    let merged = layers.merged();
    if info.is_alive() {
        anyhow::ensure!(
            crate::fs::overlay::is_mounted(&merged),
            "container {}: its root filesystem is not mounted",
            info.name
        );
        return Ok(MountedRoot {
            path: merged,
            remounted: None,
            _lock: None,
        });
    }
    let lock_path = store.container_dir(&info.name).join("mount.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("container {}: open {}", info.name, lock_path.display()))?;
    let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("container {}: lock {}", info.name, lock_path.display()))?;
    // Left mounted by a use that was killed: start from nothing.
    layers.unmount_all()?;
    let guard = MountedRoot {
        path: merged.clone(),
        remounted: Some(layers.clone()),
        _lock: Some(lock),
    };
    let image = image_layers(store, info)?;
    layers
        .mount(&image, false)
        .with_context(|| format!("mount the layers of container {}", info.name))?;
    let volumes = info
        .volumes
        .iter()
        .map(|v| crate::fs::volume::Volume::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("container {}: its recorded volumes", info.name))?;
    crate::fs::volume::mount_all(sys, &volumes, &merged)?;
    super::identity::remount(sys, &store.container_dir(&info.name), &merged, &volumes)?;
    Ok(guard)
}

/// The image's layer, by the name the container recorded (steps 21-37).
#[cfg(not(feature = "oci_image"))]
fn image_layers(store: &Store, info: &ContainerInfo) -> Result<std::path::PathBuf> {
    Ok(crate::fs::image::layer(store.root(), &info.image)?)
}

/// The layers the container recorded at `run` (step 38): whatever its
/// image's name points at now, these are what it stands on.
#[cfg(feature = "oci_image")]
fn image_layers(store: &Store, info: &ContainerInfo) -> Result<crate::fs::oci::Stack> {
    Ok(crate::fs::oci::recorded(
        store.root(),
        &info.image_layers,
        &info.image_manifest,
    )?)
}
