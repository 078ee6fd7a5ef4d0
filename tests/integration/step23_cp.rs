//! Step 23: `cp` between host and container, both directions, running and
//! stopped containers, Docker's placement rules, and no way out of the
//! container's root.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rstest::rstest;

use crate::harness::{AWKWARD_NAME, Env, env, stdout_of};

fn cp(env: &Env, src: &str, dst: &str) -> std::process::Output {
    let mut c = env.md();
    c.timeout(Duration::from_secs(20));
    c.args(["cp", src, dst]).output().unwrap()
}

#[track_caller]
fn cp_ok(env: &Env, src: &str, dst: &str) {
    let out = cp(env, src, dst);
    assert!(
        out.status.success(),
        "cp {src} {dst}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tree with a file, a subdirectory, a symlink and an executable.
fn sample_tree(dir: &Path) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("file.txt"), "hello\n").unwrap();
    fs::write(dir.join("sub/nested.txt"), "nested\n").unwrap();
    fs::write(dir.join("run.sh"), "#!/bin/sh\necho ran\n").unwrap();
    fs::set_permissions(dir.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("sub/nested.txt", dir.join("link")).unwrap();
}

/// (relative path, kind, mode, content or link target) of every entry.
fn describe(dir: &Path) -> Vec<(PathBuf, String, u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            let (kind, data) = if m.file_type().is_symlink() {
                (
                    "link",
                    fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                )
            } else if m.is_dir() {
                stack.push(p.clone());
                ("dir", Vec::new())
            } else {
                ("file", fs::read(&p).unwrap())
            };
            out.push((rel, kind.to_string(), m.mode() & 0o7777, data));
        }
    }
    out.sort();
    out
}

#[rstest]
fn a_tree_round_trips_unchanged(env: Env) {
    env.run_d(&["--name", "rt"], &["sleep", "60"]);
    let src = env.scratch("tree");
    sample_tree(&src);
    cp_ok(&env, src.to_str().unwrap(), "rt:/root");
    // The executable runs inside: modes survived.
    env.md()
        .args(["exec", "rt", "/root/tree/run.sh"])
        .assert()
        .success()
        .stdout("ran\n");
    let back = env.scratch("back").join("tree");
    cp_ok(&env, "rt:/root/tree", back.to_str().unwrap());
    assert_eq!(describe(&src), describe(&back));
    let (a, b) = (
        fs::metadata(src.join("file.txt")).unwrap(),
        fs::metadata(back.join("file.txt")).unwrap(),
    );
    assert_eq!(a.mtime(), b.mtime(), "mtime not preserved");
}

#[rstest]
fn docker_placement_rules(env: Env) {
    env.run_d(
        &["--name", "rules"],
        &[
            "sh",
            "-c",
            "mkdir -p /dir/sub && echo f > /dir/f && echo s > /dir/sub/s && sleep 60",
        ],
    );
    crate::harness::wait_for("the container's files", || {
        env.md()
            .args(["exec", "rules", "test", "-f", "/dir/sub/s"])
            .output()
            .unwrap()
            .status
            .success()
            .then_some(())
    });
    let host = env.scratch("host");
    // A directory to a new path creates that path.
    cp_ok(&env, "rules:/dir", host.join("new").to_str().unwrap());
    assert!(host.join("new/sub/s").is_file());
    // A directory to an existing directory goes inside it.
    fs::create_dir(host.join("existing")).unwrap();
    cp_ok(&env, "rules:/dir", host.join("existing").to_str().unwrap());
    assert!(host.join("existing/dir/f").is_file());
    // `/.` copies the contents.
    fs::create_dir(host.join("contents")).unwrap();
    cp_ok(
        &env,
        "rules:/dir/.",
        host.join("contents").to_str().unwrap(),
    );
    assert!(host.join("contents/f").is_file() && host.join("contents/sub/s").is_file());
    // A file to a directory goes inside it; to a new name becomes that file.
    cp_ok(
        &env,
        "rules:/dir/f",
        host.join("existing").to_str().unwrap(),
    );
    assert!(host.join("existing/f").is_file());
    cp_ok(
        &env,
        "rules:/dir/f",
        host.join("renamed.txt").to_str().unwrap(),
    );
    assert_eq!(fs::read_to_string(host.join("renamed.txt")).unwrap(), "f\n");
}

#[rstest]
fn a_stopped_container_can_be_copied_from_and_to(env: Env) {
    env.run_d(&["--name", "stopped"], &["sh", "-c", "echo kept > /kept"]);
    env.wait_exited("stopped");
    let host = env.scratch("host");
    cp_ok(&env, "stopped:/kept", host.to_str().unwrap());
    assert_eq!(fs::read_to_string(host.join("kept")).unwrap(), "kept\n");
    fs::write(host.join("added"), "added\n").unwrap();
    cp_ok(&env, host.join("added").to_str().unwrap(), "stopped:/");
    env.md()
        .args(["commit", "stopped", "withfile"])
        .assert()
        .success();
    env.run_image("withfile", &[], &["cat", "/added"])
        .assert()
        .success()
        .stdout("added\n");
}

