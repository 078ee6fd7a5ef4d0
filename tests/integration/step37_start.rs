//! Step 37: `start [-a]`, `restart`, `run --restart` and `rm` of several
//! containers: a stopped container runs again with what it had.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rstest::rstest;

use crate::expect::Expect;
use crate::harness::{Env, env, stdout_of, wait_for};

fn md(env: &Env, args: &[&str]) -> assert_cmd::Command {
    let mut c = env.md();
    c.args(args);
    c
}

fn inspect(env: &Env, name: &str, template: &str) -> String {
    let out = md(env, &["inspect", "-f", template, name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    stdout_of(&out).trim().to_string()
}

/// The issue's own example, and the write layer kept: a file the first
/// run wrote is there for the second, and the log goes on.
#[rstest]
fn start_a_runs_it_again_with_its_write_layer_and_code(env: Env) {
    env.run_d(
        &["--name", "w"],
        &[
            "sh",
            "-c",
            "cat /seen 2>/dev/null; echo a; echo b >&2; echo seen > /seen; exit 4",
        ],
    );
    Expect::new(md(&env, &["wait", "w"])).stdout("4\n").run();
    Expect::new(md(&env, &["logs", "w"]))
        .stdout("a\n")
        .stderr("b\n")
        .run();
    let first_id = inspect(&env, "w", "{{.Id}}");

    Expect::new(md(&env, &["start", "-a", "w"]))
        .status(4)
        .stdout("seen\na\n")
        .stderr("b\n")
        .run();
    assert_eq!(inspect(&env, "w", "{{.Id}}"), first_id);
    assert_eq!(
        inspect(
            &env,
            "w",
            "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}"
        ),
        "exited 4 0"
    );
    assert_ne!(
        inspect(&env, "w", "{{.State.StartedAt}}"),
        "0001-01-01T00:00:00Z"
    );
    // The json-file records go on after the first run's.
    Expect::new(md(&env, &["logs", "w"]))
        .stdout("a\nseen\na\n")
        .stderr("b\nb\n")
        .run();

    // Without -a: the name, once it runs; `wait` gives the new code.
    Expect::new(md(&env, &["start", "w"])).stdout("w\n").run();
    Expect::new(md(&env, &["wait", "w"])).stdout("4\n").run();
}

/// Volumes and the environment come from the run's arguments again.
#[rstest]
fn start_keeps_its_volumes_and_environment(env: Env) {
    let data = env.scratch("data");
    let volume = format!("{}:/data", data.display());
    env.run_d(
        &["--name", "v", "-v", &volume, "-e", "GREETING=hello"],
        &["sh", "-c", "echo $GREETING >> /data/out"],
    );
    Expect::new(md(&env, &["wait", "v"])).stdout("0\n").run();
    Expect::new(md(&env, &["start", "-a", "v"])).run();
    assert_eq!(
        std::fs::read_to_string(data.join("out")).unwrap(),
        "hello\nhello\n"
    );
}

/// Its limits are the recorded ones, in a new cgroup: the first run's went
/// with it.
#[rstest]
fn start_gives_it_a_cgroup_with_its_limits_again(env: Env) {
    env.run_d(&["--name", "lim", "-m", "64m"], &["sleep", "1000"]);
    let limit = ["memory.max", "memory.limit_in_bytes"];
    assert_eq!(env.cgroup_value(&limit), "67108864");
    Expect::new(md(&env, &["stop", "-t", "0", "lim"]))
        .stdout("lim\n")
        .run();
    assert!(env.cgroup_dirs().is_empty(), "{:?}", env.cgroup_dirs());
    Expect::new(md(&env, &["start", "lim"]))
        .stdout("lim\n")
        .run();
    assert_eq!(env.cgroup_value(&limit), "67108864");
}

/// Docker prints the name of a running container and leaves it alone.
#[rstest]
fn start_of_a_running_container_leaves_it_as_it_is(env: Env) {
    env.run_d(&["--name", "r"], &["sleep", "1000"]);
    let pid = inspect(&env, "r", "{{.State.Pid}}");
    Expect::new(md(&env, &["start", "r"])).stdout("r\n").run();
    assert_eq!(inspect(&env, "r", "{{.State.Pid}}"), pid);
    Expect::new(md(&env, &["start", "ghost"]))
        .status(125)
        .stderr_has("no such container: ghost")
        .run();
}

fn fetch(port: u16) -> Result<String, String> {
    use std::io::{Read, Write};
    let sock: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut last = String::new();
    for _ in 0..25 {
        let got = (|| -> std::io::Result<String> {
            let mut s = TcpStream::connect_timeout(&sock, Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
            let mut reply = String::new();
            s.read_to_string(&mut reply)?;
            Ok(reply)
        })();
        match got {
            Ok(r) => return Ok(r),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}

fn new_network(env: &Env) -> String {
    let (name, subnet) = env.unique_network();
    Expect::new(md(env, &["network", "create", "--subnet", &subnet, &name]))
        .any_stdout()
        .run();
    name
}

/// A container on a network with a published port gets an address and its
/// port again: the port answers on 127.0.0.1 after `stop` and `start`.
#[rstest]
fn start_attaches_it_to_its_network_and_publishes_its_ports_again(env: Env) {
    let net = new_network(&env);
    let port = 20000 + (std::process::id() % 20000) as u16 + 21;
    env.run_d(
        &["--name", "web", "--net", &net, "-p", &format!("{port}:80")],
        &[
            "sh",
            "-c",
            "mkdir -p /www; echo page >> /www/index.html; exec httpd -f -p 80 -h /www",
        ],
    );
    assert!(fetch(port).unwrap().contains("page"));
    Expect::new(md(&env, &["stop", "-t", "1", "web"]))
        .stdout("web\n")
        .run();
    assert!(fetch(port).is_err(), "the port still answers after stop");
    Expect::new(md(&env, &["start", "web"]))
        .stdout("web\n")
        .run();
    // The same write layer: the page was appended to, not made anew.
    let reply = fetch(port).unwrap();
    assert!(reply.contains("page\npage"), "{reply}");
    assert_ne!(inspect(&env, "web", "{{.NetworkSettings.IPAddress}}"), "");
    assert_eq!(
        inspect(&env, "web", "{{json .NetworkSettings.Ports}}"),
        format!("{{\"80/tcp\":[{{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"{port}\"}}]}}")
    );
}

/// A container whose monitor was killed (SIGKILL) before its program
/// ended keeps in its record what the monitor would have given back: its
/// address, its published port's rules, its mounts. `start` gives them
/// back itself and starts it, as Docker starts a container whose shim
/// died; it does not refuse for ever because the port is "already
/// published" by the container itself.
#[rstest]
fn start_after_its_monitor_was_killed_gives_back_what_it_held(env: Env) {
    let net = new_network(&env);
    let port = 20000 + (std::process::id() % 20000) as u16 + 41;
    env.run_d(
        &[
            "--name",
            "orphan",
            "--net",
            &net,
            "-p",
            &format!("{port}:80"),
        ],
        &["httpd", "-f", "-p", "80", "-h", "/etc"],
    );
    assert!(fetch(port).is_ok());
    let pid: i32 = inspect(&env, "orphan", "{{.State.Pid}}").parse().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let monitor: i32 = after_name.split(' ').nth(1).unwrap().parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    Expect::new(md(&env, &["kill", "orphan"]))
        .stdout("orphan\n")
        .run();
    wait_for("its process to be gone", || {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()).then_some(())
    });
    Expect::new(md(&env, &["start", "orphan"]))
        .stdout("orphan\n")
        .run();
    assert!(fetch(port).unwrap().starts_with("HTTP/1."));
    // One union mount, not the old one with the new one over it (of this
    // root: other tests have containers named orphan too).
    let merged: Vec<_> = crate::harness::mounts()
        .into_iter()
        .filter(|m| {
            m.mount_point.starts_with(&env.root) && m.mount_point.ends_with("orphan/merged")
        })
        .collect();
    assert_eq!(merged.len(), 1, "{merged:?}");
}

/// Several `restart`s of one container at once (a script, a user): each
/// waits for the one before, as Docker's are one after the other, and
/// none fails on what another is doing (a port it is giving back, a
/// start under way).
#[rstest]
fn restarts_of_one_container_at_once_all_succeed(env: Env) {
    let net = new_network(&env);
    let port = 20000 + (std::process::id() % 20000) as u16 + 51;
    env.run_d(
        &["--name", "busy", "--net", &net, "-p", &format!("{port}:80")],
        &["httpd", "-f", "-p", "80", "-h", "/etc"],
    );
    for _ in 0..3 {
        let verbs: Vec<&[&str]> = vec![
            &["restart", "-t", "0", "busy"],
            &["restart", "-t", "0", "busy"],
            &["start", "busy"],
            &["restart", "-t", "0", "busy"],
            &["start", "busy"],
        ];
        let outs: Vec<_> = std::thread::scope(|scope| {
            let running: Vec<_> = verbs
                .iter()
                .map(|args| scope.spawn(|| md(&env, args).output().unwrap()))
                .collect();
            running.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for out in outs {
            assert!(out.status.success(), "{out:?}");
            assert_eq!(stdout_of(&out), "busy\n");
        }
    }
    assert_eq!(inspect(&env, "busy", "{{.State.Status}}"), "running");
    assert!(fetch(port).unwrap().starts_with("HTTP/1."));
}

/// A start that cannot be made (its host port is now another container's)
/// leaves the container exited with its layer and record, and nothing of
/// the attempt behind.
#[rstest]
fn a_failing_start_leaves_the_container_exited_and_intact(env: Env) {
    let net = new_network(&env);
    let port = 20000 + (std::process::id() % 20000) as u16 + 31;
    let publish = format!("{port}:80");
    env.run_d(
        &["--name", "first", "--net", &net, "-p", &publish],
        &["sh", "-c", "echo kept > /file; exit 3"],
    );
    Expect::new(md(&env, &["wait", "first"]))
        .stdout("3\n")
        .run();
    env.run_d(
        &["--name", "second", "--net", &net, "-p", &publish],
        &["sleep", "1000"],
    );
    Expect::new(md(&env, &["start", "first"]))
        .status(125)
        .stderr_has("already published")
        .run();
    let info = env.state("first");
    assert_eq!(
        (
            info.status.as_str(),
            info.exit_code,
            info.ip,
            info.ports.len()
        ),
        ("exited", Some(3), None, 0)
    );
    let upper = info.layers.unwrap().join("upper/file");
    assert_eq!(std::fs::read_to_string(upper).unwrap(), "kept\n");

    // With the port free again, it starts.
    Expect::new(md(&env, &["rm", "-f", "second"]))
        .stdout("second\n")
        .run();
    Expect::new(md(&env, &["start", "-a", "first"]))
        .status(3)
        .run();
}

/// A volume whose host directory became a file cannot be mounted over the
/// directory the first run made for it: the start fails after its cgroup
/// and its layers' mount were made. They are undone; the container is kept.
#[rstest]
fn a_start_failing_part_way_undoes_only_what_it_made(env: Env) {
    let data = env.scratch("gone");
    let volume = format!("{}:/data", data.display());
    env.run_d(
        &["--name", "vol", "-v", &volume],
        &["sh", "-c", "echo kept > /file"],
    );
    Expect::new(md(&env, &["wait", "vol"])).stdout("0\n").run();
    std::fs::remove_dir(&data).unwrap();
    std::fs::write(&data, "a file now\n").unwrap();
    Expect::new(md(&env, &["start", "vol"]))
        .status(125)
        .stderr_has(&data.display().to_string())
        .run();
    env.assert_no_leaks();
    let info = env.state("vol");
    assert_eq!((info.status.as_str(), info.exit_code), ("exited", Some(0)));
    let upper = info.layers.unwrap().join("upper/file");
    assert_eq!(std::fs::read_to_string(upper).unwrap(), "kept\n");
}

#[rstest]
fn restart_stops_then_starts(env: Env) {
    env.run_d(&["--name", "rs"], &["sh", "-c", "echo up; exec sleep 1000"]);
    env.wait_log("rs", "up");
    let pid = inspect(&env, "rs", "{{.State.Pid}}");
    Expect::new(md(&env, &["restart", "-t", "1", "rs"]))
        .stdout("rs\n")
        .run();
    assert_eq!(inspect(&env, "rs", "{{.State.Status}}"), "running");
    assert_ne!(inspect(&env, "rs", "{{.State.Pid}}"), pid);
    env.wait_log("rs", "up\nup\n");
    // A stopped container is just started.
    Expect::new(md(&env, &["stop", "-t", "0", "rs"]))
        .stdout("rs\n")
        .run();
    Expect::new(md(&env, &["restart", "rs"]))
        .stdout("rs\n")
        .run();
    env.wait_log("rs", "up\nup\nup\n");
}

/// `restart -t -1`: the stop waits for the container's own exit, no
/// SIGKILL (its SIGTERM handler takes a second), then it starts again.
#[rstest]
fn restart_with_a_negative_timeout_waits_without_sigkill(env: Env) {
    env.run_d(
        &["--name", "rs-1"],
        &[
            "sh",
            "-c",
            "trap 'sleep 1; echo bye; exit 7' TERM; echo up; while :; do sleep 0.05; done",
        ],
    );
    env.wait_log("rs-1", "up");
    Expect::new(md(&env, &["restart", "-t", "-1", "rs-1"]))
        .stdout("rs-1\n")
        .run();
    env.wait_log("rs-1", "up\nbye\nup\n");
    assert_eq!(inspect(&env, "rs-1", "{{.State.Status}}"), "running");
}

/// on-failure:2 — the first run and two restarts, then the last code.
#[rstest]
fn restart_on_failure_2_runs_it_three_times(env: Env) {
    env.run_d(
        &["--name", "of", "--restart", "on-failure:2"],
        &["sh", "-c", "echo run; exit 3"],
    );
    // `wait` waits across the restarts.
    Expect::new(md(&env, &["wait", "of"])).stdout("3\n").run();
    Expect::new(md(&env, &["logs", "of"]))
        .stdout("run\nrun\nrun\n")
        .run();
    assert_eq!(
        inspect(
            &env,
            "of",
            "{{.RestartCount}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.State.Restarting}}"
        ),
        "2 on-failure 2 false"
    );
    // A success is not a failure: no restart.
    env.run_d(
        &["--name", "ok", "--restart", "on-failure:2"],
        &["sh", "-c", "echo run"],
    );
    Expect::new(md(&env, &["wait", "ok"])).stdout("0\n").run();
    assert_eq!(inspect(&env, "ok", "{{.RestartCount}}"), "0");
}

/// always: restarted after any exit (`ps` shows it restarting while its
/// monitor waits), until the user stops it; then it stays stopped.
#[rstest]
fn restart_always_stopped_by_stop_stays_stopped(env: Env) {
    env.run_d(
        &["--name", "al", "--restart", "always"],
        &["sh", "-c", "echo run; exit 1"],
    );
    // Listed without -a while it waits, as Docker lists it.
    wait_for("ps to show the container restarting", || {
        let out = md(&env, &["ps"]).output().unwrap();
        stdout_of(&out).contains("restarting (1)").then_some(())
    });
    Expect::new(md(&env, &["stop", "al"])).stdout("al\n").run();
    let runs = |env: &Env| stdout_of(&md(env, &["logs", "al"]).output().unwrap()).len();
    let after_stop = runs(&env);
    assert!(after_stop >= "run\n".len());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(runs(&env), after_stop, "restarted after stop");
    assert_eq!(
        inspect(&env, "al", "{{.State.Status}} {{.State.Restarting}}"),
        "exited false"
    );
    // `kill` is the user's too.
    env.run_d(
        &["--name", "ak", "--restart", "unless-stopped"],
        &["sleep", "1000"],
    );
    Expect::new(md(&env, &["kill", "ak"])).stdout("ak\n").run();
    Expect::new(md(&env, &["wait", "ak"])).stdout("137\n").run();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        inspect(&env, "ak", "{{.State.Status}} {{.RestartCount}}"),
        "exited 0"
    );
}

/// A container its policy will start again is `restarting` wherever a
/// script reads its state, as in Docker: `ps`, `inspect`'s `State.Status`
/// (not `exited` beside `State.Restarting` true) and `ps --filter
/// status=restarting`, which `status=exited` does not match.
#[rstest]
fn a_container_waiting_for_its_policy_is_restarting(env: Env) {
    let id = env.run_d(
        &["--name", "rs", "--restart", "always"],
        &["sh", "-c", "exit 1"],
    );
    wait_for("inspect to show the container restarting", || {
        let now = inspect(&env, "rs", "{{.State.Status}} {{.State.Restarting}}");
        assert!(now != "exited true", "exited yet restarting: {now}");
        (now == "restarting true").then_some(())
    });
    wait_for("ps --filter status=restarting to list it", || {
        let out = md(&env, &["ps", "-a", "-q", "--filter", "status=restarting"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (stdout_of(&out).trim() == id).then_some(())
    });
    let exited = md(&env, &["ps", "-a", "-q", "--filter", "status=exited"])
        .output()
        .unwrap();
    assert!(!stdout_of(&exited).contains(&id), "{exited:?}");
    md(&env, &["rm", "-f", "rs"]).assert().success();
}

#[rstest]
fn restart_policies_are_checked_before_anything_is_made(env: Env) {
    Expect::new(env.run(&["--restart", "always"], &["true"]))
        .status(125)
        .stderr_has("--restart always needs -d")
        .run();
    Expect::new(env.run(&["-d", "--restart", "sometimes"], &["true"]))
        .status(125)
        .stderr_has("invalid restart policy \"sometimes\"")
        .run();
    Expect::new(md(&env, &["ps", "-a", "-q"])).stdout("").run();
}

/// `rm` goes on past a name it cannot remove and fails at the end; `-v` is
/// accepted (there are no anonymous volumes to remove).
#[rstest]
fn rm_removes_several_and_goes_on_past_a_failure(env: Env) {
    for name in ["a", "b", "c"] {
        env.run_d(&["--name", name], &["true"]);
        Expect::new(md(&env, &["wait", name])).stdout("0\n").run();
    }
    Expect::new(md(&env, &["rm", "a", "ghost", "b"]))
        .status(125)
        .stdout("a\nb\n")
        .stderr_has("no such container: ghost")
        .run();
    Expect::new(md(&env, &["rm", "-v", "c"]))
        .stdout("c\n")
        .run();
    Expect::new(md(&env, &["ps", "-a", "-q"])).stdout("").run();
}

/// `--rm` as Docker users type it: a foreground container is removed when
/// it ends (as every foreground container here), a detached one by its
/// monitor once its exit is recorded, with nothing left; `--rm` with a
/// restart policy is refused (Docker: conflicting options).
#[rstest]
fn rm_flag_removes_the_container_when_it_ends(env: Env) {
    env.run(&["--rm"], &["echo", "hi"])
        .assert()
        .success()
        .stdout("hi\n");
    env.run_d(&["--rm", "--name", "gone"], &["sh", "-c", "exit 3"]);
    wait_for("the detached --rm container to go", || {
        (!env.root.join("containers/gone").exists()).then_some(())
    });
    env.assert_no_leaks();
    let out = env
        .run(&["-d", "--rm", "--restart", "always"], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--rm"),
        "{out:?}"
    );
}
