//! Step 16: `ps` lists containers with a status that stays true.

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn ps(env: &Env, args: &[&str]) -> String {
    let out = env.md().arg("ps").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_of(&out)
}

#[rstest]
fn ps_shows_running_and_exited_containers(env: Env) {
    // One after the other: before step 21 containers share one layer.
    env.run_d(&["--name", "quitter"], &["sh", "-c", "exit 3"]);
    env.wait_exited("quitter");
    env.run_d(&["--name", "runner"], &["sh", "-c", "echo up; sleep 60"]);
    env.wait_log("runner", "up");
    let all = ps(&env, &["-a"]);
    // Columns are aligned to their widest cell, which varies with PIDs:
    // compare the cells.
    let cells: String = all
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .map(|l| l + "\n")
        .collect();
    crate::snapshot!("ps_all", cells);
    let running = ps(&env, &[]);
    assert!(
        running.contains("runner") && !running.contains("quitter"),
        "{running}"
    );
}

#[rstest]
fn a_container_that_dies_on_its_own_shows_as_exited(env: Env) {
    env.run_d(&["--name", "short"], &["sh", "-c", "exit 7"]);
    env.wait_exited("short");
    let all = ps(&env, &["-a"]);
    let line = all.lines().find(|l| l.contains("short")).unwrap();
    assert!(line.contains("exited (7)"), "{line}");
}

#[rstest]
fn status_is_true_even_if_nothing_recorded_the_exit(env: Env) {
    env.run_d(&["--name", "victim"], &["sleep", "60"]);
    let info = env.state("victim");
    // Kill the monitor first, then the container: nothing records the end.
    let ppid = mydocker::proc_stat::parent_pid(info.pid.unwrap()).expect("the container's parent");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ppid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(info.pid.unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    crate::harness::wait_for("the container to die", || {
        (!env.state("victim").is_alive()).then_some(())
    });
    let line = ps(&env, &["-a"])
        .lines()
        .find(|l| l.contains("victim"))
        .unwrap()
        .to_string();
    assert!(line.contains("exited"), "{line}");
    assert!(!ps(&env, &[]).contains("victim"));
    // Its cgroups were the monitor's to remove; the teardown's rm -f does it.
}

#[rstest]
fn json_format_has_the_full_command(env: Env) {
    env.run_d(&["--name", "j"], &["sh", "-c", "echo a  b; sleep 60"]);
    let out = ps(&env, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &v.as_array().unwrap()[0];
    assert_eq!(c["name"], "j");
    assert_eq!(c["status"], "running");
    assert_eq!(
        c["command"],
        serde_json::json!(["sh", "-c", "echo a  b; sleep 60"])
    );
    assert!(c["pid"].as_i64().unwrap() > 1);
    assert_eq!(c["id"].as_str().unwrap().len(), 12);
}

#[rstest]
#[case::empty("")]
#[case::garbage("{not json")]
fn a_broken_state_file_is_reported_and_the_rest_listed(env: Env, #[case] content: &str) {
    env.run_d(&["--name", "bad"], &["sh", "-c", "exit 0"]);
    env.wait_exited("bad");
    env.run_d(&["--name", "good"], &["sleep", "60"]);
    std::fs::write(env.root.join("containers/bad/config.json"), content).unwrap();
    let out = env.md().args(["ps", "-a"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    assert!(
        text.lines()
            .any(|l| l.contains("bad") && l.contains("broken")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("good") && l.contains("running")),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad"));
}

/// A container whose first process has ended but not been reaped (a
/// zombie: its parent is stopped) has exited; it is not running.
#[rstest]
fn a_zombie_is_not_running(env: Env) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    // A foreground run is the container's parent: stop it, so nothing
    // reaps the container's process when it is killed.
    let mut run = std::process::Command::new(crate::harness::bin())
        .args(env.run_args(&["--name", "undead"], &["sleep", "1000"]))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = crate::harness::wait_for("the container to run", || {
        mydocker::container::state::Store::new(&env.root)
            .load("undead")
            .ok()
            .filter(|i| i.is_alive())
            .and_then(|i| i.pid)
    });
    let run_pid = Pid::from_raw(run.id() as i32);
    kill(run_pid, Signal::SIGSTOP).unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    crate::harness::wait_for("the container's process to be a zombie", || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat[stat.rfind(')')? + 1..].split_whitespace().next()?;
        (state == "Z").then_some(())
    });
    let all = ps(&env, &["-a"]);
    let running = ps(&env, &[]);
    kill(run_pid, Signal::SIGCONT).unwrap();
    let _ = run.wait();
    let line = all.lines().find(|l| l.contains("undead")).unwrap();
    assert!(line.contains("exited"), "{line}");
    assert!(!running.contains("undead"), "{running}");
}

#[rstest]
fn a_long_command_is_truncated_and_breaks_nothing(env: Env) {
    let long = "x".repeat(70_000);
    env.run_d(&["--name", "long"], &["echo", &long]);
    env.wait_exited("long");
    env.run_d(&["--name", "other"], &["sleep", "60"]);
    let out = env.md().args(["ps", "-a"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout_of(&out);
    // Docker's column: quoted, at most 20 characters, an ellipsis when cut.
    let line = text.lines().find(|l| l.contains("long")).unwrap();
    assert!(line.contains("\"echo xxxxxxxxxxxxxx…\""), "{line}");
    assert!(line.len() < 200, "{line}");
    assert!(text.lines().any(|l| l.contains("other")), "{text}");
    // --no-trunc shows it whole.
    let whole = ps(&env, &["-a", "--no-trunc"]);
    assert!(whole.contains(&format!("\"echo {long}\"")));
}

/// A state file that parses but holds values no mydocker wrote (edited by
/// hand, or by another version) is shown, never a panic.
#[rstest]
#[case::created_far_in_the_future(serde_json::json!({"created": u64::MAX}))]
#[case::finished_far_in_the_future(serde_json::json!({"finished": u64::MAX}))]
#[case::a_newline_in_the_command(serde_json::json!({"command": ["sh", "-c", "a\nb\tc"]}))]
#[case::an_empty_command(serde_json::json!({"command": []}))]
#[case::odd_pid(serde_json::json!({"pid": -1, "pid_start": u64::MAX, "status": "running"}))]
#[case::odd_exit_code(serde_json::json!({"exit_code": i32::MIN}))]
fn odd_state_values_never_panic(env: Env, #[case] change: serde_json::Value) {
    env.run_d(&["--name", "odd"], &["true"]);
    env.wait_exited("odd");
    let path = env.root.join("containers/odd/config.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for (k, v) in change.as_object().unwrap() {
        state[k] = v.clone();
    }
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
    for args in [&["ps", "-a"][..], &["ps", "-a", "--format", "json"]] {
        let out = env.md().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(stdout_of(&out).contains("odd"), "{args:?}");
    }
    let table = ps(&env, &["-a"]);
    assert_eq!(table.lines().count(), 2, "one line per container:\n{table}");
}

/// A reader that goes away (`mydocker ps | head -1`) ends `ps` as it ends
/// any Unix tool: quietly, by SIGPIPE, not with an "internal error".
#[rstest]
fn a_closed_pipe_on_stdout_ends_ps_quietly(env: Env) {
    use std::os::unix::process::ExitStatusExt;
    env.run_d(&["--name", "piped"], &["sleep", "1000"]);
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let out = std::process::Command::new(crate::harness::bin())
        .arg("--root")
        .arg(&env.root)
        .args(["ps", "-a"])
        .stdout(std::process::Stdio::from(write))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{out:?}");
}