#[rstest]
fn a_tar_stream_on_stdin_and_stdout(env: Env) {
    env.run_d(
        &["--name", "streams"],
        &["sh", "-c", "mkdir /out && echo x > /out/x && sleep 60"],
    );
    crate::harness::wait_for("/out/x", || {
        env.md()
            .args(["exec", "streams", "test", "-f", "/out/x"])
            .output()
            .unwrap()
            .status
            .success()
            .then_some(())
    });
    let out = env.md().args(["cp", "streams:/out", "-"]).output().unwrap();
    assert!(out.status.success());
    let mut names: Vec<String> = tar::Archive::new(&out.stdout[..])
        .entries()
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .unwrap()
                .display()
                .to_string()
                .trim_end_matches('/')
                .to_string()
        })
        .collect();
    names.sort();
    assert_eq!(names, vec!["out", "out/x"]);
    // And back in, from stdin.
    env.md()
        .args(["cp", "-", "streams:/tmp"])
        .write_stdin(out.stdout)
        .assert()
        .success();
    env.md()
        .args(["exec", "streams", "cat", "/tmp/out/x"])
        .assert()
        .success()
        .stdout("x\n");
}

#[rstest]
fn a_planted_symlink_never_leads_to_the_host(env: Env) {
    let secret_dir = env.scratch("host-secret");
    fs::write(secret_dir.join("secret"), "host only\n").unwrap();
    let secret = secret_dir.join("secret");
    env.run_d(
        &["--name", "evil"],
        &[
            "sh",
            "-c",
            "ln -s / /tmp/x && ln -s /etc/passwd /pw && sleep 60",
        ],
    );
    crate::harness::wait_for("the planted links", || {
        env.md()
            .args(["exec", "evil", "test", "-L", "/pw"])
            .output()
            .unwrap()
            .status
            .success()
            .then_some(())
    });
    // Out: the host's file through /tmp/x is not reachable.
    let host = env.scratch("out");
    let through = format!("evil:/tmp/x{}", secret.display());
    let out = cp(&env, &through, host.to_str().unwrap());
    assert_eq!(out.status.code(), Some(125), "{}", stdout_of(&out));
    assert!(!host.join("secret").exists());
    // A link copied out stays a link; its target is not read.
    cp_ok(&env, "evil:/pw", host.to_str().unwrap());
    assert_eq!(
        fs::read_link(host.join("pw")).unwrap(),
        Path::new("/etc/passwd")
    );
    // In: writing through /tmp/x lands inside the container, not on the host.
    let file = env.scratch("in").join("planted.txt");
    fs::write(&file, "in\n").unwrap();
    let target_dir = env.scratch("would-be-host-target");
    let dst = format!("evil:/tmp/x{}", target_dir.display());
    let _ = cp(&env, file.to_str().unwrap(), &dst);
    assert!(
        !target_dir.join("planted.txt").exists(),
        "cp wrote to the host"
    );
}

