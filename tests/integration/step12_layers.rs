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
