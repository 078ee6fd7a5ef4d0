//! Step 38: the OCI image store. Images are blobs by digest, layers are
//! extracted once per digest and stacked, whiteouts become overlayfs'
//! own, and nothing a container stands on is changed or removed by
//! `commit`, `tag`, `rmi` or `image prune`.

use std::path::PathBuf;

use rstest::rstest;

use crate::harness::{Env, env, ok, stdout_of};

fn refused(out: &std::process::Output, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    for w in words {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
}

/// A tar of `entries`: (path, content; `None` for a directory, whose
/// path ends in `/`). Names are written raw, so `../` entries can be made.
pub(crate) fn tar_of(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let typed: Vec<(&str, tar::EntryType, &[u8])> = entries
        .iter()
        .map(|(path, data)| match data {
            Some(d) => (*path, tar::EntryType::Regular, *d),
            None => (*path, tar::EntryType::Directory, &b""[..]),
        })
        .collect();
    tar_with(&typed)
}

/// The one tar builder of these tests: `entries` (path, type, content),
/// owned by root, mode 0755, time 0; a block device is 8:0 (`/dev/sda`).
fn tar_with(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(0);
        if *kind == tar::EntryType::Block {
            h.set_device_major(8).unwrap();
            h.set_device_minor(0).unwrap();
        }
        let name = path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    mydocker::fs::oci::digest_of(bytes)
}

/// A `docker save` archive of one image `tag` made of `layers` (tars),
/// bottom first; `diff_ids` are what its configuration promises.
fn docker_archive(tag: &str, layers: &[Vec<u8>], diff_ids: &[String]) -> Vec<u8> {
    docker_archive_with(tag, layers, diff_ids, serde_json::json!({"Cmd": ["sh"]}))
}

/// [`docker_archive`] with the image configuration's `config` object.
fn docker_archive_with(
    tag: &str,
    layers: &[Vec<u8>],
    diff_ids: &[String],
    run_config: serde_json::Value,
) -> Vec<u8> {
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": run_config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    docker_archive_of(Some(tag), &serde_json::to_vec(&config).unwrap(), layers)
}

/// An image configuration of the uncompressed `layers` (their diff_ids
/// are their digests), dated `created` when given.
fn config_of(layers: &[Vec<u8>], created: Option<&str>) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    let mut config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    if let Some(c) = created {
        config["created"] = c.into();
    }
    serde_json::to_vec(&config).unwrap()
}

/// A `docker save` archive of one image: its configuration `config`, its
/// `layers` (tars, bottom first), its `RepoTags` `[tag]` (none without).
fn docker_archive_of(tag: Option<&str>, config: &[u8], layers: &[Vec<u8>]) -> Vec<u8> {
    let chex = sha256(config)["sha256:".len()..].to_string();
    let config_name = format!("{chex}.json");
    let paths: Vec<String> = (0..layers.len())
        .map(|i| format!("layer{i}/layer.tar"))
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": tag.map(|t| vec![t]),
        "Layers": paths,
    }]))
    .unwrap();
    let mut files: Vec<(&str, Option<&[u8]>)> = vec![(&config_name, Some(config))];
    files.extend(
        paths
            .iter()
            .zip(layers)
            .map(|(p, l)| (p.as_str(), Some(&l[..]))),
    );
    files.push(("manifest.json", Some(&manifest)));
    tar_of(&files)
}

