//! Step 30: what mydocker reads and writes over netlink matches `ip -j`.
//!
//! Each test works in a network namespace of its own, so
//! the interfaces other tests create and remove meanwhile cannot change
//! what it reads: the two readings must agree exactly.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use mydocker::network::netlink::Netlink;

use crate::harness::require_root;

/// A network namespace of this test's own, held by a `sleep` in it (no
/// mount under /run/netns, which tests comparing the host's mount table
/// would see); the sleep is killed, by PID, when dropped.
struct ScratchNs(std::process::Child);

impl ScratchNs {
    fn new() -> ScratchNs {
        require_root();
        let child = std::process::Command::new("unshare")
            .args(["--net", "sleep", "600"])
            .spawn()
            .expect("run unshare --net");
        let ns = ScratchNs(child);
        // unshare(1) makes the namespace, then execs sleep: wait (bounded)
        // until the process is in a namespace that is not ours.
        let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
        for _ in 0..200 {
            match std::fs::read_link(format!("/proc/{}/ns/net", ns.pid())) {
                Ok(theirs) if theirs != ours => return ns,
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
        panic!("unshare --net did not make a network namespace in 2 s");
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn netlink(&self) -> Netlink {
        Netlink::in_namespace_of(self.pid() as i32).expect("netlink in the scratch namespace")
    }

    /// `ip -j ARGS...` run in the namespace, parsed.
    fn ip_json(&self, args: &[&str]) -> serde_json::Value {
        let out = std::process::Command::new("nsenter")
            .args(["-t", &self.pid().to_string(), "-n", "ip", "-j"])
            .args(args)
            .output()
            .expect("nsenter and ip (util-linux, iproute2)");
        assert!(out.status.success(), "ip {args:?} failed");
        serde_json::from_slice(&out.stdout).expect("ip -j prints JSON")
    }
}

impl Drop for ScratchNs {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A bridge with one end of a veth pair attached, both up, the other end
/// up with an address and a default route through the bridge's side.
fn small_network(nl: &mut Netlink) {
    let br = nl.add_bridge("mdbr0").unwrap();
    let a = nl.add_veth("mdva", "mdvb").unwrap();
    let b = nl.index("mdvb").unwrap();
    nl.set_master(a, br).unwrap();
    for i in [br, a, b] {
        nl.set_up(i).unwrap();
    }
    nl.add_address(br, Ipv4Addr::new(10, 77, 0, 1), 24).unwrap();
    nl.add_address(b, Ipv4Addr::new(10, 78, 0, 2), 24).unwrap();
    nl.add_default_route(Ipv4Addr::new(10, 78, 0, 1)).unwrap();
}

type LinkRow = (u32, String, bool, Option<u32>);

fn ours_links(nl: &mut Netlink) -> BTreeSet<LinkRow> {
    nl.links()
        .unwrap()
        .into_iter()
        .map(|l| (l.index, l.name, l.up, l.master))
        .collect()
}

fn theirs_links(ns: &ScratchNs) -> BTreeSet<LinkRow> {
    let links = ns.ip_json(&["link"]);
    let links = links.as_array().unwrap();
    let index_of = |name: &str| {
        links
            .iter()
            .find(|l| l["ifname"] == name)
            .map(|l| l["ifindex"].as_u64().unwrap() as u32)
    };
    links
        .iter()
        .map(|l| {
            let up = l["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f == "UP"));
            (
                l["ifindex"].as_u64().unwrap() as u32,
                l["ifname"].as_str().unwrap().to_string(),
                up,
                l["master"].as_str().and_then(index_of),
            )
        })
        .collect()
}

#[test]
fn links_match_ip_link() {
    let ns = ScratchNs::new();
    let mut nl = ns.netlink();
    small_network(&mut nl);
    let ours = ours_links(&mut nl);
    assert_eq!(ours, theirs_links(&ns));
    let names: BTreeSet<&str> = ours.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["lo", "mdbr0", "mdva", "mdvb"]));
}

#[test]
fn a_long_dump_spanning_many_reads_is_read_whole() {
    // 64 veth pairs: the kernel answers the dump in several datagrams,
    // and every one of them must be read.
    let ns = ScratchNs::new();
    let mut nl = ns.netlink();
    for i in 0..64 {
        nl.add_veth(&format!("mdx{i}"), &format!("mdy{i}")).unwrap();
    }
    let ours = ours_links(&mut nl);
    assert_eq!(ours.len(), 1 + 128);
    assert_eq!(ours, theirs_links(&ns));
}

#[test]
fn addresses_match_ip_addr() {
    let ns = ScratchNs::new();
    let mut nl = ns.netlink();
    small_network(&mut nl);
    let ours: BTreeSet<String> = nl
        .addresses()
        .unwrap()
        .into_iter()
        .map(|(_, ip, prefix)| format!("{ip}/{prefix}"))
        .collect();
    let theirs: BTreeSet<String> = ns
        .ip_json(&["-4", "addr"])
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    assert_eq!(ours, theirs);
    assert_eq!(
        ours,
        BTreeSet::from(["10.77.0.1/24".to_string(), "10.78.0.2/24".to_string()])
    );
}

#[test]
fn the_default_route_matches_ip_route() {
    let ns = ScratchNs::new();
    let mut nl = ns.netlink();
    assert_eq!(nl.default_gateway().unwrap(), None);
    small_network(&mut nl);
    let ours = nl.default_gateway().unwrap();
    let routes = ns.ip_json(&["-4", "route", "show", "default"]);
    let theirs: Option<Ipv4Addr> = routes
        .as_array()
        .unwrap()
        .first()
        .and_then(|r| r["gateway"].as_str())
        .map(|s| s.parse().unwrap());
    assert_eq!(ours, theirs);
    assert_eq!(ours, Some(Ipv4Addr::new(10, 78, 0, 1)));
}
