//! Step 39: `pull` from a registry. Each test starts its own registry
//! (Debian's `docker-registry`) on a free port of 127.0.0.1, its storage
//! and configuration in the test's directory, stopped by PID when the test
//! ends; images are pushed to it with `skopeo copy` from `mydocker save`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use rstest::rstest;

use crate::harness::{Env, env, ok, stdout_of, wait_for};
use crate::registry::Registry;

fn refused(out: &std::process::Output, words: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(125), "{err}");
    for w in words {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
    err
}

/// The user `u` with the password `pw`, bcrypt-hashed (cost 5) as
/// `htpasswd -B` writes it: the registry's htpasswd file.
const HTPASSWD: &str = "u:$2b$05$abcdefghijklmnopqrstuuHIrMEWpUCQe2YqFR3sXwQ75u4od..9q\n";

/// A registry of this test's own (`tests/support/registry.rs`), its files
/// in the test's directory.
impl Registry {
    fn start(env: &Env) -> Registry {
        Registry::serve(&env.scratch("registry"), None)
    }

    /// A registry that asks for the user `u` (password `pw`): Basic auth,
    /// checked against an htpasswd file.
    fn start_with_auth(env: &Env) -> Registry {
        Registry::serve(&env.scratch("registry"), Some(HTPASSWD))
    }

    /// `mydocker save` of `image` in `env`, pushed as `NAME:TAG`; the
    /// manifest digest skopeo wrote.
    fn push(&self, env: &Env, image: &str, name_tag: &str) -> String {
        self.push_with(env, image, name_tag, &[])
    }

    /// [`Registry::push`] with more `skopeo copy` options.
    fn push_with(&self, env: &Env, image: &str, name_tag: &str, skopeo: &[&str]) -> String {
        crate::tools::require_tool("skopeo");
        let dir = env.scratch("push");
        let archive = dir.join("image.tar");
        ok(&env
            .md()
            .args(["save", "-o"])
            .arg(&archive)
            .arg(image)
            .output()
            .unwrap());
        let digest_file = dir.join("digest");
        let out = Command::new("skopeo")
            .args(["copy", "-q", "--dest-tls-verify=false"])
            .args(skopeo)
            .arg("--digestfile")
            .arg(&digest_file)
            .arg(format!("docker-archive:{}", archive.display()))
            .arg(format!("docker://{}/{name_tag}", self.host))
            .output()
            .expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(digest_file)
            .unwrap()
            .trim()
            .to_string()
    }

