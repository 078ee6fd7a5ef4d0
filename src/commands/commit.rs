//! `mydocker commit IMAGE` (step 14): save the running container's root
//! filesystem (the merged view: image plus its changes, plus any volume
//! mounted into it) as `ROOT/images/IMAGE.tar`. In this era there is one
//! shared container, so there is nothing to name but the image.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::CommitArgs;
use crate::fs::{image, layers::ContainerLayers, overlay};

pub fn commit(root: &Path, args: &CommitArgs) -> Result<i32> {
    crate::names::validate("image", &args.image)?;
    let merged = ContainerLayers::new(root, "").merged();
    if !overlay::is_mounted(&merged) {
        bail!("no running container to commit (start one with `mydocker run -it IMAGE CMD`)");
    }
    let tar = image::save(root, &args.image, &merged)?;
    println!("{}", tar.display());
    Ok(0)
}
