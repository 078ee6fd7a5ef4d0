//! The verbs of the OCI image store (step 38): `tag`, `rmi`, `import`,
//! `load`, `save` and `image prune`, as Docker names and spells them.
//!
//! What containers use is asked of the container store here, and handed
//! to [`oci::collect_garbage`]: a container keeps the layers (and the
//! manifest) it was started from, whatever happens to the image's name.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::{ImageArgs, ImageCommand, ImportArgs, LoadArgs, RmiArgs, SaveArgs, TagArgs};
use crate::fs::oci::{self, Reference, Store};

/// The manifests and layers the recorded containers (any state) use.
fn in_use(root: &Path) -> (Vec<(String, String)>, HashSet<String>) {
    let mut manifests = Vec::new();
    let mut keep = HashSet::new();
    for (name, info) in crate::container::state::Store::new(root).list() {
        let Ok(info) = info else { continue };
        if !info.image_manifest.is_empty() {
            keep.insert(info.image_manifest.clone());
            manifests.push((info.image_manifest.clone(), name));
        }
        keep.extend(info.image_layers.iter().cloned());
    }
    (manifests, keep)
}

/// The blobs a container's manifest reaches (its configuration too).
fn with_configs(store: &Store, keep: &mut HashSet<String>, manifests: &[(String, String)]) {
    for (m, name) in manifests {
        if let Ok(man) = store.manifest(name, m) {
            keep.insert(man.config().digest().to_string());
        }
    }
}

fn collect(root: &Path) -> Result<oci::Collected> {
    let store = Store::new(root);
    let (manifests, mut keep) = in_use(root);
    with_configs(&store, &mut keep, &manifests);
    Ok(oci::collect_garbage(root, &keep)?)
}

/// `tag SOURCE TARGET`: TARGET names SOURCE's manifest (SOURCE a name,
/// `NAME@DIGEST` or an image ID).
pub fn tag(root: &Path, args: &TagArgs) -> Result<i32> {
    let store = Store::new(root);
    let target = Reference::parse(&args.target)?;
    // The tutorial's tar dropped into ROOT/images counts as an image
    // (imported here, under the store's lock).
    oci::layer(root, &args.source)?;
    let _lock = store.lock()?;
    let Some(manifest) = store.resolve(&args.source)? else {
        bail!("no such image: {}", args.source);
    };
    let size = std::fs::metadata(store.blob_path(&manifest)?)
        .with_context(|| format!("image {}: its manifest", args.source))?
        .len();
    store.set_ref(&target, &manifest, size)?;
    Ok(0)
}

/// `rmi [-f] IMAGE...`: remove each name (`NAME[:TAG]`, `NAME@DIGEST`);
/// an image ID removes every name of that image, and with more than one
/// name only with -f (Docker's "referenced in multiple repositories").
/// An image a container was made from is refused without -f, and even
/// with it the container's layers stay until it is removed (`image
/// prune` then frees them). An image refused or missing is reported and
/// the others still removed (exit 125 then, as `rm` of several
/// containers).
pub fn rmi(root: &Path, args: &RmiArgs) -> Result<i32> {
    let store = Store::new(root);
    let _lock = store.lock()?;
    let code = super::stop::each(&args.images, |image| {
        // (name, manifest); no name for an image loaded without one.
        let names: Vec<(Option<String>, String)> = match oci::index_name(image) {
            Ok(name) if store.lookup_named(&name)?.is_some() => {
                let manifest = store.lookup_named(&name)?.unwrap_or_default();
                vec![(Some(name), manifest)]
            }
            named => {
                let found = store.by_id(image)?;
                if found.is_empty() {
                    named?;
                    bail!("no such image: {image}");
                }
                let ids: HashSet<&String> = found.iter().map(|e| &e.config).collect();
                if ids.len() > 1 {
                    bail!("image ID prefix {image} names more than one image: give more of it");
                }
                if found.len() > 1 && !args.force {
                    let list: Vec<&str> = found
                        .iter()
                        .map(|e| e.name.as_deref().unwrap_or("<none>"))
                        .collect();
                    bail!(
                        "image {image} is referenced by more than one name ({}): rmi each name, or rmi -f {image}",
                        list.join(", ")
                    );
                }
                found.into_iter().map(|e| (e.name, e.manifest)).collect()
            }
        };
        for (name, manifest) in names {
            let (users, _) = in_use(root);
            let other_names = store
                .index()?
                .manifests()
                .iter()
                .filter(|d| d.digest().to_string() == manifest)
                .count()
                > 1;
            if let Some((_, container)) = users.iter().find(|(m, _)| *m == manifest)
                && !args.force
                && !other_names
            {
                bail!(
                    "image {} is used by container {container}: remove the container first, or rmi -f (the name goes, the container keeps its layers)",
                    name.as_deref().unwrap_or(image)
                );
            }
            match name {
                Some(name) => {
                    store.remove_named(&name)?;
                    println!("Untagged: {name}");
                }
                // Docker's rmi of an unnamed image says only what it deleted.
                None => store.remove_unnamed(&manifest)?,
            }
        }
        Ok(())
    });
    for d in collect(root)?.blobs {
        println!("Deleted: {d}");
    }
    Ok(code)
}

