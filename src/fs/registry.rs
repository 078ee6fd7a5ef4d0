//! Pulling an image from a registry (step 39): the OCI distribution API.
//!
//! A registry is an HTTP server holding the same things as the store of
//! step 38, blobs by digest and names pointing at manifests
//! (<https://github.com/opencontainers/distribution-spec/blob/main/spec.md>):
//!
//! - `GET /v2/NAME/manifests/REFERENCE` (a tag or a digest) answers a
//!   manifest; which kind is said by the `Content-Type` header (some
//!   registries' manifests, umoci's, carry no `mediaType` field). An
//!   image index (Docker's "manifest list") names one manifest per
//!   platform: we take linux/amd64.
//! - `GET /v2/NAME/blobs/DIGEST` answers a blob (the configuration, each
//!   layer). Bytes from the network are untrusted: each blob is streamed
//!   to a temporary file while hashed, and kept only when its SHA-256 and
//!   size are those its manifest promises.
//! - A registry may answer 401 with `WWW-Authenticate: Bearer realm=..,
//!   service=..,scope=..`: a GET of the realm with those parameters gives
//!   an anonymous token, sent back as `Authorization: Bearer TOKEN` (the
//!   distribution project's `docs/spec/auth/token.md`, as Docker Hub does).
//!
//! The image's name in the index is written last, under the store's lock:
//! a pull that fails leaves blobs no name reaches (`image prune` frees
//! them), never a name pointing at an incomplete image. Until then the
//! pull claims its digests ([`oci::Claim`]): an `image prune` or `rmi`
//! meanwhile keeps them, without waiting for the download. Two pulls of one
//! image download each blob once: a lock file per blob digest
//! (`ROOT/pulls/HEX.lock`) is held while the blob is fetched, and the
//! second finds it in the store. The lock file is removed as it is
//! released ([`BlobLock`] says why that is safe).

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::fs::oci::{self, Reference, Store};

/// Docker Hub's registry, for names without a registry host.
pub const DOCKER_HUB: &str = "registry-1.docker.io";

const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// A failed pull; the image is named by the caller's context. A bad
/// reference, a bad manifest or blob, and a local failure are the store's
/// own errors ([`oci::Error`]'s `Reference`, `Invalid`, `Io`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] oci::Error),
    #[error("{image}: {url}: {reason}")]
    Http {
        image: String,
        url: String,
        reason: String,
    },
    #[error("{image}: manifest unknown: the registry {host} has no {what}")]
    ManifestUnknown {
        image: String,
        host: String,
        what: String,
    },
}

/// What `pull NAME[:TAG|@DIGEST]` names: where, and under which name the
/// store keeps it (Docker Hub's images under their short name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// `HOST[:PORT]` of the registry.
    pub host: String,
    /// The repository on it (`library/busybox` for Docker Hub's `busybox`).
    pub repository: String,
    /// A tag or a `sha256:` digest.
    pub reference: String,
    /// The store's name for it: `NAME:TAG`, or `NAME@DIGEST`.
    pub local: String,
}

/// Whether the first path component of a name is a registry host, as
/// Docker decides: it has a `.` or a `:`, or is `localhost`.
pub fn has_registry_host(name: &str) -> bool {
    match name.split_once('/') {
        Some((first, _)) => first.contains('.') || first.contains(':') || first == "localhost",
        None => false,
    }
}

impl Remote {
    /// Parse `[HOST[:PORT]/]NAME[:TAG|@sha256:HEX]`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let refuse = |reason| {
            Error::from(oci::Error::Reference {
                reference: text.to_string(),
                reason,
            })
        };
        let (named, digest) = match text.split_once('@') {
            Some((n, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .ok_or_else(|| refuse("a digest is sha256:HEX"))?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(refuse("a sha256 digest has 64 hexadecimal digits"));
                }
                (n, Some(d.to_ascii_lowercase()))
            }
            None => (text, None),
        };
        // The store's own parse checks the name's spelling and the tag.
        let local = Reference::parse(named)?;
        let tagged = named[named.rfind('/').map_or(0, |i| i + 1)..].contains(':');
        if digest.is_some() && tagged {
            return Err(refuse("give a tag or a digest, not both"));
        }
        let (host, repository) = if has_registry_host(&local.name) {
            let (h, r) = local.name.split_once('/').expect("a host is followed by /");
            (h.to_string(), r.to_string())
        } else if local.name.contains('/') {
            (DOCKER_HUB.to_string(), local.name.clone())
        } else {
            (DOCKER_HUB.to_string(), format!("library/{}", local.name))
        };
        Ok(match digest {
            Some(d) => Remote {
                host,
                repository,
                local: format!("{}@{d}", local.name),
                reference: d,
            },
            None => Remote {
                host,
                repository,
                reference: local.tag.clone(),
                local: local.to_string(),
            },
        })
    }

    /// `http` only for the loopback names and `--insecure-registry` hosts;
    /// `https` otherwise (Docker's rule).
    pub fn scheme(&self, insecure: &[String]) -> &'static str {
        let host = self
            .host
            .rsplit_once(':')
            .map_or(self.host.as_str(), |(h, p)| {
                if p.bytes().all(|b| b.is_ascii_digit()) {
                    h
                } else {
                    self.host.as_str()
                }
            });
        if host == "localhost"
            || host == "127.0.0.1"
            || insecure.iter().any(|i| *i == self.host || *i == host)
        {
            "http"
        } else {
            "https"
        }
    }
}