    /// The file holding blob `digest` in the registry's storage.
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

/// `image` committed from busybox with /bin/vi deleted and /made added: a
/// two-layer image whose upper layer whites out a file of the lower one.
fn two_layer_image(env: &Env, container: &str, image: &str) {
    env.run_d(
        &["--name", container],
        &["sh", "-c", "rm /bin/vi; echo made > /made"],
    );
    env.wait_exited(container);
    ok(&env
        .md()
        .args(["commit", container, image])
        .output()
        .unwrap());
    ok(&env.md().args(["rm", container]).output().unwrap());
}

/// The layer digests of the manifest `digest` in a store.
fn layers_of(root: &std::path::Path, digest: &str) -> Vec<String> {
    let blob = root
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(blob).unwrap()).unwrap();
    m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

fn index_names(root: &std::path::Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(root.join("index.json")) else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect()
}

#[rstest]
fn a_pulled_two_layer_image_runs_without_the_file_its_upper_layer_deletes(env: Env) {
    let reg = Registry::start(&env);
    two_layer_image(&env, "t39-del", "t39-del:1");
    let digest = reg.push(&env, "t39-del:1", "deleted:1");
    let puller = Env::with_root_named("root");
    let image = format!("{}/deleted:1", reg.host);
    let out = ok(&puller.md().args(["pull", &image]).output().unwrap());
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    // Not a terminal: no progress lines.
    assert!(!out.contains("Pull complete"), "{out}");
    assert_eq!(layers_of(&puller.root, &digest).len(), 2);
    puller
        .run_image(
            &image,
            &[],
            &["sh", "-c", "test -e /bin/vi && echo vi; cat /made"],
        )
        .assert()
        .success()
        .stdout("made\n");
}

#[rstest]
fn pull_by_digest_stores_that_manifest_and_runs_it(env: Env) {
    let reg = Registry::start(&env);
    let digest = reg.push(&env, "busybox", "bb:1");
    let puller = Env::with_root_named("root");
    let image = format!("{}/bb@{digest}", reg.host);
    let out = ok(&puller.md().args(["pull", &image]).output().unwrap());
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    assert_eq!(index_names(&puller.root), vec![image.clone()]);
    puller
        .run_image(&image, &[], &["echo", "by digest"])
        .assert()
        .success()
        .stdout("by digest\n");
    // A digest the registry does not have is refused, naming it.
    let other = format!("{}/bb@sha256:{}", reg.host, "0".repeat(64));
    refused(
        &puller.md().args(["pull", &other]).output().unwrap(),
        &["manifest unknown", &"0".repeat(64)],
    );
}

#[rstest]
fn a_tampered_layer_is_refused_and_nothing_is_named(env: Env) {
    let reg = Registry::start(&env);
    let digest = reg.push(&env, "busybox", "bb:1");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reg.blob_file(&digest)).unwrap()).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    // Same size, one byte changed.
    let file = reg.blob_file(&layer);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let puller = Env::with_root_named("root");
    let image = format!("{}/bb:1", reg.host);
    let err = refused(
        &puller.md().args(["pull", &image]).output().unwrap(),
        &[&image, "layer 1", &layer],
    );
    assert!(err.contains("digest"), "{err}");
    assert_eq!(index_names(&puller.root), Vec::<String>::new());
    let kept = puller
        .root
        .join("blobs/sha256")
        .join(&layer["sha256:".len()..]);
    assert!(!kept.exists(), "the tampered layer was kept");
    refused(
        &puller.md().args(["run", &image, "true"]).output().unwrap(),
        &[&image],
    );
}

