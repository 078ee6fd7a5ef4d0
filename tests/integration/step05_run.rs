//! Step 05: `run` starts the command as PID 1 of new namespaces, with its
//! own /proc, and returns its exit code; the host is unchanged afterwards.

use std::io::{BufRead, BufReader};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rstest::rstest;

use crate::harness::{Env, bin, env, host_mounts, stdout_of};

#[rstest]
fn the_command_is_pid_1(env: Env) {
    // `-i`, not the tutorial's `-it`: from step 36, `-it` needs a terminal
    // as stdin (as Docker's), and a test's stdin is /dev/null.
    env.run(&["-i"], &["sh", "-c", "echo $$"])
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
    // What a container's mounts would cover if they reached the host: its
    // root, /proc, /sys, /dev. Only those are compared: on a shared machine
    // other programs mount elsewhere while the test runs.
    let kernel_views = || -> Vec<String> {
        host_mounts()
            .into_iter()
            .filter(|m| {
                m == "/"
                    || ["/proc", "/sys", "/dev"]
                        .iter()
                        .any(|v| m == v || m.starts_with(&format!("{v}/")))
            })
            .collect()
    };
    let before = kernel_views();
    env.run(&[], &["true"]).assert().success();
    assert_eq!(kernel_views(), before, "the host's mount table changed");
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

/// Start `run` (`expr`), wait for the container's "ready", send `sig` to
/// `run` and return its exit code. A signal that is lost fails the test
/// after 10 s (the container is then ended with SIGTERM, which it traps)
/// instead of hanging it.
fn signal_when_ready(expr: duct::Expression, sig: Signal) -> Option<i32> {
    let handle = expr.reader().unwrap();
    let pid = Pid::from_raw(handle.pids()[0] as i32);
    let mut line = String::new();
    BufReader::new(&handle).read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    kill(pid, sig).unwrap();
    for _ in 0..100 {
        if let Some(out) = handle.try_wait().unwrap() {
            return out.status.code();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = kill(pid, Signal::SIGTERM);
    let _ = handle.try_wait();
    panic!("run did not end within 10 s of {sig}");
}

#[rstest]
#[case::term(Signal::SIGTERM, 42)]
#[case::int(Signal::SIGINT, 43)]
fn signals_to_run_reach_the_container(env: Env, #[case] sig: Signal, #[case] code: i32) {
    let script =
        "trap 'exit 42' TERM; trap 'exit 43' INT; echo ready; while :; do sleep 0.05; done";
    let got = signal_when_ready(env.run_bg(&["-i"], &["sh", "-c", script]), sig);
    assert_eq!(got, Some(code), "the container did not get {sig}");
}

/// `run` started as a script's background job or `nohup` starts it, with
/// SIGINT, SIGQUIT and SIGHUP ignored (`trap '' ...` before `exec`).
fn run_with_signals_ignored(env: &Env, opts: &[&str], cmd: &[&str]) -> duct::Expression {
    let mut argv = vec![
        "-c".to_string(),
        "trap '' INT QUIT HUP; exec \"$0\" \"$@\"".to_string(),
        bin().to_string(),
    ];
    argv.extend(env.run_args(opts, cmd));
    duct::cmd("sh", argv).unchecked()
}

/// Signals 32 and 33 belong to the C library's threads, which neither lets
/// a program change; the test leaves them out.
#[rstest]
fn the_program_starts_with_no_signal_ignored(env: Env) {
    let out = run_with_signals_ignored(&env, &[], &["grep", "SigIgn", "/proc/self/status"])
        .stdout_capture()
        .run()
        .unwrap();
    let text = stdout_of(&out);
    let mask = text
        .strip_prefix("SigIgn:")
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap_or_else(|| panic!("no SigIgn line in {text:?}"));
    let glibc_reserved = (1u64 << 31) | (1u64 << 32);
    assert_eq!(
        mask & !glibc_reserved,
        0,
        "ignored signals reached the program: {mask:#x}"
    );
}

#[rstest]
fn run_with_sigint_ignored_still_passes_it_on(env: Env) {
    let script =
        "trap 'exit 42' TERM; trap 'exit 43' INT; echo ready; while :; do sleep 0.05; done";
    let run = run_with_signals_ignored(&env, &["-i"], &["sh", "-c", script]);
    let got = signal_when_ready(run, Signal::SIGINT);
    assert_eq!(got, Some(43), "the container did not get SIGINT");
}