/// An HTTP client for one registry, keeping the bearer token it was given.
struct Client {
    agent: ureq::Agent,
    base: String,
    image: String,
    token: Option<String>,
}

/// The `key="value"` parameters of a `WWW-Authenticate: Bearer ...` header.
pub fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim().strip_prefix("Bearer ")?;
    let mut out = Vec::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push((key.trim().to_string(), value.to_string()));
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(out)
}

impl Client {
    fn http(&self, url: &str, reason: impl ToString) -> Error {
        Error::Http {
            image: format!("image {}", self.image),
            url: url.to_string(),
            reason: reason.to_string(),
        }
    }

    /// GET `path` (under `/v2/`), answering one bearer challenge.
    fn get(&mut self, path: &str, accept: Option<&str>) -> Result<ureq::Response, Error> {
        let url = format!("{}/v2/{path}", self.base);
        let mut tried_token = false;
        loop {
            let mut req = self.agent.get(&url);
            if let Some(a) = accept {
                req = req.set("Accept", a);
            }
            if let Some(t) = &self.token {
                req = req.set("Authorization", &format!("Bearer {t}"));
            }
            match req.call() {
                Ok(resp) => return Ok(resp),
                Err(ureq::Error::Status(401, resp)) if !tried_token => {
                    let challenge = resp.header("WWW-Authenticate").unwrap_or("").to_string();
                    let params = bearer_params(&challenge).ok_or_else(|| {
                        self.http(
                            &url,
                            format!("401 with no bearer challenge ({challenge:?})"),
                        )
                    })?;
                    self.token = Some(self.fetch_token(&params)?);
                    tried_token = true;
                }
                Err(ureq::Error::Status(code, resp)) => return Err(self.status(&url, code, resp)),
                Err(e) => return Err(self.http(&url, without_url(&url, &e))),
            }
        }
    }