#[rstest]
fn a_missing_tag_is_125_naming_the_image_and_the_tag(env: Env) {
    let reg = Registry::start(&env);
    reg.push(&env, "busybox", "bb:1");
    let image = format!("{}/bb:nope", reg.host);
    let err = refused(
        &env.md().args(["pull", &image]).output().unwrap(),
        &[&image, "manifest unknown", "\"nope\""],
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[rstest]
fn run_pulls_a_missing_image_named_with_its_registry(env: Env) {
    let reg = Registry::start(&env);
    reg.push(&env, "busybox", "tools/bb:2");
    let puller = Env::with_root_named("root");
    let image = format!("{}/tools/bb:2", reg.host);
    let out = puller
        .run_image(&image, &[], &["echo", "pulled"])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "pulled\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unable to find image"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(index_names(&puller.root), vec![image]);
}

/// Docker's "Done when": a running container keeps its layers when its
/// image's name is pulled again and now means another image.
#[rstest]
fn a_running_container_is_untouched_by_a_pull_of_a_new_image_under_its_name(env: Env) {
    let reg = Registry::start(&env);
    let first = reg.push(&env, "busybox", "app:1");
    let puller = Env::with_root_named("root");
    let image = format!("{}/app:1", reg.host);
    ok(&puller.md().args(["pull", &image]).output().unwrap());
    puller
        .run_image(&image, &["-d", "--name", "t39-running"], &["sleep", "1000"])
        .assert()
        .success();
    two_layer_image(&env, "t39-new", "t39-new:1");
    let second = reg.push(&env, "t39-new:1", "app:1");
    assert_ne!(first, second);
    let out = ok(&puller.md().args(["pull", &image]).output().unwrap());
    assert!(out.contains(&format!("Digest: {second}")), "{out}");
    // Its root is still the first image's: /bin/vi there, /made not.
    ok(&puller
        .md()
        .args([
            "exec",
            "t39-running",
            "sh",
            "-c",
            "test -e /bin/vi && test ! -e /made",
        ])
        .output()
        .unwrap());
    ok(&puller
        .md()
        .args(["rm", "-f", "t39-running"])
        .output()
        .unwrap());
}

/// Three pulls of one image at once: the layer is fetched once (a lock
/// file per blob), all three succeed.
#[rstest]
fn concurrent_pulls_download_each_blob_once(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Whole);
    let image = format!("{}/x:1", reg.host);
    let pulls: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(crate::harness::bin())
                .arg("--root")
                .arg(&env.root)
                .args(["pull", &image])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for p in pulls {
        ok(&p.wait_with_output().unwrap());
    }
    assert_eq!(
        reg.layer_downloads
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(index_names(&env.root), vec![image]);
}

#[rstest]
fn concurrent_pulls_of_one_image_both_succeed(env: Env) {
    let reg = Registry::start(&env);
    two_layer_image(&env, "t39-conc", "t39-conc:1");
    let digest = reg.push(&env, "t39-conc:1", "conc:1");
    let puller = Env::with_root_named("root");
    let image = format!("{}/conc:1", reg.host);
    let mut a = std::process::Command::new(crate::harness::bin());
    a.arg("--root").arg(&puller.root).args(["pull", &image]);
    let mut b = std::process::Command::new(crate::harness::bin());
    b.arg("--root").arg(&puller.root).args(["pull", &image]);
    let (a, b) = (a.spawn().unwrap(), b.spawn().unwrap());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    assert_eq!(index_names(&puller.root), vec![image.clone()]);
    assert_eq!(layers_of(&puller.root, &digest).len(), 2);
    puller
        .run_image(&image, &[], &["cat", "/made"])
        .assert()
        .success()
        .stdout("made\n");
}

/// `mydocker` in `env` with no credentials anywhere it looks (`HOME` and
/// `DOCKER_CONFIG` in the test's directory, podman's variables unset),
/// plus `vars`.
fn md_with_auth(env: &Env, vars: &[(&str, &std::path::Path)]) -> assert_cmd::Command {
    let home = env.scratch("home");
    let mut c = env.md();
    c.env("HOME", &home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    for (k, v) in vars {
        c.env(k, v);
    }
    c
}

/// An auth file in Docker's and podman's format for `host`.
fn auth_file(env: &Env, name: &str, host: &str, user_password: &str) -> PathBuf {
    use base64::Engine as _;
    let dir = env.scratch(name);
    let file = dir.join(if name == "docker" {
        "config.json"
    } else {
        "auth.json"
    });
    let auth = base64::engine::general_purpose::STANDARD.encode(user_password);
    std::fs::write(
        &file,
        serde_json::json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    file
}

#[rstest]
fn a_zstd_compressed_image_pulls_and_runs(env: Env) {
    let reg = Registry::start(&env);
    let digest = reg.push_with(
        &env,
        "busybox",
        "zbox:1",
        &[
            "--format",
            "oci",
            "--dest-compress-format",
            "zstd",
            "--dest-compress",
        ],
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reg.blob_file(&digest)).unwrap()).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+zstd"
    );
    let puller = Env::with_root_named("root");
    let image = format!("{}/zbox:1", reg.host);
    ok(&puller.md().args(["pull", &image]).output().unwrap());
    puller
        .run_image(&image, &[], &["echo", "from zstd"])
        .assert()
        .success()
        .stdout("from zstd\n");
}

/// As Docker: an image pulled by digest has no tag (`<none>`), and is
/// named by `NAME@DIGEST` or its image ID.
#[rstest]
fn an_image_pulled_by_digest_is_listed_untagged_runs_by_id_and_is_removed(env: Env) {
    let reg = Registry::start(&env);
    let digest = reg.push(&env, "busybox", "bb:1");
    let puller = Env::with_root_named("root");
    let image = format!("{}/bb@{digest}", reg.host);
    ok(&puller.md().args(["pull", &image]).output().unwrap());
    let listed = ok(&puller.md().arg("images").output().unwrap());
    let row = listed
        .lines()
        .find(|l| l.starts_with(&format!("{}/bb ", reg.host)))
        .unwrap_or_else(|| panic!("no row for {image}: {listed}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "<none>", "{listed}");
    let id = cols[2].to_string();
    assert_eq!(id.len(), 12, "{listed}");
    puller
        .run_image(&id, &[], &["echo", "by id"])
        .assert()
        .success()
        .stdout("by id\n");
    // Tagging it gives a row with the tag, and the untagged row goes.
    ok(&puller
        .md()
        .args(["tag", &image, &format!("{}/bb:mine", reg.host)])
        .output()
        .unwrap());
    let listed = ok(&puller.md().arg("images").output().unwrap());
    assert!(!listed.contains("<none>"), "{listed}");
    assert!(listed.contains(" mine "), "{listed}");
    ok(&puller
        .md()
        .args(["rmi", &format!("{}/bb:mine", reg.host)])
        .output()
        .unwrap());
    let out = ok(&puller.md().args(["rmi", &image]).output().unwrap());
    assert!(out.contains(&format!("Untagged: {image}")), "{out}");
    assert!(out.contains(&format!("Deleted: {digest}")), "{out}");
    assert_eq!(index_names(&puller.root), Vec::<String>::new());
}

#[rstest]
fn a_registry_that_wants_a_user_is_125_without_credentials(env: Env) {
    let reg = Registry::start_with_auth(&env);
    let image = format!("{}/private:1", reg.host);
    let err = refused(
        &md_with_auth(&env, &[])
            .args(["pull", &image])
            .output()
            .unwrap(),
        &[&image, &reg.host, "mydocker login", "REGISTRY_AUTH_FILE"],
    );
    assert!(!err.contains("internal error"), "{err}");
    assert_eq!(index_names(&env.root), Vec::<String>::new());
}

#[rstest]
fn docker_and_podman_credentials_pull_from_a_registry_with_htpasswd(env: Env) {
    let reg = Registry::start_with_auth(&env);
    let pusher = Env::with_root_named("pusher");
    let digest = reg.push_with(&pusher, "busybox", "private:1", &["--dest-creds", "u:pw"]);
    let image = format!("{}/private:1", reg.host);
    // Docker's $DOCKER_CONFIG/config.json, keyed by a URL as some tools write.
    let docker = auth_file(&env, "docker", &format!("http://{}", reg.host), "u:pw");
    let out = ok(
        &md_with_auth(&env, &[("DOCKER_CONFIG", docker.parent().unwrap())])
            .args(["pull", &image])
            .output()
            .unwrap(),
    );
    assert!(out.contains(&format!("Digest: {digest}")), "{out}");
    ok(&env.md().args(["rmi", &image]).output().unwrap());
    // podman's $REGISTRY_AUTH_FILE.
    let podman = auth_file(&env, "podman", &reg.host, "u:pw");
    ok(&md_with_auth(&env, &[("REGISTRY_AUTH_FILE", &podman)])
        .args(["pull", &image])
        .output()
        .unwrap());
    env.run_image(&image, &[], &["echo", "private"])
        .assert()
        .success()
        .stdout("private\n");
    // A wrong password: refused, naming the user and the file.
    let wrong = auth_file(&env, "wrong", &reg.host, "u:nope");
    refused(
        &md_with_auth(&env, &[("REGISTRY_AUTH_FILE", &wrong)])
            .args(["pull", &format!("{}/private:2", reg.host)])
            .output()
            .unwrap(),
        &[
            "refused the credentials",
            "\"u\"",
            &wrong.display().to_string(),
        ],
    );
}

/// `login` checks the user against the registry and writes Docker's
/// config.json (0600), which `pull` then reads; `logout` removes it.
#[rstest]
fn login_writes_dockers_config_and_logout_removes_it(env: Env) {
    use std::os::unix::fs::PermissionsExt;
    let reg = Registry::start_with_auth(&env);
    let pusher = Env::with_root_named("pusher");
    reg.push_with(&pusher, "busybox", "private:1", &["--dest-creds", "u:pw"]);
    let image = format!("{}/private:1", reg.host);
    let config = env.scratch("home").join(".docker/config.json");
    // A wrong password: refused, nothing written.
    refused(
        &md_with_auth(&env, &[])
            .args(["login", "-u", "u", "--password-stdin", &reg.host])
            .write_stdin("nope\n")
            .output()
            .unwrap(),
        &["refused the credentials", &reg.host],
    );
    // The re-trial's fault: `image login to HOST`; a login is no image.
    let out = md_with_auth(&env, &[])
        .args(["login", "-u", "u", "--password-stdin", &reg.host])
        .write_stdin("nope\n")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("login to {}", reg.host)), "{err}");
    assert!(!err.contains("image login"), "{err}");
    assert!(!config.exists());
    let out = ok(&md_with_auth(&env, &[])
        .args(["login", "-u", "u", "--password-stdin", &reg.host])
        .write_stdin("pw\n")
        .output()
        .unwrap());
    assert_eq!(out, "Login Succeeded\n");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(json["auths"][&reg.host]["auth"], "dTpwdw=="); // base64("u:pw")
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    ok(&md_with_auth(&env, &[])
        .args(["pull", &image])
        .output()
        .unwrap());
    let out = ok(&md_with_auth(&env, &[])
        .args(["logout", &reg.host])
        .output()
        .unwrap());
    assert_eq!(
        out,
        format!("Removing login credentials for {}\n", reg.host)
    );
    refused(
        &md_with_auth(&env, &[])
            .args(["pull", &format!("{}/private:2", reg.host)])
            .output()
            .unwrap(),
        &["mydocker login"],
    );
    let out = ok(&md_with_auth(&env, &[])
        .args(["logout", &reg.host])
        .output()
        .unwrap());
    assert_eq!(out, format!("Not logged in to {}\n", reg.host));
}

#[rstest]
fn a_token_realm_that_wants_a_user_gets_the_credentials(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::TokenForUserOnly);
    let image = format!("{}/x:2", reg.host);
    refused(
        &md_with_auth(&env, &[])
            .args(["pull", &image])
            .output()
            .unwrap(),
        &[&image, "mydocker login"],
    );
    let file = auth_file(&env, "podman", &reg.host, "u:pw");
    ok(&md_with_auth(&env, &[("REGISTRY_AUTH_FILE", &file)])
        .args(["pull", &image])
        .output()
        .unwrap());
}

/// How the fake registry serves the layer blob.
#[derive(Clone, Copy, PartialEq)]
enum LayerAnswer {
    Whole,
    Error500,
    CloseHalfway,
    /// Serve whole, but the token realm answers only the user `u`
    /// (password `pw`), 401 otherwise.
    TokenForUserOnly,
    /// Held (after counting the request) until `FakeRegistry::release`.
    Stalled,
    /// Serve whole, but the configuration's `rootfs.diff_ids` names
    /// another digest than the layer's.
    WrongDiffId,
}

/// A registry of a few lines, for what the real one does not do: ask for
/// a bearer token, serve an index with several platforms and a manifest
/// without `mediaType` (as umoci writes them), fail with 500 or close the
/// connection in the middle of a blob. Serves `x:1` (an index) and `x:2`
/// (the amd64 manifest itself); the token is `t0k`.
struct FakeRegistry {
    host: String,
    layer: String,
    /// How many times the layer was served whole.
    layer_downloads: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Lets a `Stalled` layer go.
    released: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn sha(bytes: &[u8]) -> String {
    mydocker::fs::oci::digest_of(bytes)
}

impl FakeRegistry {
    fn start(answer: LayerAnswer) -> FakeRegistry {
        let layer = crate::step38_image_store::tar_of(&[("hello", Some(b"fake\n"))]);
        let diff_id = if answer == LayerAnswer::WrongDiffId {
            sha(b"another layer")
        } else {
            sha(&layer)
        };
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}},"config":{{}}}}"#
        );
        // No mediaType field: the Content-Type says what it is.
        let manifest = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
            sha(config.as_bytes()),
            config.len(),
            sha(&layer),
            layer.len()
        );
        let wrong = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}"#;
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"arm64","os":"linux"}}}},{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"amd64","os":"linux"}}}}]}}"#,
            sha(wrong.as_bytes()),
            wrong.len(),
            sha(manifest.as_bytes()),
            manifest.len()
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let realm = format!("http://{host}/token");
        let layer_digest = sha(&layer);
        let blobs: Vec<(String, Vec<u8>, &str)> = vec![
            (
                "/v2/x/manifests/1".into(),
                index.into_bytes(),
                "application/vnd.oci.image.index.v1+json",
            ),
            (
                "/v2/x/manifests/2".into(),
                manifest.clone().into_bytes(),
                "application/vnd.oci.image.manifest.v1+json",
            ),
            (
                format!("/v2/x/manifests/{}", sha(manifest.as_bytes())),
                manifest.into_bytes(),
                "application/vnd.oci.image.manifest.v1+json",
            ),
            (
                format!("/v2/x/blobs/{}", sha(config.as_bytes())),
                config.into_bytes(),
                "application/octet-stream",
            ),
            (
                format!("/v2/x/blobs/{layer_digest}"),
                layer,
                "application/octet-stream",
            ),
        ];
        let layer_path = format!("/v2/x/blobs/{layer_digest}");
        let layer_downloads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = layer_downloads.clone();
        let released = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let release = released.clone();
        std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Write};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                let mut authorized = false;
                let mut user = false;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    authorized |= h.eq_ignore_ascii_case("authorization: bearer t0k\r\n");
                    // base64("u:pw")
                    user |= h.eq_ignore_ascii_case("authorization: basic dTpwdw==\r\n");
                }
                let send = |s: &mut std::net::TcpStream,
                            status: &str,
                            ctype: &str,
                            body: &[u8],
                            extra: &str| {
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
                        body.len()
                    );
                    let _ = s.write_all(body);
                };
                if path.starts_with("/token?") && answer == LayerAnswer::TokenForUserOnly && !user {
                    send(
                        &mut stream,
                        "401 Unauthorized",
                        "application/json",
                        br#"{"details":"incorrect username or password"}"#,
                        "",
                    );
                    continue;
                }
                if path.starts_with("/token?") {
                    let ok = path.contains("service=fake")
                        && path.contains("scope=repository%3Ax%3Apull");
                    if ok {
                        send(
                            &mut stream,
                            "200 OK",
                            "application/json",
                            br#"{"token":"t0k"}"#,
                            "",
                        );
                    } else {
                        send(
                            &mut stream,
                            "400 Bad Request",
                            "text/plain",
                            b"bad token request",
                            "",
                        );
                    }
                    continue;
                }
                if !authorized {
                    let challenge = format!(
                        "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"fake\",scope=\"repository:x:pull\"\r\n"
                    );
                    send(&mut stream, "401 Unauthorized", "application/json", br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#, &challenge);
                    continue;
                }
                let Some((_, body, ctype)) = blobs.iter().find(|(p, _, _)| *p == path) else {
                    send(
                        &mut stream,
                        "404 Not Found",
                        "application/json",
                        br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
                        "",
                    );
                    continue;
                };
                if path == layer_path && answer == LayerAnswer::Error500 {
                    send(
                        &mut stream,
                        "500 Internal Server Error",
                        "text/plain",
                        b"storage on fire",
                        "",
                    );
                    continue;
                }
                if path == layer_path && answer == LayerAnswer::CloseHalfway {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body[..body.len() / 2]);
                    continue;
                }
                if path == layer_path {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    // Slow enough that concurrent pulls meet here.
                    std::thread::sleep(Duration::from_millis(300));
                    while answer == LayerAnswer::Stalled
                        && !release.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                send(&mut stream, "200 OK", ctype, body, "");
            }
        });
        FakeRegistry {
            host,
            layer: layer_digest,
            layer_downloads,
            released,
        }
    }
}

