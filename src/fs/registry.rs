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
//!   A registry that wants a user answers `WWW-Authenticate: Basic
//!   realm=..` instead (RFC 7617), or refuses the anonymous token.
//!
//! Credentials are read where `docker login` and `podman login` write
//! them, never asked for: `$REGISTRY_AUTH_FILE`, podman's
//! `$XDG_RUNTIME_DIR/containers/auth.json` and
//! `$XDG_CONFIG_HOME/containers/auth.json`, then Docker's
//! `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`), the order
//! podman's `containers-auth.json(5)` gives. Each holds
//! `{"auths": {"HOST": {"auth": "base64(user:password)"}}}`; the first
//! file with an entry for the registry's host wins. They go to the
//! registry as `Authorization: Basic ..`, or to the token realm when the
//! registry asks for a bearer token. Docker's credential helpers
//! (`credsStore`, `credHelpers`) are programs of their own: not run.
//!
//! On a terminal each layer gets a progress bar on stderr (its bytes of
//! the manifest's size), redrawn in place, as Docker draws them; off a
//! terminal nothing but the closing lines of `pull` (step 39's README says
//! why).
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

use std::io::{IsTerminal, Read};
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
    #[error(
        "{image}: the registry {host} asks for a user and password, and none are known for it: \
         log in with `mydocker login {host}` (or docker's or podman's login: mydocker reads their files), \
         or name an auth.json with REGISTRY_AUTH_FILE"
    )]
    NeedsCredentials { image: String, host: String },
    #[error("{image}: the registry {host} refused the credentials of user {user:?} (from {file})")]
    CredentialsRefused {
        image: String,
        host: String,
        user: String,
        file: String,
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
/// Docker decides: it has a `.` or a `:`, is `localhost`, or has an
/// uppercase letter ([`oci::is_host_part`]).
pub fn has_registry_host(name: &str) -> bool {
    match name.split_once('/') {
        Some((first, _)) => oci::is_host_part(first),
        None => false,
    }
}

impl Remote {
    /// Parse `[HOST[:PORT]/]NAME[:TAG][@sha256:HEX]`; with both, the
    /// digest is what is pulled (Docker ignores the tag).
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

/// A user and password for a registry, and the file they were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    /// Where they were found, for error messages.
    pub file: PathBuf,
}

impl Credentials {
    /// The `Authorization` header's value for Basic auth (RFC 7617).
    fn basic(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// The auth files to read, in podman's order (`containers-auth.json(5)`),
/// for the environment `var` gives: `$REGISTRY_AUTH_FILE`,
/// `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `$XDG_CONFIG_HOME/containers/auth.json` (else `~/.config/..`), then
/// Docker's `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`).
pub fn auth_files(var: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    let home = var("HOME").map(PathBuf::from);
    let mut out = Vec::new();
    if let Some(f) = var("REGISTRY_AUTH_FILE") {
        out.push(PathBuf::from(f));
    }
    if let Some(d) = var("XDG_RUNTIME_DIR") {
        out.push(Path::new(&d).join("containers/auth.json"));
    }
    match (var("XDG_CONFIG_HOME"), &home) {
        (Some(d), _) => out.push(Path::new(&d).join("containers/auth.json")),
        (None, Some(h)) => out.push(h.join(".config/containers/auth.json")),
        (None, None) => {}
    }
    match (var("DOCKER_CONFIG"), &home) {
        (Some(d), _) => out.push(Path::new(&d).join("config.json")),
        (None, Some(h)) => out.push(h.join(".docker/config.json")),
        (None, None) => {}
    }
    out
}

/// The host an `auths` key names: keys are `HOST`, `HOST/PATH` or a URL
/// (`https://index.docker.io/v1/` for Docker Hub, as `docker login`
/// writes it).
fn auth_key_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn same_registry(key_host: &str, host: &str) -> bool {
    let hub = |h: &str| {
        matches!(
            h,
            "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com"
        )
    };
    key_host == host || (hub(key_host) && hub(host))
}

/// The credentials for `host` in one auth file's JSON: an entry's `auth`
/// (base64 of `user:password`), else its `username` and `password`.
pub fn credentials_in(json: &serde_json::Value, host: &str, file: &Path) -> Option<Credentials> {
    use base64::Engine as _;
    let auths = json["auths"].as_object()?;
    let (_, entry) = auths
        .iter()
        .find(|(k, _)| same_registry(auth_key_host(k), host))?;
    let (user, password) = match entry["auth"].as_str().filter(|a| !a.is_empty()) {
        Some(encoded) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?;
            let text = String::from_utf8(bytes).ok()?;
            let (u, p) = text.split_once(':')?;
            (u.to_string(), p.to_string())
        }
        None => (
            entry["username"].as_str()?.to_string(),
            entry["password"].as_str()?.to_string(),
        ),
    };
    Some(Credentials {
        user,
        password,
        file: file.to_path_buf(),
    })
}

/// Docker's Hub as `docker login` keys it in `auths`.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// Docker's config file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`, for the environment `var` gives.
pub fn docker_config(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    match (var("DOCKER_CONFIG"), var("HOME")) {
        (Some(d), _) => Some(Path::new(&d).join("config.json")),
        (None, Some(h)) => Some(Path::new(&h).join(".docker/config.json")),
        (None, None) => None,
    }
}

/// `json` (a Docker config file's content, `{}` when none) with the
/// `auths` entry `key` set to `creds` (`Some`) or removed (`None`); the
/// other keys kept as they were. Whether an entry was there before.
pub fn set_auth(json: &mut serde_json::Value, key: &str, creds: Option<(&str, &str)>) -> bool {
    use base64::Engine as _;
    if !json.is_object() {
        *json = serde_json::json!({});
    }
    let auths = json
        .as_object_mut()
        .expect("an object")
        .entry("auths")
        .or_insert_with(|| serde_json::json!({}));
    if !auths.is_object() {
        *auths = serde_json::json!({});
    }
    let auths = auths.as_object_mut().expect("an object");
    let had = auths
        .keys()
        .any(|k| same_registry(auth_key_host(k), auth_key_host(key)));
    auths.retain(|k, _| !same_registry(auth_key_host(k), auth_key_host(key)));
    if let Some((user, password)) = creds {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        auths.insert(key.to_string(), serde_json::json!({ "auth": auth }));
    }
    had
}

/// Check `creds` against the registry `host`: a GET of `/v2/` answering
/// its challenge (Basic, or a token for the user), as `docker login` does.
pub fn check_login(host: &str, creds: Credentials, insecure: &[String]) -> Result<(), Error> {
    let remote = Remote {
        host: host.to_string(),
        repository: String::new(),
        reference: String::new(),
        local: host.to_string(),
    };
    let mut client = Client {
        agent: ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(30))
            .timeout_read(Duration::from_secs(60))
            .build(),
        base: format!("{}://{host}", remote.scheme(insecure)),
        host: host.to_string(),
        subject: format!("login to {host}"),
        token: None,
        credentials: Some(creds),
        basic: false,
    };
    client.get("", None).map(drop)
}

/// The credentials for `host` from the first auth file that has some.
pub fn credentials_for(host: &str) -> Option<Credentials> {
    auth_files(|k| std::env::var(k).ok())
        .into_iter()
        .find_map(|file| {
            let bytes = std::fs::read(&file).ok()?;
            let json = serde_json::from_slice(&bytes).ok()?;
            credentials_in(&json, host, &file)
        })
}

/// An HTTP client for one registry, keeping the bearer token it was given.
struct Client {
    agent: ureq::Agent,
    base: String,
    host: String,
    /// What errors name first: `image NAME` for a pull, `login to HOST`
    /// for a login.
    subject: String,
    token: Option<String>,
    credentials: Option<Credentials>,
    /// The registry asked for Basic auth: every request carries it.
    basic: bool,
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
            image: self.subject.clone(),
            url: url.to_string(),
            reason: reason.to_string(),
        }
    }

    /// GET `path` (under `/v2/`), answering one challenge: Basic with the
    /// known credentials, Bearer with a token from its realm.
    fn get(&mut self, path: &str, accept: Option<&str>) -> Result<ureq::Response, Error> {
        let url = format!("{}/v2/{path}", self.base);
        let mut answered = false;
        loop {
            let mut req = self.agent.get(&url);
            if let Some(a) = accept {
                req = req.set("Accept", a);
            }
            if let Some(t) = &self.token {
                req = req.set("Authorization", &format!("Bearer {t}"));
            } else if let Some(c) = self.credentials.as_ref().filter(|_| self.basic) {
                req = req.set("Authorization", &c.basic());
            }
            match req.call() {
                Ok(resp) => return Ok(resp),
                Err(ureq::Error::Status(401, _)) if answered => return Err(self.unauthorized()),
                Err(ureq::Error::Status(401, resp)) => {
                    let challenge = resp.header("WWW-Authenticate").unwrap_or("").to_string();
                    if challenge.trim_start().starts_with("Basic") {
                        if self.credentials.is_none() {
                            return Err(self.unauthorized());
                        }
                        self.basic = true;
                    } else {
                        let params = bearer_params(&challenge).ok_or_else(|| {
                            self.http(
                                &url,
                                format!("401 with no bearer challenge ({challenge:?})"),
                            )
                        })?;
                        self.token = Some(self.fetch_token(&params)?);
                    }
                    answered = true;
                }
                Err(ureq::Error::Status(code, resp)) => return Err(self.status(&url, code, resp)),
                Err(e) => return Err(self.http(&url, without_url(&url, &e))),
            }
        }
    }

    /// A 401 that credentials would answer: none known, or refused.
    fn unauthorized(&self) -> Error {
        match &self.credentials {
            None => Error::NeedsCredentials {
                image: self.subject.clone(),
                host: self.host.clone(),
            },
            Some(c) => Error::CredentialsRefused {
                image: self.subject.clone(),
                host: self.host.clone(),
                user: c.user.clone(),
                file: c.file.display().to_string(),
            },
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

    /// A token from the challenge's realm: anonymous, or for the known
    /// user (the credentials sent to the realm as Basic auth).
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
        if let Some(c) = &self.credentials {
            req = req.set("Authorization", &c.basic());
        }
        let resp = match req.call() {
            Ok(resp) => resp,
            Err(ureq::Error::Status(401 | 403, _)) => return Err(self.unauthorized()),
            Err(e) => {
                return Err(self.http(&realm, format!("token: {}", without_url(&realm, &e))));
            }
        };
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
/// A progress bar per layer goes to stderr when it is a terminal.
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
        host: remote.host.clone(),
        subject: format!("image {image}"),
        token: None,
        credentials: credentials_for(&remote.host),
        basic: false,
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
    let progress = Progress::new(std::io::stderr().is_terminal(), manifest.layers());
    fetch_blob(
        &mut client,
        &store,
        remote,
        manifest.config(),
        "the configuration",
        None,
    )?;
    for (i, layer) in manifest.layers().iter().enumerate() {
        fetch_blob(
            &mut client,
            &store,
            remote,
            layer,
            &format!("layer {}", i + 1),
            progress.bar(i),
        )?;
    }
    let config = store.config(&image, &manifest)?;
    let diff_ids = oci::diff_ids(&image, &manifest, &config)?;
    let (digest, size) = store.put_blob(&image, "the manifest", &bytes[..], None)?;
    // Extraction and the name, under the store's lock; the name last.
    let _lock = store.lock()?;
    for (i, (layer, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        if let Some(bar) = progress.bar(i) {
            bar.set_message("Extracting");
        }
        store.extract_layer(&image, i + 1, layer.digest().as_ref(), diff_id)?;
        if let Some(bar) = progress.bar(i) {
            if bar.message() == "Already exists" {
                bar.finish();
            } else {
                bar.finish_with_message("Pull complete");
            }
        }
    }
    store.set_named(&remote.local, &digest, size)?;
    drop(claim);
    Ok(digest)
}

/// One progress bar per layer on stderr, as Docker draws them
/// (`SHORT-ID: Downloading [====>    ] 1.2 MB/3.4 MB`), redrawn in place
/// and as wide as the terminal; none when stderr is not a terminal (see
/// the step's README).
struct Progress {
    bars: Vec<indicatif::ProgressBar>,
    _multi: Option<indicatif::MultiProgress>,
}

impl Progress {
    fn new(terminal: bool, layers: &[Descriptor]) -> Progress {
        if !terminal {
            return Progress {
                bars: Vec::new(),
                _multi: None,
            };
        }
        let multi = indicatif::MultiProgress::new();
        // `wide_bar` takes what the rest leaves of the terminal's width,
        // redrawn at each tick: a line never wraps (a wrapped line is two
        // rows, and the redraw that moves up one row per bar goes wrong).
        let style = indicatif::ProgressStyle::with_template(
            "{prefix}: {msg:<14} [{wide_bar}] {decimal_bytes}/{decimal_total_bytes}",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        let bars = layers
            .iter()
            .map(|l| {
                multi.add(
                    indicatif::ProgressBar::new(l.size())
                        .with_style(style.clone())
                        .with_prefix(short_id(l.digest().as_ref()))
                        .with_message("Waiting"),
                )
            })
            .collect();
        Progress {
            bars,
            _multi: Some(multi),
        }
    }

    fn bar(&self, layer: usize) -> Option<&indicatif::ProgressBar> {
        self.bars.get(layer)
    }
}

impl Drop for Progress {
    /// The bars stay as they were last drawn (a failed pull shows where it
    /// stopped), and what follows starts on a line of its own.
    fn drop(&mut self) {
        if self.bars.is_empty() {
            return;
        }
        for bar in &self.bars {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        eprintln!();
    }
}

/// The first 12 hexadecimal digits of a digest, as Docker names layers.
fn short_id(digest: &str) -> String {
    digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

/// Fetch the blob `desc` unless the store has it, holding its lock file
/// so a concurrent pull of the same blob waits and then finds it; `bar`
/// counts the bytes as they arrive.
fn fetch_blob(
    client: &mut Client,
    store: &Store,
    remote: &Remote,
    desc: &Descriptor,
    what: &str,
    bar: Option<&indicatif::ProgressBar>,
) -> Result<(), Error> {
    let image = remote.local.as_str();
    let digest = desc.digest().to_string();
    let dest = store.blob_path(&digest)?;
    let exists = || {
        if let Some(bar) = bar {
            bar.set_position(desc.size());
            bar.set_message("Already exists");
        }
    };
    if dest.is_file() {
        exists();
        return Ok(());
    }
    let io = |what: &str| oci::io(image, what.to_string());
    let locks: PathBuf = store.root().join("pulls");
    std::fs::create_dir_all(&locks).map_err(io("create the pull locks' directory"))?;
    let lock_path = locks.join(format!("{}.lock", digest.trim_start_matches("sha256:")));
    let _lock = BlobLock::take(&lock_path).map_err(io("lock a blob's lock file"))?;
    if dest.is_file() {
        exists();
        return Ok(());
    }
    let path = format!("{}/blobs/{digest}", remote.repository);
    let resp = client.get(&path, None)?;
    // One byte more than promised: a longer blob is caught by its size.
    let body = resp.into_reader().take(desc.size() + 1);
    let (_, got) = match bar {
        Some(bar) => {
            bar.set_message("Downloading");
            let got = store.put_blob(image, what, bar.wrap_read(body), Some(&digest));
            bar.set_message("Download complete");
            got?
        }
        None => store.put_blob(image, what, body, Some(&digest))?,
    };
    if got != desc.size() {
        return Err(oci::invalid(
            image,
            what,
            format!("{got} bytes, but its manifest says {}", desc.size()),
        )
        .into());
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
        // NAME:TAG@DIGEST: the digest wins, as in Docker.
        let r = Remote::parse(&format!("x:1@{d}")).unwrap();
        assert_eq!(r.reference, d);
        assert_eq!(r.local, format!("x@{d}"));
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

    #[test]
    fn auth_files_follow_podmans_order() {
        let env = |k: &str| {
            match k {
                "REGISTRY_AUTH_FILE" => Some("/a/auth.json"),
                "XDG_RUNTIME_DIR" => Some("/run/user/0"),
                "HOME" => Some("/root"),
                "DOCKER_CONFIG" => Some(""),
                _ => None,
            }
            .map(str::to_string)
        };
        let files: Vec<String> = auth_files(env)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            files,
            [
                "/a/auth.json",
                "/run/user/0/containers/auth.json",
                "/root/.config/containers/auth.json",
                "/root/.docker/config.json",
            ]
        );
    }

    #[test]
    fn credentials_are_read_from_auth_and_from_user_and_password() {
        let file = Path::new("/f");
        // base64("u:p:w") — the password may hold a ':'.
        let json = serde_json::json!({"auths": {
            "http://127.0.0.1:5001/v2/": {"auth": "dTpwOnc="},
            "https://index.docker.io/v1/": {"username": "hub", "password": "pw"},
        }});
        let c = credentials_in(&json, "127.0.0.1:5001", file).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("u", "p:w"));
        assert_eq!(c.basic(), "Basic dTpwOnc=");
        let hub = credentials_in(&json, DOCKER_HUB, file).unwrap();
        assert_eq!(hub.user, "hub");
        assert!(credentials_in(&json, "127.0.0.1:5002", file).is_none());
        assert!(credentials_in(&serde_json::json!({}), DOCKER_HUB, file).is_none());
    }

    #[test]
    fn set_auth_keeps_other_keys_and_replaces_the_hosts_entry() {
        let mut json = serde_json::json!({
            "auths": {"http://r:5/v2/": {"auth": "b2xk"}, "other:1": {"auth": "eA=="}},
            "psFormat": "x",
        });
        assert!(set_auth(&mut json, "r:5", Some(("u", "pw"))));
        assert_eq!(json["auths"]["r:5"]["auth"], "dTpwdw==");
        assert!(json["auths"].get("http://r:5/v2/").is_none());
        assert_eq!(json["auths"]["other:1"]["auth"], "eA==");
        assert_eq!(json["psFormat"], "x");
        assert!(set_auth(&mut json, "r:5", None));
        assert!(!set_auth(&mut json, "r:5", None));
        let mut empty = serde_json::Value::Null;
        assert!(!set_auth(&mut empty, DOCKER_HUB_KEY, Some(("a", "b"))));
        assert!(credentials_in(&empty, DOCKER_HUB, Path::new("/f")).is_some());
    }
}
