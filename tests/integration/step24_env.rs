//! Step 24: `-e` sets the container's environment; Docker's defaults are
//! there (`HOME` from the image's `/etc/passwd`); the caller's environment
//! does not leak in; `exec` sees the container's environment plus its own
//! `-e`. A container finds its own `/etc/hostname`, `/etc/hosts` and
//! `/etc/resolv.conf` (`--hostname`, `--add-host`, `--dns`).

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

#[rstest]
fn home_is_roots_home_unless_e_sets_it(env: Env) {
    // The caller's HOME does not matter: the image's /etc/passwd does.
    let mut run = env.run(&[], &["sh", "-c", "echo $HOME"]);
    run.env("HOME", "/somewhere/else");
    run.assert().success().stdout("/root\n");
    env.run(&["-e", "HOME=/x"], &["sh", "-c", "echo $HOME"])
        .assert()
        .success()
        .stdout("/x\n");
}

#[rstest]
fn home_comes_from_the_images_passwd(env: Env) {
    let tree = env.busybox_tree("passwd-tree");
    std::fs::create_dir_all(tree.join("etc")).unwrap();
    std::fs::write(
        tree.join("etc/passwd"),
        "daemon:x:1:1::/usr/sbin:/bin/false\nroot:x:0:0:root:/home/boss:/bin/sh\n",
    )
    .unwrap();
    env.run_tree(&tree, "withpasswd", &[], &["sh", "-c", "echo $HOME"])
        .assert()
        .success()
        .stdout("/home/boss\n");
}

#[rstest]
fn exec_sees_home(env: Env) {
    env.run_d(&["--name", "h"], &["sleep", "60"]);
    env.md()
        .args(["exec", "h", "sh", "-c", "echo $HOME"])
        .assert()
        .success()
        .stdout("/root\n");
}

#[rstest]
fn etc_hostname_is_the_hostname(env: Env) {
    let out = env
        .run(
            &[],
            &["sh", "-c", "cat /etc/hostname; hostname; echo $HOSTNAME"],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0].len(), 12, "{text}");
    assert!(lines.iter().all(|l| *l == lines[0]), "{text}");
}

#[rstest]
fn hostname_sets_the_hostname_its_file_and_hosts(env: Env) {
    env.run(
        &["--hostname", "web1"],
        &[
            "sh",
            "-c",
            "cat /etc/hostname; hostname; echo $HOSTNAME; grep -c -w web1 /etc/hosts",
        ],
    )
    .assert()
    .success()
    .stdout("web1\nweb1\nweb1\n1\n");
}

#[rstest]
fn hosts_has_localhost_the_own_name_and_add_host_lines(env: Env) {
    let out = env
        .run(
            &["--add-host", "db:10.0.0.5", "--add-host", "v6:fd00::1"],
            &["sh", "-c", "cat /etc/hosts; echo; hostname"],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = stdout_of(&out);
    let (hosts, name) = text.rsplit_once("\n\n").unwrap();
    let name = name.trim();
    let entries: Vec<Vec<&str>> = hosts
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let has = |ip: &str, host: &str| entries.iter().any(|e| e[0] == ip && e[1..].contains(&host));
    assert!(has("127.0.0.1", "localhost"), "{hosts}");
    assert!(has("::1", "localhost"), "{hosts}");
    assert!(has("10.0.0.5", "db"), "{hosts}");
    assert!(has("fd00::1", "v6"), "{hosts}");
    assert!(
        entries.iter().any(|e| e[1..].contains(&name)),
        "{name} is not in /etc/hosts: {hosts}"
    );
}

#[rstest]
#[case::no_ip("db")]
#[case::bad_ip("db:10.0.0")]
#[case::no_name(":10.0.0.5")]
fn a_bad_add_host_is_refused(env: Env, #[case] spec: &str) {
    let out = env.run(&["--add-host", spec], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--add-host"));
}

fn nameservers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .map(|s| s.trim().to_string())
        .collect()
}

#[rstest]
fn resolv_conf_has_no_loopback_nameserver(env: Env) {
    let out = env.run(&[], &["cat", "/etc/resolv.conf"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let servers = nameservers(&stdout_of(&out));
    assert!(!servers.is_empty());
    assert!(
        !servers.iter().any(|s| s.starts_with("127.") || s == "::1"),
        "{servers:?}"
    );
}

#[rstest]
fn dns_replaces_the_nameservers(env: Env) {
    let out = env
        .run(
            &["--dns", "1.1.1.1", "--dns", "9.9.9.9"],
            &["cat", "/etc/resolv.conf"],
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(nameservers(&stdout_of(&out)), ["1.1.1.1", "9.9.9.9"]);
    let bad = env.run(&["--dns", "one"], &["true"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--dns"));
}

#[rstest]
fn cp_copies_etc_hostname_of_a_running_and_a_stopped_container(env: Env) {
    let id = env.run_d(&["--name", "web"], &["sleep", "60"]);
    let id = id.trim();
    let host = env.scratch("out");
    env.md()
        .args(["cp", "web:/etc/hostname", host.to_str().unwrap()])
        .assert()
        .success();
    let got = std::fs::read_to_string(host.join("hostname")).unwrap();
    assert_eq!(got.trim(), &id[..12.min(id.len())]);
    env.md().args(["stop", "-t", "1", "web"]).assert().success();
    let stopped = env.scratch("stopped");
    env.md()
        .args(["cp", "web:/etc/hostname", stopped.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(stopped.join("hostname")).unwrap(),
        got
    );
}