/// An OCI archive (`oci-layout`, `index.json`, `blobs/sha256/`) of one
/// image: its configuration `config` and its uncompressed `layers`, the
/// index entry annotated `org.opencontainers.image.ref.name` = `ref_name`
/// (none without).
fn oci_archive(ref_name: Option<&str>, config: &[u8], layers: &[Vec<u8>]) -> Vec<u8> {
    let blob = |bytes: &[u8]| format!("blobs/sha256/{}", &sha256(bytes)["sha256:".len()..]);
    let desc = |media: &str, bytes: &[u8]| serde_json::json!({"mediaType": media, "digest": sha256(bytes), "size": bytes.len()});
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", config),
        "layers": layers
            .iter()
            .map(|l| desc("application/vnd.oci.image.layer.v1.tar", l))
            .collect::<Vec<_>>(),
    }))
    .unwrap();
    let mut entry = desc("application/vnd.oci.image.manifest.v1+json", &manifest);
    if let Some(name) = ref_name {
        entry["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": name});
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [entry],
    }))
    .unwrap();
    let mut paths = vec![blob(&manifest), blob(config)];
    paths.extend(layers.iter().map(|l| blob(l)));
    let mut files: Vec<(&str, Option<&[u8]>)> = vec![
        ("oci-layout", Some(br#"{"imageLayoutVersion":"1.0.0"}"#)),
        ("index.json", Some(&index)),
        (&paths[0], Some(&manifest)),
        (&paths[1], Some(config)),
    ];
    files.extend(
        paths[2..]
            .iter()
            .zip(layers)
            .map(|(p, l)| (p.as_str(), Some(&l[..]))),
    );
    tar_of(&files)
}

/// `mydocker load -i ARCHIVE` in `env`.
fn load(env: &Env, archive: &std::path::Path) -> std::process::Output {
    env.md().args(["load", "-i"]).arg(archive).output().unwrap()
}

fn write(env: &Env, name: &str, bytes: &[u8]) -> PathBuf {
    let p = env.scratch("archives").join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The issue's measured fault: `commit web busybox` while another
/// container runs from busybox deleted the layer under it (`/bin/echo`:
/// No such file or directory). The name moves; the layers stay.
#[rstest]
fn commit_to_the_name_another_container_runs_from_leaves_it_intact(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    env.run_d(&["--name", "other"], &["sleep", "1000"]);
    env.run_d(
        &["--name", "web"],
        &["sh", "-c", "echo new > /new; sleep 1000"],
    );
    crate::harness::wait_for("web's file", || {
        (stdout_of(&md(&["exec", "web", "cat", "/new"])) == "new\n").then_some(())
    });
    ok(&md(&["commit", "web", "busybox"]));
    assert_eq!(
        ok(&md(&["exec", "other", "/bin/echo", "still here"])),
        "still here\n"
    );
    // The name now means the committed image; `other` still stands on the old one.
    env.run_image("busybox", &[], &["cat", "/new"])
        .assert()
        .success()
        .stdout("new\n");
    assert!(
        !md(&["exec", "other", "test", "-e", "/new"])
            .status
            .success()
    );
    ok(&md(&["tag", "busybox", "retagged:v1"]));
    ok(&md(&["rmi", "-f", "busybox"]));
    ok(&md(&["image", "prune"]));
    assert_eq!(
        ok(&md(&["exec", "other", "/bin/echo", "still here"])),
        "still here\n"
    );
    ok(&md(&["rm", "-f", "other", "web"]));
}

/// A stopped container starts again (step 37) on the layers it was made
/// from, whatever became of its image's name since: committed over, or
/// removed with `rmi -f` and pruned.
#[rstest]
fn start_uses_the_containers_own_layers_not_the_names_new_image(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    env.run_d(&["--name", "old"], &["sh", "-c", "test ! -e /new"]);
    assert_eq!(stdout_of(&md(&["wait", "old"])), "0\n");
    env.run_d(&["--name", "web"], &["sh", "-c", "echo new > /new"]);
    assert_eq!(stdout_of(&md(&["wait", "web"])), "0\n");
    ok(&md(&["commit", "web", "busybox"]));
    // Still the old image's files under `old`: /new is not there.
    let again = md(&["start", "-a", "old"]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    ok(&md(&["rmi", "-f", "busybox"]));
    ok(&md(&["image", "prune"]));
    let again = md(&["start", "-a", "old"]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    ok(&md(&["rm", "-f", "old", "web"]));
}

/// OCI and Docker whiteouts in an upper layer hide the lower layer's
/// files (`.wh.NAME`) and a directory's whole content (`.wh..wh..opq`).
#[rstest]
fn whiteouts_of_an_upper_layer_hide_the_lower_layers_files(env: Env) {
    let busybox = std::fs::read(crate::harness::busybox_tar()).unwrap();
    let lower = tar_of(&[
        ("gone", Some(b"old")),
        ("d/", None),
        ("d/old", Some(b"old")),
        ("kept", Some(b"kept")),
    ]);
    let upper = tar_of(&[
        (".wh.gone", Some(b"")),
        ("d/", None),
        ("d/.wh..wh..opq", Some(b"")),
        ("d/new", Some(b"new")),
    ]);
    let ids = [sha256(&busybox), sha256(&lower), sha256(&upper)];
    let archive = write(
        &env,
        "three.tar",
        &docker_archive("three:layers", &[busybox, lower, upper], &ids),
    );
    let out = ok(&load(&env, &archive));
    assert_eq!(out, "Loaded image: three:layers\n");
    env.run_image(
        "three:layers",
        &[],
        &["sh", "-c", "ls / | grep -c '^gone$'; ls /d; cat /kept"],
    )
    .assert()
    .stdout("0\nnew\nkept");
    // Each layer is its own directory, and the whiteouts are overlayfs'.
    let layer = env.root.join("layers").join(&ids[2]["sha256:".len()..]);
    let meta = std::fs::symlink_metadata(layer.join("gone")).unwrap();
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(meta.file_type().is_char_device() && meta.rdev() == 0);
    assert_eq!(
        xattr::get(layer.join("d"), "trusted.overlay.opaque")
            .unwrap()
            .as_deref(),
        Some(&b"y"[..])
    );
}

/// `commit` packs the write layer with its deletions as `.wh.` entries,
/// one layer on top of the image's.
#[rstest]
fn commit_adds_one_layer_with_the_containers_deletions(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    env.run_d(
        &["--name", "del"],
        &["sh", "-c", "rm /bin/vi; echo made > /made"],
    );
    env.wait_exited("del");
    ok(&md(&["commit", "del", "deleted:1"]));
    env.run_image(
        "deleted:1",
        &[],
        &["sh", "-c", "test -e /bin/vi || cat /made"],
    )
    .assert()
    .success()
    .stdout("made\n");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.root.join("index.json")).unwrap()).unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "deleted:1")
        .expect("deleted:1 in index.json");
    let blob = |d: &str| env.root.join("blobs/sha256").join(&d["sha256:".len()..]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(entry["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{manifest}");
    let top = std::fs::File::open(blob(layers[1]["digest"].as_str().unwrap())).unwrap();
    let names: Vec<String> = tar::Archive::new(top)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.iter().any(|n| n == "bin/.wh.vi"), "{names:?}");
    assert!(names.iter().any(|n| n == "made"), "{names:?}");
    ok(&md(&["rm", "del"]));
}

#[rstest]
fn rmi_of_an_image_in_use_is_refused_and_forced_keeps_its_layers(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    env.run_d(&["--name", "user1"], &["sleep", "1000"]);
    refused(&md(&["rmi", "busybox"]), &["busybox:latest", "user1"]);
    ok(&md(&["rmi", "-f", "busybox"]));
    assert!(!ok(&md(&["images"])).contains("busybox"));
    ok(&md(&["image", "prune"]));
    let layers = || std::fs::read_dir(env.root.join("layers")).unwrap().count();
    assert_eq!(layers(), 1, "the container's layer stays");
    assert_eq!(ok(&md(&["exec", "user1", "echo", "ok"])), "ok\n");
    ok(&md(&["rm", "-f", "user1"]));
    ok(&md(&["image", "prune"]));
    assert_eq!(layers(), 0, "pruned once no container uses it");
    // Blobs of nothing at all are gone too.
    assert_eq!(
        std::fs::read_dir(env.root.join("blobs/sha256"))
            .unwrap()
            .count(),
        0
    );
}

/// `rmi A B C` with B missing removes A and C, reports B, and exits 125,
/// as `rm` and `stop` do with several containers (Docker's `rmi` too goes
/// on past an error).
#[rstest]
fn rmi_of_several_goes_on_past_an_error(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    ok(&md(&["tag", "busybox", "a:1"]));
    ok(&md(&["tag", "busybox", "c:1"]));
    let out = md(&["rmi", "a:1", "nosuch:1", "c:1"]);
    refused(&out, &["nosuch:1"]);
    let said = stdout_of(&out);
    assert!(said.contains("Untagged: a:1"), "{said}");
    assert!(said.contains("Untagged: c:1"), "{said}");
    let left = ok(&md(&["images"]));
    assert!(
        !left
            .lines()
            .any(|l| l.starts_with("a ") || l.starts_with("c ")),
        "{left}"
    );
    assert!(left.contains("busybox"), "{left}");
}

#[rstest]
fn images_lists_docker_columns_and_json(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    ok(&md(&["tag", "busybox", "mine/bb:v2"]));
    let table = ok(&md(&["images"]));
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(header, ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert_eq!(&rows[0][..2], ["busybox", "latest"]);
    assert_eq!(&rows[1][..2], ["mine/bb", "v2"]);
    assert_eq!(rows[0][2], rows[1][2], "one image, two names");
    let json = ok(&md(&["images", "--format", "json"]));
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(first["Repository"], "busybox");
    assert_eq!(first["Tag"], "latest");
}

/// Bad input: nothing is registered, the error names the image and entry.
#[rstest]
#[case::parent_dir(&[("../evil", Some(&b"x"[..]))], "../evil")]
#[case::absolute(&[("/evil", Some(&b"x"[..]))], "/evil")]
fn import_refuses_entries_leading_out(
    env: Env,
    #[case] entries: &[(&str, Option<&[u8]>)],
    #[case] entry: &str,
) {
    let tar = write(&env, "bad.tar", &tar_of(entries));
    let out = env
        .md()
        .args(["import"])
        .arg(&tar)
        .arg("bad:1")
        .output()
        .unwrap();
    refused(&out, &["image bad:1", entry]);
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("bad"));
}

/// A tar of one link `link` -> `target` (hard or symbolic) followed by
/// the regular files `files`.
fn tar_with_link(
    link: &str,
    target: &str,
    kind: tar::EntryType,
    files: &[(&str, &[u8])],
) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_link(&mut h, link, target).unwrap();
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// The trial's weak messages: a refused layer named the temporary
/// directory it was extracted in (`.extract-...`) instead of the entry
/// and the layer; an xz file was "numeric field did not have utf-8
/// text ... cksum".
#[rstest]
#[case::through_a_symlink(
    tar_with_link("l", "/", tar::EntryType::Symlink, &[("l/x", b"x")]),
    &["image bad:1", "layer sha256:", "\"l/x\"", "outside"]
)]
#[case::hard_link_to_nothing(
    tar_with_link("h", "nothere", tar::EntryType::Link, &[]),
    &["image bad:1", "layer sha256:", "\"h\"", "No such file"]
)]
#[case::not_a_tar(vec![7u8; 2048], &["image bad:1", "not a tar archive"])]
#[case::xz(
    [&[0xfd, b'7', b'z', b'X', b'Z', 0][..], &[1u8; 100][..]].concat(),
    &["bad.tar", "xz", "plain, gzip or zstd"]
)]
fn import_errors_name_the_layer_and_entry_not_temporaries(
    env: Env,
    #[case] bytes: Vec<u8>,
    #[case] words: &[&str],
) {
    let tar = write(&env, "bad.tar", &bytes);
    let out = env
        .md()
        .args(["import"])
        .arg(&tar)
        .arg("bad:1")
        .output()
        .unwrap();
    refused(&out, words);
    let err = String::from_utf8_lossy(&out.stderr);
    for never in [".extract-", "cksum", env.root.to_str().unwrap()] {
        assert!(!err.contains(never), "{never:?} in {err}");
    }
}

