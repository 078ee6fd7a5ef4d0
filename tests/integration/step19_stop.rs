//! Step 19: `stop` sends SIGTERM, waits, then SIGKILL; the exit is recorded;
//! nothing is lost; a recycled PID is never signalled.

use rstest::rstest;

use crate::harness::{Env, env};

#[rstest]
fn a_clean_exit_on_sigterm_keeps_its_code(env: Env) {
    env.run_d(
        &["--name", "polite"],
        &[
            "sh",
            "-c",
            "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    env.wait_log("polite", "ready");
    env.md()
        .args(["stop", "polite"])
        .assert()
        .success()
        .stdout("polite\n");
    let info = env.state("polite");
    assert_eq!(info.exit_code, Some(7));
    assert!(!info.is_alive());
}

#[rstest]
fn a_container_ignoring_sigterm_is_killed_after_the_timeout(env: Env) {
    // PID 1 without a handler ignores SIGTERM.
    env.run_d(
        &["--name", "stubborn"],
        &["sh", "-c", "echo ready; while :; do sleep 0.05; done"],
    );
    env.wait_log("stubborn", "ready");
    env.md()
        .args(["stop", "-t", "1", "stubborn"])
        .assert()
        .success();
    assert_eq!(env.state("stubborn").exit_code, Some(137));
}

#[rstest]
fn stopping_a_stopped_container_is_not_an_error(env: Env) {
    env.run_d(&["--name", "gone"], &["true"]);
    env.wait_exited("gone");
    env.md().args(["stop", "gone"]).assert().success();
    assert_eq!(env.state("gone").exit_code, Some(0));
}

/// From step 21; before, the shared layer is given up when a container ends.
#[cfg(feature = "isolation")]
#[rstest]
fn stop_keeps_layers_and_volumes_until_rm(env: Env) {
    let vol = env.scratch("vol");
    let spec = format!("{}:/data", vol.display());
    env.run_d(
        &["--name", "keeper", "-v", &spec],
        &[
            "sh",
            "-c",
            "echo kept > /kept; echo v > /data/v; echo ready; sleep 60",
        ],
    );
    env.wait_log("keeper", "ready");
    env.md()
        .args(["stop", "-t", "0", "keeper"])
        .assert()
        .success();
    let layers = env.state("keeper").layers.expect("layers recorded");
    assert_eq!(
        std::fs::read_to_string(layers.join("upper/kept")).unwrap(),
        "kept\n"
    );
    assert_eq!(std::fs::read_to_string(vol.join("v")).unwrap(), "v\n");
}

#[rstest]
fn unknown_containers_exit_125(env: Env) {
    let out = env.md().args(["stop", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such container: nobody"));
}

#[rstest]
fn a_recycled_pid_is_never_signalled(env: Env) {
    env.run_d(&["--name", "old"], &["true"]);
    env.wait_exited("old");
    // Pretend the kernel gave the container's PID to an unrelated process.
    let mut bystander = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let store = mydocker::container::state::Store::new(&env.root);
    store
        .update("old", |i| {
            i.status = mydocker::container::state::Status::Running;
            i.pid = Some(bystander.id() as i32);
            i.pid_start = Some(1); // not the bystander's start time
        })
        .unwrap();
    env.md().args(["stop", "-t", "0", "old"]).assert().success();
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the bystander was signalled"
    );
    let out = env.md().args(["exec", "old", "true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "exec entered the bystander");
    bystander.kill().unwrap();
    bystander.wait().unwrap();
}

/// `-t -1` (Docker, API 1.42 on): no SIGKILL, wait as long as the
/// container takes; here its SIGTERM handler takes a second.
#[rstest]
fn a_negative_timeout_waits_without_sigkill(env: Env) {
    env.run_d(
        &["--name", "patient"],
        &[
            "sh",
            "-c",
            "trap 'sleep 1; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
        ],
    );
    env.wait_log("patient", "ready");
    env.md()
        .args(["stop", "-t", "-1", "patient"])
        .assert()
        .success()
        .stdout("patient\n");
    assert_eq!(env.state("patient").exit_code, Some(7));
}
