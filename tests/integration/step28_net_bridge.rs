//! Step 28: `--net NETWORK` puts a container on a bridge network (created
//! here with the library; `network create` arrives in step 31), and
//! `--net container:NAME` shares another container's interfaces and address.

use rstest::rstest;

use mydocker::network::{ip::Subnet, store};

use crate::harness::{Env, env, stdout_of};

fn network(env: &Env) -> (String, Subnet) {
    let (name, subnet) = env.unique_network();
    let subnet: Subnet = subnet.parse().unwrap();
    store::create(&env.root, &name, subnet).unwrap();
    (name, subnet)
}

fn eth0_addr(env: &Env, name: &str) -> String {
    let out = env
        .md()
        .args([
            "exec", name, "ip", "-4", "-o", "addr", "show", "dev", "eth0",
        ])
        .output()
        .unwrap();
    stdout_of(&out)
        .split_whitespace()
        .nth(3)
        .unwrap_or_default()
        .to_string()
}

#[rstest]
fn a_container_gets_an_address_and_a_default_route(env: Env) {
    let (net, subnet) = network(&env);
    env.run_d(&["--name", "b1", "--net", &net], &["sleep", "60"]);
    let addr = eth0_addr(&env, "b1");
    assert_eq!(addr, format!("{}/24", subnet.nth(2).unwrap()));
    let route = stdout_of(
        &env.md()
            .args(["exec", "b1", "ip", "route"])
            .output()
            .unwrap(),
    );
    assert!(
        route.contains(&format!("default via {}", subnet.gateway())),
        "{route}"
    );
    // The host reaches it through the bridge.
    let ok = (0..5).any(|_| {
        std::process::Command::new("busybox")
            .args([
                "ping",
                "-c",
                "1",
                "-W",
                "2",
                &subnet.nth(2).unwrap().to_string(),
            ])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    assert!(ok, "the host cannot reach the container");
}

#[rstest]
fn container_mode_shares_the_other_containers_network(env: Env) {
    let (net, _) = network(&env);
    env.run_d(&["--name", "owner", "--net", &net], &["sleep", "60"]);
    let theirs = eth0_addr(&env, "owner");
    let out = env
        .run(
            &["--net", "container:owner"],
            &["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        )
        .output()
        .unwrap();
    assert!(stdout_of(&out).contains(&theirs), "{}", stdout_of(&out));
}

#[rstest]
fn joining_a_stopped_or_unknown_container_or_network_exits_125(env: Env) {
    env.run_d(&["--name", "gone"], &["true"]);
    env.wait_exited("gone");
    for opts in [
        ["--net", "container:gone"],
        ["--net", "container:ghost"],
        ["--net", "nosuchnet"],
    ] {
        let out = env.run(&opts, &["true"]).output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{opts:?}");
    }
}

#[rstest]
fn hosts_names_the_containers_own_address(env: Env) {
    let (net, subnet) = network(&env);
    let ip = subnet.nth(2).unwrap().to_string();
    env.run_d(
        &["--name", "named", "--hostname", "box1", "--net", &net],
        &["sleep", "60"],
    );
    let hosts = stdout_of(
        &env.md()
            .args(["exec", "named", "cat", "/etc/hosts"])
            .output()
            .unwrap(),
    );
    assert!(
        hosts.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&ip.as_str()) && f[1..].contains(&"box1")
        }),
        "{ip} box1 is not in /etc/hosts: {hosts}"
    );
}

#[rstest]
fn container_mode_shares_hostname_hosts_and_resolv_conf(env: Env) {
    env.run_d(
        &[
            "--name",
            "first",
            "--hostname",
            "shared1",
            "--add-host",
            "db:10.9.9.9",
        ],
        &["sleep", "60"],
    );
    env.run(
        &["--net", "container:first"],
        &[
            "sh",
            "-c",
            "cat /etc/hostname; hostname; grep -c db /etc/hosts",
        ],
    )
    .assert()
    .success()
    .stdout("shared1\nshared1\n1\n");
    let out = env
        .run(&["--net", "container:first", "--hostname", "x"], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
}
