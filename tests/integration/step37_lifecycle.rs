//! Step 37: the lifecycle verbs Docker users reach for: `wait`, `kill`,
//! `inspect`, `ps -q` and `ps --filter`.

use rstest::rstest;

use crate::expect::Expect;
use crate::harness::{Env, env, stdout_of, wait_for};

fn md(env: &Env, args: &[&str]) -> assert_cmd::Command {
    let mut c = env.md();
    c.args(args);
    c
}

#[rstest]
fn wait_prints_the_exit_code_once_the_container_has_ended(env: Env) {
    env.run_d(&["--name", "w"], &["sh", "-c", "sleep 0.3; exit 4"]);
    Expect::new(md(&env, &["wait", "w"])).stdout("4\n").run();
    // Once ended, at once, again.
    Expect::new(md(&env, &["wait", "w"])).stdout("4\n").run();
    // Several containers, one line each, in the order asked.
    env.run_d(&["--name", "z"], &["true"]);
    Expect::new(md(&env, &["wait", "z", "w"]))
        .stdout("0\n4\n")
        .run();
}

/// `wait` begun while a `run -d --rm` container runs prints its exit
/// code, though the monitor removes the container as it ends (four
/// waiters on each of three containers: none misses it).
#[rstest]
fn wait_begun_before_an_rm_container_ends_prints_its_code(env: Env) {
    use std::os::unix::fs::MetadataExt;
    let names = ["wr1", "wr2", "wr3"];
    // The containers end when the test says so (a file in a volume), not
    // after a fixed time: on a slow machine (the emulated VM) the waiters
    // would start after the first container had already gone.
    let go = env.scratch("go");
    let volume = format!("{}:/go", go.display());
    for (i, name) in names.iter().enumerate() {
        env.run_d(
            &["--rm", "--name", name, "-v", &volume],
            &[
                "sh",
                "-c",
                &format!("until [ -e /go/now ]; do sleep 0.05; done; exit {}", 3 + i),
            ],
        );
    }
    let waiters: Vec<_> = names
        .iter()
        .cycle()
        .take(4 * names.len())
        .map(|name| {
            let child = std::process::Command::new(crate::harness::bin())
                .arg("--root")
                .arg(&env.root)
                .args(["wait", name])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (*name, child)
        })
        .collect();
    // Every waiter holds its shared lock on the container's wait.lock
    // (four per container, seen in /proc/locks) before the programs end.
    let holders = |name: &str| -> usize {
        let lock = env.root.join("containers").join(name).join("wait.lock");
        let Ok(meta) = std::fs::metadata(&lock) else {
            return 0;
        };
        let suffix = format!(":{} ", meta.ino());
        std::fs::read_to_string("/proc/locks")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("FLOCK") && l.contains(&suffix))
            .count()
    };
    wait_for("every waiter to hold its lock", || {
        names.iter().all(|n| holders(n) >= 4).then_some(())
    });
    std::fs::write(go.join("now"), "").unwrap();
    for (name, child) in waiters {
        let out = child.wait_with_output().unwrap();
        let i = names.iter().position(|n| *n == name).unwrap();
        assert_eq!(
            (stdout_of(&out), out.status.code()),
            (format!("{}\n", 3 + i), Some(0)),
            "wait {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_for("the --rm containers to go", || {
        env.md()
            .args(["ps", "-aq"])
            .output()
            .ok()
            .filter(|o| o.stdout.is_empty())
    });
}

#[rstest]
fn wait_on_an_unknown_container_exits_125(env: Env) {
    Expect::new(md(&env, &["wait", "ghost"]))
        .status(125)
        .stderr_has("no such container: ghost")
        .run();
}

