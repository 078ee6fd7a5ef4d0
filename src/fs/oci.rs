//! The OCI image store (step 38): images addressed by what they contain,
//! not by their name.
//!
//! Until step 37 an image was `ROOT/images/NAME.tar`, extracted once to
//! `ROOT/images/NAME/`: the name *was* the storage, so saving another image
//! under that name deleted the directory under every container running
//! from the old one. Production runtimes (containerd, podman, Docker since
//! 1.10) store images the way the OCI image layout describes them
//! (<https://github.com/opencontainers/image-spec/blob/main/image-layout.md>):
//!
//! - `ROOT/blobs/sha256/<hex>`: every file of an image (its layers, its
//!   configuration, its manifest) named by the SHA-256 of its bytes. A
//!   blob never changes: other bytes would have another name. Bytes from
//!   outside (an `import`, a `load`) are hashed as they are written, and
//!   compared with the digest their manifest or configuration promises.
//! - `ROOT/index.json`: the only mutable file, mapping references
//!   `NAME:TAG` (annotation `org.opencontainers.image.ref.name`) to the
//!   digest of a manifest; `ROOT/oci-layout` marks the layout's version.
//! - `ROOT/layers/<hex>/`: each layer extracted once per digest into its
//!   own directory, never changed afterwards. A container's root is an
//!   overlay of these directories in the manifest's order (the last
//!   layer on top) under its own write layer (step 12).
//!
//! A layer says that a file of a lower layer is deleted with an empty file
//! `.wh.NAME` beside it, and that a directory hides everything below it
//! with `.wh..wh..opq` inside it (the OCI layer spec's whiteouts, Docker's
//! too). Overlayfs says the same with a character device 0/0 named `NAME`
//! and the extended attribute `trusted.overlay.opaque=y` on the directory
//! (the kernel's `Documentation/filesystems/overlayfs.rst`); extraction
//! turns the one into the other, and `commit` (which packs a container's
//! write layer) the other into the one.
//!
//! Retagging or committing to an existing name only moves a reference in
//! the index: the layers that running containers stand on are untouched.
//! Nothing is deleted but by [`collect_garbage`], which keeps every blob and
//! layer an index entry or a container (the caller names them) still uses,
//! and those a command has claimed (`Claim`) before its use is recorded:
//! a `run` between naming the image and recording the container, a
//! `save` while it writes, from step 39 an unfinished pull.
//!
//! A tar from outside is untrusted: entries with `..` or an absolute path,
//! links leading out, device nodes and writes through planted symlinks are
//! refused (error naming the image and the entry), and an extraction
//! happens in a temporary directory renamed into place only when complete.
//! Every temporary (a layer being extracted, a blob being written, the
//! index being replaced) is claimed with a lock while its writer works,
//! so that the next writer can sweep what a killed one left
//! (`fs::temporaries`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use oci_spec::image::{
    Descriptor, Digest, ImageConfiguration, ImageIndex, ImageManifest, MediaType,
};
use sha2::{Digest as _, Sha256};

use crate::fs::temporaries::{self, Temporary};
use crate::names;

/// What the temporaries of `ROOT/layers` are named like: a layer being
/// extracted. A writer killed midway leaves one, swept (as
/// [`temporaries`] describes) by the next extraction or `image prune`.
const LAYER_TEMPORARIES: &[&str] = &[".extract-"];

/// The temporaries of `ROOT/blobs/sha256`: a blob being written and
/// hashed, swept by the next blob written or `image prune`.
const BLOB_TEMPORARIES: &[&str] = &[".incoming-"];

/// The store's temporaries in `ROOT` itself: the index and the layout
/// marker being replaced, an archive being loaded ([`Store::load_dir`]),
/// a layer being committed ([`Store::commit_file`]); swept by the next
/// of these and by `image prune`.
const ROOT_TEMPORARIES: &[&str] = &[".index.json.", ".oci-layout.", ".load-", ".commit-"];

/// The records of `ROOT/claims`: what a `run`, a `save` or an unfinished
/// pull holds ([`Claim`]); a killed claimer's record is swept by the next
/// claim or `image prune`.
const CLAIM_TEMPORARIES: &[&str] = &[".claim-"];

/// The extended attribute of an extracted layer directory that records
/// the digest of the layer's uncompressed tar (its diff_id), checked
/// again when another image names the same layer. `trusted.` like
/// overlayfs' own, so that only root reads or sets it.
const DIFF_ID_XATTR: &str = "trusted.mydocker.diff_id";

/// The extended attribute recording a layer's unpacked size: the bytes of
/// its regular files, as decimal digits.
const SIZE_XATTR: &str = "trusted.mydocker.size";

/// The annotation naming an index entry, here the full `NAME:TAG`.
pub const REF_ANNOTATION: &str = "org.opencontainers.image.ref.name";

/// A failed image operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Name(#[from] names::InvalidName),
    #[error("invalid image name {reference:?}: {reason}")]
    Reference {
        reference: String,
        reason: &'static str,
    },
    #[error("image not found: {0}")]
    NotFound(String),
    #[error("{image}: entry {entry:?} would be written outside the image")]
    Escapes { image: String, entry: String },
    #[error("{image}: entry {entry:?} is a device node; image layers may not create devices")]
    Device { image: String, entry: String },
    #[error("{image}: {what} has digest {actual}, but {expected} was promised")]
    DigestMismatch {
        image: String,
        what: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{image}: {layer}, uncompressed, has digest {actual}, but its configuration's rootfs.diff_ids says {expected}"
    )]
    DiffId {
        image: String,
        layer: String,
        expected: String,
        actual: String,
    },
    #[error("{image}: {what}: {reason}")]
    Invalid {
        image: String,
        what: String,
        reason: String,
    },
    #[error("{image}: {what}: {err}")]
    Io {
        image: String,
        what: String,
        err: std::io::Error,
    },
}

/// An [`Error::Io`] of the image `image` (for the store itself, `store`)
/// while doing `what`.
pub(crate) fn io(image: &str, what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let (image, what) = (format!("image {image}"), what.into());
    move |err| Error::Io { image, what, err }
}

/// An [`Error::Invalid`]: `what` of the image `image` is not usable, why.
pub(crate) fn invalid(image: &str, what: impl Into<String>, reason: impl ToString) -> Error {
    Error::Invalid {
        image: format!("image {image}"),
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// The longest image name (registry host and path, without the tag),
/// as Docker's reference grammar bounds it.
pub const NAME_MAX: usize = 255;

/// An image reference, `NAME[:TAG]` (the tag `latest` when none is given),
/// in Docker's reference grammar (the distribution project's
/// `reference` package, which Docker and podman parse names with):
///
/// - NAME is `[HOST[:PORT]/]PATH`, at most 255 characters. The first
///   component is a registry host when there are more and it holds a `.`
///   or a `:`, is `localhost`, or has an uppercase letter; a host is
///   letters, digits and `-` in `.`-separated parts.
/// - PATH is `/`-separated components of lowercase letters and digits,
///   joined inside a component by one `.`, one or two `_`, or dashes.
///   An uppercase letter is refused with Docker's words ("repository
///   name must be lowercase").
/// - TAG is letters, digits, `_`, `.` and `-`, at most 128, not starting
///   with `.` or `-`.
///
/// Docker Hub's long spellings (`docker.io/library/busybox`) name the
/// short one. Errors ([`Error::Reference`]) quote the whole reference and
/// say which part is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub name: String,
    pub tag: String,
}

/// Is `part` a path component: `[a-z0-9]+` joined by `.`, `_`, `__` or
/// dashes?
fn path_component(part: &str) -> bool {
    let b = part.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let sep_start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &part[sep_start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
            return false;
        }
    }
    true
}

/// Is `host` a registry host, `NAME[.NAME]*[:PORT]`?
fn registry_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    };
    name.split('.').all(label_ok)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Does the first of several `/`-separated parts name a registry host,
/// as Docker decides it?
pub fn is_host_part(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|c| c.is_ascii_uppercase())
}

