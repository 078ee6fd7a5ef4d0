//! Step 31: `network create | list | remove`, and `-p` publishing ports.

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn md(env: &Env, args: &[&str]) -> std::process::Output {
    env.md().args(args).output().unwrap()
}

#[rstest]
fn create_list_remove(env: Env) {
    let (name, subnet) = env.unique_network();
    let out = md(
        &env,
        &[
            "network", "create", "--driver", "bridge", "--subnet", &subnet, &name,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::path::Path::new("/sys/class/net").join(&name).exists(),
        "no bridge"
    );
    let gateway = subnet.replace(".0/24", ".1");
    let addr = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "dev", &name])
        .output()
        .unwrap();
    assert!(
        stdout_of(&addr).contains(&format!("{gateway}/24")),
        "the bridge lacks the gateway address"
    );
    let list = stdout_of(&md(&env, &["network", "ls"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with(&name) && l.contains(&subnet)),
        "{list}"
    );
    // It persists: a second process sees it.
    assert!(
        env.root
            .join("networks")
            .join(format!("{name}.json"))
            .is_file()
    );
    assert!(md(&env, &["network", "rm", &name]).status.success());
    assert!(!std::path::Path::new("/sys/class/net").join(&name).exists());
    assert!(!stdout_of(&md(&env, &["network", "list"])).contains(&name));
}

#[rstest]
fn bad_networks_are_refused(env: Env) {
    let (name, subnet) = env.unique_network();
    assert!(
        md(&env, &["network", "create", "--subnet", &subnet, &name])
            .status
            .success()
    );
    let overlapping = subnet.replace("/24", "/25");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--subnet", "10.1.2.0/33", "okname"], "invalid subnet"),
        (vec!["--subnet", "bogus", "okname"], "invalid subnet"),
        (vec!["--subnet", &overlapping, "other1"], "overlaps"),
        (
            vec![
                "--driver",
                "overlay",
                "--subnet",
                "10.250.250.0/24",
                "other2",
            ],
            "overlay",
        ),
        (vec!["--subnet", "10.250.251.0/24", "lo"], "already exists"),
        (
            vec!["--subnet", "10.250.252.0/24", "sixteen-bytes-xx"],
            "at most 15 bytes",
        ),
        (vec!["--subnet", "10.250.253.0/24", &name], "already exists"),
    ];
    for (args, message) in cases {
        let mut all = vec!["network", "create"];
        all.extend(args.iter().copied());
        let out = md(&env, &all);
        assert_eq!(out.status.code(), Some(125), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{all:?}: {err}");
    }
}

#[rstest]
fn a_network_in_use_cannot_be_removed(env: Env) {
    let (name, subnet) = env.unique_network();
    assert!(
        md(&env, &["network", "create", "--subnet", &subnet, &name])
            .status
            .success()
    );
    env.run_d(&["--name", "user", "--net", &name], &["sleep", "60"]);
    let out = md(&env, &["network", "rm", &name]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
    assert!(std::path::Path::new("/sys/class/net").join(&name).exists());
}

#[rstest]
fn published_ports_are_in_the_state_and_bad_ports_refused(env: Env) {
    let (name, subnet) = env.unique_network();
    assert!(
        md(&env, &["network", "create", "--subnet", &subnet, &name])
            .status
            .success()
    );
    let port = 20000 + (std::process::id() % 20000) as u16;
    let spec = format!("{port}:80");
    env.run_d(
        &["--name", "pub", "--net", &name, "-p", &spec],
        &["sleep", "60"],
    );
    let ps: serde_json::Value =
        serde_json::from_slice(&md(&env, &["ps", "--format", "json"]).stdout).unwrap();
    let c = &ps[0];
    assert_eq!(c["network"], name.as_str());
    assert_eq!(c["ports"], serde_json::json!([spec]));
    assert!(
        c["ip"]
            .as_str()
            .unwrap()
            .starts_with(&subnet[..subnet.len() - 4])
    );
    for bad in ["x:80", "80", "70000:80", "0:80"] {
        let out = env
            .run(&["--net", &name, "-p", bad], &["true"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{bad}");
    }
    // The same host port again: refused.
    let out = env
        .run(&["--net", &name, "-p", &spec], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already published"));
}

/// A container that has exited gives back its address and its published
/// ports: another container can publish the same port, and `ps` shows no
/// address for the exited one (as Docker).
#[rstest]
fn an_exited_container_gives_back_its_address_and_ports(env: Env) {
    let (name, subnet) = env.unique_network();
    assert!(
        md(&env, &["network", "create", "--subnet", &subnet, &name])
            .status
            .success()
    );
    let port = 20000 + (std::process::id() % 20000) as u16 + 1;
    let spec = format!("{port}:80");
    env.run_d(&["--name", "first", "--net", &name, "-p", &spec], &["true"]);
    env.wait_exited("first");
    crate::harness::wait_for("the exited container's address to be released", || {
        let info = env.state("first");
        (info.ip.is_none() && info.ports.is_empty()).then_some(())
    });
    env.run_d(
        &["--name", "second", "--net", &name, "-p", &spec],
        &["sleep", "60"],
    );
    let ps: serde_json::Value =
        serde_json::from_slice(&md(&env, &["ps", "-a", "--format", "json"]).stdout).unwrap();
    let first = ps
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "first")
        .unwrap();
    assert!(first["ip"].is_null(), "{first}");
}
