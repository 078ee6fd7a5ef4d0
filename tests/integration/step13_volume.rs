//! Step 13: `-v HOST:CONTAINER[:ro]` bind-mounts host directories into the
//! container; data survives it; bad specs are refused; nothing is left
//! mounted and nothing outside the volume is written.

use std::os::unix::fs::PermissionsExt;

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

#[rstest]
fn data_written_inside_is_on_the_host_after_exit(env: Env) {
    let vol = env.scratch("vol");
    let spec = format!("{}:/data", vol.display());
    env.run(&["-ti", "-v", &spec], &["sh", "-c", "echo hi > /data/a"])
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
    let out = env.run(&["-v", spec], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid volume"));
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
