//! Step 24: `-e` sets the container's environment; Docker's defaults are
//! there; the caller's environment does not leak in; `exec` sees the
//! container's environment plus its own `-e`.

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn env_lines(out: &std::process::Output) -> Vec<String> {
    let mut v: Vec<String> = stdout_of(out).lines().map(str::to_string).collect();
    v.sort();
    v
}

#[rstest]
fn values_arrive_and_the_host_does_not_leak(env: Env) {
    let mut run = env.run(
        &[
            "-e",
            "A=1",
            "-e",
            "B=with spaces",
            "-e",
            "FROM_HOST",
            "-e",
            "EMPTY=",
        ],
        &["env"],
    );
    run.env("FROM_HOST", "host-value")
        .env("MYDOCKER_LEAK", "leaked");
    let out = run.output().unwrap();
    assert!(out.status.success());
    let lines = env_lines(&out);
    for want in [
        "A=1",
        "B=with spaces",
        "FROM_HOST=host-value",
        "EMPTY=",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want} missing: {lines:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("HOSTNAME=") && l.len() == "HOSTNAME=".len() + 12)
    );
    assert!(
        !lines.iter().any(|l| l.contains("MYDOCKER_LEAK")),
        "the host's environment leaked: {lines:?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("HOME=/root")
                && std::env::var("HOME").is_ok_and(|h| h != "/root"))
    );
}

#[rstest]
fn an_e_overrides_a_default(env: Env) {
    env.run(&["-e", "PATH=/bin"], &["sh", "-c", "echo $PATH"])
        .assert()
        .success()
        .stdout("/bin\n");
}

#[rstest]
fn exec_sees_the_containers_env_and_its_own(env: Env) {
    env.run_d(&["--name", "e", "-e", "A=1", "-e", "B=2"], &["sleep", "60"]);
    let mut cmd = env.md();
    cmd.env("MYDOCKER_LEAK", "x")
        .args(["exec", "-e", "B=3", "-e", "C=4", "e", "env"]);
    let lines = env_lines(&cmd.output().unwrap());
    for want in ["A=1", "B=3", "C=4"] {
        assert!(lines.iter().any(|l| l == want), "{want} missing: {lines:?}");
    }
    assert!(
        !lines
            .iter()
            .any(|l| l == "B=2" || l.contains("MYDOCKER_LEAK")),
        "{lines:?}"
    );
}

#[rstest]
fn ps_json_shows_the_env(env: Env) {
    env.run_d(&["--name", "shown", "-e", "K=V"], &["sleep", "60"]);
    let out = env.md().args(["ps", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let envs = v[0]["env"].as_array().unwrap();
    assert!(envs.iter().any(|e| e == "K=V"), "{envs:?}");
}

#[rstest]
#[case::empty_key("=value")]
#[case::nothing("")]
fn bad_variables_are_refused(env: Env, #[case] spec: &str) {
    let out = env.run(&["-e", spec], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--env"));
}
