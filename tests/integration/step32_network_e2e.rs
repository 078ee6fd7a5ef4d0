//! Step 32: end to end. Two containers on one network ping each other; the
//! host fetches a page from `busybox httpd` in a container by its address
//! and through a published port on the gateway; after `rm` and `network
//! rm`, interfaces, iptables and the IPAM file are as before.

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn links() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn our_rules(tag: &str) -> Vec<String> {
    let out = std::process::Command::new("iptables-save")
        .output()
        .unwrap();
    stdout_of(&out)
        .lines()
        .filter(|l| l.contains(tag))
        .map(str::to_string)
        .collect()
}

/// Fetch `url` with busybox wget (each try bounded by `timeout`), retrying a bounded number of times (the
/// server may still be starting).
fn fetch(url: &str) -> Option<String> {
    for _ in 0..20 {
        let out = std::process::Command::new("timeout")
            .args(["5", "busybox", "wget", "-q", "-O", "-", url])
            .output()
            .ok()?;
        if out.status.success() {
            return Some(stdout_of(&out));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

#[rstest]
fn two_containers_and_the_host_talk_and_nothing_is_left(env: Env) {
    let tag = format!("mydocker:{}:", env.tag);
    let (name, subnet) = env.unique_network();
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    assert!(
        md(&[
            "network", "create", "--driver", "bridge", "--subnet", &subnet, &name
        ])
        .status
        .success()
    );
    let gateway = subnet.replace(".0/24", ".1");

    let port = 20000 + (std::process::id() % 20000) as u16 + 7;
    let publish = format!("{port}:80");
    let page = "echo hello-from-mydocker > /www/index.html";
    env.run_d(
        &["--name", "web", "--net", &name, "-p", &publish],
        &[
            "sh",
            "-c",
            &format!("mkdir /www && {page} && exec httpd -f -p 80 -h /www"),
        ],
    );
    env.run_d(&["--name", "client", "--net", &name], &["sleep", "60"]);
    let ours = [
        name.clone(),
        env.state("web").veth.unwrap(),
        env.state("client").veth.unwrap(),
    ];
    let web_ip = env.state("web").ip.unwrap().to_string();
    let client_ip = env.state("client").ip.unwrap().to_string();
    assert_ne!(web_ip, client_ip);

    // Container to container, both ways.
    for (from, to) in [("client", &web_ip), ("web", &client_ip)] {
        let ok = (0..5).any(|_| {
            md(&["exec", from, "ping", "-c", "1", "-W", "2", to])
                .status
                .success()
        });
        assert!(ok, "{from} cannot reach {to}");
    }
    // The host, by the container's address and by the published port.
    assert_eq!(
        fetch(&format!("http://{web_ip}/")).as_deref(),
        Some("hello-from-mydocker\n")
    );
    assert_eq!(
        fetch(&format!("http://{gateway}:{port}/")).as_deref(),
        Some("hello-from-mydocker\n")
    );
    assert!(!our_rules(&tag).is_empty());

    // Removing the network while in use is refused.
    assert_eq!(md(&["network", "rm", &name]).status.code(), Some(125));

    assert!(md(&["rm", "-f", "web", "client"]).status.success());
    assert!(md(&["network", "rm", &name]).status.success());
    // Other tests make interfaces meanwhile: look for ours by name.
    let left: Vec<String> = links().into_iter().filter(|l| ours.contains(l)).collect();
    assert!(left.is_empty(), "interfaces left: {left:?}");
    assert!(
        our_rules(&tag).is_empty(),
        "rules left: {:?}",
        our_rules(&tag)
    );
    let ipam = std::fs::read_to_string(env.root.join("ipam.json")).unwrap_or_else(|_| "{}".into());
    assert_eq!(ipam, "{}");
}

/// A field report: an address handed out again was unreachable for 30-55 s,
/// because its peers still knew the old container's MAC. Now it is
/// reachable at once, from a peer and from the host.
#[rstest]
fn a_reused_address_is_reachable_at_once(env: Env) {
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;
    let (name, subnet) = env.unique_network();
    let md = |args: &[&str]| env.md().args(args).output().unwrap();
    assert!(
        md(&["network", "create", "--subnet", &subnet, &name])
            .status
            .success()
    );
    let serve = ["httpd", "-f", "-p", "80", "-h", "/etc"];
    env.run_d(&["--name", "srv", "--net", &name], &["sleep", "60"]);
    env.run_d(&["--name", "a", "--net", &name], &serve);
    let ip = env.state("a").ip.unwrap();
    let http: SocketAddr = format!("{ip}:80").parse().unwrap();
    let host_reaches = || TcpStream::connect_timeout(&http, Duration::from_secs(2)).is_ok();
    // srv and the host learn a's MAC.
    let ping = || {
        md(&["exec", "srv", "ping", "-c", "1", "-W", "1", &ip.to_string()])
            .status
            .success()
    };
    assert!((0..5).any(|_| ping()), "srv cannot reach a at {ip}");
    assert!((0..5).any(|_| host_reaches()), "the host cannot reach a");

    assert!(md(&["rm", "-f", "a"]).status.success());
    env.run_d(&["--name", "b", "--net", &name], &serve);
    assert_eq!(env.state("b").ip, Some(ip), "b did not get a's address");
    assert!(ping(), "srv cannot reach b at {ip} on the first try");
    // b's server may take a moment to listen: connection refused is an
    // answer from b, a timeout is not.
    let started = std::time::Instant::now();
    let answered =
        (0..10).any(
            |_| match TcpStream::connect_timeout(&http, Duration::from_secs(2)) {
                Ok(_) => true,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    std::thread::sleep(Duration::from_millis(100));
                    false
                }
                Err(_) => false,
            },
        );
    assert!(
        answered && started.elapsed() < Duration::from_secs(3),
        "the host cannot reach b at {ip} at once ({:?})",
        started.elapsed()
    );
}