impl Reference {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let refuse = |reason| Error::Reference {
            reference: text.to_string(),
            reason,
        };
        // The tag follows the first ':' of the last component (a
        // registry's port is never in it).
        let slash = text.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match text[slash..].find(':') {
            Some(i) => (&text[..slash + i], &text[slash + i + 1..]),
            None => (text, "latest"),
        };
        if name.is_empty() {
            return Err(refuse("the name is empty"));
        }
        if name.len() > NAME_MAX {
            return Err(refuse("a name has at most 255 characters"));
        }
        let parts: Vec<&str> = name.split('/').collect();
        let path = if parts.len() > 1 && is_host_part(parts[0]) {
            if !registry_host(parts[0]) {
                return Err(refuse(
                    "a registry host is letters, digits and '-' in '.'-separated parts, with an optional :PORT of digits",
                ));
            }
            &parts[1..]
        } else {
            &parts[..]
        };
        for part in path {
            if part.is_empty() {
                return Err(refuse(
                    "a path component is empty ('/' at an end, or two together)",
                ));
            }
            if part.bytes().any(|c| c.is_ascii_uppercase()) {
                return Err(refuse("repository name must be lowercase"));
            }
            if !path_component(part) {
                return Err(refuse(
                    "a path component is lowercase letters and digits, joined by '.', '_', '__' or dashes",
                ));
            }
        }
        if tag.is_empty() || tag.len() > 128 {
            return Err(refuse("a tag has 1 to 128 characters"));
        }
        if !tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            || !tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(refuse(
                "a tag is letters, digits, '_', '.' and '-', not starting with '.' or '-'",
            ));
        }
        // Docker Hub's long spellings name the same image as the short
        // one (`docker.io/library/busybox` is `busybox`), as Docker shows.
        let name = name
            .strip_prefix("docker.io/")
            .or_else(|| name.strip_prefix("index.docker.io/"))
            .unwrap_or(name);
        let name = name.strip_prefix("library/").unwrap_or(name);
        Ok(Reference {
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// The store under a mydocker root.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// What a command holds of the store without its lock until its use is
/// recorded elsewhere: a `run` the image's blobs and layers from naming
/// the image until the container's record lists them ([`layer`]), a
/// `save` what it writes into the archive ([`claim_image`]), a `pull`
/// (minutes of downloading) what it fetched until the image is named. A
/// file `ROOT/claims/.claim-*` listing digests, one a line, locked while
/// its writer lives ([`temporaries`]). [`collect_garbage`] keeps every
/// digest a record lists, so `image prune` and `rmi` neither wait for the
/// command nor delete what it is about to use. Dropping the claim (or the
/// death of its process) releases the digests.
pub struct Claim {
    file: tempfile::NamedTempFile,
    _hold: Temporary,
    store: Store,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("file", &self.file.path())
            .finish()
    }
}

impl Claim {
    /// List `digests` in the record, under the store's lock: a collection
    /// that runs before sees none of them stored by this claim's owner,
    /// one that runs after keeps them. Claim a digest before looking
    /// whether the store has it. Errors: the lock, or the record cannot
    /// be written.
    pub fn add(&mut self, digests: &[String]) -> Result<(), Error> {
        let _lock = self.store.lock()?;
        self.list(digests)
    }

    /// [`Claim::add`] for a caller that holds [`Store::lock`] already.
    fn list(&mut self, digests: &[String]) -> Result<(), Error> {
        let mut text = String::new();
        for d in digests {
            text.push_str(d);
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .map_err(io("store", "write a claim"))
    }
}

/// The digests the live claims of `ROOT/claims` list, after sweeping the
/// records of dead claimers. The caller holds [`Store::lock`].
fn claimed(root: &Path) -> HashSet<String> {
    let dir = root.join("claims");
    temporaries::sweep(&dir, CLAIM_TEMPORARIES);
    let mut out = HashSet::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in entries.flatten() {
        if let Ok(text) = std::fs::read_to_string(e.path()) {
            out.extend(text.lines().map(str::to_string));
        }
    }
    out
}

/// The layers a container stands on, found by [`layer`]: the extracted
/// layer directories and their digests (both bottom first), the image's
/// manifest digest (its identity in the index) and its configuration;
/// for a stack found by name, the [`Claim`] that keeps all of it from
/// `rmi` and `image prune` until the container's record lists it (the
/// claim goes with the last clone).
#[derive(Debug, Clone)]
pub struct Stack {
    pub dirs: Vec<PathBuf>,
    pub digests: Vec<String>,
    pub manifest: String,
    pub config: Option<oci_spec::image::Config>,
    pub claim: Option<std::sync::Arc<Claim>>,
}

impl crate::fs::layers::LowerDirs for Stack {
    /// Topmost first, as overlayfs' `lowerdir=` lists them.
    fn lower_dirs(&self) -> Vec<PathBuf> {
        self.dirs.iter().rev().cloned().collect()
    }
}

/// One image of the index, as `images` shows it.
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// Docker's REPOSITORY: the name without its tag or digest.
    pub repository: String,
    /// The tag; none for an image known only by `NAME@DIGEST` (pulled by
    /// digest), which Docker lists with the tag `<none>`.
    pub tag: Option<String>,
    /// The manifest's digest, `sha256:<hex>`.
    pub manifest: String,
    /// The configuration's digest: Docker's image ID.
    pub id: String,
    pub created: Option<String>,
    /// The unpacked size, Docker's SIZE: the bytes of the layers'
    /// regular files ([`Store::unpacked_size`]; a layer not extracted
    /// counts its stored bytes).
    pub size: u64,
}

/// The directories an image's layers were extracted to, for the
/// recorded `digests` (bottom first) of a container: they never change
/// and stay while a container records them (step 38).
pub fn recorded(root: &Path, digests: &[String], manifest: &str) -> Result<Stack, Error> {
    let store = Store::new(root);
    let dirs = digests
        .iter()
        .map(|d| {
            let dir = store.layer_dir(d)?;
            if dir.is_dir() {
                Ok(dir)
            } else {
                Err(Error::NotFound(format!("layer {d}")))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Stack {
        dirs,
        digests: digests.to_vec(),
        manifest: manifest.to_string(),
        config: None,
        claim: None,
    })
}

/// The layers of the image `reference` (`NAME[:TAG]`, `NAME@DIGEST`, or
/// an image ID: the configuration's digest, or a unique prefix of its
/// hex, as Docker accepts), each extracted once, claimed (see
/// [`claim_image`]) for as long as the stack lives. The tutorial's
/// `ROOT/images/NAME.tar` is imported as `NAME:latest` the first time it
/// is used, when no such image is in the index.
pub fn layer(root: &Path, reference: &str) -> Result<Stack, Error> {
    let (manifest, claim) = claim_image(root, reference)?;
    let mut stack = Store::new(root).stack(reference, &manifest)?;
    stack.claim = Some(std::sync::Arc::new(claim));
    Ok(stack)
}

/// The manifest digest the image `reference` names (as [`layer`] finds
/// it), with a [`Claim`] on the manifest, its configuration and its
/// layers, written under the store's lock in the same hold that found the
/// name: an `rmi` and `image prune` that come after keep all of it until
/// the claim is dropped, one that came before left no name to find
/// ([`Error::NotFound`]). Errors: also the lock, and the claim's record.
pub fn claim_image(root: &Path, reference: &str) -> Result<(String, Claim), Error> {
    let store = Store::new(root);
    // The tutorial's ROOT/images/NAME.tar, imported on first use.
    let tutorial_tar = |r: &Reference| {
        let tar = root.join("images").join(format!("{}.tar", r.name));
        (r.tag == "latest" && !r.name.contains('/') && tar.is_file()).then_some(tar)
    };
    // A bad name, or an image that is not there, makes nothing (no claim,
    // no lock file): looked for first without the lock, then again under
    // it below.
    if store.resolve(reference)?.is_none() && tutorial_tar(&Reference::parse(reference)?).is_none()
    {
        return Err(Error::NotFound(reference.to_string()));
    }
    let mut claim = store.claim()?;
    if let Some(manifest) = store.claim_named(&mut claim, reference)? {
        return Ok((manifest, claim));
    }
    let r = Reference::parse(reference)?;
    let Some(tar) = tutorial_tar(&r) else {
        return Err(Error::NotFound(reference.to_string()));
    };
    store.import(&tar, &r, None, true)?;
    // Removed again since, by an `rmi`: as if it had never been.
    match store.claim_named(&mut claim, &r.to_string())? {
        Some(manifest) => Ok((manifest, claim)),
        None => Err(Error::NotFound(reference.to_string())),
    }
}

/// The name an index entry carries for `text`: `NAME:TAG` (the tag
/// `latest` when none is given), or `NAME@sha256:HEX` for a reference by
/// digest (Docker ignores a tag given with a digest: so does this).
pub fn index_name(text: &str) -> Result<String, Error> {
    let Some((named, digest)) = text.split_once('@') else {
        return Ok(Reference::parse(text)?.to_string());
    };
    let digest = digest.to_ascii_lowercase();
    if hex_of(&digest).is_none() {
        return Err(Error::Reference {
            reference: text.to_string(),
            reason: "a digest is sha256: and 64 hexadecimal digits",
        });
    }
    Ok(format!("{}@{digest}", Reference::parse(named)?.name))
}

/// The hex an image ID names: `sha256:HEX` or a prefix of HEX.
fn id_prefix(text: &str) -> Option<&str> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    (!hex.is_empty()
        && hex.len() <= 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(hex)
}

/// Every image in the index, sorted by reference.
pub fn list(root: &Path) -> Result<Vec<ImageInfo>, Error> {
    Store::new(root).list()
}

/// The SHA-256 of what passes through, as `sha256:<hex>`.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
    fn digest(self) -> (String, u64) {
        (hex_digest(self.hasher), self.bytes)
    }
}

fn hex_digest(hasher: Sha256) -> String {
    let out = hasher.finalize();
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in out.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// The SHA-256 of `bytes`, `sha256:<hex>`.
pub fn digest_of(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    hex_digest(h)
}

/// The hex of a `sha256:<hex>` digest, checked (it becomes a file name).
fn hex_of(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(hex)
}

/// How a layer's bytes are compressed, told by their first bytes (the
/// media type says it too, but an archive's manifest may lie or omit it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    /// RFC 1952's magic `1f 8b` (`tar+gzip` layers).
    Gzip,
    /// RFC 8878's frame magic `28 b5 2f fd` (`tar+zstd` layers).
    Zstd,
}

/// The compressions mydocker does not read, by their magic numbers.
const OTHER_COMPRESSIONS: &[(&[u8], &str)] = &[
    (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
    (b"BZh", "bzip2"),
];

fn compression(reader: &mut impl BufRead) -> std::io::Result<Compression> {
    let head = reader.fill_buf()?;
    if let Some((_, name)) = OTHER_COMPRESSIONS.iter().find(|(m, _)| head.starts_with(m)) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "compressed with {name}, which mydocker does not read (give a plain, gzip or zstd tar)"
            ),
        ));
    }
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// A layer's bytes, uncompressed: gzip layers are inflated and zstd
/// layers (`application/vnd.oci.image.layer.v1.tar+zstd`, and its
/// non-distributable variant) decoded; anything else is read as a tar.
/// Errors: the reader's, and `InvalidData` for an xz or bzip2 stream.
pub fn uncompressed<'a>(reader: impl Read + 'a) -> std::io::Result<Box<dyn Read + 'a>> {
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    Ok(match compression(&mut reader)? {
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        Compression::None => Box::new(reader),
    })
}