#[rstest]
fn an_index_behind_a_bearer_token_gives_its_linux_amd64_manifest(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Whole);
    for tag in ["1", "2"] {
        let image = format!("{}/x:{tag}", reg.host);
        ok(&env.md().args(["pull", &image]).output().unwrap());
    }
    let hello = env
        .root
        .join("layers")
        .join(&reg.layer["sha256:".len()..])
        .join("hello");
    assert_eq!(std::fs::read_to_string(hello).unwrap(), "fake\n");
}

#[rstest]
#[case::error_500(LayerAnswer::Error500, "500")]
#[case::closed_mid_blob(LayerAnswer::CloseHalfway, "layer 1")]
#[case::wrong_diff_id(LayerAnswer::WrongDiffId, "layer 1")]
fn a_failing_registry_leaves_nothing_named(
    env: Env,
    #[case] answer: LayerAnswer,
    #[case] word: &str,
) {
    let reg = FakeRegistry::start(answer);
    let image = format!("{}/x:1", reg.host);
    refused(
        &env.md().args(["pull", &image]).output().unwrap(),
        &[&image, word],
    );
    assert_eq!(index_names(&env.root), Vec::<String>::new());
    // A whole blob of the right digest stays for `image prune` (another
    // pull may be about to use it); a broken one is never kept.
    assert!(
        answer == LayerAnswer::WrongDiffId
            || !env
                .root
                .join("blobs/sha256")
                .join(&reg.layer["sha256:".len()..])
                .exists()
    );
    assert!(
        !env.root
            .join("layers")
            .join(&reg.layer["sha256:".len()..])
            .exists()
    );
}