/// `save -o` into a missing directory names the user's path, not the
/// temporary file beside it.
#[rstest]
fn save_into_a_missing_directory_names_the_path(env: Env) {
    let target = env.scratch("out").join("missing/x.tar");
    let out = env
        .md()
        .args(["save", "-o"])
        .arg(&target)
        .arg("busybox")
        .output()
        .unwrap();
    refused(&out, &[target.to_str().unwrap(), "No such file"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains(".mydocker-save-"), "{err}");
}

#[rstest]
fn import_refuses_device_nodes(env: Env) {
    let tar = write(
        &env,
        "dev.tar",
        &tar_with(&[("dev/sda", tar::EntryType::Block, b"")]),
    );
    let out = env
        .md()
        .args(["import"])
        .arg(&tar)
        .arg("dev")
        .output()
        .unwrap();
    refused(&out, &["image dev:latest", "dev/sda", "device"]);
    assert!(!env.root.join("dev/sda").exists());
}

#[rstest]
fn load_refuses_a_layer_of_another_digest(env: Env) {
    let layer = tar_of(&[("f", Some(b"real"))]);
    let promised = sha256(&tar_of(&[("f", Some(b"fake"))]));
    let archive = write(
        &env,
        "tampered.tar",
        &docker_archive("tampered:1", &[layer], std::slice::from_ref(&promised)),
    );
    let out = load(&env, &archive);
    refused(&out, &["tampered:1", &promised]);
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("tampered"));
}

/// The re-trial's fault: an archive cut short said only `failed to write
/// entire file`. The error says the archive ends early and names it.
#[rstest]
fn a_truncated_archive_is_named_as_ending_early(env: Env) {
    let layer = tar_of(&[("f", Some(&[7u8; 6000][..]))]);
    let id = sha256(&layer);
    let whole = docker_archive("cut:1", &[layer], std::slice::from_ref(&id));
    let archive = write(&env, "trunc.tar", &whole[..whole.len() / 2]);
    let out = load(&env, &archive);
    refused(&out, &["trunc.tar", "ends early"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("failed to write"), "{err}");
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("cut"));
}

