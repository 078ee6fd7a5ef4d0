//! Step 13: `-v HOST:CONTAINER[:ro]` bind-mounts host directories into the
//! container; data survives it; bad specs are refused; nothing is left
//! mounted and nothing outside the volume is written.

use std::os::unix::fs::PermissionsExt;

use rstest::rstest;

use crate::expect::Expect;
use crate::harness::{Env, env, stdout_of};

#[rstest]
fn data_written_inside_is_on_the_host_after_exit(env: Env) {
    let vol = env.scratch("vol");
    let spec = format!("{}:/data", vol.display());
    env.run(&["-i", "-v", &spec], &["sh", "-c", "echo hi > /data/a"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(vol.join("a")).unwrap(), "hi\n");
    // A second container sees it too.
    env.run(&["-v", &spec], &["cat", "/data/a"])
        .assert()
        .success()
        .stdout("hi\n");
}

#[rstest]
fn a_missing_host_directory_is_created(env: Env) {
    let vol = env.scratch("parent").join("new/deeper");
    let spec = format!("{}:/data", vol.display());
    env.run(&["-v", &spec], &["touch", "/data/x"])
        .assert()
        .success();
    assert!(vol.join("x").is_file());
    assert_eq!(
        std::fs::metadata(&vol).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[rstest]
fn read_only_volumes_are_read_only_inside(env: Env) {
    let vol = env.scratch("ro");
    std::fs::write(vol.join("in"), "x").unwrap();
    let spec = format!("{}:/ro:ro", vol.display());
    let out = env
        .run(
            &["-v", &spec],
            &["sh", "-c", "cat /ro/in; echo y > /ro/out"],
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(stdout_of(&out), "x");
    assert!(!vol.join("out").exists());
}

#[rstest]
fn several_volumes(env: Env) {
    let (a, b) = (env.scratch("a"), env.scratch("b"));
    let (sa, sb) = (
        format!("{}:/a", a.display()),
        format!("{}:/deep/b", b.display()),
    );
    env.run(
        &["-v", &sa, "-v", &sb],
        &["sh", "-c", "echo 1 > /a/f; echo 2 > /deep/b/f"],
    )
    .assert()
    .success();
    assert_eq!(std::fs::read_to_string(a.join("f")).unwrap(), "1\n");
    assert_eq!(std::fs::read_to_string(b.join("f")).unwrap(), "2\n");
}

#[rstest]
#[case::no_colon("/tmp/x")]
#[case::relative_host("rel:/data")]
#[case::relative_target("/tmp/x:data")]
#[case::root_target("/tmp/x:/")]
#[case::climbing_target("/tmp/x:/../../etc")]
#[case::bad_mode("/tmp/x:/data:rx")]
fn bad_volume_specs_exit_125(env: Env, #[case] spec: &str) {
    Expect::new(env.run(&["-v", spec], &["true"]))
        .status(125)
        .stderr_has("invalid volume")
        .run();
}

#[rstest]
fn a_symlink_in_the_image_cannot_move_the_mount_to_the_host(env: Env) {
    let tree = env.busybox_tree("symlink-tree");
    std::os::unix::fs::symlink("/", tree.join("evil")).unwrap();
    let vol = env.scratch("vol");
    let host_target = env.scratch("host-target");
    // The container path climbs through /evil -> / towards a host path.
    let target = format!("/evil{}", host_target.display());
    let spec = format!("{}:{target}", vol.display());
    env.run_tree(
        &tree,
        "symlinked",
        &["-v", &spec],
        &["sh", "-c", &format!("echo in > {target}/f")],
    )
    .assert()
    .success();
    assert!(
        !host_target.join("f").exists(),
        "the volume was mounted on the host"
    );
    assert_eq!(std::fs::read_to_string(vol.join("f")).unwrap(), "in\n");
}

#[rstest]
fn a_failing_volume_undoes_everything_before_it(env: Env) {
    let good = env.scratch("good");
    let specs = [
        format!("{}:/good", good.display()),
        "/proc/mydocker-cannot-exist:/bad".to_string(),
    ];
    let out = env
        .run(&["-v", &specs[0], "-v", &specs[1]], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/proc/mydocker-cannot-exist"), "{err}");
    assert!(env.layer_dirs().is_empty(), "{:?}", env.layer_dirs());
    // The drop-time leak check proves nothing is left mounted.
}

/// Docker mounts volumes parents first, whatever the order of `-v`: an
/// inner volume given before its outer one must not be hidden by it.
#[rstest]
fn nested_volumes_do_not_depend_on_the_order_of_v(env: Env) {
    let (outer, inner) = (env.scratch("outer"), env.scratch("inner"));
    std::fs::write(inner.join("f"), "hi\n").unwrap();
    std::fs::write(outer.join("g"), "outer\n").unwrap();
    let specs = [
        format!("{}:/data/inner", inner.display()),
        format!("{}:/data", outer.display()),
    ];
    for order in [[0, 1], [1, 0]] {
        env.run(
            &["-v", &specs[order[0]], "-v", &specs[order[1]]],
            &["cat", "/data/inner/f", "/data/g"],
        )
        .assert()
        .success()
        .stdout("hi\nouter\n");
    }
}

/// A read-write volume inside a read-only one stays writable, and the
/// read-only one stays read-only.
#[rstest]
fn a_read_write_volume_inside_a_read_only_one_stays_writable(env: Env) {
    let (outer, inner) = (env.scratch("outer"), env.scratch("inner"));
    let specs = [
        format!("{}:/data/inner", inner.display()),
        format!("{}:/data:ro", outer.display()),
    ];
    for order in [[0, 1], [1, 0]] {
        let out = env
            .run(
                &["-v", &specs[order[0]], "-v", &specs[order[1]]],
                &[
                    "sh",
                    "-c",
                    "echo in > /data/inner/w && ! echo out > /data/w",
                ],
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "order {order:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(std::fs::read_to_string(inner.join("w")).unwrap(), "in\n");
        assert!(
            !outer.join("w").exists(),
            "the read-only volume was written"
        );
        std::fs::remove_file(inner.join("w")).unwrap();
    }
}

/// The runtime mounts /proc, /sys and /dev itself after the volumes, so a
/// volume there or below would be hidden: refused before anything is made.
#[rstest]
#[case::proc("/proc")]
#[case::sys("/sys")]
#[case::dev("/dev")]
#[case::below_proc("/proc/data")]
#[case::below_dev("/dev/shm")]
#[case::below_sys("/sys/fs/cgroup")]
#[case::dotted("/./proc/")]
fn volumes_over_the_runtimes_own_mounts_exit_125(env: Env, #[case] target: &str) {
    let vol = env.scratch("vol");
    let spec = format!("{}:{target}", vol.display());
    let out = env.run(&["-v", &spec], &["true"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("invalid volume"), "{err}");
    assert!(err.contains("mydocker mounts"), "{err}");
    assert!(env.layer_dirs().is_empty(), "{:?}", env.layer_dirs());
}

/// A symlink in the image cannot lead a volume onto /proc either.
#[rstest]
fn a_symlink_in_the_image_cannot_lead_a_volume_onto_proc(env: Env) {
    let tree = env.busybox_tree("symlink-proc-tree");
    std::os::unix::fs::symlink("/proc", tree.join("p")).unwrap();
    let vol = env.scratch("vol");
    let spec = format!("{}:/p/data", vol.display());
    let out = env
        .run_tree(&tree, "symlinked", &["-v", &spec], &["true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("mydocker mounts"), "{err}");
    assert!(env.layer_dirs().is_empty(), "{:?}", env.layer_dirs());
}