#[rstest]
fn kill_sends_sigkill_by_default_and_the_signal_asked_for(env: Env) {
    env.run_d(&["--name", "k"], &["sleep", "1000"]);
    Expect::new(md(&env, &["kill", "k"])).stdout("k\n").run();
    Expect::new(md(&env, &["wait", "k"])).stdout("137\n").run();

    // A program that handles SIGTERM gets it, by name, number or Docker's
    // lower-case spelling.
    for (n, signal) in ["TERM", "15", "sigterm"].iter().enumerate() {
        let name = format!("t{n}");
        env.run_d(
            &["--name", &name],
            &[
                "sh",
                "-c",
                "trap 'exit 7' TERM; echo ready; sleep 1000 & wait",
            ],
        );
        wait_for("the trap to be set", || {
            let out = md(&env, &["logs", &name]).output().unwrap();
            stdout_of(&out).contains("ready").then_some(())
        });
        Expect::new(md(&env, &["kill", "-s", signal, &name]))
            .stdout(&format!("{name}\n"))
            .run();
        Expect::new(md(&env, &["wait", &name])).stdout("7\n").run();
    }
}

#[rstest]
fn kill_refuses_what_it_cannot_do(env: Env) {
    env.run_d(&["--name", "done"], &["true"]);
    Expect::new(md(&env, &["wait", "done"])).stdout("0\n").run();
    Expect::new(md(&env, &["kill", "done"]))
        .status(125)
        .stderr_has("container done")
        .stderr_has("not running")
        .run();
    Expect::new(md(&env, &["kill", "-s", "NOPE", "done"]))
        .status(125)
        .stderr_has("invalid signal \"NOPE\"")
        .run();
}

#[rstest]
fn inspect_speaks_docker_field_names(env: Env) {
    let id = env.run_d(&["--name", "i", "-e", "GREETING=hi"], &["sleep", "1000"]);
    let out = md(&env, &["inspect", "i"]).output().unwrap();
    assert!(out.status.success());
    let docs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let doc = &docs[0];
    assert_eq!(doc["Id"], id.as_str());
    assert_eq!(doc["Name"], "/i");
    assert_eq!(doc["Path"], "sleep");
    assert_eq!(doc["Args"], serde_json::json!(["1000"]));
    assert_eq!(doc["State"]["Status"], "running");
    assert_eq!(doc["State"]["Running"], true);
    // Text without a field is printed once per container; an empty
    // template is the JSON (as Docker's Go templates).
    Expect::new(md(&env, &["inspect", "-f", "found", "i"]))
        .stdout("found\n")
        .run();
    let out = md(&env, &["inspect", "-f", "", "i"]).output().unwrap();
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again[0]["Id"], id.as_str());
    let pid = doc["State"]["Pid"].as_i64().unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(
        doc["Config"]["Env"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("GREETING=hi"))
    );
    assert!(doc["Created"].as_str().unwrap().ends_with('Z'));

    // -f picks fields, Docker's template spelling.
    Expect::new(md(
        &env,
        &["inspect", "-f", "{{.State.Pid}} {{json .Args}}", "i"],
    ))
    .stdout(&format!("{pid} [\"1000\"]\n"))
    .run();
    // Without `json`, lists and maps print as Go's templates print them.
    Expect::new(md(
        &env,
        &[
            "inspect",
            "-f",
            "{{.Args}} {{.Config.Cmd}} {{.HostConfig.Binds}}",
            "i",
        ],
    ))
    .stdout("[1000] [sleep 1000] []\n")
    .run();
    md(&env, &["kill", "i"]).assert().success();
    md(&env, &["wait", "i"]).assert().success();
    Expect::new(md(
        &env,
        &[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}}",
            "i",
        ],
    ))
    .stdout("exited 137 0\n")
    .run();
    Expect::new(md(&env, &["inspect", "-f", "{{range .X}}", "i"]))
        .status(125)
        .stderr_has("unsupported --format")
        .run();
    // An unknown one among known ones: the known ones printed, exit 125.
    Expect::new(md(&env, &["inspect", "-f", "{{.Name}}", "i", "ghost"]))
        .status(125)
        .stdout("/i\n")
        .stderr_has("no such container: ghost")
        .run();
}