/// `save` then `load` into another root: the same image, by digest.
#[rstest]
fn save_then_load_gives_the_same_image(env: Env) {
    let archive = env.scratch("out").join("bb.tar");
    ok(&env
        .md()
        .args(["save", "-o"])
        .arg(&archive)
        .arg("busybox")
        .output()
        .unwrap());
    let names: Vec<String> = tar::Archive::new(std::fs::File::open(&archive).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    for n in ["manifest.json", "index.json", "oci-layout"] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    let other = Env::with_root_named("other");
    ok(&load(&other, &archive));
    let id = |e: &Env| {
        ok(&e
            .md()
            .args(["images", "--format", "json"])
            .output()
            .unwrap())
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["ID"].to_string())
        .collect::<Vec<_>>()
    };
    assert_eq!(id(&env), id(&other));
    other
        .run_image("busybox", &[], &["echo", "loaded"])
        .assert()
        .success()
        .stdout("loaded\n");
}

/// An image ID (or a unique prefix) names the image in `run`, `tag` and
/// `rmi`, as in Docker; `rmi ID` of an image with two names needs -f.
#[rstest]
fn an_image_id_names_the_image(env: Env) {
    ok(&env
        .md()
        .args(["tag", "busybox", "t38-id:1"])
        .output()
        .unwrap());
    let listed = ok(&env.md().arg("images").output().unwrap());
    let id = listed
        .lines()
        .find(|l| l.starts_with("t38-id "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("no t38-id row: {listed}"))
        .to_string();
    env.run_image(&id[..8], &[], &["echo", "by id"])
        .assert()
        .success()
        .stdout("by id\n");
    ok(&env
        .md()
        .args(["tag", &format!("sha256:{id}"), "t38-id:2"])
        .output()
        .unwrap());
    refused(
        &env.md().args(["rmi", &id]).output().unwrap(),
        &["more than one name", "t38-id:1", "-f"],
    );
    let out = ok(&env.md().args(["rmi", "-f", &id]).output().unwrap());
    for name in ["busybox:latest", "t38-id:1", "t38-id:2"] {
        assert!(out.contains(&format!("Untagged: {name}")), "{out}");
    }
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("t38-id"));
}

/// An OCI archive whose layers are zstd-compressed (`tar+zstd`, as
/// `skopeo copy --dest-compress-format zstd` writes them) loads and runs.
#[rstest]
fn an_oci_archive_with_zstd_layers_loads_and_runs(env: Env) {
    let dir = env.scratch("zstd");
    let archive = dir.join("bb.tar");
    ok(&env
        .md()
        .args(["save", "-o"])
        .arg(&archive)
        .arg("busybox")
        .output()
        .unwrap());
    let oci = dir.join("zbox.tar");
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--dest-compress-format",
            "zstd",
            "--dest-compress",
        ])
        .arg(format!("docker-archive:{}", archive.display()))
        .arg(format!("oci-archive:{}:zbox:1", oci.display()))
        .output()
        .expect("run skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut layer_types = Vec::new();
    for e in tar::Archive::new(std::fs::File::open(&oci).unwrap())
        .entries()
        .unwrap()
    {
        let mut e = e.unwrap();
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut e, &mut text).is_ok()
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(layers) = v["layers"].as_array()
        {
            layer_types.extend(layers.iter().map(|l| l["mediaType"].to_string()));
        }
    }
    assert_eq!(
        layer_types,
        ["\"application/vnd.oci.image.layer.v1.tar+zstd\""],
        "skopeo wrote no zstd layer"
    );
    let other = Env::with_root_named("other");
    let out = ok(&other.md().args(["load", "-i"]).arg(&oci).output().unwrap());
    assert!(out.contains("Loaded image: zbox:1"), "{out}");
    other
        .run_image("zbox:1", &[], &["echo", "zstd"])
        .assert()
        .success()
        .stdout("zstd\n");
}

/// The image's configuration is honoured: Entrypoint + Cmd with no
/// command, Env under `-e`, WorkingDir, User; `--entrypoint` and `-w`
/// override.
#[rstest]
fn run_honours_the_image_configuration(env: Env) {
    let busybox = std::fs::read(crate::harness::busybox_tar()).unwrap();
    let id = sha256(&busybox);
    let archive = write(
        &env,
        "configured.tar",
        &docker_archive_with(
            "configured:1",
            &[busybox],
            &[id],
            serde_json::json!({
                "Entrypoint": ["sh", "-c"],
                "Cmd": ["echo \"$(id -u) $(pwd) $FOO $BAR\""],
                "Env": ["PATH=/bin", "FOO=image", "BAR=image"],
                "WorkingDir": "/work/dir",
                "User": "1234",
            }),
        ),
    );
    ok(&load(&env, &archive));
    env.run_image("configured:1", &["-e", "BAR=flag"], &[])
        .assert()
        .success()
        .stdout("1234 /work/dir image flag\n");
    env.run_image(
        "configured:1",
        &["-w", "/tmp", "-u", "0"],
        &["echo $(id -u) $(pwd)"],
    )
    .assert()
    .success()
    .stdout("0 /tmp\n");
    env.run_image("configured:1", &["--entrypoint", "echo"], &["plain"])
        .assert()
        .success()
        .stdout("plain\n");
    // Everything after the image is the command, flags included (Docker:
    // `docker run IMAGE --version`, `sh -c` as the Entrypoint's argument):
    // `-c` and `-m` are mydocker's flags too, but not after the image.
    env.run_image(
        "configured:1",
        &["--entrypoint", "sh"],
        &["-c", "echo dash"],
    )
    .assert()
    .success()
    .stdout("dash\n");
    env.run_image("configured:1", &["--entrypoint", "echo"], &["-m", "5"])
        .assert()
        .success()
        .stdout("-m 5\n");
    // busybox as imported has no configuration: no command is refused.
    let out = env.md().args(["run", "busybox"]).output().unwrap();
    refused(&out, &["image busybox", "no command"]);
}

/// `import` of a flat root filesystem: a one-layer image that runs; the
/// image ID printed is the one `images` lists.
#[rstest]
fn an_imported_root_filesystem_runs(env: Env) {
    let out = env
        .md()
        .arg("import")
        .arg(crate::harness::busybox_tar())
        .arg("imported/bb:1")
        .output()
        .unwrap();
    let id = ok(&out);
    assert!(id.starts_with("sha256:") && id.len() == 72, "{id:?}");
    env.run_image("imported/bb:1", &[], &["echo", "imported"])
        .assert()
        .success()
        .stdout("imported\n");
    let json = ok(&env
        .md()
        .args(["images", "--format", "json"])
        .output()
        .unwrap());
    assert!(json.contains(id.trim()), "{json}");
}