impl Store {
    pub fn new(root: &Path) -> Self {
        Store {
            root: root.to_path_buf(),
        }
    }

    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, Error> {
        let hex = hex_of(digest).ok_or_else(|| Error::Reference {
            reference: digest.to_string(),
            reason: "not a sha256 digest",
        })?;
        Ok(self.root.join("blobs/sha256").join(hex))
    }

    pub fn layer_dir(&self, digest: &str) -> Result<PathBuf, Error> {
        let hex = hex_of(digest).ok_or_else(|| Error::Reference {
            reference: digest.to_string(),
            reason: "not a sha256 digest",
        })?;
        Ok(self.root.join("layers").join(hex))
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// An exclusive lock over the index, the blobs' removal and extraction.
    pub fn lock(&self) -> Result<nix::fcntl::Flock<File>, Error> {
        std::fs::create_dir_all(&self.root).map_err(io("store", "create the root"))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join("images.lock"))
            .map_err(io("store", "open images.lock"))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io("store", "lock images.lock")(e.into()))
    }

    /// The index; none yet is an empty one.
    pub fn index(&self) -> Result<ImageIndex, Error> {
        match std::fs::read(self.index_path()) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| invalid("store", "index.json", e))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ImageIndex::default()),
            Err(e) => Err(io("store", "read index.json")(e)),
        }
    }

    fn write_index(&self, index: &ImageIndex) -> Result<(), Error> {
        temporaries::sweep(&self.root, ROOT_TEMPORARIES);
        let layout = self.root.join("oci-layout");
        if !layout.is_file() {
            self.replace(
                ROOT_TEMPORARIES[1],
                &layout,
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )
            .map_err(io("store", "write oci-layout"))?;
        }
        let bytes =
            serde_json::to_vec_pretty(index).map_err(|e| invalid("store", "index.json", e))?;
        self.replace(ROOT_TEMPORARIES[0], &self.index_path(), &bytes)
            .map_err(io("store", "write index.json"))
    }

    /// A claimed temporary directory `ROOT/.load-*` for `load` to unpack
    /// an archive into. Errors: the root cannot be made or written.
    pub fn load_dir(&self) -> Result<(tempfile::TempDir, Temporary), Error> {
        self.scratch(|| Temporary::dir_in(&self.root, ROOT_TEMPORARIES[2]))
    }

    /// A claimed temporary file `ROOT/.commit-*` for `commit` to pack a
    /// layer into. Errors: the root cannot be made or written.
    pub fn commit_file(&self) -> Result<(tempfile::NamedTempFile, Temporary), Error> {
        self.scratch(|| Temporary::file_in(&self.root, ROOT_TEMPORARIES[3]))
    }

    /// Make a temporary of the root with `make`, after sweeping those
    /// killed writers left.
    fn scratch<T>(&self, make: impl FnOnce() -> std::io::Result<T>) -> Result<T, Error> {
        std::fs::create_dir_all(&self.root).map_err(io("store", "create the root"))?;
        temporaries::sweep(&self.root, ROOT_TEMPORARIES);
        make().map_err(io("store", "create a temporary"))
    }

    /// Replace the file `path` of the root with `bytes`: a claimed
    /// temporary (named `prefix`...) written, fsynced and renamed over it.
    fn replace(&self, prefix: &str, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let (mut tmp, _claim) = Temporary::file_in(&self.root, prefix)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// A new, empty [`Claim`], after sweeping the records killed
    /// claimers left. Errors: `ROOT/claims` cannot be made or written.
    pub fn claim(&self) -> Result<Claim, Error> {
        let dir = self.root.join("claims");
        std::fs::create_dir_all(&dir).map_err(io("store", "create ROOT/claims"))?;
        temporaries::sweep(&dir, CLAIM_TEMPORARIES);
        let (file, hold) = Temporary::file_in(&dir, CLAIM_TEMPORARIES[0])
            .map_err(io("store", "create a claim"))?;
        Ok(Claim {
            file,
            _hold: hold,
            store: self.clone(),
        })
    }

    /// Under the store's lock, the manifest digest `text` names (as
    /// [`Store::resolve`]), its manifest, configuration and layers listed
    /// in `claim`; none when nothing by that name is stored.
    fn claim_named(&self, claim: &mut Claim, text: &str) -> Result<Option<String>, Error> {
        let _lock = self.lock()?;
        let Some(manifest) = self.resolve(text)? else {
            return Ok(None);
        };
        claim.list(&self.parts(text, &manifest)?)?;
        Ok(Some(manifest))
    }

    /// The digests of the manifest `digest`, its configuration and its
    /// layers.
    fn parts(&self, image: &str, digest: &str) -> Result<Vec<String>, Error> {
        let m = self.manifest(image, digest)?;
        let mut out = vec![digest.to_string(), m.config().digest().to_string()];
        out.extend(m.layers().iter().map(|l| l.digest().to_string()));
        Ok(out)
    }

    /// [`Store::stack`] of the manifest `digest`, claimed (as [`layer`]
    /// claims) for as long as the stack lives; [`Error::NotFound`] when
    /// the manifest is gone (an `rmi` and `image prune` came first).
    pub fn claimed_stack(&self, image: &str, digest: &str) -> Result<Stack, Error> {
        let mut claim = self.claim()?;
        {
            let _lock = self.lock()?;
            if !self.blob_path(digest)?.is_file() {
                return Err(Error::NotFound(image.to_string()));
            }
            claim.list(&self.parts(image, digest)?)?;
        }
        let mut stack = self.stack(image, digest)?;
        stack.claim = Some(std::sync::Arc::new(claim));
        Ok(stack)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest digest `r` names, if any.
    pub fn lookup(&self, r: &Reference) -> Result<Option<String>, Error> {
        self.lookup_named(&r.to_string())
    }

    /// The manifest digest the index entry `wanted` names, if any.
    pub fn lookup_named(&self, wanted: &str) -> Result<Option<String>, Error> {
        Ok(self
            .index()?
            .manifests()
            .iter()
            .find(|d| ref_name(d).as_deref() == Some(wanted))
            .map(|d| d.digest().to_string()))
    }

    /// Point `r` at `manifest` (replacing what it named): the caller holds
    /// [`Store::lock`].
    pub fn set_ref(&self, r: &Reference, manifest: &str, size: u64) -> Result<(), Error> {
        self.set_named(&r.to_string(), manifest, size)
    }

    /// Point the index entry named `name` (`NAME:TAG`, or `NAME@DIGEST`
    /// for an image pulled by digest) at `manifest`; an unnamed entry of
    /// `manifest` goes (the image has a name now). The caller holds
    /// [`Store::lock`].
    pub fn set_named(&self, name: &str, manifest: &str, size: u64) -> Result<(), Error> {
        let name = name.to_string();
        let mut index = self.index()?;
        let mut entries = index.manifests().clone();
        entries.retain(|d| match ref_name(d) {
            Some(n) => n != name,
            None => d.digest().as_ref() != manifest,
        });
        let digest =
            Digest::try_from(manifest).map_err(|e| invalid(&name, "manifest digest", e))?;
        let mut desc = Descriptor::new(MediaType::ImageManifest, size, digest);
        desc.set_annotations(Some(HashMap::from([(REF_ANNOTATION.to_string(), name)])));
        entries.push(desc);
        index.set_manifests(entries);
        self.write_index(&index)
    }

    /// Keep `manifest` in the index without a name, as Docker keeps an
    /// image loaded from an archive that names none (`images` lists it
    /// `<none> <none>`; its ID names it), unless an entry already holds
    /// it. The caller holds [`Store::lock`].
    pub fn set_unnamed(&self, manifest: &str, size: u64) -> Result<(), Error> {
        let mut index = self.index()?;
        if index
            .manifests()
            .iter()
            .any(|d| d.digest().as_ref() == manifest)
        {
            return Ok(());
        }
        let digest =
            Digest::try_from(manifest).map_err(|e| invalid(manifest, "manifest digest", e))?;
        let mut entries = index.manifests().clone();
        entries.push(Descriptor::new(MediaType::ImageManifest, size, digest));
        index.set_manifests(entries);
        self.write_index(&index)
    }

    /// Remove the unnamed index entry of `manifest`
    /// ([`Store::set_unnamed`]). The caller holds [`Store::lock`].
    pub fn remove_unnamed(&self, manifest: &str) -> Result<(), Error> {
        let mut index = self.index()?;
        let mut entries = index.manifests().clone();
        entries.retain(|d| ref_name(d).is_some() || d.digest().as_ref() != manifest);
        if entries.len() != index.manifests().len() {
            index.set_manifests(entries);
            self.write_index(&index)?;
        }
        Ok(())
    }

    /// The manifest digest `text` names: an index entry (`NAME[:TAG]`,
    /// `NAME@DIGEST`), else an image ID or a unique prefix of it. One ID
    /// is one image even when several manifests carry it (the same layers
    /// compressed otherwise): any of them serves. A prefix of two IDs is
    /// an error.
    pub fn resolve(&self, text: &str) -> Result<Option<String>, Error> {
        if let Ok(name) = index_name(text)
            && let Some(d) = self.lookup_named(&name)?
        {
            return Ok(Some(d));
        }
        let found = self.by_id(text)?;
        let ids: HashSet<&String> = found.iter().map(|e| &e.config).collect();
        if ids.len() > 1 {
            return Err(Error::Reference {
                reference: text.to_string(),
                reason: "this image ID prefix names more than one image: give more of it",
            });
        }
        Ok(found.first().map(|e| e.manifest.clone()))
    }

    /// The index entries of the image whose ID (configuration digest) is,
    /// or starts with, `text` (`sha256:` optional).
    pub fn by_id(&self, text: &str) -> Result<Vec<IdEntry>, Error> {
        let Some(prefix) = id_prefix(text) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for d in self.index()?.manifests() {
            let name = ref_name(d);
            let manifest = d.digest().to_string();
            let Ok(m) = self.manifest(name.as_deref().unwrap_or(text), &manifest) else {
                continue;
            };
            let config = m.config().digest().to_string();
            if config.trim_start_matches("sha256:").starts_with(prefix) {
                out.push(IdEntry {
                    name,
                    manifest,
                    config,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Remove the reference `r`; its manifest digest, if it was there.
    pub fn remove_ref(&self, r: &Reference) -> Result<Option<String>, Error> {
        self.remove_named(&r.to_string())
    }

    /// Remove the index entry `name` (`NAME:TAG` or `NAME@DIGEST`); its
    /// manifest digest, if it was there. The caller holds [`Store::lock`].
    pub fn remove_named(&self, name: &str) -> Result<Option<String>, Error> {
        let mut index = self.index()?;
        let found = index
            .manifests()
            .iter()
            .find(|d| ref_name(d).as_deref() == Some(name))
            .map(|d| d.digest().to_string());
        if found.is_some() {
            let mut entries = index.manifests().clone();
            entries.retain(|d| ref_name(d).as_deref() != Some(name));
            index.set_manifests(entries);
            self.write_index(&index)?;
        }
        Ok(found)
    }

    /// Write what `reader` gives as a blob, hashing it on the way; with
    /// `expected`, a blob of another digest is refused (and not kept).
    pub fn put_blob(
        &self,
        image: &str,
        what: &str,
        reader: impl Read,
        expected: Option<&str>,
    ) -> Result<(String, u64), Error> {
        let dir = self.root.join("blobs/sha256");
        std::fs::create_dir_all(&dir).map_err(io(image, format!("create {}", dir.display())))?;
        temporaries::sweep(&dir, BLOB_TEMPORARIES);
        let (mut tmp, _claim) = Temporary::file_in(&dir, BLOB_TEMPORARIES[0])
            .map_err(io(image, "create a temporary blob"))?;
        let mut hashing = Hashing::new(reader);
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            std::io::copy(&mut hashing, &mut w).map_err(io(image, format!("store {what}")))?;
            w.flush().map_err(io(image, format!("store {what}")))?;
        }
        let (digest, size) = hashing.digest();
        if let Some(expected) = expected
            && expected != digest
        {
            return Err(Error::DigestMismatch {
                image: format!("image {image}"),
                what: what.to_string(),
                expected: expected.to_string(),
                actual: digest,
            });
        }
        let dest = self.blob_path(&digest)?;
        if !dest.is_file() {
            tmp.as_file()
                .sync_all()
                .map_err(io(image, format!("fsync {what}")))?;
            tmp.persist(&dest)
                .map_err(|e| io(image, format!("store {what}"))(e.error))?;
        }
        Ok((digest, size))
    }

    pub fn put_json(
        &self,
        image: &str,
        what: &str,
        value: &impl serde::Serialize,
    ) -> Result<(String, u64), Error> {
        let bytes = serde_json::to_vec(value).map_err(|e| invalid(image, what, e))?;
        self.put_blob(image, what, &bytes[..], None)
    }

    fn read_blob(&self, image: &str, digest: &str, what: &str) -> Result<Vec<u8>, Error> {
        let path = self.blob_path(digest)?;
        let bytes = std::fs::read(&path).map_err(io(image, format!("read {what} {digest}")))?;
        let actual = digest_of(&bytes);
        if actual != digest {
            return Err(Error::DigestMismatch {
                image: format!("image {image}"),
                what: format!("{what} in the store"),
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    pub fn manifest(&self, image: &str, digest: &str) -> Result<ImageManifest, Error> {
        let bytes = self.read_blob(image, digest, "the manifest")?;
        serde_json::from_slice(&bytes).map_err(|e| invalid(image, "its manifest", e))
    }

    pub fn config(
        &self,
        image: &str,
        manifest: &ImageManifest,
    ) -> Result<ImageConfiguration, Error> {
        let bytes = self.read_blob(
            image,
            manifest.config().digest().as_ref(),
            "the configuration",
        )?;
        serde_json::from_slice(&bytes).map_err(|e| invalid(image, "its configuration", e))
    }

    /// The extracted layers of the manifest `digest`.
    pub fn stack(&self, image: &str, digest: &str) -> Result<Stack, Error> {
        let manifest = self.manifest(image, digest)?;
        let config = self.config(image, &manifest)?;
        let diff_ids = diff_ids(image, &manifest, &config)?;
        let mut dirs = Vec::new();
        let mut digests = Vec::new();
        for (i, (layer, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
            let d = layer.digest().to_string();
            dirs.push(self.extract_layer(image, i + 1, &d, diff_id)?);
            digests.push(d);
        }
        Ok(Stack {
            dirs,
            digests,
            manifest: digest.to_string(),
            config: config.config().clone(),
            claim: None,
        })
    }

    /// `ROOT/layers/<hex>` for the blob `digest`, the `number`th layer
    /// (from 1, bottom first) of `image`, extracting it the first time,
    /// whole or not at all (see [`temporaries::make_dir_in_place`]).
    ///
    /// The uncompressed stream is hashed in the same pass that extracts
    /// it, and must have the digest `diff_id` (the configuration's
    /// `rootfs.diff_ids` entry), as containerd checks it: else
    /// [`Error::DiffId`] and the directory is discarded. The diff_id and
    /// the unpacked size are recorded on the directory
    /// ([`DIFF_ID_XATTR`], [`SIZE_XATTR`]), so that a layer extracted
    /// before is checked against the diff_id another image names.
    pub fn extract_layer(
        &self,
        image: &str,
        number: usize,
        digest: &str,
        diff_id: &str,
    ) -> Result<PathBuf, Error> {
        let layer = format!("layer {number} ({digest})");
        let mismatch = |actual: String| Error::DiffId {
            image: format!("image {image}"),
            layer: layer.clone(),
            expected: diff_id.to_string(),
            actual,
        };
        let dir = self.layer_dir(digest)?;
        if dir.is_dir() {
            // Directories extracted before the diff_id was recorded
            // carry none: they were checked against their blob's digest.
            return match xattr::get(&dir, DIFF_ID_XATTR).ok().flatten() {
                Some(recorded) if recorded != diff_id.as_bytes() => {
                    Err(mismatch(String::from_utf8_lossy(&recorded).into_owned()))
                }
                _ => Ok(dir),
            };
        }
        let blob = self.blob_path(digest)?;
        temporaries::make_dir_in_place(
            &dir,
            LAYER_TEMPORARIES[0],
            LAYER_TEMPORARIES,
            |tmp| {
                let file = File::open(&blob).map_err(io(image, format!("open {layer}")))?;
                let reader = uncompressed(file).map_err(io(image, format!("read {layer}")))?;
                let mut hashing = Hashing::new(reader);
                let size = unpack_layer(image, digest, &mut hashing, tmp)?;
                // What follows the tar's end (its zero blocks) is hashed too.
                std::io::copy(&mut hashing, &mut std::io::sink())
                    .map_err(io(image, format!("read {layer}")))?;
                let (actual, _) = hashing.digest();
                if actual != diff_id {
                    return Err(mismatch(actual));
                }
                xattr::set(tmp, DIFF_ID_XATTR, actual.as_bytes())
                    .and_then(|()| xattr::set(tmp, SIZE_XATTR, size.to_string().as_bytes()))
                    .map_err(io(image, format!("record the diff_id of {layer}")))
            },
            |what, err| io(image, format!("{layer}: {what}"))(err),
        )?;
        Ok(dir)
    }

    /// The unpacked size of the extracted layer `digest`: the bytes of its
    /// regular files (each hard-linked file once), as `docker images`
    /// counts them; none when it is not extracted.
    pub fn unpacked_size(&self, digest: &str) -> Option<u64> {
        let dir = self.layer_dir(digest).ok()?;
        if let Some(size) = xattr::get(&dir, SIZE_XATTR)
            .ok()
            .flatten()
            .and_then(|v| String::from_utf8(v).ok()?.parse().ok())
        {
            return Some(size);
        }
        // Extracted before the size was recorded: count it.
        dir.is_dir()
            .then(|| temporaries::files_size(&dir, &mut HashSet::new()))
    }

    /// `import`: the flat root filesystem `tar` (plain, gzip or zstd) becomes a
    /// one-layer image `r`; its manifest digest. With `only_if_missing`
    /// an `r` already in the index is kept (the tutorial's tar, imported by
    /// whichever `run` comes first). The layer is extracted
    /// (and so checked) before the reference is written: a refused tar
    /// leaves no image.
    pub fn import(
        &self,
        tar: &Path,
        r: &Reference,
        config: Option<oci_spec::image::Config>,
        only_if_missing: bool,
    ) -> Result<String, Error> {
        let image = r.to_string();
        let file = File::open(tar).map_err(io(&image, format!("open {}", tar.display())))?;
        let reader = uncompressed(file).map_err(io(&image, format!("read {}", tar.display())))?;
        let _lock = self.lock()?;
        if only_if_missing && let Some(existing) = self.lookup(r)? {
            // Another `run` imported it while this one waited.
            return Ok(existing);
        }
        let (digest, size) = self.put_blob(&image, "the layer", reader, None)?;
        if let Err(e) = self.extract_layer(&image, 1, &digest, &digest) {
            if !self.in_index(&digest)? {
                let _ = std::fs::remove_file(self.blob_path(&digest)?);
            }
            return Err(e);
        }
        let manifest =
            self.commit_layers(&image, &[], &[(digest.clone(), size)], config, "import")?;
        self.set_ref(r, &manifest.0, manifest.1)?;
        Ok(manifest.0)
    }

    fn in_index(&self, digest: &str) -> Result<bool, Error> {
        Ok(self.reachable()?.contains(digest))
    }

    /// Write a configuration and manifest of `base` (an existing manifest's
    /// layers and configuration, or none) plus the uncompressed `layers`
    /// (digest, size); the new manifest's digest and size.
    pub fn commit_layers(
        &self,
        image: &str,
        base: &[(ImageManifest, ImageConfiguration)],
        layers: &[(String, u64)],
        config: Option<oci_spec::image::Config>,
        created_by: &str,
    ) -> Result<(String, u64), Error> {
        let mut descriptors = Vec::new();
        let mut cfg = match base.first() {
            Some((m, c)) => {
                descriptors.extend(m.layers().iter().cloned());
                c.clone()
            }
            None => ImageConfiguration::default(),
        };
        for (digest, size) in layers {
            let d = Digest::try_from(digest.as_str())
                .map_err(|e| invalid(image, "a layer digest", e))?;
            descriptors.push(Descriptor::new(MediaType::ImageLayer, *size, d));
            cfg.rootfs_mut().diff_ids_mut().push(digest.clone());
        }
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        cfg.set_created(Some(now.clone()));
        cfg.set_os(oci_spec::image::Os::Linux);
        if let Some(c) = config {
            cfg.set_config(Some(c));
        }
        let mut history = cfg.history().clone().unwrap_or_default();
        if let Ok(h) = oci_spec::image::HistoryBuilder::default()
            .created(now)
            .created_by(format!("mydocker {created_by}"))
            .build()
        {
            history.push(h);
        }
        cfg.set_history(Some(history));
        let (cdigest, csize) = self.put_json(image, "the configuration", &cfg)?;
        let cd = Digest::try_from(cdigest.as_str())
            .map_err(|e| invalid(image, "the config digest", e))?;
        let manifest = oci_spec::image::ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(Descriptor::new(MediaType::ImageConfig, csize, cd))
            .layers(descriptors)
            .build()
            .map_err(|e| invalid(image, "the manifest", e))?;
        self.put_json(image, "the manifest", &manifest)
    }

    /// Every digest the index reaches: manifests, configurations, layers.
    pub fn reachable(&self) -> Result<HashSet<String>, Error> {
        let mut out = HashSet::new();
        for d in self.index()?.manifests() {
            let digest = d.digest().to_string();
            let name = ref_name(d).unwrap_or_else(|| digest.clone());
            if let Ok(m) = self.manifest(&name, &digest) {
                out.insert(m.config().digest().to_string());
                out.extend(m.layers().iter().map(|l| l.digest().to_string()));
            }
            out.insert(digest);
        }
        Ok(out)
    }

    /// The images of the index as Docker lists them: a row per tag, and a
    /// `<none>` row for an image pulled by digest whose repository has no
    /// tag for it.
    fn list(&self) -> Result<Vec<ImageInfo>, Error> {
        let all = self.index()?;
        let entries: Vec<(String, String)> = all
            .manifests()
            .iter()
            .filter_map(|d| Some((ref_name(d)?, d.digest().to_string())))
            .collect();
        let unnamed = all
            .manifests()
            .iter()
            .filter(|d| ref_name(d).is_none())
            .map(|d| d.digest().to_string());
        let mut out = Vec::new();
        for (name, digest) in entries
            .iter()
            .cloned()
            .chain(unnamed.map(|d| (String::new(), d)))
        {
            let (repository, tag) = match name.split_once('@') {
                _ if name.is_empty() => ("<none>".to_string(), None),
                Some((repository, _)) => {
                    let tagged = entries.iter().any(|(n, d)| {
                        *d == digest
                            && Reference::parse(n).is_ok_and(|r| r.name == repository)
                            && !n.contains('@')
                    });
                    if tagged {
                        continue;
                    }
                    (repository.to_string(), None)
                }
                None => {
                    let Ok(r) = Reference::parse(&name) else {
                        continue;
                    };
                    (r.name, Some(r.tag))
                }
            };
            let label = if name.is_empty() { &digest } else { &name };
            let manifest = self.manifest(label, &digest)?;
            let created = self
                .config(label, &manifest)
                .ok()
                .and_then(|c| c.created().clone());
            out.push(ImageInfo {
                repository,
                tag,
                manifest: digest,
                id: manifest.config().digest().to_string(),
                created,
                size: manifest
                    .layers()
                    .iter()
                    .map(|l| {
                        self.unpacked_size(l.digest().as_ref())
                            .unwrap_or_else(|| l.size())
                    })
                    .sum(),
            });
        }
        out.sort_by(|a, b| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)));
        Ok(out)
    }
}

/// An index entry found by image ID ([`Store::by_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdEntry {
    /// `NAME:TAG` or `NAME@DIGEST`; none for an image loaded without a
    /// name ([`Store::set_unnamed`]).
    pub name: Option<String>,
    /// The manifest's digest.
    pub manifest: String,
    /// The configuration's digest: the image ID.
    pub config: String,
}

/// The `NAME:TAG` an index entry carries.
pub fn ref_name(d: &Descriptor) -> Option<String> {
    d.annotations().as_ref()?.get(REF_ANNOTATION).cloned()
}

/// What [`collect_garbage`] removed.
#[derive(Debug, Default)]
pub struct Collected {
    /// The digests of the blobs removed.
    pub blobs: Vec<String>,
    /// The digests of the extracted layers removed.
    pub layers: Vec<String>,
    /// The bytes freed: the regular files removed (blobs, extracted
    /// layers, the temporaries of killed writers), each inode once.
    pub bytes: u64,
}

/// Remove every blob and extracted layer that neither the index nor
/// `in_use` (the layer digests containers record) nor a live [`Claim`]
/// reaches. The caller holds
/// [`Store::lock`].
pub fn collect_garbage(root: &Path, in_use: &HashSet<String>) -> Result<Collected, Error> {
    let store = Store::new(root);
    let mut keep = store.reachable()?;
    keep.extend(in_use.iter().cloned());
    keep.extend(claimed(root));
    let mut done = Collected::default();
    let sweep = |dir: PathBuf,
                 is_layer: bool,
                 done: &mut Collected,
                 seen: &mut HashSet<(u64, u64)>|
     -> Result<(), Error> {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let digest = format!("sha256:{name}");
            if hex_of(&digest).is_none() || keep.contains(&digest) {
                continue;
            }
            let path = e.path();
            done.bytes += temporaries::files_size(&path, seen);
            if is_layer {
                std::fs::remove_dir_all(&path)
                    .map_err(io("store", format!("remove {}", path.display())))?;
                done.layers.push(digest);
            } else {
                std::fs::remove_file(&path)
                    .map_err(io("store", format!("remove {}", path.display())))?;
                done.blobs.push(digest);
            }
        }
        Ok(())
    };
    // Each inode counted once, across layers and blobs.
    let mut seen = HashSet::new();
    sweep(root.join("layers"), true, &mut done, &mut seen)?;
    sweep(root.join("blobs/sha256"), false, &mut done, &mut seen)?;
    // What killed writers left (digests' names are hexadecimal: the
    // loops above never see a temporary).
    done.bytes += temporaries::sweep(&root.join("layers"), LAYER_TEMPORARIES);
    done.bytes += temporaries::sweep(&root.join("blobs/sha256"), BLOB_TEMPORARIES);
    done.bytes += temporaries::sweep(root, ROOT_TEMPORARIES);
    Ok(done)
}

/// Is this archive path safe to create below the destination?
fn stays_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The directory `rel` below `dest`, made where missing; a symlink on the
/// way (planted by an earlier entry) is refused.
fn safe_dir(image: &str, dest: &Path, rel: &Path) -> Result<PathBuf, Error> {
    let mut at = dest.to_path_buf();
    for c in rel.components() {
        let Component::Normal(part) = c else { continue };
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::Escapes {
                    image: format!("image {image}"),
                    entry: rel.display().to_string(),
                });
            }
            Err(_) => {
                std::fs::create_dir(&at).map_err(io(image, format!("create {}", rel.display())))?
            }
        }
    }
    Ok(at)
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// The configuration's `rootfs.diff_ids`, one per layer of `manifest`
/// (bottom first); another count is [`Error::Invalid`].
pub(crate) fn diff_ids<'a>(
    image: &str,
    manifest: &ImageManifest,
    config: &'a ImageConfiguration,
) -> Result<&'a [String], Error> {
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(invalid(
            image,
            "its configuration",
            format!(
                "{} rootfs.diff_ids for {} layers",
                diff_ids.len(),
                manifest.layers().len()
            ),
        ));
    }
    Ok(diff_ids)
}

/// Extract one layer's tar into the empty directory `dest`: whiteouts
/// become overlayfs' (a 0/0 character device, the opaque attribute);
/// entries escaping `dest` and device nodes are refused. Errors name the
/// image, the `layer` (its digest) and the entry, never `dest` (a
/// temporary directory). The unpacked size: the bytes of the regular
/// files (a hard link adds none).
pub fn unpack_layer(
    image: &str,
    layer: &str,
    reader: impl Read,
    dest: &Path,
) -> Result<u64, Error> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(true);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let label = format!("image {image}: layer {layer}");
    let at = |what: String| {
        let image = label.clone();
        move |err: std::io::Error| Error::Io { image, what, err }
    };
    // The tar crate's words for a header it cannot parse ("numeric field
    // was not a number ... cksum") mean the bytes are no tar.
    let not_tar = |e: std::io::Error| match e.raw_os_error() {
        Some(_) => at("read an entry".to_string())(e),
        None => at("read an entry".to_string())(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a tar archive, or a damaged one",
        )),
    };
    let entries = archive.entries().map_err(not_tar)?;
    let mut size = 0;
    for entry in entries {
        let mut entry = entry.map_err(not_tar)?;
        let path = entry
            .path()
            .map_err(at("read an entry's path".to_string()))?
            .into_owned();
        let escapes = |p: &Path| Error::Escapes {
            image: label.clone(),
            entry: p.display().to_string(),
        };
        if !stays_inside(&path) {
            return Err(escapes(&path));
        }
        let kind = entry.header().entry_type();
        if kind.is_character_special() || kind.is_block_special() {
            return Err(Error::Device {
                image: label.clone(),
                entry: path.display().to_string(),
            });
        }
        if kind.is_hard_link() || kind.is_symlink() {
            let target = entry
                .link_name()
                .map_err(io(image, "read a link target"))?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            if kind.is_hard_link() && !stays_inside(&target) {
                return Err(escapes(&target));
            }
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = path.parent().unwrap_or(Path::new(""));
        if file_name == OPAQUE {
            let dir = safe_dir(image, dest, parent)?;
            xattr::set(&dir, "trusted.overlay.opaque", b"y")
                .map_err(io(image, format!("mark {} opaque", parent.display())))?;
            continue;
        }
        if let Some(hidden) = file_name.strip_prefix(WHITEOUT) {
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(escapes(&path));
            }
            let dir = safe_dir(image, dest, parent)?;
            let at = dir.join(hidden);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&at),
                Ok(_) => std::fs::remove_file(&at),
                Err(_) => Ok(()),
            }
            .map_err(io(
                image,
                format!("replace {}", parent.join(hidden).display()),
            ))?;
            nix::sys::stat::mknod(
                &at,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::empty(),
                nix::sys::stat::makedev(0, 0),
            )
            .map_err(|e| {
                io(image, format!("whiteout {}", parent.join(hidden).display()))(e.into())
            })?;
            continue;
        }
        let unpacked = match entry.unpack_in(dest) {
            Ok(u) => u,
            Err(e) => match crate::fs::image::unpack_cause(e) {
                None => return Err(escapes(&path)),
                Some(cause) => {
                    return Err(at(format!(
                        "extract entry {:?}",
                        path.display().to_string()
                    ))(cause));
                }
            },
        };
        if !unpacked {
            return Err(escapes(&path));
        }
        if kind.is_file() {
            size += entry.size();
        }
    }
    Ok(size)
}

