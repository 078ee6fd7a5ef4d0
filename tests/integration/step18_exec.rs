//! Step 18: `exec` runs a command inside a running container: its
//! namespaces, cgroups, files and environment; only fds 0-2.

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn exec(env: &Env, name: &str, cmd: &[&str]) -> std::process::Output {
    env.md().arg("exec").arg(name).args(cmd).output().unwrap()
}

#[rstest]
fn exec_sees_the_containers_world(env: Env) {
    let id = env.run_d(
        &["--name", "box"],
        &[
            "sh",
            "-c",
            "echo inside > /made-inside; echo ready; exec sleep 60",
        ],
    );
    env.wait_log("box", "ready");
    let script = "hostname; cat /made-inside; ps -o comm | sed -n 2p; cat /proc/self/cgroup";
    let out = exec(&env, "box", &["sh", "-c", script]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout_of(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(id.as_str()), "hostname");
    assert_eq!(lines.next(), Some("inside"), "files");
    assert_eq!(lines.next(), Some("sleep"), "PID 1 is the container's");
    let tag = format!("mydocker-{}-{id}", env.tag);
    assert!(
        lines.any(|l| l.contains(&tag)),
        "not in the container's cgroup:\n{text}"
    );
}

/// `run -d` returns once the program has started: an `exec` at once
/// already finds the container's root, hostname and PID 1 (never the
/// half-made container its init is still setting up).
#[test]
fn exec_right_after_run_d_finds_the_finished_container() {
    // A root of its own each time: before step 21 a root holds one
    // container at a time.
    for i in 0..5 {
        let env = crate::harness::env();
        let id = env.run_d(&["--name", "quick"], &["sleep", "60"]);
        let out = exec(
            &env,
            "quick",
            &["sh", "-c", "hostname; tr '\\0' ' ' < /proc/1/cmdline"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout_of(&out), format!("{id}\nsleep 60 "), "try {i}");
    }
}

/// Before step 24 a container inherits the environment of `run`'s caller;
/// step 24's tests cover `-e`.
#[cfg(not(feature = "env"))]
#[rstest]
fn exec_has_the_containers_environment(env: Env) {
    let mut run = env.run(&["-d", "--name", "envbox"], &["sleep", "60"]);
    run.env("MYDOCKER_TEST_VALUE", "from-run");
    assert!(run.output().unwrap().status.success());
    let mut cmd = env.md();
    cmd.env("MYDOCKER_TEST_VALUE", "from-exec").args([
        "exec",
        "envbox",
        "sh",
        "-c",
        "echo $MYDOCKER_TEST_VALUE",
    ]);
    cmd.assert().success().stdout("from-run\n");
}

#[rstest]
fn exit_codes_propagate(env: Env) {
    env.run_d(&["--name", "codes"], &["sleep", "60"]);
    assert_eq!(
        exec(&env, "codes", &["sh", "-c", "exit 5"]).status.code(),
        Some(5)
    );
    assert_eq!(
        exec(&env, "codes", &["no-such-command"]).status.code(),
        Some(127)
    );
}

/// As `run IMAGE -- ...`: a `--` after the container is the command's.
#[rstest]
fn a_dash_dash_after_the_container_is_the_commands_first_word(env: Env) {
    env.run_d(&["--name", "dashes"], &["sleep", "60"]);
    let out = exec(&env, "dashes", &["--", "echo", "hi"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[rstest]
fn only_stdio_reaches_the_command(env: Env) {
    env.run_d(&["--name", "fds"], &["sleep", "60"]);
    // ls opens the directory it lists: that is fd 3.
    let out = exec(&env, "fds", &["ls", "/proc/self/fd"]);
    assert_eq!(stdout_of(&out), "0\n1\n2\n3\n");
}

#[rstest]
fn exec_into_a_stopped_or_unknown_container_exits_125(env: Env) {
    env.run_d(&["--name", "done"], &["true"]);
    env.wait_exited("done");
    let out = exec(&env, "done", &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
    let out = exec(&env, "ghost", &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such container: ghost"));
}

#[rstest]
fn a_container_is_found_by_id_prefix(env: Env) {
    let id = env.run_d(&[], &["sleep", "60"]);
    exec(&env, &id[..6], &["true"])
        .status
        .success()
        .then_some(())
        .expect("exec by ID prefix");
}
