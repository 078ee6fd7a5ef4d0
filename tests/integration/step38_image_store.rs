//! Step 38: the OCI image store. Images are blobs by digest, layers are
//! extracted once per digest and stacked, whiteouts become overlayfs'
//! own, and nothing a container stands on is changed or removed by
//! `commit`, `tag`, `rmi` or `image prune`.

use std::path::PathBuf;

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_of(out)
}

fn refused(out: &std::process::Output, words: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    for w in words {
        assert!(err.contains(w), "{w:?} not in {err}");
    }
}

/// A tar of `entries`: (path, content; `None` for a directory). Names are
/// written raw, so `../` entries can be made.
fn tar_of(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        let data = data.unwrap_or_default();
        h.set_entry_type(if path.ends_with('/') {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(0);
        let name = path.as_bytes();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, data).unwrap();
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
    let config = serde_json::to_vec(&config).unwrap();
    let chex = sha256(&config)["sha256:".len()..].to_string();
    let mut b = tar::Builder::new(Vec::new());
    let add = |b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    add(&mut b, &format!("{chex}.json"), &config);
    let mut paths = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let p = format!("layer{i}/layer.tar");
        add(&mut b, &p, l);
        paths.push(p);
    }
    let manifest = serde_json::json!([{
        "Config": format!("{chex}.json"),
        "RepoTags": [tag],
        "Layers": paths,
    }]);
    add(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    b.into_inner().unwrap()
}

fn write(env: &Env, name: &str, bytes: &[u8]) -> PathBuf {
    let p = env.scratch("archives").join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The measured fault: `commit web busybox` while another
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
    let out = ok(&env
        .md()
        .args(["load", "-i"])
        .arg(&archive)
        .output()
        .unwrap());
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

#[rstest]
fn import_refuses_device_nodes(env: Env) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(tar::EntryType::Block);
    h.set_size(0);
    h.set_device_major(8).unwrap();
    h.set_device_minor(0).unwrap();
    h.set_cksum();
    b.append_data(&mut h, "dev/sda", std::io::empty()).unwrap();
    let tar = write(&env, "dev.tar", &b.into_inner().unwrap());
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
    let out = env
        .md()
        .args(["load", "-i"])
        .arg(&archive)
        .output()
        .unwrap();
    refused(&out, &["tampered:1", &promised]);
    assert!(!ok(&env.md().arg("images").output().unwrap()).contains("tampered"));
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
    ok(&other
        .md()
        .args(["load", "-i"])
        .arg(&archive)
        .output()
        .unwrap());
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
    ok(&env
        .md()
        .args(["load", "-i"])
        .arg(&archive)
        .output()
        .unwrap());
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
            .expect("run podman (apt-get install podman)")
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

/// A real distribution's root filesystem runs: Debian bookworm as
/// debootstrap's minbase makes it (`harness::debian_tar`, built once per
/// machine), imported, runs its own apt and dpkg, and `-u` resolves a
/// user that only its `/etc/passwd` knows.
#[rstest]
fn an_imported_debian_minbase_runs_its_apt_dpkg_and_users(env: Env) {
    let tar = crate::harness::debian_tar();
    ok(&env
        .md()
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