/// Pack a container's write layer `upper` as an OCI layer tar into `out`:
/// overlayfs' whiteouts become `.wh.` entries and opaque directories get
/// `.wh..wh..opq`. Each of `extra` (paths inside the container, e.g. its
/// volumes) is added whole from the `merged` view, over the write layer.
pub fn pack_changes(
    image: &str,
    upper: &Path,
    merged: &Path,
    extra: &[PathBuf],
    out: impl Write,
) -> Result<(), Error> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    pack_dir(image, &mut b, upper, Path::new(""), true)?;
    for target in extra {
        let rel = target.strip_prefix("/").unwrap_or(target);
        let Ok(at) = crate::fs::scoped::resolve(merged, target) else {
            continue;
        };
        if at.is_dir() {
            pack_dir(image, &mut b, &at, rel, false)?;
        }
    }
    b.into_inner()
        .and_then(|mut w| w.flush())
        .map_err(io(image, "finish the layer"))
}

fn pack_dir<W: Write>(
    image: &str,
    b: &mut tar::Builder<W>,
    dir: &Path,
    rel: &Path,
    overlay: bool,
) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let mut entries: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    for e in std::fs::read_dir(dir).map_err(io(image, format!("read {}", dir.display())))? {
        let e = e.map_err(io(image, format!("read {}", dir.display())))?;
        entries.insert(e.file_name(), e.path());
    }
    for (name, path) in entries {
        let inside = rel.join(&name);
        let meta = std::fs::symlink_metadata(&path)
            .map_err(io(image, format!("stat {}", path.display())))?;
        let ft = meta.file_type();
        if overlay && ft.is_char_device() && std::os::unix::fs::MetadataExt::rdev(&meta) == 0 {
            let wh = rel.join(format!("{WHITEOUT}{}", name.to_string_lossy()));
            append_empty(image, b, &wh)?;
            continue;
        }
        if ft.is_socket() || ft.is_char_device() || ft.is_block_device() {
            continue;
        }
        b.append_path_with_name(&path, &inside)
            .map_err(io(image, format!("pack {}", inside.display())))?;
        if ft.is_dir() {
            if overlay
                && xattr::get(&path, "trusted.overlay.opaque")
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(b"y")
            {
                append_empty(image, b, &inside.join(OPAQUE))?;
            }
            pack_dir(image, b, &path, &inside, overlay)?;
        }
    }
    Ok(())
}