/// `import FILE REPOSITORY[:TAG]`: a flat root filesystem as a one-layer
/// image (as `docker import`); prints the image ID.
pub fn import(root: &Path, args: &ImportArgs) -> Result<i32> {
    let r = Reference::parse(&args.reference)?;
    let store = Store::new(root);
    let manifest = store.import(&args.file, &r, None, false)?;
    let m = store.manifest(&r.to_string(), &manifest)?;
    println!("{}", m.config().digest());
    Ok(0)
}

/// `image prune`: remove what no name and no container uses, and what
/// killed writers left; its "Total reclaimed space" is the space freed
/// (as Docker's), blobs, extracted layers and temporaries together.
pub fn image(root: &Path, args: &ImageArgs) -> Result<i32> {
    match &args.command {
        ImageCommand::Ls(args) => crate::commands::images::images(root, args),
        ImageCommand::Rm(args) => rmi(root, args),
        ImageCommand::Inspect(args) => crate::commands::inspect::print_documents(args, |key| {
            crate::commands::inspect_image::document(root, key)?
                .ok_or_else(|| anyhow::anyhow!("no such image: {key}"))
        }),
        ImageCommand::Prune { force: _ } => {
            let store = Store::new(root);
            let _lock = store.lock()?;
            let done = collect(root)?;
            for d in &done.blobs {
                println!("Deleted: {d}");
            }
            for d in &done.layers {
                println!("Deleted layer: {d}");
            }
            println!(
                "Total reclaimed space: {}",
                crate::format::human_size(done.bytes)
            );
            Ok(0)
        }
    }
}

/// `load [-i FILE]`: a `docker save` archive (`manifest.json`) or an OCI
/// archive (`oci-layout`, `index.json`), from FILE, or from stdin without
/// `-i` or with `-i -` (as Docker; refused when stdin is a terminal);
/// every blob's digest is checked against what its manifest or
/// configuration promises before any name is written.
pub fn load(root: &Path, args: &LoadArgs) -> Result<i32> {
    let (label, file): (String, Box<dyn std::io::Read>) = match &args.input {
        Some(path) if path.as_os_str() != "-" => {
            let label = path.display().to_string();
            let file = std::fs::File::open(path).with_context(|| format!("open {label}"))?;
            (label, Box::new(file))
        }
        _ => {
            let stdin = std::io::stdin();
            if std::io::IsTerminal::is_terminal(&stdin) {
                bail!("load: no archive: stdin is a terminal; give -i FILE, or pipe an archive in");
            }
            ("stdin".to_string(), Box::new(stdin))
        }
    };
    let store = Store::new(root);
    let (tmp, _claim) = store.load_dir()?;
    let reader = oci::uncompressed(file).with_context(|| format!("read {label}"))?;
    crate::fs::image::extract_stream(&label, reader, tmp.path())?;
    let _lock = store.lock()?;
    let loaded = if tmp.path().join("manifest.json").is_file() {
        oci::load_docker(&store, &label, tmp.path())?
    } else if tmp.path().join("index.json").is_file() {
        oci::load_oci(&store, &label, tmp.path())?
    } else {
        bail!("{label}: neither a docker archive (manifest.json) nor an OCI archive (index.json)");
    };
    for l in loaded {
        println!("{l}");
    }
    Ok(0)
}

/// `save [-o FILE] IMAGE...`: an archive both `docker load` (its
/// `manifest.json`) and OCI tools (`oci-layout`, `index.json`) read, of
/// every IMAGE (several names of one image make one entry; an image
/// given by ID, or by `NAME@DIGEST`, is saved without a name, as Docker
/// saves it), to FILE or else to stdout, refused when stdout is a
/// terminal (Docker's "cowardly refusing").
pub fn save(root: &Path, args: &SaveArgs) -> Result<i32> {
    let store = Store::new(root);
    let mut images: Vec<oci::Saved> = Vec::new();
    // Held while the archive is written: an `rmi` and `image prune`
    // meanwhile leave what it reads.
    let mut claims = Vec::new();
    for text in &args.images {
        let (manifest, claim) = oci::claim_image(root, text)?;
        claims.push(claim);
        // A name when the image was given by one; by ID or `NAME@DIGEST`
        // it is saved without (as Docker saves it).
        let name = Reference::parse(text)
            .ok()
            .filter(|r| store.lookup(r).ok().flatten().as_deref() == Some(manifest.as_str()));
        match images.iter_mut().find(|s| s.manifest == manifest) {
            Some(s) => s.names.extend(name.filter(|n| !s.names.contains(n))),
            None => images.push(oci::Saved {
                manifest,
                names: name.into_iter().collect(),
            }),
        }
    }
    let Some(output) = &args.output else {
        let stdout = std::io::stdout();
        if std::io::IsTerminal::is_terminal(&stdout) {
            bail!(
                "save: cowardly refusing to write an archive to a terminal: give -o FILE, or redirect stdout"
            );
        }
        let w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
        let mut w = oci::write_archive(&store, &images, w)?;
        w.flush().context("write the archive to stdout")?;
        return Ok(0);
    };
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".mydocker-save-")
        .tempfile_in(dir)
        .map_err(crate::fs::image::os_cause)
        .with_context(|| format!("write {}", output.display()))?;
    {
        let w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        let mut w = oci::write_archive(&store, &images, w)?;
        w.flush().context("write the archive")?;
    }
    tmp.persist(output)
        .map_err(|e| e.error)
        .with_context(|| format!("write {}", output.display()))?;
    Ok(0)
}