/// On a terminal (here `script`'s pseudo-terminal) a progress bar per
/// layer on stderr, redrawn in place; off a terminal no escape sequence.
#[rstest]
fn a_terminal_gets_a_progress_bar_per_layer(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Whole);
    let image = format!("{}/x:2", reg.host);
    let line = format!(
        "{} --root {} pull {image}",
        crate::harness::bin(),
        env.root.display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("COLUMNS", "120")
        .env("LINES", "40")
        .output()
        .expect("run script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let short = &reg.layer["sha256:".len().."sha256:".len() + 12];
    assert!(text.contains(&format!("{short}: ")), "{text:?}");
    assert!(text.contains("Pull complete"), "{text:?}");
    // The bar, full: `[====...]` and the bytes of the total.
    assert!(text.contains("[=========="), "{text:?}");
    assert!(text.contains("B/"), "{text:?}");
    // Redrawn in place: the cursor moves or the line is cleared.
    assert!(text.contains("\x1b["), "{text:?}");
    // Not a terminal: the summary only, no escape sequence, no bar.
    let quiet = Env::with_root_named("quiet");
    let out = quiet.md().args(["pull", &image]).output().unwrap();
    let all = format!(
        "{}{}",
        stdout_of(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.contains('\x1b') && !all.contains('['), "{all:?}");
    assert_eq!(all.lines().count(), 3, "{all}");
}

/// The re-trial's fault: at 80 columns each layer's line (about 90
/// columns) wrapped to two rows and the redraws went wrong. Every line
/// drawn fits the terminal's width.
#[rstest]
fn progress_lines_fit_an_80_column_terminal(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Whole);
    let image = format!("{}/x:2", reg.host);
    let line = format!(
        "stty cols 80 rows 40; {} --root {} pull {image}",
        crate::harness::bin(),
        env.root.display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
        .expect("run script (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("[=="), "{text:?}");
    // Escape sequences take no column; `\r` and `\n` start a new row.
    let plain = strip_escapes(&text);
    for row in plain.split(['\r', '\n']) {
        assert!(
            row.chars().count() <= 80,
            "{} columns: {row:?}",
            row.chars().count()
        );
    }
}

/// `text` without its CSI escape sequences (`ESC [ ... final byte`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// The trial's fault: `image prune` and `rmi` of another image, run while
/// a pull was downloading a layer, deleted the configuration the pull had
/// already stored; the pull still named the image, which then would not
/// run. What a pull fetched is its own until it names the image, and
/// neither command waits for the download.
#[rstest]
fn prune_and_rmi_during_a_pull_keep_what_it_fetched(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Stalled);
    let image = format!("{}/x:2", reg.host);
    ok(&env
        .md()
        .args(["tag", "busybox", "other:1"])
        .output()
        .unwrap());
    let child = Command::new(crate::harness::bin())
        .arg("--root")
        .arg(&env.root)
        .args(["pull", &image])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the pull to ask for its layer", || {
        (reg.layer_downloads
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0)
        .then_some(())
    });
    ok(&env.md().args(["image", "prune"]).output().unwrap());
    ok(&env.md().args(["rmi", "other:1"]).output().unwrap());
    reg.released
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let out = child.wait_with_output().unwrap();
    assert!(ok(&out).contains(&image), "{}", stdout_of(&out));
    // Every blob the image needs is there: `save` reads them all.
    let archive = env.scratch("saved").join("x.tar");
    ok(&env
        .md()
        .args(["save", "-o"])
        .arg(&archive)
        .arg(&image)
        .output()
        .unwrap());
    let hello = env
        .root
        .join("layers")
        .join(&reg.layer["sha256:".len()..])
        .join("hello");
    assert_eq!(std::fs::read_to_string(hello).unwrap(), "fake\n");
}

/// A registry that does not answer: its URL is said once (ureq's error
/// carried it too, and the trial saw it twice).
#[rstest]
fn an_unreachable_registry_is_named_once(env: Env) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let image = format!("127.0.0.1:{port}/x:1");
    let err = refused(
        &env.md().args(["pull", &image]).output().unwrap(),
        &[&image, "Connection"],
    );
    let url = format!("http://127.0.0.1:{port}/v2/x/manifests/1");
    assert_eq!(err.matches(&url).count(), 1, "{err}");
}