fn append_empty<W: Write>(image: &str, b: &mut tar::Builder<W>, path: &Path) -> Result<(), Error> {
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(0);
    h.set_mode(0o644);
    h.set_mtime(0);
    b.append_data(&mut h, path, std::io::empty())
        .map_err(io(image, format!("pack {}", path.display())))
}

/// One image of a `docker save` archive's `manifest.json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A path inside an unpacked archive, refused if it leads out.
fn inside(image: &str, dir: &Path, rel: &str) -> Result<PathBuf, Error> {
    let p = Path::new(rel);
    if !stays_inside(p) {
        return Err(Error::Escapes {
            image: format!("image {image}"),
            entry: rel.to_string(),
        });
    }
    Ok(dir.join(p))
}

/// The digest a file name promises: `blobs/sha256/<hex>` or `<hex>.json`.
fn promised(rel: &str) -> Option<String> {
    let name = Path::new(rel).file_name()?.to_str()?;
    let hex = name.strip_suffix(".json").unwrap_or(name);
    let d = format!("sha256:{hex}");
    hex_of(&d).is_some().then_some(d)
}

/// What `load` loaded: a named image, or one without a name (by its ID,
/// the configuration's digest), as Docker reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    Named(Reference),
    Id(String),
}

impl std::fmt::Display for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loaded::Named(r) => write!(f, "Loaded image: {r}"),
            Loaded::Id(id) => write!(f, "Loaded image ID: {id}"),
        }
    }
}

