//! Step 12: the image layer is read-only; a container writes to its own
//! write layer, which is removed, with its mount, when an `-it` container
//! exits.

use rstest::rstest;

use crate::harness::{Env, env, host_mounts};

#[rstest]
fn writes_never_reach_the_image_layer(env: Env) {
    let before = host_mounts();
    env.run(
        &["-i"],
        &["sh", "-c", "echo x > /f && rm /bin/ls && cat /f"],
    )
    .assert()
    .success()
    .stdout("x\n");
    let layer = env.image_layer_dir();
    assert!(
        !layer.join("f").exists(),
        "the write reached the image layer"
    );
    assert!(
        layer.join("bin/ls").exists(),
        "the delete reached the image layer"
    );
    assert_eq!(host_mounts(), before, "a mount is left");
    assert!(
        env.layer_dirs().is_empty(),
        "the layers were not removed: {:?}",
        env.layer_dirs()
    );
}

#[rstest]
fn the_next_container_starts_from_the_clean_image(env: Env) {
    env.run(&[], &["sh", "-c", "echo x > /f"])
        .assert()
        .success();
    env.run(&[], &["ls", "/f"]).assert().failure();
    env.run(&[], &["ls", "/bin/ls"]).assert().success();
}

/// Until step 21 gives each container its own layers.
#[cfg(not(feature = "isolation"))]
#[rstest]
fn one_container_at_a_time_uses_the_shared_layer(env: Env) {
    let err = env.while_running(&[], || {
        let out = env.run(&[], &["true"]).output().unwrap();
        assert_eq!(out.status.code(), Some(125));
        String::from_utf8_lossy(&out.stderr).into_owned()
    });
    assert!(err.contains("in use"), "{err}");
}

/// A root whose path holds ',' and ':' (which cut overlay's option string)
/// and '\' (which overlay reads as an escape): the layers are escaped.
#[test]
fn a_root_with_commas_colons_and_backslashes_mounts() {
    let env = Env::with_root_named("a,b:c\\d");
    env.run(&[], &["echo", "ok"])
        .assert()
        .success()
        .stdout("ok\n");
}

/// A foreground container's write layer is removed when it ends, so it is
/// mounted `volatile`: unmounting it does not sync the host's filesystem.
#[rstest]
fn a_foreground_containers_layers_are_mounted_volatile(env: Env) {
    let out = env
        .run(&[], &["grep", " / / ", "/proc/self/mountinfo"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("overlay") && line.contains("volatile"),
        "{line}"
    );
}

/// A detached container's layers outlive it (until `rm`): no `volatile`.
/// (From step 20, which has `rm` to end it with.)
#[cfg(feature = "rm")]
#[rstest]
fn a_detached_containers_layers_are_not_volatile(env: Env) {
    env.md()
        .args([
            "run",
            "-d",
            "--name",
            "layers-durable",
            "busybox",
            "sleep",
            "30",
        ])
        .assert()
        .success();
    let root = env.root.to_str().unwrap().to_string();
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = table
        .lines()
        .find(|l| {
            l.split(' ')
                .nth(4)
                .is_some_and(|m| m.starts_with(&root) && m.ends_with("/merged"))
        })
        .map(str::to_string);
    env.md()
        .args(["rm", "-f", "layers-durable"])
        .assert()
        .success();
    let line = line.expect("the detached container's root is mounted");
    assert!(!line.contains("volatile"), "{line}");
}
