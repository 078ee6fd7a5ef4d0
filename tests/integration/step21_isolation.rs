//! Step 21: every container has its own write layer; a detached container
//! keeps its volumes mounted for its whole life (the seed's section 2).

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

#[rstest]
fn two_containers_do_not_see_each_others_writes(env: Env) {
    env.run_d(
        &["--name", "c1"],
        &["sh", "-c", "echo one > /mine; echo ready; sleep 60"],
    );
    env.run_d(
        &["--name", "c2"],
        &["sh", "-c", "echo two > /mine; echo ready; sleep 60"],
    );
    env.wait_log("c1", "ready");
    env.wait_log("c2", "ready");
    let cat = |name: &str| {
        stdout_of(
            &env.md()
                .args(["exec", name, "cat", "/mine"])
                .output()
                .unwrap(),
        )
    };
    assert_eq!(cat("c1"), "one\n");
    assert_eq!(cat("c2"), "two\n");
    assert!(!env.root.join("images/busybox/mine").exists());
    let (l1, l2) = (
        env.state("c1").layers.unwrap(),
        env.state("c2").layers.unwrap(),
    );
    assert_ne!(l1, l2);
    assert!(l1.starts_with(env.root.join("containers/c1")));
}

/// The seed's section 2, transcript for transcript (our --root for its
/// /nicktming): a detached container with a volume; exec sees the volume;
/// what is written there is on the host after stop and rm.
#[rstest]
fn seed_section_2_volume_of_a_detached_container(env: Env) {
    let volume1 = env.scratch("nicktming").join("volume1");
    let spec = format!("{}:/containerVolume", volume1.display());
    // ./mydocker run -d -name test -v /nicktming/volume1:/containerVolume busybox /bin/top
    env.run_d(&["-name", "test", "-v", &spec], &["/bin/top"]);
    // ./mydocker ps
    let ps = stdout_of(&env.md().arg("ps").output().unwrap());
    let line = ps
        .lines()
        .find(|l| l.contains(" test "))
        .expect("test in ps");
    assert!(
        line.contains("running") && line.contains("/bin/top"),
        "{line}"
    );
    // ./mydocker exec test /bin/sh ; ls -l   (containerVolume is there)
    let ls = stdout_of(&env.md().args(["exec", "test", "ls"]).output().unwrap());
    assert!(ls.lines().any(|l| l == "containerVolume"), "{ls}");
    // echo "container test: test01" > containerVolume/test01.txt
    env.md()
        .args(["exec", "test", "sh", "-c", "echo \"container test: test01\" > containerVolume/test01.txt; cat containerVolume/test01.txt"])
        .assert()
        .success()
        .stdout("container test: test01\n");
    // ./mydocker stop test ; ./mydocker rm test
    env.md().args(["stop", "test"]).assert().success();
    env.md().args(["rm", "test"]).assert().success();
    // cat /nicktming/volume1/test01.txt
    assert_eq!(
        std::fs::read_to_string(volume1.join("test01.txt")).unwrap(),
        "container test: test01\n"
    );
}

/// A container that has exited holds no mount: its union and its volumes
/// are unmounted when it ends (its write layer stays on disk until `rm`),
/// as Docker does.
#[rstest]
fn an_exited_container_holds_no_mounts(env: Env) {
    let vol = env.scratch("vol");
    let spec = format!("{}:/data", vol.display());
    env.run_d(
        &["--name", "done", "-v", &spec],
        &["sh", "-c", "echo kept > /data/f; echo mine > /mine"],
    );
    env.wait_exited("done");
    let base = env.root.join("containers/done");
    let mounted = crate::harness::wait_for("the exited container's mounts to go", || {
        let left = mydocker::fs::layers::mounts_below(&base).ok()?;
        left.is_empty().then_some(left)
    });
    assert!(mounted.is_empty());
    assert_eq!(std::fs::read_to_string(vol.join("f")).unwrap(), "kept\n");
    // Its write layer is still there, for commit, cp and rm.
    assert_eq!(
        std::fs::read_to_string(base.join("upper/mine")).unwrap(),
        "mine\n"
    );
}
