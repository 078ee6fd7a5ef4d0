//! Step 05: `run` starts the command as PID 1 of new namespaces, with its
//! own /proc, and returns its exit code; the host is unchanged afterwards.

use std::io::{BufRead, BufReader, Read};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rstest::rstest;

use crate::harness::{Env, env, host_mounts, stdout_of};

#[rstest]
fn the_command_is_pid_1(env: Env) {
    env.run(&["-it"], &["sh", "-c", "echo $$"])
        .assert()
        .success()
        .stdout("1\n");
}

#[rstest]
fn proc_shows_only_the_container(env: Env) {
    let out = env
        .run(
            &[],
            &[
                "sh",
                "-c",
                "cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'",
            ],
        )
        .output()
        .unwrap();
    let text = stdout_of(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("sh -c cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]' ")
    );
    let count: usize = lines.next().unwrap().parse().unwrap();
    assert!(count <= 5, "{count} processes visible: the host's leak in");
}

#[rstest]
fn host_proc_still_works_after_run(env: Env) {
    let before = host_mounts();
    env.run(&[], &["true"]).assert().success();
    assert_eq!(host_mounts(), before, "the host's mount table changed");
    let stat = std::fs::read_to_string("/proc/self/stat").expect("host /proc is broken");
    assert!(stat.starts_with(&std::process::id().to_string()));
}

#[rstest]
fn hostname_is_the_container_id(env: Env) {
    let out = env.run(&[], &["hostname"]).output().unwrap();
    let name = stdout_of(&out);
    assert_eq!(name.trim().len(), 12, "{name:?}");
    assert!(name.trim().chars().all(|c| c.is_ascii_hexdigit()));
}

#[rstest]
#[case::ok("exit 0", 0)]
#[case::three("exit 3", 3)]
fn exit_code_is_the_containers(env: Env, #[case] script: &str, #[case] code: i32) {
    env.run(&[], &["sh", "-c", script]).assert().code(code);
}

#[rstest]
fn a_missing_command_exits_127(env: Env) {
    let out = env.run(&[], &["no-such-command-xyz"]).output().unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-command-xyz"));
}

#[rstest]
fn a_directory_as_the_command_exits_126(env: Env) {
    env.run(&[], &["/"]).assert().code(126);
}

#[rstest]
fn arguments_are_passed_verbatim_without_a_shell(env: Env) {
    env.run(&[], &["echo", "$HOME", "a  b", "*"])
        .assert()
        .success()
        .stdout("$HOME a  b *\n");
}

#[rstest]
#[case::term(Signal::SIGTERM, 42)]
#[case::int(Signal::SIGINT, 43)]
fn signals_to_run_reach_the_container(env: Env, #[case] sig: Signal, #[case] code: i32) {
    let script =
        "trap 'exit 42' TERM; trap 'exit 43' INT; echo ready; while :; do sleep 0.05; done";
    let handle = env
        .run_bg(&["-it"], &["sh", "-c", script])
        .reader()
        .unwrap();
    let pid = handle.pids()[0];
    let mut reader = BufReader::new(&handle);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    kill(Pid::from_raw(pid as i32), sig).unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let status = handle.try_wait().unwrap().expect("run has exited").status;
    assert_eq!(status.code(), Some(code), "the container did not get {sig}");
}
