//! `mydocker commit` (step 14): save a container's root filesystem (the
//! merged view: the image, the container's changes, and any volume mounted
//! into it) as `ROOT/images/IMAGE.tar`.
//!
//! Which container is a chapter's choice, at one seam ([`source`]):
//! - steps 14-20 (`commit IMAGE`): the one container of the shared layer;
//! - step 21 (`commit IMAGE`): the only running container;
//! - from step 22 (`commit CONTAINER IMAGE`): the named container, running
//!   or stopped.

use std::path::Path;

use anyhow::Result;

use crate::cli::CommitArgs;
#[cfg(feature = "isolation")]
use crate::container::mounted_root::MountedRoot;
use crate::fs::image;

pub fn commit(root: &Path, args: &CommitArgs) -> Result<i32> {
    crate::names::validate("image", &args.image)?;
    let merged = source(root, args)?;
    let tar = image::save(root, &args.image, &merged)?;
    println!("{}", tar.display());
    Ok(0)
}

/// Steps 14-20: the shared layer, while a container uses it.
#[cfg(not(feature = "isolation"))]
fn source(root: &Path, _args: &CommitArgs) -> Result<std::path::PathBuf> {
    let merged = crate::fs::layers::ContainerLayers::new(root, "").merged();
    if !crate::fs::overlay::is_mounted(&merged) {
        anyhow::bail!("no running container to commit (start one with `mydocker run IMAGE CMD`)");
    }
    Ok(merged)
}

/// Step 21: every container has its own layers; commit the one running.
#[cfg(all(feature = "isolation", not(feature = "commit-container")))]
fn source(root: &Path, _args: &CommitArgs) -> Result<MountedRoot> {
    use crate::container::state::Store;
    let store = Store::new(root);
    let running: Vec<_> = store
        .list()
        .into_iter()
        .filter_map(|(_, r)| r.ok())
        .filter(|i| i.is_alive())
        .collect();
    match running.as_slice() {
        [one] => crate::container::mounted_root::mounted_root(&crate::syscall::Linux, &store, one),
        [] => anyhow::bail!("no running container to commit"),
        _ => {
            anyhow::bail!(
                "more than one container runs: name one (step 22 adds `commit CONTAINER IMAGE`)"
            )
        }
    }
}

/// From step 22: the named container.
#[cfg(feature = "commit-container")]
fn source(root: &Path, args: &CommitArgs) -> Result<MountedRoot> {
    let store = crate::container::state::Store::new(root);
    let info = store.find(&args.container)?;
    crate::container::mounted_root::mounted_root(&crate::syscall::Linux, &store, &info)
}
