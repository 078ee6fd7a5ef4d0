//! `mydocker commit` (step 14): save a container's root filesystem (the
//! merged view: the image, the container's changes, and any volume mounted
//! into it) as `ROOT/images/IMAGE.tar`.
//!
//! Which container is a chapter's choice, at one seam ([`source`]):
//! - steps 14-20 (`commit IMAGE`): the one container of the shared layer;
//! - step 21 (`commit IMAGE`): the only running container;
//! - from step 22 (`commit CONTAINER IMAGE`): the named container, running
//!   or stopped.
//!
//! From step 38 the image is no longer a tar of the whole tree but one new
//! layer in the OCI store ([`commit`] swapped whole): the container's
//! write layer (overlayfs' whiteouts as `.wh.` entries) plus its volumes'
//! contents (the tutorial's transcript shows them in the image; Docker
//! leaves volumes out), over the layers of the image it was started from.

use std::path::Path;

use anyhow::Result;

use crate::cli::CommitArgs;
#[cfg(feature = "isolation")]
use crate::container::mounted_root::MountedRoot;
#[cfg(not(feature = "oci_image"))]
use crate::fs::image;

/// Save the container's merged tree as `ROOT/images/IMAGE.tar` (steps
/// 14-37); prints the tar's path.
#[cfg(not(feature = "oci_image"))]
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

/// From step 38: one new layer over the container's image's layers, and
/// the configuration, under `IMAGE[:TAG]`; prints the image ID (the
/// configuration's digest), as Docker does. Containers running from an
/// older image of that name keep their layers: only the name moves.
#[cfg(feature = "oci_image")]
pub fn commit(root: &Path, args: &CommitArgs) -> Result<i32> {
    use crate::fs::oci::{self, Reference, Store};
    use anyhow::Context;
    let r = Reference::parse(&args.image)?;
    let image = r.to_string();
    let containers = crate::container::state::Store::new(root);
    let info = containers.find(&args.container)?;
    let merged = source(root, args)?;
    let Some(base) = &info.layers else {
        anyhow::bail!("container {} has no root filesystem", info.name);
    };
    let upper = crate::fs::layers::ContainerLayers { base: base.clone() }.upper();
    let volumes = info
        .volumes
        .iter()
        .map(|v| crate::fs::volume::Volume::parse(v).map(|v| v.target))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("container {}: its recorded volumes", info.name))?;
    let store = Store::new(root);
    let (mut tmp, _claim) = store.commit_file()?;
    oci::pack_changes(
        &image,
        &upper,
        &merged,
        &volumes,
        std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut()),
    )?;
    drop(merged);
    let _lock = store.lock()?;
    let layer = tmp.reopen().context("read the new layer")?;
    let (digest, size) = store.put_blob(&image, "the new layer", layer, None)?;
    let base = store.manifest(&image, &info.image_manifest)?;
    // The layer is stored uncompressed: its digest is its diff_id.
    store.extract_layer(&image, base.layers().len() + 1, &digest, &digest)?;
    let config = store.config(&image, &base)?;
    let (manifest, msize) =
        store.commit_layers(&image, &[(base, config)], &[(digest, size)], None, "commit")?;
    store.set_ref(&r, &manifest, msize)?;
    println!("{}", store.manifest(&image, &manifest)?.config().digest());
    Ok(0)
}