#[rstest]
fn fifos_and_devices_do_not_hang(env: Env) {
    env.run_d(
        &["--name", "pipes"],
        &[
            "sh",
            "-c",
            "mkdir /p && mkfifo /p/fifo && mknod /p/null c 1 3 && echo ok > /p/ok && sleep 60",
        ],
    );
    crate::harness::wait_for("/p/ok", || {
        env.md()
            .args(["exec", "pipes", "test", "-f", "/p/ok"])
            .output()
            .unwrap()
            .status
            .success()
            .then_some(())
    });
    let host = env.scratch("out").join("p");
    cp_ok(&env, "pipes:/p", host.to_str().unwrap());
    assert!(
        fs::symlink_metadata(host.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert!(
        fs::symlink_metadata(host.join("null"))
            .unwrap()
            .file_type()
            .is_char_device()
    );
    assert_eq!(fs::read_to_string(host.join("ok")).unwrap(), "ok\n");
}

#[rstest]
#[case::missing_source(&["c:/no/such/file", "/tmp"], "no such file")]
#[case::missing_parent(&["c:/etc/passwd", "/no/such/dir/file"], "does not exist")]
#[case::both_local(&["/etc/hostname", "/tmp/x"], "CONTAINER:PATH")]
#[case::both_containers(&["c:/a", "c:/b"], "between containers")]
#[case::unknown_container(&["ghost:/a", "/tmp"], "no such container: ghost")]
#[case::file_as_source_dir(&["c:/etc/passwd/", "/tmp"], "not a directory: c:/etc/passwd/")]
#[case::host_file_as_source_dir(&["/etc/hostname/", "c:/tmp"], "not a directory: /etc/hostname/")]
#[case::file_as_destination_dir(&["/etc/hostname", "c:/etc/passwd/"], "not a directory: c:/etc/passwd/")]
fn bad_copies_exit_125(env: Env, #[case] args: &[&str], #[case] message: &str) {
    env.run_d(&["--name", "c"], &["sleep", "60"]);
    let out = cp(&env, args[0], args[1]);
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(message), "{err}");
    // Nothing was changed on a refusal: the file a trailing slash named
    // as a directory is still whole.
    let passwd = env
        .md()
        .args(["exec", "c", "cat", "/etc/passwd"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&passwd.stdout).starts_with("root:"));
}

/// `cp` under a root, and with host paths, holding what the kernel escapes
/// in /proc/self/mountinfo and non-ASCII, running and stopped.
#[test]
fn awkward_characters_in_the_root_and_the_paths() {
    let env = Env::with_root_named(AWKWARD_NAME);
    let host = env.scratch(&format!("host {AWKWARD_NAME}"));
    let file = host.join(format!("in {AWKWARD_NAME}"));
    fs::write(&file, "in\n").unwrap();
    env.run_d(
        &["--name", "odd"],
        &["sh", "-c", "echo out > /out; echo ready; sleep 60"],
    );
    env.wait_log("odd", "ready");
    cp_ok(&env, file.to_str().unwrap(), "odd:/in");
    env.md()
        .args(["exec", "odd", "cat", "/in"])
        .assert()
        .success()
        .stdout("in\n");
    let back = host.join(format!("out {AWKWARD_NAME}"));
    cp_ok(&env, "odd:/out", back.to_str().unwrap());
    assert_eq!(fs::read_to_string(&back).unwrap(), "out\n");
    env.md().args(["stop", "-t", "0", "odd"]).assert().success();
    let again = host.join(format!("again {AWKWARD_NAME}"));
    cp_ok(&env, "odd:/in", again.to_str().unwrap());
    assert_eq!(fs::read_to_string(&again).unwrap(), "in\n");
}

/// A tar archive of one entry, written by hand (so `../` can be in it).
fn one_entry_tar(path: &str, kind: tar::EntryType) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(if kind == tar::EntryType::Regular {
        2
    } else {
        0
    });
    h.set_mode(0o644);
    h.set_mtime(0);
    let name = &mut h.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    let data: &[u8] = if kind == tar::EntryType::Regular {
        b"x\n"
    } else {
        b""
    };
    b.append(&h, data).unwrap();
    b.into_inner().unwrap()
}

/// A failed `cp` names the paths as the user typed them (`NAME:/path` for
/// the container's side), never the directories under the root where
/// mydocker keeps the container, and never calls the container an image.
#[rstest]
fn errors_name_container_paths_as_typed(env: Env) {
    env.run_d(&["--name", "named"], &["sleep", "60"]);
    let host = env.scratch("host");
    fs::write(host.join("file"), "f\n").unwrap();
    fs::create_dir(host.join("dir")).unwrap();
    let (file, dir) = (host.join("file"), host.join("dir"));
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    // (arguments, what stdin gets, what the error must name)
    type Case<'a> = (Vec<&'a str>, Option<Vec<u8>>, &'a str);
    let cases: Vec<Case> = vec![
        // A missing path in the container, copied out.
        (
            vec!["named:/no/such/file", dir],
            None,
            "named:/no/such/file",
        ),
        (
            vec!["named:/no/such/file", "-"],
            None,
            "named:/no/such/file",
        ),
        // A missing host source.
        (
            vec!["/no/such/host/file", "named:/tmp"],
            None,
            "/no/such/host/file",
        ),
        // A destination in the container whose parent is missing.
        (
            vec![file, "named:/no/such/dir/f"],
            None,
            "named:/no/such/dir",
        ),
        // A directory onto a file in the container.
        (vec![dir, "named:/bin/busybox"], None, "named:/bin/busybox"),
        // A tar stream that climbs out, or cannot be written.
        (
            vec!["-", "named:/tmp"],
            Some(one_entry_tar("../escape", tar::EntryType::Regular)),
            "named:/tmp",
        ),
        (
            vec!["-", "named:/"],
            Some(one_entry_tar("etc", tar::EntryType::Regular)),
            "named:/",
        ),
        (
            vec!["-", "named:/no/such/dir"],
            Some(Vec::new()),
            "named:/no/such/dir",
        ),
    ];
    let root = env.root.display().to_string();
    for (args, stdin, want) in cases {
        let mut c = env.md();
        c.timeout(Duration::from_secs(20)).arg("cp").args(&args);
        if let Some(input) = stdin {
            c.write_stdin(input);
        }
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "cp {args:?}: {err}");
        assert!(err.contains(want), "cp {args:?} should name {want}: {err}");
        assert!(!err.contains(&root), "cp {args:?} names the root: {err}");
        assert!(!err.contains("merged"), "cp {args:?} names a layer: {err}");
        assert!(
            !err.contains("image"),
            "cp {args:?} speaks of an image: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "cp {args:?}: {err}");
    }
}
