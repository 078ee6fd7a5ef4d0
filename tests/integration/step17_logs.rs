//! Step 17: `logs` prints a detached container's stdout and stderr; `-f`
//! follows new output until the container exits.

use std::io::{BufRead, BufReader, Read};

use rstest::rstest;

use crate::harness::{Env, env};

/// Both streams go to one file, in the order written (step 37 keeps
/// them apart: `step37_lifecycle::logs_keeps_stdout_and_stderr_apart`).
#[cfg(not(feature = "lifecycle"))]
#[rstest]
fn logs_has_stdout_and_stderr(env: Env) {
    env.run_d(
        &["--name", "talker"],
        &["sh", "-c", "echo out-line; echo err-line >&2"],
    );
    env.wait_exited("talker");
    let out = env.md().args(["logs", "talker"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(crate::harness::stdout_of(&out), "out-line\nerr-line\n");
}

#[rstest]
fn follow_sees_new_lines_until_the_container_exits(env: Env) {
    let vol = env.scratch("gate");
    let spec = format!("{}:/gate", vol.display());
    let script = "echo one; while [ ! -f /gate/go ]; do sleep 0.05; done; echo two";
    env.run_d(&["--name", "slow", "-v", &spec], &["sh", "-c", script]);
    let args = ["--root", env.root.to_str().unwrap(), "logs", "-f", "slow"];
    let handle = duct::cmd(crate::harness::bin(), args).reader().unwrap();
    let mut reader = BufReader::new(&handle);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "one\n");
    std::fs::write(vol.join("go"), "").unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap(); // EOF: logs -f ended with the container
    assert_eq!(rest, "two\n");
}

#[rstest]
fn logs_of_an_unknown_container_exits_125(env: Env) {
    let out = env.md().args(["logs", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such container: nobody"));
}