/// The lock file a pull takes per blob (`ROOT/pulls/HEX.lock`) goes when
/// that blob is fetched: none piles up, one per blob ever pulled.
#[rstest]
fn a_pull_leaves_no_lock_files(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Whole);
    ok(&env
        .md()
        .args(["pull", &format!("{}/x:2", reg.host)])
        .output()
        .unwrap());
    let left: Vec<_> = std::fs::read_dir(env.root.join("pulls"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// A pull killed in the middle claims nothing any more: the next `image
/// prune` sweeps its record and frees the blobs it had stored.
#[rstest]
fn a_killed_pull_s_claim_is_swept_by_prune(env: Env) {
    let reg = FakeRegistry::start(LayerAnswer::Stalled);
    let image = format!("{}/x:2", reg.host);
    let mut child = Command::new(crate::harness::bin())
        .arg("--root")
        .arg(&env.root)
        .args(["pull", &image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the pull to ask for its layer", || {
        (reg.layer_downloads
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0)
        .then_some(())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let count = |dir: &str| {
        std::fs::read_dir(env.root.join(dir))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(count("claims"), 1, "the killed pull's record");
    assert!(count("blobs/sha256") > 0, "its configuration");
    ok(&env.md().args(["image", "prune"]).output().unwrap());
    assert_eq!(count("claims"), 0);
    assert_eq!(count("blobs/sha256"), 0);
    // Its layer's lock file, and one of a blob no pull will fetch again,
    // go with the next pull.
    assert_eq!(count("pulls"), 1, "the killed pull's blob lock");
    std::fs::write(
        env.root
            .join("pulls")
            .join(format!("{}.lock", "a".repeat(64))),
        "",
    )
    .unwrap();
    reg.released
        .store(true, std::sync::atomic::Ordering::SeqCst);
    ok(&env.md().args(["pull", &image]).output().unwrap());
    assert_eq!(count("pulls"), 0);
}
