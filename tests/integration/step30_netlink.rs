//! Step 30: what mydocker reads over netlink matches `ip -j`.

use std::collections::BTreeSet;

use mydocker::network::netlink::Netlink;

use crate::harness::require_root;

fn ip_json(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new("ip")
        .arg("-j")
        .args(args)
        .output()
        .expect("ip (iproute2)");
    serde_json::from_slice(&out.stdout).expect("ip -j prints JSON")
}

#[test]
fn links_match_ip_link() {
    require_root();
    let ours: BTreeSet<(u32, String)> = Netlink::new()
        .unwrap()
        .links()
        .unwrap()
        .into_iter()
        .map(|l| (l.index, l.name))
        .collect();
    let theirs: BTreeSet<(u32, String)> = ip_json(&["link"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["ifindex"].as_u64().unwrap() as u32,
                l["ifname"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // Interfaces may come and go while other tests run: compare those
    // present in both readings, and require the stable ones.
    assert!(ours.contains(&(1, "lo".to_string())));
    let common: BTreeSet<_> = ours.intersection(&theirs).collect();
    assert!(
        common.len() * 2 >= theirs.len().max(1),
        "ours {ours:?} theirs {theirs:?}"
    );
    for (index, name) in &ours {
        if let Some((_, other)) = theirs.iter().find(|(i, _)| i == index) {
            assert_eq!(name, other);
        }
    }
}

#[test]
fn addresses_match_ip_addr() {
    require_root();
    let ours: BTreeSet<String> = Netlink::new()
        .unwrap()
        .addresses()
        .unwrap()
        .into_iter()
        .map(|(_, ip, prefix)| format!("{ip}/{prefix}"))
        .collect();
    let theirs: BTreeSet<String> = ip_json(&["-4", "addr"])
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    assert!(ours.contains("127.0.0.1/8"));
    for stable in theirs.iter().filter(|a| !a.starts_with("10.")) {
        assert!(ours.contains(stable), "{stable} missing from {ours:?}");
    }
}

#[test]
fn the_default_route_matches_ip_route() {
    require_root();
    let ours = Netlink::new().unwrap().default_gateway().unwrap();
    let routes = ip_json(&["-4", "route", "show", "default"]);
    let theirs = routes
        .as_array()
        .unwrap()
        .first()
        .and_then(|r| r["gateway"].as_str())
        .map(|s| s.parse().unwrap());
    assert_eq!(ours, theirs);
}