/// `save`'s archive is one `podman load` takes, with the same image ID
/// and manifest digest (podman with its own storage in the test's
/// directory, the vfs driver: nothing mounted).
#[rstest]
fn podman_loads_a_saved_image_with_the_same_id(env: Env) {
    crate::tools::require_tool("podman");
    let archive = env.scratch("archives").join("bb.tar");
    ok(&env
        .md()
        .args(["save", "-o"])
        .arg(&archive)
        .arg("busybox")
        .output()
        .unwrap());
    let dir = env.scratch("podman");
    let podman = |args: &[&str]| {
        std::process::Command::new("podman")
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .arg("--tmpdir")
            .arg(dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--events-backend", "none"])
            .args(args)
            .output()
            .expect("run podman")
    };
    let loaded = ok(&podman(&["load", "-q", "-i", archive.to_str().unwrap()]));
    assert!(loaded.contains("busybox:latest"), "{loaded}");
    let ours: serde_json::Value = serde_json::from_str(&ok(&env
        .md()
        .args(["images", "--format", "json"])
        .output()
        .unwrap()))
    .unwrap();
    let theirs = ok(&podman(&[
        "images",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.Digest}}",
    ]));
    assert_eq!(
        theirs.trim(),
        format!(
            "{} {}",
            ours["ID"].as_str().unwrap(),
            ours["Digest"].as_str().unwrap()
        )
    );
}

/// What the store's temporaries are named like: layers being extracted,
/// blobs being written, the index being replaced, an archive being loaded,
/// a layer being committed.
fn store_temporaries(env: &Env) -> Vec<String> {
    let mut left = Vec::new();
    for dir in [
        env.root.join("layers"),
        env.root.join("blobs/sha256"),
        env.root.clone(),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let temporary = [
                ".extract-",
                ".incoming-",
                ".index.json.",
                ".oci-layout.",
                ".load-",
                ".commit-",
            ]
            .iter()
            .any(|p| name.starts_with(p));
            if temporary {
                left.push(e.path().display().to_string());
            }
        }
    }
    left
}

/// A one-layer image archive `tag` whose layer holds `files` small files
/// (different bytes for each `tag`, so each is a new layer to extract),
/// and the layer's digest.
fn many_files_archive(tag: &str, files: usize) -> (Vec<u8>, String) {
    let names: Vec<String> = (0..files).map(|i| format!("d/f{i}")).collect();
    let mut entries: Vec<(&str, Option<&[u8]>)> = vec![("d/", None)];
    entries.extend(names.iter().map(|n| (n.as_str(), Some(tag.as_bytes()))));
    let layer = tar_of(&entries);
    let id = sha256(&layer);
    (docker_archive(tag, &[layer], std::slice::from_ref(&id)), id)
}

/// Temporaries a killed writer left (nobody holds them) are swept by the
/// next command that writes there, and by `image prune`.
#[rstest]
fn temporaries_a_killed_load_left_are_swept(env: Env) {
    let plant = || {
        let layers = env.root.join("layers/.extract-dead");
        std::fs::create_dir_all(layers.join("d")).unwrap();
        std::fs::write(layers.join("d/f"), b"half").unwrap();
        std::fs::create_dir_all(env.root.join("blobs/sha256")).unwrap();
        std::fs::write(env.root.join("blobs/sha256/.incoming-dead"), b"half").unwrap();
        std::fs::create_dir_all(env.root.join(".load-dead/layer0")).unwrap();
        std::fs::write(env.root.join(".commit-dead"), b"half").unwrap();
    };
    plant();
    let archive = write(&env, "new.tar", &many_files_archive("fresh:1", 3).0);
    ok(&load(&env, &archive));
    assert_eq!(store_temporaries(&env), Vec::<String>::new(), "after load");
    plant();
    ok(&env.md().args(["image", "prune"]).output().unwrap());
    assert_eq!(store_temporaries(&env), Vec::<String>::new(), "after prune");
}

/// `load` killed with SIGKILL at any instant leaves the image whole or
/// absent, and once another command ran no temporary of the store is
/// left; `images`, `rmi` and `image prune` still work.
#[rstest]
fn a_load_killed_at_any_instant_leaves_no_temporaries(env: Env) {
    use std::time::Duration;
    let mut whole = 0;
    for n in 0..16u64 {
        let tag = format!("killed{n}:1");
        let (archive, layer) = many_files_archive(&tag, 400);
        let archive = write(&env, &format!("k{n}.tar"), &archive);
        let args = env.root_args(&["load", "-i", archive.to_str().unwrap()]);
        // From at once to past the end of a load, about 250 ms here
        // (0, 2, 8, ... 450 ms).
        env.spawn_and_kill_after(&args, Duration::from_micros(2000 * n * n));
        if ok(&env.md().arg("images").output().unwrap()).contains(&format!("killed{n} ")) {
            whole += 1;
            // Named only once its layer is whole.
            let dir = env.root.join("layers").join(&layer["sha256:".len()..]);
            assert_eq!(std::fs::read(dir.join("d/f399")).unwrap(), tag.as_bytes());
        }
    }
    // A load that is not killed sweeps what the killed ones left.
    let last = write(&env, "last.tar", &many_files_archive("last:1", 3).0);
    ok(&load(&env, &last));
    assert_eq!(store_temporaries(&env), Vec::<String>::new());
    let listed = ok(&env.md().arg("images").output().unwrap());
    for line in listed.lines().skip(1) {
        let name = line
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(":");
        ok(&env.md().args(["rmi", &name]).output().unwrap());
    }
    ok(&env.md().args(["image", "prune"]).output().unwrap());
    assert_eq!(
        ok(&env.md().arg("images").output().unwrap())
            .lines()
            .count(),
        1
    );
    for dir in ["layers", "blobs/sha256"] {
        let left: Vec<_> = std::fs::read_dir(env.root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "left in {dir}: {left:?}");
    }
    eprintln!("{whole} of 16 killed loads left a whole image");
}

