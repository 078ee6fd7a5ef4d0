//! Step 11: `run IMAGE CMD` extracts the image once and runs the command in
//! it; missing and malicious images are refused and leave nothing behind.

use std::path::Path;

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

#[rstest]
fn ls_shows_the_busybox_tree(env: Env) {
    let out = env
        .run(&["-i"], &["ls", "/bin/sh", "/bin/busybox", "/etc/passwd"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The image was extracted once, into its read-only layer.
    assert!(env.image_layer_dir().join("bin/busybox").is_file());
}

/// Everything after the image is the command, a `--` included: Docker
/// runs a program named `--` (and finds none).
#[rstest]
fn a_dash_dash_after_the_image_is_the_commands_first_word(env: Env) {
    let out = env.run(&[], &["--", "echo", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"--\": executable file not found"), "{err}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[rstest]
fn a_missing_image_exits_125_and_creates_nothing(env: Env) {
    let out = env
        .md()
        .args(["run", "no-such-image", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("image not found: no-such-image"));
    let entries: Vec<_> = std::fs::read_dir(&env.root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("images")]);
    assert!(env.cgroup_dirs().is_empty());
}

#[rstest]
#[case::dots("..")]
#[case::climb("../../etc")]
#[case::slash("a/b")]
#[case::long(&"x".repeat(300))]
fn bad_image_names_are_refused(env: Env, #[case] name: &str) {
    let out = env.md().args(["run", name, "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    if crate::harness::STEP >= 38 && name == "a/b" {
        // From step 38 names have path components, as Docker's.
        assert!(err.contains("image not found: a/b"), "{err}");
    } else {
        assert!(err.contains("invalid image name"), "{err}");
    }
}

/// A tar whose second entry climbs out with `..`.
fn evil_tar(path: &Path, entry: &str) {
    let mut b = tar::Builder::new(Vec::new());
    let mut ok = tar::Header::new_gnu();
    ok.set_path("fine.txt").unwrap();
    ok.set_size(2);
    ok.set_mode(0o644);
    ok.set_uid(0);
    ok.set_gid(0);
    ok.set_mtime(0);
    ok.set_cksum();
    b.append(&ok, &b"ok"[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..entry.len()].copy_from_slice(entry.as_bytes());
    h.set_size(4);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, &b"evil"[..]).unwrap();
    std::fs::write(path, b.into_inner().unwrap()).unwrap();
}

#[rstest]
#[case::parent("evil", "../../escaped-by-image")]
#[case::absolute("evil", "/tmp/mydocker-escaped-by-image")]
fn an_image_that_climbs_out_is_refused(env: Env, #[case] name: &str, #[case] entry: &str) {
    evil_tar(&env.root.join("images").join(format!("{name}.tar")), entry);
    let out = env.md().args(["run", name, "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("outside the image"), "{err}");
    assert!(
        !env.root.join("images").join(name).exists(),
        "a partial image was registered"
    );
    assert!(!env.root.join("escaped-by-image").exists());
    assert!(!env.root.parent().unwrap().join("escaped-by-image").exists());
    assert!(!Path::new("/tmp/mydocker-escaped-by-image").exists());
    let leftovers: Vec<_> = std::fs::read_dir(env.root.join("images"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".extract"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[rstest]
fn ordinary_programs_work(env: Env) {
    let script = "echo hi > /dev/null; ps | grep -c sh; hostname | wc -c; cat /proc/self/status | grep -c Pid";
    let out = env.run(&[], &["sh", "-c", script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_of(&out).lines().count(), 3);
}