/// Load the images of an unpacked `docker save` archive in `dir`; what
/// was loaded. An image without `RepoTags` is kept unnamed, by its ID. Each layer's uncompressed digest must be the
/// configuration's `diff_ids` entry; layers are stored uncompressed.
pub fn load_docker(store: &Store, label: &str, dir: &Path) -> Result<Vec<Loaded>, Error> {
    let text = std::fs::read(dir.join("manifest.json")).map_err(io(label, "read manifest.json"))?;
    let entries: Vec<DockerEntry> =
        serde_json::from_slice(&text).map_err(|e| invalid(label, "manifest.json", e))?;
    let mut loaded = Vec::new();
    for entry in entries {
        let tags = entry.repo_tags.clone().unwrap_or_default();
        let image = tags.first().cloned().unwrap_or_else(|| label.to_string());
        let refs = tags
            .iter()
            .map(|t| Reference::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let cpath = inside(&image, dir, &entry.config)?;
        let cfile = File::open(&cpath).map_err(io(&image, format!("open {}", entry.config)))?;
        let (cdigest, csize) = store.put_blob(
            &image,
            "the configuration",
            cfile,
            promised(&entry.config).as_deref(),
        )?;
        let config: ImageConfiguration =
            serde_json::from_slice(&store.read_blob(&image, &cdigest, "the configuration")?)
                .map_err(|e| invalid(&image, "its configuration", e))?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != entry.layers.len() {
            return Err(invalid(
                &image,
                "its configuration",
                format!(
                    "{} diff_ids for {} layers",
                    diff_ids.len(),
                    entry.layers.len()
                ),
            ));
        }
        let mut descriptors = Vec::new();
        for (i, (rel, diff_id)) in entry.layers.iter().zip(diff_ids).enumerate() {
            let f =
                File::open(inside(&image, dir, rel)?).map_err(io(&image, format!("open {rel}")))?;
            let reader = uncompressed(f).map_err(io(&image, format!("read {rel}")))?;
            let what = format!("layer {} ({rel})", i + 1);
            let (digest, size) = store.put_blob(&image, &what, reader, Some(diff_id))?;
            store.extract_layer(&image, i + 1, &digest, diff_id)?;
            let d = Digest::try_from(digest.as_str()).map_err(|e| invalid(&image, &what, e))?;
            descriptors.push(Descriptor::new(MediaType::ImageLayer, size, d));
        }
        let cd = Digest::try_from(cdigest.as_str()).map_err(|e| invalid(&image, "config", e))?;
        let manifest = oci_spec::image::ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(Descriptor::new(MediaType::ImageConfig, csize, cd))
            .layers(descriptors)
            .build()
            .map_err(|e| invalid(&image, "the manifest", e))?;
        let (mdigest, msize) = store.put_json(&image, "the manifest", &manifest)?;
        if refs.is_empty() {
            store.set_unnamed(&mdigest, msize)?;
            loaded.push(Loaded::Id(cdigest.clone()));
        }
        for r in refs {
            store.set_ref(&r, &mdigest, msize)?;
            loaded.push(Loaded::Named(r));
        }
    }
    Ok(loaded)
}

/// Copy the blob `desc` names from the unpacked OCI layout `dir` into the
/// store, checking its digest and size.
fn copy_blob(
    store: &Store,
    image: &str,
    dir: &Path,
    desc: &Descriptor,
    what: &str,
) -> Result<String, Error> {
    let digest = desc.digest().to_string();
    let hex = hex_of(&digest).ok_or_else(|| invalid(image, what, "not a sha256 digest"))?;
    let f = File::open(dir.join("blobs/sha256").join(hex))
        .map_err(io(image, format!("open {what} {digest}")))?;
    let (_, size) = store.put_blob(image, what, f, Some(&digest))?;
    if size != desc.size() {
        return Err(invalid(
            image,
            what,
            format!("{size} bytes, but its descriptor says {}", desc.size()),
        ));
    }
    Ok(digest)
}

/// Load the images of an unpacked OCI layout in `dir`, named by
/// `io.containerd.image.name`, else by the ref annotation when it is a
/// name (`NAME:TAG`, or one with a `/`); one with neither, or whose ref
/// is a tag alone (`v1`, as `skopeo copy ... oci:DIR:v1` writes it: the
/// layout's tag, which names no repository), is kept unnamed, by its ID
/// (see the step's README for podman's `localhost/v1`). A nested index
/// picks the linux/amd64 manifest, else the first.
pub fn load_oci(store: &Store, label: &str, dir: &Path) -> Result<Vec<Loaded>, Error> {
    let text = std::fs::read(dir.join("index.json")).map_err(io(label, "read index.json"))?;
    let index: ImageIndex =
        serde_json::from_slice(&text).map_err(|e| invalid(label, "index.json", e))?;
    let mut loaded = Vec::new();
    for desc in index.manifests() {
        let annotations = desc.annotations().clone().unwrap_or_default();
        let r = annotations
            .get("io.containerd.image.name")
            .or_else(|| {
                annotations
                    .get(REF_ANNOTATION)
                    .filter(|n| n.contains([':', '/']))
            })
            .map(|name| Reference::parse(name))
            .transpose()?;
        let image = r
            .as_ref()
            .map_or_else(|| label.to_string(), |r| r.to_string());
        let mut desc = desc.clone();
        if matches!(desc.media_type(), MediaType::ImageIndex) {
            let digest = copy_blob(store, &image, dir, &desc, "the image index")?;
            let nested: ImageIndex =
                serde_json::from_slice(&store.read_blob(&image, &digest, "the image index")?)
                    .map_err(|e| invalid(&image, "its index", e))?;
            let pick = nested
                .manifests()
                .iter()
                .find(|m| {
                    m.platform().as_ref().is_some_and(|p| {
                        *p.os() == oci_spec::image::Os::Linux
                            && *p.architecture() == oci_spec::image::Arch::Amd64
                    })
                })
                .or_else(|| nested.manifests().first())
                .cloned()
                .ok_or_else(|| invalid(&image, "its index", "no manifest"))?;
            desc = pick;
        }
        let digest = copy_blob(store, &image, dir, &desc, "the manifest")?;
        let manifest = store.manifest(&image, &digest)?;
        copy_blob(store, &image, dir, manifest.config(), "the configuration")?;
        let config = store.config(&image, &manifest)?;
        let diff_ids = diff_ids(&image, &manifest, &config)?;
        for (i, (layer, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
            let d = copy_blob(store, &image, dir, layer, &format!("layer {}", i + 1))?;
            store.extract_layer(&image, i + 1, &d, diff_id)?;
        }
        match r {
            Some(r) => {
                store.set_ref(&r, &digest, desc.size())?;
                loaded.push(Loaded::Named(r));
            }
            None => {
                store.set_unnamed(&digest, desc.size())?;
                loaded.push(Loaded::Id(manifest.config().digest().to_string()));
            }
        }
    }
    if loaded.is_empty() {
        return Err(invalid(label, "index.json", "no image in its manifests"));
    }
    Ok(loaded)
}

/// One image for [`write_archive`]: its manifest digest and the names it
/// is saved under (none: saved by its ID, as `docker save ID` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub manifest: String,
    pub names: Vec<Reference>,
}

/// Write `images` as an archive both Docker's `load` (`manifest.json`)
/// and OCI tools (`oci-layout`, `index.json`, `blobs/`) read, as `docker
/// save` writes since Docker 25: one `manifest.json` entry per image (its
/// names as `RepoTags`, null for none), one `index.json` entry per name
/// (`io.containerd.image.name` the full name, the ref annotation its tag;
/// an entry without annotations for an image without a name), each blob
/// once.
pub fn write_archive<W: Write>(store: &Store, images: &[Saved], out: W) -> Result<W, Error> {
    let label = images
        .first()
        .and_then(|s| s.names.first())
        .map_or_else(|| "archive".to_string(), |r| r.to_string());
    let image = label.as_str();
    let mut b = tar::Builder::new(out);
    b.mode(tar::HeaderMode::Deterministic);
    let rel = |d: &str| -> Result<String, Error> {
        Ok(format!(
            "blobs/sha256/{}",
            hex_of(d).ok_or_else(|| invalid(image, "a digest", d))?
        ))
    };
    let add_bytes = |b: &mut tar::Builder<W>, path: &str, bytes: &[u8]| -> Result<(), Error> {
        let mut h = tar::Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, bytes)
            .map_err(io(image, format!("write {path}")))
    };
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut h = tar::Header::new_ustar();
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        b.append_data(&mut h, dir, std::io::empty())
            .map_err(io(image, "write the archive"))?;
    }
    let mut written = HashSet::new();
    let mut descriptors = Vec::new();
    let mut entries = Vec::new();
    for saved in images {
        let manifest = saved.manifest.as_str();
        let m = store.manifest(image, manifest)?;
        let mut blobs = vec![manifest.to_string(), m.config().digest().to_string()];
        blobs.extend(m.layers().iter().map(|l| l.digest().to_string()));
        for d in &blobs {
            if written.insert(d.clone()) {
                let path = store.blob_path(d)?;
                b.append_path_with_name(&path, rel(d)?)
                    .map_err(io(image, format!("write blob {d}")))?;
            }
        }
        let msize = std::fs::metadata(store.blob_path(manifest)?)
            .map_err(io(image, "its manifest"))?
            .len();
        let mdigest = Digest::try_from(manifest).map_err(|e| invalid(image, "its manifest", e))?;
        let desc = Descriptor::new(MediaType::ImageManifest, msize, mdigest);
        if saved.names.is_empty() {
            descriptors.push(desc.clone());
        }
        for r in &saved.names {
            let mut named = desc.clone();
            named.set_annotations(Some(HashMap::from([
                ("io.containerd.image.name".to_string(), r.to_string()),
                (REF_ANNOTATION.to_string(), r.tag.clone()),
            ])));
            descriptors.push(named);
        }
        entries.push(DockerEntry {
            config: rel(m.config().digest().as_ref())?,
            repo_tags: (!saved.names.is_empty())
                .then(|| saved.names.iter().map(|r| r.to_string()).collect()),
            layers: m
                .layers()
                .iter()
                .map(|l| rel(l.digest().as_ref()))
                .collect::<Result<_, _>>()?,
        });
    }
    add_bytes(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut index = ImageIndex::default();
    index.set_media_type(Some(MediaType::ImageIndex));
    index.set_manifests(descriptors);
    let index = serde_json::to_vec(&index).map_err(|e| invalid(image, "index.json", e))?;
    add_bytes(&mut b, "index.json", &index)?;
    let text = serde_json::to_vec(&entries).map_err(|e| invalid(image, "manifest.json", e))?;
    add_bytes(&mut b, "manifest.json", &text)?;
    b.into_inner().map_err(io(image, "finish the archive"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_default_to_latest_and_refuse_bad_names() {
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.to_string(), "busybox:latest");
        assert_eq!(Reference::parse("a/b:v1.2").unwrap().tag, "v1.2");
        assert_eq!(
            Reference::parse("localhost:5000/x").unwrap().to_string(),
            "localhost:5000/x:latest"
        );
        assert_eq!(
            Reference::parse("docker.io/library/busybox:1")
                .unwrap()
                .to_string(),
            "busybox:1"
        );
        assert_eq!(Reference::parse("docker.io/re/x").unwrap().name, "re/x");
        assert!(Reference::parse("../x").is_err());
        assert!(Reference::parse("x:").is_err());
        assert!(Reference::parse("x:-a").is_err());
    }

    #[test]
    fn names_follow_dockers_reference_grammar() {
        let err = |t: &str| Reference::parse(t).unwrap_err().to_string();
        for upper in ["App:1", "me/App", "r.io/Me/x"] {
            assert!(
                err(upper).contains("repository name must be lowercase"),
                "{upper}"
            );
        }
        // An uppercase first part of several is a registry host.
        assert_eq!(Reference::parse("Reg/app").unwrap().name, "Reg/app");
        let e = err("a//b");
        assert!(e.contains("\"a//b\"") && e.contains("empty"), "{e}");
        let e = err("r.io/bb:1:2");
        assert!(
            e.contains("\"r.io/bb:1:2\"") && e.contains("a tag is"),
            "{e}"
        );
        for bad in [
            "a..b", "a_-b", "-a", "a.", "x/.y", "a___b", "ho st/x", "r.io:x/y",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
        for good in ["a__b/c-d.e---f", "0x", "r-1.io:5000/a/b_c:T_1.x-y"] {
            assert!(Reference::parse(good).is_ok(), "{good}");
        }
        let longest = format!("r/{}", "a".repeat(NAME_MAX - 2));
        assert!(Reference::parse(&format!("{longest}:1")).is_ok());
        assert!(err(&format!("{longest}a")).contains("255"));
    }

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_uid(0);
            h.set_gid(0);
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_mtime(0);
            let name = path.as_bytes();
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn device_and_escaping_entries_are_refused() {
        for (entries, want) in [
            (
                vec![("dev/sda", tar::EntryType::Block, &b""[..])],
                "device node",
            ),
            (
                vec![("dev/null", tar::EntryType::Char, &b""[..])],
                "device node",
            ),
            (
                vec![("../x", tar::EntryType::Regular, &b"x"[..])],
                "outside",
            ),
            (vec![("/x", tar::EntryType::Regular, &b"x"[..])], "outside"),
        ] {
            let t = tempfile::tempdir().unwrap();
            let e = unpack_layer("img", "sha256:0", &tar_of(&entries)[..], t.path()).unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
            assert!(e.to_string().contains("image img"), "{e}");
        }
    }

    #[test]
    fn zstd_and_gzip_layers_read_as_the_same_tar() {
        let tar = tar_of(&[("etc/motd", tar::EntryType::Regular, &b"hi\n"[..])]);
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        for bytes in [&tar, &zst, &gz] {
            let mut out = Vec::new();
            uncompressed(&bytes[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, tar);
        }
        let t = tempfile::tempdir().unwrap();
        unpack_layer("img", "sha256:0", uncompressed(&zst[..]).unwrap(), t.path()).unwrap();
        assert_eq!(std::fs::read(t.path().join("etc/motd")).unwrap(), b"hi\n");
    }

    #[test]
    fn hex_digests_are_checked() {
        assert!(hex_of("sha256:../../etc").is_none());
        assert!(hex_of(&digest_of(b"")).is_some());
    }
}