/// A real distribution's root filesystem runs: Debian bookworm as
/// debootstrap's minbase makes it (`harness::debian_tar`, built once per
/// machine), imported, runs its own apt and dpkg, and `-u` resolves a
/// user that only its `/etc/passwd` knows.
#[rstest]
fn an_imported_debian_minbase_runs_its_apt_dpkg_and_users(env: Env) {
    let tar = crate::harness::debian_tar();
    // 120 MB of files: longer than the harness's minute on a loaded machine.
    ok(&env
        .md()
        .timeout(std::time::Duration::from_secs(600))
        .arg("import")
        .arg(tar)
        .arg("debian-minbase:bookworm")
        .output()
        .unwrap());
    let image = "debian-minbase:bookworm";

    let apt = stdout_of(
        &env.run_image(image, &[], &["apt-get", "--version"])
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    assert!(apt.starts_with("apt "), "{apt}");

    let count = stdout_of(
        &env.run_image(image, &[], &["sh", "-c", "dpkg -l | wc -l"])
            .assert()
            .success()
            .get_output()
            .clone(),
    );
    let count: usize = count.trim().parse().expect("a count of lines");
    assert!(count > 50, "dpkg -l listed {count} lines");

    // `_apt` is a user of Debian's own (busybox has none such): its uid and
    // group as the image's /etc/passwd gives them.
    let passwd = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(tar)
        .arg("./etc/passwd")
        .output()
        .unwrap();
    let passwd = String::from_utf8_lossy(&passwd.stdout).to_string();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("_apt:"))
        .unwrap_or_else(|| panic!("no _apt in the image's /etc/passwd: {passwd}"));
    let fields: Vec<&str> = line.split(':').collect();
    let (uid, gid) = (fields[2], fields[3]);
    env.run_image(image, &["-u", "_apt"], &["id"])
        .assert()
        .success()
        .stdout(format!(
            "uid={uid}(_apt) gid={gid}(nogroup) groups={gid}(nogroup)\n"
        ));
}

/// The images' rows of `images` in `env`, columns split.
fn image_rows(env: &Env) -> Vec<Vec<String>> {
    ok(&env.md().arg("images").output().unwrap())
        .lines()
        .skip(1)
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

/// A configuration whose `rootfs.diff_ids` names another digest than its
/// layer's uncompressed bytes is refused, as containerd refuses it
/// ("wrong diff id"): 125 naming the image and the layer, no name, no
/// extracted directory; also when the layer was already extracted for a
/// correct image.
#[rstest]
fn an_oci_archive_whose_diff_id_lies_is_refused(env: Env) {
    let layer = tar_of(&[("f", Some(b"real"))]);
    let lie = sha256(&tar_of(&[("f", Some(b"fake"))]));
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [lie]},
    }))
    .unwrap();
    let bad = write(
        &env,
        "lie.tar",
        &oci_archive(Some("t38-lie:1"), &config, std::slice::from_ref(&layer)),
    );
    let layer_dir = env.root.join("layers").join(&sha256(&layer)[7..]);
    refused(&load(&env, &bad), &["t38-lie:1", "layer 1", &lie]);
    assert!(!layer_dir.exists(), "the refused layer stayed extracted");
    assert_eq!(store_temporaries(&env), Vec::<String>::new());
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("t38-lie"));
    let good = write(
        &env,
        "good.tar",
        &oci_archive(
            Some("t38-true:1"),
            &config_of(std::slice::from_ref(&layer), None),
            std::slice::from_ref(&layer),
        ),
    );
    ok(&load(&env, &good));
    assert!(layer_dir.is_dir());
    refused(&load(&env, &bad), &["t38-lie:1", "layer 1", &lie]);
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("t38-lie"));
}

