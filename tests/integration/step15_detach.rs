//! Step 15: `run -d` returns at once with the container's ID; a monitor
//! waits for the container and records how it ended.

use rstest::rstest;

use mydocker::container::state::Status;

use crate::harness::{Env, env};

#[rstest]
fn the_container_outlives_the_cli(env: Env) {
    let id = env.run_d(
        &["--name", "bg"],
        &["sh", "-c", "echo ready; while :; do sleep 1; done"],
    );
    env.wait_log("bg", "ready");
    let info = env.state("bg");
    assert_eq!(info.id, id);
    assert_eq!(info.status, Status::Running);
    assert!(info.is_alive(), "the container died with the CLI");
    // Its parent is the monitor, not the CLI (which has exited).
    let ppid = mydocker::proc_stat::parent_pid(info.pid.unwrap()).expect("the container's parent");
    let parent = std::fs::read_to_string(format!("/proc/{ppid}/cmdline")).unwrap();
    assert!(parent.contains("mydocker"), "parent is {parent:?}");
}

#[rstest]
fn the_exit_code_is_recorded_when_it_ends(env: Env) {
    env.run_d(&["--name", "three"], &["sh", "-c", "exit 3"]);
    let info = env.wait_exited("three");
    assert_eq!(info.exit_code, Some(3));
    assert!(info.finished.is_some());
    assert!(!info.is_alive());
    // The monitor released the cgroups.
    crate::harness::wait_for("the cgroups to go", || {
        env.cgroup_dirs().is_empty().then_some(())
    });
}

#[rstest]
fn output_goes_to_the_log_not_the_terminal(env: Env) {
    let out = env
        .run(
            &["-d", "--name", "quiet"],
            &["sh", "-c", "echo to-out; echo to-err >&2"],
        )
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim().len(),
        12,
        "only the ID is printed"
    );
    let log = env.wait_log("quiet", "to-err");
    assert!(log.contains("to-out"), "{log}");
}

#[rstest]
fn a_duplicate_name_is_refused_and_the_first_untouched(env: Env) {
    let first = env.run_d(&["--name", "dup"], &["sleep", "30"]);
    let out = env
        .run(&["-d", "--name", "dup"], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already in use"));
    let info = env.state("dup");
    assert_eq!(info.id, first);
    assert!(info.is_alive());
}

#[rstest]
#[case("..")]
#[case("a/b")]
#[case("-x")]
fn bad_container_names_are_refused(env: Env, #[case] name: &str) {
    let arg = format!("--name={name}");
    let out = env.run(&["-d", &arg], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(!env.root.join("containers").join(name).exists());
}

#[rstest]
fn a_command_that_cannot_start_is_recorded_as_127(env: Env) {
    // As Docker: `run -d` says why and exits 127 (126 for a file that
    // cannot be run), printing no ID; the container stays, exited.
    let out = env
        .run(&["-d", "--name", "nocmd"], &["no-such-command"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no-such-command"),
        "{out:?}"
    );
    assert_eq!(env.wait_exited("nocmd").exit_code, Some(127));
    assert!(
        env.wait_log("nocmd", "no-such-command")
            .contains("not found")
    );
}

/// A file that exists but cannot be run: `run -d` says so and exits 126,
/// as Docker.
#[rstest]
fn a_file_that_cannot_run_exits_126(env: Env) {
    let out = env
        .run(&["-d", "--name", "notexec"], &["/etc/passwd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(env.wait_exited("notexec").exit_code, Some(126));
}