    fn status(&self, url: &str, code: u16, resp: ureq::Response) -> Error {
        let body = resp.into_string().unwrap_or_default();
        let codes: Vec<String> = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["errors"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .map(|e| {
                format!(
                    "{} ({})",
                    e["code"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect();
        let detail = if codes.is_empty() {
            String::new()
        } else {
            format!(": {}", codes.join(", "))
        };
        self.http(url, format!("the registry answered {code}{detail}"))
    }

    /// An anonymous token from the challenge's realm.
    fn fetch_token(&self, params: &[(String, String)]) -> Result<String, Error> {
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| self.http(&self.base, "bearer challenge without realm"))?;
        let mut req = self.agent.get(&realm);
        for (k, v) in params {
            if k == "service" || k == "scope" {
                req = req.query(k, v);
            }
        }
        let resp = req
            .call()
            .map_err(|e| self.http(&realm, format!("token: {}", without_url(&realm, &e))))?;
        let v: serde_json::Value = serde_json::from_reader(resp.into_reader().take(1 << 20))
            .map_err(|e| self.http(&realm, format!("token: {e}")))?;
        v["token"]
            .as_str()
            .or_else(|| v["access_token"].as_str())
            .map(str::to_string)
            .ok_or_else(|| self.http(&realm, "the token answer has no token"))
    }

    /// The manifest `reference`: its bytes and its media type (the
    /// Content-Type header, else the `mediaType` field).
    fn manifest(&mut self, repository: &str, reference: &str) -> Result<(Vec<u8>, String), Error> {
        let path = format!("{repository}/manifests/{reference}");
        let resp = self.get(&path, Some(MANIFEST_TYPES))?;
        let header = resp.content_type().to_string();
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(8 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| self.http(&path, e))?;
        let field = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_string));
        let kind = match field {
            Some(f)
                if header.is_empty()
                    || header == "application/octet-stream"
                    || header == "text/plain" =>
            {
                f
            }
            _ => header,
        };
        Ok((bytes, kind))
    }
}

/// A ureq error without the URL it begins with (the caller names it).
fn without_url(url: &str, e: &ureq::Error) -> String {
    let text = e.to_string();
    match text.strip_prefix(url).and_then(|t| t.strip_prefix(": ")) {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

fn is_manifest(kind: &str) -> bool {
    kind == "application/vnd.oci.image.manifest.v1+json"
        || kind == "application/vnd.docker.distribution.manifest.v2+json"
}

fn is_index(kind: &str) -> bool {
    kind == "application/vnd.oci.image.index.v1+json"
        || kind == "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// Pull `remote` into the store at `root`; the manifest digest.
/// `insecure`: hosts reached over plain HTTP (`--insecure-registry`).
/// Progress lines (one per layer) go to stdout only on a terminal.
pub fn pull(root: &Path, remote: &Remote, insecure: &[String]) -> Result<String, Error> {
    let image = remote.local.clone();
    let invalid = |what: &str, reason: String| Error::from(oci::invalid(&image, what, reason));
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(60))
        .build();
    let mut client = Client {
        agent,
        base: format!("{}://{}", remote.scheme(insecure), remote.host),
        image: image.clone(),
        token: None,
    };
    let unknown = |e: Error| match e {
        Error::Http { reason, .. }
            if reason.contains("MANIFEST_UNKNOWN")
                || reason.starts_with("the registry answered 404") =>
        {
            Error::ManifestUnknown {
                image: format!("image {image}"),
                host: remote.host.clone(),
                what: if remote.reference.starts_with("sha256:") {
                    format!("manifest {} in {}", remote.reference, remote.repository)
                } else {
                    format!("tag {:?} in {}", remote.reference, remote.repository)
                },
            }
        }
        e => e,
    };
    let (mut bytes, mut kind) = client
        .manifest(&remote.repository, &remote.reference)
        .map_err(unknown)?;
    if remote.reference.starts_with("sha256:") && oci::digest_of(&bytes) != remote.reference {
        return Err(invalid(
            "the manifest",
            format!(
                "has digest {}, but {} was asked for",
                oci::digest_of(&bytes),
                remote.reference
            ),
        ));
    }
    if is_index(&kind) {
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| invalid("its index", e.to_string()))?;
        let pick = index
            .manifests()
            .iter()
            .find(|m| {
                m.platform().as_ref().is_some_and(|p| {
                    *p.os() == oci_spec::image::Os::Linux
                        && *p.architecture() == oci_spec::image::Arch::Amd64
                })
            })
            .cloned()
            .ok_or_else(|| invalid("its index", "no linux/amd64 manifest".to_string()))?;
        let digest = pick.digest().to_string();
        (bytes, kind) = client.manifest(&remote.repository, &digest)?;
        if oci::digest_of(&bytes) != digest {
            return Err(invalid(
                "the linux/amd64 manifest",
                format!(
                    "has digest {}, but the index names {digest}",
                    oci::digest_of(&bytes)
                ),
            ));
        }
    }
    if !is_manifest(&kind) {
        return Err(invalid(
            "its manifest",
            format!(
                "of type {kind:?}, which mydocker does not read (an OCI or a Docker v2 manifest)"
            ),
        ));
    }
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| invalid("its manifest", e.to_string()))?;
    let store = Store::new(root);
    // Everything this pull stores is its own until the name is written:
    // `image prune` and `rmi` meanwhile keep it (and do not wait).
    let mut claim = store.claim()?;
    BlobLock::sweep(&store.root().join("pulls"));
    let mut digests = vec![
        oci::digest_of(&bytes),
        manifest.config().digest().to_string(),
    ];
    digests.extend(manifest.layers().iter().map(|l| l.digest().to_string()));
    claim.add(&digests)?;
    let tty = std::io::stdout().is_terminal();
    fetch_blob(
        &mut client,
        &store,
        remote,
        manifest.config(),
        "the configuration",
        false,
    )?;
    for (i, layer) in manifest.layers().iter().enumerate() {
        fetch_blob(
            &mut client,
            &store,
            remote,
            layer,
            &format!("layer {}", i + 1),
            tty,
        )?;
    }
    let (digest, size) = store.put_blob(&image, "the manifest", &bytes[..], None)?;
    // Extraction and the name, under the store's lock; the name last.
    let _lock = store.lock()?;
    for layer in manifest.layers() {
        store.extract_layer(&image, layer.digest().as_ref())?;
    }
    store.set_named(&remote.local, &digest, size)?;
    drop(claim);
    Ok(digest)
}

/// Fetch the blob `desc` unless the store has it, holding its lock file
/// so a concurrent pull of the same blob waits and then finds it.
fn fetch_blob(
    client: &mut Client,
    store: &Store,
    remote: &Remote,
    desc: &Descriptor,
    what: &str,
    progress: bool,
) -> Result<(), Error> {
    let image = remote.local.as_str();
    let digest = desc.digest().to_string();
    let dest = store.blob_path(&digest)?;
    let short = digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect::<String>();
    if dest.is_file() {
        if progress {
            println!("{short}: Already exists");
        }
        return Ok(());
    }
    let io = |what: &str| oci::io(image, what.to_string());
    let locks: PathBuf = store.root().join("pulls");
    std::fs::create_dir_all(&locks).map_err(io("create the pull locks' directory"))?;
    let lock_path = locks.join(format!("{}.lock", digest.trim_start_matches("sha256:")));
    let _lock = BlobLock::take(&lock_path).map_err(io("lock a blob's lock file"))?;
    if dest.is_file() {
        return Ok(());
    }
    if progress {
        println!(
            "{short}: Pulling {}",
            crate::format::human_size(desc.size())
        );
        let _ = std::io::stdout().flush();
    }
    let path = format!("{}/blobs/{digest}", remote.repository);
    let resp = client.get(&path, None)?;
    // One byte more than promised: a longer blob is caught by its size.
    let body = resp.into_reader().take(desc.size() + 1);
    let (_, got) = store.put_blob(image, what, body, Some(&digest))?;
    if got != desc.size() {
        return Err(oci::invalid(
            image,
            what,
            format!("{got} bytes, but its manifest says {}", desc.size()),
        )
        .into());
    }
    if progress {
        println!("{short}: Pull complete");
    }
    Ok(())
}

/// The lock of one blob's download, `ROOT/pulls/HEX.lock`, removed when
/// it is released so that no file is left per blob ever pulled. Removing
/// a lock file others may be waiting on is safe as long as each locker,
/// once it holds the lock, checks that the path still names the file it
/// locked, and starts again when it does not (the holder unlinked it
/// meanwhile): then all lockers of one moment lock the same file.
struct BlobLock {
    path: PathBuf,
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl BlobLock {
    /// Wait for and take the lock at `path`. Errors: the file cannot be
    /// created, opened or locked.
    fn take(path: &Path) -> std::io::Result<BlobLock> {
        use std::os::unix::fs::MetadataExt;
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(path)?;
            let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
                .map_err(|(_, e)| std::io::Error::from(e))?;
            let held = lock.metadata()?;
            match std::fs::metadata(path) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(BlobLock {
                        path: path.to_path_buf(),
                        _lock: lock,
                    });
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl BlobLock {
    /// Remove the lock files of `dir` a killed pull left: each whose lock
    /// can be taken at once (its holder is gone) and that the path still
    /// names once locked. Best effort.
    fn sweep(dir: &Path) {
        use std::os::unix::fs::MetadataExt;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            let Ok(lock) =
                nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
            else {
                continue;
            };
            if let (Ok(held), Ok(now)) = (lock.metadata(), std::fs::metadata(&path))
                && held.dev() == now.dev()
                && held.ino() == now.ino()
            {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

impl Drop for BlobLock {
    /// Unlink the file while still holding its lock (the lock goes after).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_lock_waited_on_while_its_file_is_removed_is_taken_on_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.lock");
        let first = BlobLock::take(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || {
                let second = BlobLock::take(&path).unwrap();
                tx.send(path.exists()).unwrap();
                drop(second);
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(rx.try_recv().is_err(), "the second waits");
        drop(first);
        assert!(rx.recv().unwrap(), "held on a file the path names");
        waiter.join().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn docker_hub_short_names_map_to_library() {
        let r = Remote::parse("busybox").unwrap();
        assert_eq!(r.host, DOCKER_HUB);
        assert_eq!(r.repository, "library/busybox");
        assert_eq!(r.reference, "latest");
        assert_eq!(r.local, "busybox:latest");
        let r = Remote::parse("docker.io/library/alpine:3.20").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            (DOCKER_HUB, "library/alpine", "3.20")
        );
        let r = Remote::parse("someone/tool:1").unwrap();
        assert_eq!(r.repository, "someone/tool");
        assert_eq!(r.scheme(&[]), "https");
    }

    #[test]
    fn registry_hosts_ports_and_digests() {
        let r = Remote::parse("127.0.0.1:5001/a/b:v1").unwrap();
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5001", "a/b", "v1")
        );
        assert_eq!(r.scheme(&[]), "http");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Remote::parse(&format!("localhost:5001/x@{d}")).unwrap();
        assert_eq!(r.reference, d);
        assert_eq!(r.local, format!("localhost:5001/x@{d}"));
        let r = Remote::parse("reg.example:443/x").unwrap();
        assert_eq!(r.scheme(&[]), "https");
        assert_eq!(r.scheme(&["reg.example:443".to_string()]), "http");
        assert!(Remote::parse("x:1@sha256:00").is_err());
        assert!(Remote::parse(&format!("x:1@{d}")).is_err());
    }

    #[test]
    fn bearer_challenges_are_parsed() {
        let p = bearer_params(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        )
        .unwrap();
        assert_eq!(
            p,
            vec![
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:library/busybox:pull".into()),
            ]
        );
        assert!(bearer_params("Basic realm=\"x\"").is_none());
    }
}
