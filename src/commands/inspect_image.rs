//! `inspect IMAGE` and `image inspect IMAGE` (step 38): an image of the
//! OCI store as JSON with Docker's field names (`Id`, `RepoTags`,
//! `RepoDigests`, `Created`, `Size`, `Architecture`, `Os`, `Config`,
//! `RootFS.Layers`), so that scripts written against `docker inspect`
//! (`-f '{{.Id}}'`, `{{json .Config.Env}}`) read the same paths. `Id` is
//! the configuration's digest, `Size` the unpacked size `images` shows,
//! `RootFS.Layers` the configuration's `diff_ids`.

use std::path::Path;

use serde_json::{Value, json};

use crate::fs::oci::{self, Store};

/// The document of the image `key` (a name, `NAME@DIGEST`, or an image
/// ID or a unique prefix of it); none when no image has that name.
/// Errors: a broken store, an ambiguous ID prefix.
pub fn document(root: &Path, key: &str) -> Result<Option<Value>, oci::Error> {
    let store = Store::new(root);
    let Some(manifest_digest) = store.resolve(key)? else {
        return Ok(None);
    };
    let manifest = store.manifest(key, &manifest_digest)?;
    let config = store.config(key, &manifest)?;
    let id = manifest.config().digest().to_string();
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    for e in store.by_id(&id)? {
        match e.name.as_deref().map(|n| n.split_once('@')) {
            Some(Some((repository, _))) => digests.push(format!("{repository}@{}", e.manifest)),
            Some(None) => tags.extend(e.name),
            None => {}
        }
    }
    let size: u64 = manifest
        .layers()
        .iter()
        .map(|l| {
            store
                .unpacked_size(l.digest().as_ref())
                .unwrap_or_else(|| l.size())
        })
        .sum();
    Ok(Some(json!({
        "Id": id,
        "RepoTags": tags,
        "RepoDigests": digests,
        "Created": config.created(),
        "Size": size,
        "Architecture": config.architecture().to_string(),
        "Os": config.os().to_string(),
        "Config": config.config(),
        "RootFS": {"Type": "layers", "Layers": config.rootfs().diff_ids()},
    })))
}
