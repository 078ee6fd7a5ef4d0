//! Step 10: the container's `/` is its own root filesystem; the host's is
//! detached and cannot be reached. chroot, by contrast, can be escaped.

use std::path::{Path, PathBuf};

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

/// Compile the chroot escape (tests/integration/fixtures) statically.
fn escape_binary(env: &Env) -> PathBuf {
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures/chroot_escape.c");
    let out = env.scratch("bin").join("chroot_escape");
    let status = std::process::Command::new("gcc")
        .args(["-static", "-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("gcc is needed for this test (apt-get install build-essential)");
    assert!(status.success(), "compiling the chroot escape failed");
    out
}

#[rstest]
fn the_root_is_the_containers_own(env: Env) {
    let out = env.run(&[], &["ls", "/"]).output().unwrap();
    let listing = stdout_of(&out);
    for dir in ["bin", "dev", "etc", "proc", "sys", "tmp", "usr"] {
        assert!(
            listing.lines().any(|l| l == dir),
            "{dir} missing from / :\n{listing}"
        );
    }
    // A file on the host, by its host path: invisible inside.
    let marker = env.scratch("host-side").join("marker");
    std::fs::write(&marker, "host").unwrap();
    env.run(&[], &["cat", marker.to_str().unwrap()])
        .assert()
        .failure();
}

#[rstest]
fn no_host_mount_is_left_in_the_container(env: Env) {
    let out = env
        .run(&[], &["cat", "/proc/self/mountinfo"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    let mounts = mydocker::fs::mountinfo::parse(&out.stdout);
    let points: Vec<&std::path::Path> = mounts.iter().map(|m| m.mount_point.as_path()).collect();
    assert!(points.contains(&std::path::Path::new("/")), "{text}");
    for p in points {
        // From step 24 the container's own /etc files (kept in its
        // directory) are bound over the image's, as Docker does.
        let allowed = [
            "/",
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/sys",
            "/etc/hostname",
            "/etc/hosts",
            "/etc/resolv.conf",
        ]
        .iter()
        .any(|a| p == std::path::Path::new(a))
            || p.starts_with("/sys/")
            || p.starts_with("/proc/");
        assert!(
            allowed,
            "a host mount is visible inside: {}\n{text}",
            p.display()
        );
    }
}

#[rstest]
fn chroot_is_escapable_but_pivot_root_is_not(env: Env) {
    let escape = escape_binary(&env);
    let tree = env.busybox_tree("escape-tree");
    std::fs::copy(&escape, tree.join("bin/chroot_escape")).unwrap();
    let marker = env.scratch("host-side").join("escape-marker");
    std::fs::write(&marker, "host").unwrap();
    let marker = marker.to_str().unwrap();

    // chroot (the host's util-linux chroot) into the same tree: escapes.
    let out = std::process::Command::new("chroot")
        .arg(&tree)
        .args(["/bin/chroot_escape", marker])
        .output()
        .unwrap();
    assert_eq!(
        stdout_of(&out).trim(),
        "escaped",
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The container, pivoted into the tree: contained.
    let out = env
        .run_tree(&tree, "escape", &[], &["/bin/chroot_escape", marker])
        .output()
        .unwrap();
    assert_eq!(
        stdout_of(&out).trim(),
        "contained",
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[rstest]
fn dev_holds_working_device_nodes(env: Env) {
    let script = "echo gone > /dev/null && head -c 8 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c && ls /dev";
    let out = env.run(&[], &["sh", "-c", script]).output().unwrap();
    let text = stdout_of(&out);
    assert!(out.status.success(), "{text}");
    let mut lines = text.lines();
    assert_eq!(lines.next().map(str::trim), Some("8"));
    assert_eq!(lines.next().map(str::trim), Some("3"));
    let names: Vec<&str> = lines.collect();
    for dev in ["null", "zero", "random", "urandom", "tty", "pts", "shm"] {
        assert!(names.contains(&dev), "/dev/{dev} missing: {names:?}");
    }
}
