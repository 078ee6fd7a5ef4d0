//! A container's layers (step 12): the image's read-only layer below a
//! writable upper layer, joined by the union mount of step 09 at `merged`,
//! which becomes the container's `/`. Whatever the container writes lands
//! in `upper`; the image layer never changes. When an `-it` container ends,
//! the union is unmounted and `upper`, `work` and `merged` are removed.
//!
//! Steps 12 to 20 keep the tutorial's design: one set of layers under
//! `<root>/shared`, used by one container at a time. Step 21 gives every
//! container its own set under `<root>/containers/<name>` — the one seam is
//! [`base_dir`].
//!
//! Removal never deletes through a mount: everything mounted below the
//! layers (volumes, the union) is unmounted first, the mount table is
//! checked, and only then are the directories removed.

use std::path::{Path, PathBuf};

use super::overlay::{self, Layers};

/// A failed layer operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Union(#[from] overlay::Error),
    #[error(
        "the shared layer {0} is in use by another container (one container at a time before step 21)"
    )]
    Busy(PathBuf),
    #[error("{path} is still mounted; not removing {base}")]
    StillMounted { path: PathBuf, base: PathBuf },
    #[error("read the mount table (/proc/self/mountinfo): {0}; not removing anything")]
    MountTable(std::io::Error),
    #[error("remove {path}: {err}")]
    Remove { path: PathBuf, err: std::io::Error },
}

/// Where a container's layers live: one shared set before step 21.
#[cfg(not(feature = "isolation"))]
pub fn base_dir(root: &Path, _container: &str) -> PathBuf {
    root.join("shared")
}

/// Where a container's layers live: its own directory from step 21.
#[cfg(feature = "isolation")]
pub fn base_dir(root: &Path, container: &str) -> PathBuf {
    root.join("containers").join(container)
}

/// The read-only directories under a container's write layer: one image
/// directory until step 37, an image's layers from step 38.
pub trait LowerDirs {
    /// The directories, topmost first (overlayfs' `lowerdir=` order).
    fn lower_dirs(&self) -> Vec<PathBuf>;
}

impl LowerDirs for Path {
    fn lower_dirs(&self) -> Vec<PathBuf> {
        vec![self.to_path_buf()]
    }
}

impl LowerDirs for PathBuf {
    fn lower_dirs(&self) -> Vec<PathBuf> {
        vec![self.clone()]
    }
}

/// The layer directories of one container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerLayers {
    pub base: PathBuf,
}

impl ContainerLayers {
    pub fn new(root: &Path, container: &str) -> Self {
        ContainerLayers {
            base: base_dir(root, container),
        }
    }

    pub fn upper(&self) -> PathBuf {
        self.base.join("upper")
    }

    pub fn work(&self) -> PathBuf {
        self.base.join("work")
    }

    /// The container's root filesystem.
    pub fn merged(&self) -> PathBuf {
        self.base.join("merged")
    }

    /// Mount the union of the image's layers and a fresh upper layer;
    /// `throwaway` when the layers are removed once it is unmounted
    /// (overlayfs's `volatile`, see [`Layers::volatile`]).
    pub fn mount(&self, image: &(impl LowerDirs + ?Sized), throwaway: bool) -> Result<(), Error> {
        if overlay::is_mounted(&self.merged()) {
            return Err(Error::Busy(self.merged()));
        }
        overlay::mount_union(&Layers {
            lower: image.lower_dirs(),
            upper: self.upper(),
            work: self.work(),
            merged: self.merged(),
            volatile: throwaway,
        })?;
        Ok(())
    }

    /// Unmount everything at or below the layers, deepest first.
    pub fn unmount_all(&self) -> Result<(), Error> {
        for path in mounts_below(&self.base)? {
            overlay::unmount(&path)?;
        }
        Ok(())
    }

    /// Unmount, check nothing is mounted any more, remove the directories.
    pub fn remove(&self) -> Result<(), Error> {
        self.unmount_all()?;
        if let Some(path) = mounts_below(&self.base)?.into_iter().next() {
            return Err(Error::StillMounted {
                path,
                base: self.base.clone(),
            });
        }
        for dir in [self.upper(), self.work(), self.merged()] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::Remove { path: dir, err }),
            }
        }
        // The base itself goes when nothing else lives there.
        let _ = std::fs::remove_dir(&self.base);
        Ok(())
    }
}

/// Mount points at or below `base`, deepest first. A mount table that
/// cannot be read is an error, never "nothing mounted".
pub fn mounts_below(base: &Path) -> Result<Vec<PathBuf>, Error> {
    let mounts = super::mountinfo::read().map_err(Error::MountTable)?;
    Ok(super::mountinfo::below(&mounts, base))
}
