//! Removing a container that no longer runs (step 20): its mounts and
//! layers, any cgroup left, what it held on the network, and its state
//! directory, never deleting through a mount (a volume's files are the
//! user's).

use std::path::Path;

use anyhow::{Context, Result};

use super::release_network::release_network;
use super::state::{ContainerInfo, Store};

/// Remove a container that no longer runs: its mounts and layers, any
/// cgroup left (first killing what a crash may have left in it), and its
/// state directory. Volume sources are never touched:
/// everything mounted below the layers is unmounted, and checked to be
/// gone, before a directory is deleted.
pub fn remove(store: &Store, info: &ContainerInfo) -> Result<()> {
    anyhow::ensure!(!info.is_alive(), "container {} is running", info.name);
    if let Some(base) = &info.layers {
        crate::fs::layers::ContainerLayers { base: base.clone() }
            .remove()
            .with_context(|| format!("remove the layers of container {}", info.name))?;
    }
    crate::cgroups::kill_all(&info.cgroups)?;
    crate::cgroups::remove_paths(&info.cgroups)?;
    release_network(store.root(), info);
    store.remove(&info.name)?;
    Ok(())
}

/// Remove the state of a container whose `config.json` cannot be read: its
/// layers are found where they would be, from its name.
pub fn remove_broken(store: &Store, root: &Path, name: &str) -> Result<()> {
    let layers = crate::fs::layers::ContainerLayers::new(root, name);
    if layers.base.starts_with(store.container_dir(name)) {
        layers.remove()?;
    }
    store.remove(name)?;
    Ok(())
}