/// An archive without a name (`docker save` of an image ID, `skopeo copy`
/// to `docker-archive:` without one, an OCI layout without ref.name) loads
/// as Docker loads it: `Loaded image ID: sha256:...`, listed `<none>
/// <none>`, usable by its ID.
#[rstest]
fn an_archive_without_a_name_loads_by_its_id(env: Env) {
    let busybox = std::fs::read(crate::harness::busybox_tar()).unwrap();
    let layers = [busybox];
    let docker_config = config_of(&layers, Some("2024-01-02T03:04:05Z"));
    let oci_config = config_of(&layers, Some("2024-01-02T03:04:06Z"));
    for (archive, config) in [
        (
            docker_archive_of(None, &docker_config, &layers),
            &docker_config,
        ),
        (oci_archive(None, &oci_config, &layers), &oci_config),
    ] {
        let id = sha256(config);
        let out = ok(&load(&env, &write(&env, "unnamed.tar", &archive)));
        assert_eq!(out, format!("Loaded image ID: {id}\n"));
        let rows = image_rows(&env);
        assert!(
            rows.iter()
                .any(|r| r[..3] == ["<none>", "<none>", &id[7..19]]),
            "{rows:?}"
        );
        env.run_image(&id[7..19], &[], &["echo", "by id"])
            .assert()
            .success()
            .stdout("by id\n");
    }
    // A tag names it (no <none> row is left); rmi ID removes it.
    let (docker_id, oci_id) = (sha256(&docker_config), sha256(&oci_config));
    ok(&env
        .md()
        .args(["tag", &docker_id[7..19], "t38-named:1"])
        .output()
        .unwrap());
    ok(&env.md().args(["rmi", &oci_id]).output().unwrap());
    let rows = image_rows(&env);
    assert!(!rows.iter().any(|r| r[0] == "<none>"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r[..3] == ["t38-named", "1", &docker_id[7..19]])
    );
}
/// SIZE is the unpacked size, as Docker shows it, whichever way one image
/// arrived (imported: an uncompressed layer; loaded from skopeo's
/// gzip-compressed OCI archive); CREATED is N/A for a configuration
/// without a date.
#[rstest]
fn images_shows_the_unpacked_size_and_na_without_a_date(env: Env) {
    let busybox = std::fs::read(crate::harness::busybox_tar()).unwrap();
    let layers = [busybox];
    let config = config_of(&layers, None);
    let dir = env.scratch("sizes");
    let plain = dir.join("plain.tar");
    std::fs::write(&plain, oci_archive(Some("t38-size:1"), &config, &layers)).unwrap();
    ok(&load(&env, &plain));
    let gz = dir.join("gz.tar");
    let out = std::process::Command::new("skopeo")
        .args(["copy", "-q", "--dest-compress"])
        .arg(format!("oci-archive:{}", plain.display()))
        .arg(format!("oci-archive:{}:t38-size-gz:1", gz.display()))
        .output()
        .expect("run skopeo (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other = Env::with_root_named("other");
    ok(&load(&other, &gz));
    let row = |e: &Env, repo: &str| {
        image_rows(e)
            .into_iter()
            .find(|r| r[0] == repo)
            .unwrap_or_else(|| panic!("no {repo} row"))
    };
    let (a, b) = (row(&env, "t38-size"), row(&other, "t38-size-gz"));
    assert_eq!(a[2], b[2], "not one image");
    assert_eq!(a[3], "N/A");
    assert_eq!(a[4], b[4], "one image, two sizes");
    // The unpacked size: the files' bytes, not the tar's with its headers.
    let files: u64 = tar::Archive::new(&layers[0][..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().header().entry_size().unwrap())
        .sum();
    assert_eq!(a[4], mydocker::format::human_size(files), "{a:?}");
}

/// Names as Docker's reference grammar reads them: errors quote the whole
/// name and say what is wrong with it; an OCI layout whose ref.name is a
/// tag alone (`skopeo copy ... oci-archive:F:v1`) names no repository, so
/// the image loads unnamed, by its ID.
#[rstest]
fn names_follow_dockers_grammar(env: Env) {
    let tag = |target: &str| env.md().args(["tag", "busybox", target]).output().unwrap();
    refused(&tag("a//b"), &["\"a//b\"", "empty"]);
    refused(
        &tag("App:1"),
        &["\"App:1\"", "repository name must be lowercase"],
    );
    refused(&tag("bb:1:2"), &["\"bb:1:2\"", "a tag is"]);
    let long = format!("t38/{}", "n".repeat(251));
    ok(&tag(&long));
    refused(&tag(&format!("{long}n")), &["255"]);
    let layers = [std::fs::read(crate::harness::busybox_tar()).unwrap()];
    let config = config_of(&layers, Some("2024-01-02T03:04:07Z"));
    let archive = write(&env, "v1.tar", &oci_archive(Some("v1"), &config, &layers));
    let out = ok(&load(&env, &archive));
    assert_eq!(out, format!("Loaded image ID: {}\n", sha256(&config)));
    assert!(!image_rows(&env).iter().any(|r| r[0] == "v1"));
}

/// Docker's shorthands: `images -q` (an ID per row), `images
/// REPOSITORY[:TAG]` (that repository's rows), `image ls` and `image rm`
/// (`images`, `rmi`), and `load` reading its archive from stdin without
/// `-i` (or with `-i -`).
#[rstest]
fn images_quiet_and_by_repository_image_aliases_and_load_from_stdin(env: Env) {
    let md = |args: &[&str]| ok(&env.md().args(args).output().unwrap());
    md(&["tag", "busybox", "t38-q:1"]);
    md(&["tag", "busybox", "t38-q:2"]);
    let rows = image_rows(&env);
    let quiet = md(&["images", "-q"]);
    let ids: Vec<&str> = quiet.lines().collect();
    assert_eq!(ids.len(), rows.len(), "{quiet}");
    assert!(
        ids.iter()
            .all(|i| i.len() == 12 && i.bytes().all(|b| b.is_ascii_hexdigit())),
        "{quiet}"
    );
    let repo = md(&["images", "t38-q"]);
    assert_eq!(repo.lines().count(), 3, "{repo}");
    assert!(
        repo.lines().skip(1).all(|l| l.starts_with("t38-q ")),
        "{repo}"
    );
    let one = md(&["images", "-q", "t38-q:2"]);
    assert_eq!(one.lines().collect::<Vec<_>>(), [ids[0]], "{one}");
    assert_eq!(md(&["image", "ls"]), md(&["images"]));
    assert_eq!(md(&["image", "rm", "t38-q:2"]), "Untagged: t38-q:2\n");
    let archive = env.scratch("stdin").join("q.tar");
    md(&["save", "-o", archive.to_str().unwrap(), "t38-q:1"]);
    for args in [&["load"][..], &["load", "-i", "-"][..]] {
        let other = Env::with_root_named("other");
        let out = other
            .md()
            .args(args)
            .pipe_stdin(&archive)
            .unwrap()
            .output()
            .unwrap();
        assert_eq!(ok(&out), "Loaded image: t38-q:1\n");
    }
}

/// `save` as Docker: several images in one archive (one entry per image,
/// its names together), an image given by ID saved without a name, and
/// the archive on stdout when there is no `-o` (stdout not a terminal).
/// `load` gives them back as they were.
#[rstest]
fn save_writes_several_images_and_ids_to_stdout(env: Env) {
    let md = |args: &[&str]| ok(&env.md().args(args).output().unwrap());
    md(&["tag", "busybox", "t38-s:1"]);
    md(&["tag", "busybox", "t38-s:2"]);
    let small = [tar_of(&[("f", Some(b"small"))])];
    let small_config = config_of(&small, Some("2024-01-02T03:04:08Z"));
    let archive = docker_archive_of(Some("t38-s2:1"), &small_config, &small);
    ok(&load(&env, &write(&env, "s2.tar", &archive)));
    let busybox = [std::fs::read(crate::harness::busybox_tar()).unwrap()];
    let unnamed_config = config_of(&busybox, Some("2024-01-02T03:04:09Z"));
    let unnamed = sha256(&unnamed_config);
    let archive = oci_archive(None, &unnamed_config, &busybox);
    ok(&load(&env, &write(&env, "unnamed.tar", &archive)));
    let out = env
        .md()
        .args(["save", "t38-s:1", "t38-s2:1", "t38-s:2", &unnamed[7..19]])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = env.scratch("saved").join("all.tar");
    std::fs::write(&saved, &out.stdout).unwrap();
    let other = Env::with_root_named("other");
    let loaded = ok(&load(&other, &saved));
    assert_eq!(
        loaded,
        format!(
            "Loaded image: t38-s:1\nLoaded image: t38-s:2\nLoaded image: t38-s2:1\nLoaded image ID: {unnamed}\n"
        )
    );
    other
        .run_image("t38-s:2", &[], &["echo", "saved"])
        .assert()
        .success()
        .stdout("saved\n");
}

/// `inspect IMAGE` (when no container has that name) and `image inspect
/// IMAGE`: the image as JSON with Docker's field names, `-f` as for
/// containers; an unknown image is 125.
#[rstest]
fn inspect_shows_an_image(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    ok(&md(&["tag", "busybox", "t38-i:1"]));
    let doc: serde_json::Value = serde_json::from_str(&ok(&md(&["inspect", "t38-i:1"]))).unwrap();
    let image = &doc[0];
    let id = image["Id"].as_str().unwrap_or_else(|| panic!("{doc}"));
    assert!(id.starts_with("sha256:"), "{doc}");
    let tags = image["RepoTags"].to_string();
    assert!(
        tags.contains("\"t38-i:1\"") && tags.contains("\"busybox:latest\""),
        "{doc}"
    );
    assert_eq!(
        image["RootFS"]["Layers"].as_array().map(Vec::len),
        Some(1),
        "{doc}"
    );
    assert!(image["Size"].as_u64().is_some_and(|s| s > 0), "{doc}");
    let out = ok(&md(&["image", "inspect", "-f", "{{.Id}}", &id[7..19]]));
    assert_eq!(out, format!("{id}\n"));
    refused(
        &md(&["image", "inspect", "t38-nosuch:1"]),
        &["t38-nosuch:1"],
    );
}

/// `run`s of an image while `rmi` and `image prune` remove it over and
/// over (and `import` brings it back): each run either runs, or finds no
/// image (125) — never a layer missing under its mount, a manifest gone
/// between naming and reading, or a leak.
#[rstest]
fn runs_racing_rmi_and_prune_run_or_find_no_image(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    let tar = crate::harness::busybox_tar().to_str().unwrap().to_string();
    ok(&md(&["import", &tar, "race38:1"]));
    let outcomes = std::thread::scope(|s| {
        let remover = s.spawn(|| {
            for _ in 0..40 {
                md(&["rmi", "race38:1"]);
                md(&["image", "prune"]);
                md(&["import", &tar, "race38:1"]);
            }
        });
        let runners: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    (0..12)
                        .map(|_| {
                            env.run_image("race38:1", &["--rm"], &["true"])
                                .output()
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        remover.join().unwrap();
        runners
            .into_iter()
            .flat_map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    let (mut ran, mut missing) = (0, 0);
    for out in &outcomes {
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => ran += 1,
            Some(125) if err.contains("image not found: race38:1") => missing += 1,
            code => panic!("exit {code:?}: {err}"),
        }
    }
    assert_eq!(ran + missing, 36);
    assert_eq!(ok(&md(&["ps", "-a", "-q"])), "", "--rm leaves nothing");
}

/// `du -sb PATH`: the apparent bytes below `path`, each inode once.
fn du_bytes(path: &std::path::Path) -> u64 {
    let out = std::process::Command::new("du")
        .arg("-sb")
        .arg(path)
        .output()
        .unwrap();
    let said = stdout_of(&out);
    said.split_whitespace().next().unwrap().parse().unwrap()
}

/// "Total reclaimed space: 602.3KB" as bytes (to the figure's rounding).
fn reclaimed_bytes(said: &str) -> u64 {
    let line = said
        .lines()
        .find_map(|l| l.strip_prefix("Total reclaimed space: "))
        .unwrap_or_else(|| panic!("no total in {said}"));
    let digits = line.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let scale = match &line[digits.len()..] {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        unit => panic!("unit {unit} in {said}"),
    };
    (digits.parse::<f64>().unwrap() * scale) as u64
}

/// The re-trial's fault: prune's "Total reclaimed space" counted blobs
/// only, leaving out extracted layers and the temporaries killed writers
/// left. Its figure is what `du` says went away (within a few KiB: the
/// directories themselves, and the figure's rounding).
#[rstest]
fn prune_reports_the_space_it_frees(env: Env) {
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    let busybox = std::fs::read(crate::harness::busybox_tar()).unwrap();
    let data = tar_of(&[("data", Some(&[7u8; 200_000][..]))]);
    let ids = [sha256(&busybox), sha256(&data)];
    let archive = write(
        &env,
        "unused.tar",
        &docker_archive("unused:1", &[busybox, data], &ids),
    );
    ok(&load(&env, &archive));
    // busybox's layer stays named, so that only the 200 kB layer goes.
    ok(&md(&["tag", "busybox", "kept:1"]));
    // The container keeps the image's layers past `rmi -f` (which
    // collects at once what nothing uses); after `rm` nothing uses them.
    let out = env
        .run_image(
            "unused:1",
            &["-d", "--name", "prune-user"],
            &["sleep", "1000"],
        )
        .output()
        .unwrap();
    ok(&out);
    ok(&md(&["rmi", "-f", "unused:1"]));
    ok(&md(&["rm", "-f", "prune-user"]));
    // What a killed pull and a killed extraction leave.
    std::fs::write(
        env.root.join("blobs/sha256/.incoming-planted"),
        [1u8; 100_000],
    )
    .unwrap();
    let dead = env.root.join("layers/.extract-planted");
    std::fs::create_dir_all(&dead).unwrap();
    std::fs::write(dead.join("half"), [2u8; 100_000]).unwrap();
    let before = du_bytes(&env.root);
    let said = ok(&md(&["image", "prune"]));
    let freed = before - du_bytes(&env.root);
    assert!(freed > 600_000, "{freed} bytes went: {said}");
    let reported = reclaimed_bytes(&said);
    assert!(
        reported.abs_diff(freed) <= 16 * 1024,
        "reported {reported}, du fell by {freed}: {said}"
    );
    assert!(!dead.exists());
}
