//! `pull NAME[:TAG|@DIGEST]` (step 39): an image from a registry into the
//! store, over the OCI distribution API ([`crate::fs::registry`]).

use std::path::Path;

use anyhow::Result;

use crate::cli::PullArgs;
use crate::fs::oci::{self, Store};
use crate::fs::registry::{self, Remote};

/// `pull`: prints the manifest digest and the image's name, as Docker
/// (`Digest: ...`, `Status: ...`, then the name).
pub fn pull(root: &Path, args: &PullArgs) -> Result<i32> {
    let remote = Remote::parse(&args.image)?;
    let store = Store::new(root);
    let before = store.lookup_named(&remote.local)?;
    let digest = registry::pull(root, &remote, &args.insecure_registries)?;
    println!("Digest: {digest}");
    if before.as_deref() == Some(digest.as_str()) {
        println!("Status: Image is up to date for {}", remote.local);
    } else {
        println!("Status: Downloaded newer image for {}", remote.local);
    }
    println!("{}", remote.local);
    Ok(0)
}

/// The layers of `image` for `run`: from the store, else (when its name
/// has a registry host) pulled first; `HOST/NAME@DIGEST` by its entry in
/// the index, else pulled.
pub fn local_or_pulled(
    root: &Path,
    image: &str,
    insecure: &[String],
) -> Result<crate::fs::oci::Stack> {
    if image.contains('@') && registry::has_registry_host(image) {
        let remote = Remote::parse(image)?;
        let store = Store::new(root);
        let digest = match store.lookup_named(&remote.local)? {
            Some(d) => d,
            None => registry::pull(root, &remote, insecure)?,
        };
        return Ok(store.claimed_stack(&remote.local, &digest)?);
    }
    match oci::layer(root, image) {
        Err(oci::Error::NotFound(_)) if registry::has_registry_host(image) => {
            let remote = Remote::parse(image)?;
            eprintln!("Unable to find image '{}' locally", remote.local);
            registry::pull(root, &remote, insecure)?;
            Ok(oci::layer(root, image)?)
        }
        other => Ok(other?),
    }
}
