//! Step 29: addresses from the IPAM: distinct under concurrency, never the
//! network, gateway or broadcast address; exhaustion is a clear error; a
//! /16 works; `rm` gives the address back.

use std::collections::BTreeSet;

use rstest::rstest;

use mydocker::network::{ip::Subnet, ipam::Ipam, store};

use crate::harness::{Env, env};

#[rstest]
fn twenty_concurrent_runs_get_distinct_addresses(env: Env) {
    let (name, subnet) = env.unique_network();
    let subnet: Subnet = subnet.parse().unwrap();
    store::create(&env.root, &name, subnet).unwrap();
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let args = env.run_args(
                &["-d", "--name", &format!("c{i}"), "--net", &name],
                &["sleep", "60"],
            );
            duct::cmd(crate::harness::bin(), args)
                .stdout_null()
                .start()
                .unwrap()
        })
        .collect();
    for h in handles {
        assert!(h.wait().unwrap().status.success());
    }
    let ips: BTreeSet<_> = (0..20)
        .map(|i| env.state(&format!("c{i}")).ip.unwrap())
        .collect();
    assert_eq!(ips.len(), 20, "{ips:?}");
    for ip in &ips {
        assert!(subnet.contains(*ip));
        assert!(![subnet.network(), subnet.gateway(), subnet.broadcast()].contains(ip));
    }
}

#[rstest]
fn a_full_subnet_is_a_clear_error_and_leaves_nothing(env: Env) {
    let (name, subnet) = env.unique_network();
    let tiny: Subnet = subnet.replace("/24", "/30").parse().unwrap(); // one host address
    store::create(&env.root, &name, tiny).unwrap();
    env.run_d(&["--name", "first", "--net", &name], &["sleep", "60"]);
    let out = env
        .run(
            &["-d", "--name", "second", "--net", &name],
            &["sleep", "60"],
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no free address"));
    assert!(!env.root.join("containers/second").exists());
    assert_eq!(Ipam::new(&env.root).used(&tiny).unwrap(), 1);
}

#[rstest]
fn a_slash_16_network_works_and_rm_releases_the_lease(env: Env) {
    let (name, subnet) = env.unique_network();
    let octets: Vec<&str> = subnet.split('.').collect();
    let big: Subnet = format!(
        "10.{}.0.0/16",
        (octets[1].parse::<u32>().unwrap() + 49) % 50 + 150
    )
    .parse()
    .unwrap();
    store::create(&env.root, &name, big).unwrap();
    env.run_d(&["--name", "wide", "--net", &name], &["sleep", "60"]);
    assert_eq!(env.state("wide").ip, big.nth(2));
    env.md().args(["rm", "-f", "wide"]).assert().success();
    assert_eq!(Ipam::new(&env.root).used(&big).unwrap(), 0);
}

/// `run -d --net NET` killed with SIGKILL at any instant, then `rm -f` of
/// whatever it left: every address comes back. A lease taken but not yet
/// recorded in the container's state must not be lost with the process
/// that took it.
#[rstest]
fn a_run_killed_at_any_instant_gives_its_address_back_on_rm(env: Env) {
    use std::time::Duration;
    let (name, subnet) = env.unique_network();
    let subnet: Subnet = subnet.parse().unwrap();
    store::create(&env.root, &name, subnet).unwrap();
    let ipam = Ipam::new(&env.root);
    for n in 0..30u64 {
        let cname = format!("k{n}");
        // From at once to well past the attach, in steps of 0.5 ms.
        env.spawn_and_kill_after(
            &env.run_args(
                &["-d", "--name", &cname, "--net", &name],
                &["sleep", "1000"],
            ),
            Duration::from_micros(n * 500),
        );
        let out = env.md().args(["rm", "-f", &cname]).output().unwrap();
        let _ = out; // nothing may be left to remove
        assert_eq!(
            ipam.used(&subnet).unwrap(),
            0,
            "try {n}: an address is still taken after rm -f of {cname}"
        );
    }
}

/// Every process of this root whose command line names `needle` (the
/// `run` and the monitor it forks; a container's own programs do not carry
/// the root's path), by PID.
fn processes_naming(env: &Env, needle: &str) -> Vec<i32> {
    let root = env.root.to_string_lossy().into_owned();
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            args.contains(&root.as_bytes()) && args.contains(&needle.as_bytes())
        })
        .collect()
}

/// `run -d --net NET` whose CLI and monitor are both killed with SIGKILL at
/// any instant (a crash of mydocker itself), then `rm -f`: every address
/// comes back, even one taken before the monitor could record it, and no
/// veth of the container is left on the host (one made but not yet moved
/// into the container stays there with both its ends).
#[rstest]
fn a_run_and_its_monitor_killed_at_any_instant_give_the_address_back_on_rm(env: Env) {
    use std::time::Duration;
    let (name, subnet) = env.unique_network();
    let subnet: Subnet = subnet.parse().unwrap();
    store::create(&env.root, &name, subnet).unwrap();
    let ipam = Ipam::new(&env.root);
    for n in 0..30u64 {
        let cname = format!("m{n}");
        // From at once to past the attach (0, 0.1, 0.4, ... 84 ms): the
        // run and the monitor it forked.
        env.spawn_and_kill_after_with(
            &env.run_args(
                &["-d", "--name", &cname, "--net", &name],
                &["sleep", "1000"],
            ),
            Duration::from_micros(n * n * 100),
            |_| {
                for pid in processes_naming(&env, &cname) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            },
        );
        let id = mydocker::container::state::Store::new(&env.root)
            .load(&cname)
            .map(|info| info.id)
            .ok();
        let rm = env.md().args(["rm", "-f", &cname]).output().unwrap();
        if let Some(id) = id {
            let veth = format!("veth{}", &id[..8]);
            assert!(
                !std::path::Path::new("/sys/class/net").join(&veth).exists(),
                "try {n}: {veth} left after rm -f of {cname}"
            );
        }
        assert_eq!(
            ipam.used(&subnet).unwrap(),
            0,
            "try {n}: an address is still taken after rm -f of {cname} ({}): {}",
            rm.status,
            String::from_utf8_lossy(&rm.stderr)
        );
    }
}