#[rstest]
fn ps_quiet_and_filters(env: Env) {
    let up = env.run_d(&["--name", "web-up"], &["sleep", "1000"]);
    let ok = env.run_d(&["--name", "job-ok"], &["true"]);
    let bad = env.run_d(&["--name", "job-bad"], &["sh", "-c", "exit 3"]);
    md(&env, &["wait", "job-ok", "job-bad"]).assert().success();
    let ids = |args: &[&str]| {
        let mut all = vec!["ps", "-q"];
        all.extend(args);
        let mut v: Vec<String> = stdout_of(&md(&env, &all).output().unwrap())
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };
    assert_eq!(ids(&[]), vec![up.clone()]);
    assert_eq!(ids(&["-a"]), sorted(vec![&up, &ok, &bad]));
    // A status filter looks at stopped containers without -a.
    assert_eq!(ids(&["--filter", "status=exited"]), sorted(vec![&ok, &bad]));
    assert_eq!(ids(&["-a", "-f", "exited=3"]), vec![bad.clone()]);
    // Different keys: all hold; the same key: any.
    assert_eq!(
        ids(&["-a", "-f", "name=job", "-f", "exited=0"]),
        vec![ok.clone()]
    );
    assert_eq!(
        ids(&["-a", "-f", "name=web", "-f", "name=bad"]),
        sorted(vec![&up, &bad])
    );
    assert_eq!(
        ids(&["-a", "-f", &format!("id={}", &up[..5])]),
        vec![up.clone()]
    );
    Expect::new(md(&env, &["ps", "-f", "colour=red"]))
        .status(125)
        .stderr_has("invalid filter \"colour\"")
        .run();
}

#[rstest]
fn logs_keeps_stdout_and_stderr_apart(env: Env) {
    env.run_d(
        &["--name", "w"],
        // (The pauses order the lines across the two streams, which the
        // log, like Docker's, records in the order it reads them.)
        &[
            "sh",
            "-c",
            "echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; printf partial; exit 4",
        ],
    );
    Expect::new(md(&env, &["wait", "w"])).stdout("4\n").run();
    Expect::new(md(&env, &["logs", "w"]))
        .stdout("a\nc\npartial")
        .stderr("b\n")
        .run();
    // The last N lines, of both streams together.
    Expect::new(md(&env, &["logs", "--tail", "2", "w"]))
        .stdout("c\npartial")
        .run();
    Expect::new(md(&env, &["logs", "-n", "0", "w"])).run();
    // A negative count is every line, as Docker's daemon reads it.
    Expect::new(md(&env, &["logs", "--tail", "-1", "w"]))
        .stdout("a\nc\npartial")
        .stderr("b\n")
        .run();
    // Each line with the time it was written.
    let out = md(&env, &["logs", "-t", "w"]).output().unwrap();
    let shown = stdout_of(&out);
    let first = shown.lines().next().unwrap();
    let (time, text) = first.split_once(' ').unwrap();
    assert_eq!(text, "a");
    assert!(time.starts_with("20") && time.ends_with('Z'), "{first}");
    // Since: a time before, and one after, every line.
    Expect::new(md(&env, &["logs", "--since", "10m", "w"]))
        .stdout("a\nc\npartial")
        .stderr("b\n")
        .run();
    Expect::new(md(&env, &["logs", "--since", "2100-01-01", "w"])).run();
    Expect::new(md(&env, &["logs", "--since", "yesterday", "w"]))
        .status(125)
        .stderr_has("invalid --since \"yesterday\"")
        .run();
}

#[rstest]
fn logs_follow_prints_records_as_they_come(env: Env) {
    use std::io::{BufRead, BufReader, Read};
    let vol = env.scratch("gate");
    let spec = format!("{}:/gate", vol.display());
    let script = "echo one; while [ ! -f /gate/go ]; do sleep 0.05; done; echo two >&2; sleep 0.2; echo three";
    env.run_d(&["--name", "slow", "-v", &spec], &["sh", "-c", script]);
    let args = ["--root", env.root.to_str().unwrap(), "logs", "-f", "slow"];
    let handle = duct::cmd(crate::harness::bin(), args)
        .stderr_to_stdout()
        .reader()
        .unwrap();
    let mut reader = BufReader::new(&handle);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "one\n");
    std::fs::write(vol.join("go"), "").unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "two\nthree\n");
}
