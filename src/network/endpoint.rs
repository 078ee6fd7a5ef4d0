//! A container's place on a bridge network (step 28): a veth pair, one end
//! attached to the bridge on the host, the other moved into the container's
//! network namespace and renamed `eth0`, with an address of the subnet
//! (the lowest one no container holds; from step 29 the IPAM's), the
//! default route via the bridge's gateway, and `lo` up. The container's
//! end has a MAC address made from its IP (step 32, as Docker did:
//! `02:42` then the four bytes of the address), so an address handed out
//! again comes with the same MAC: peers and the host that still remember
//! the old container's entry in their ARP cache reach the new one at once,
//! instead of sending to a MAC nobody has until the entry ages out
//! (30 s or more). `02` marks a locally administered unicast address, so
//! it never clashes with a vendor's. Everything here is undone by
//! [`disconnect`] (at `rm`), and by [`connect`] itself when it fails part
//! way. Published ports (step 31) are DNAT rules: [`publish`] and
//! [`unpublish`].

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ipam")]
use super::ipam::Ipam;
#[cfg(feature = "network")]
use super::iptables;
use super::links::Rtnetlink;
use super::store::Network;

/// The ports a container publishes, host to container: none before step
/// 31.
#[cfg(not(feature = "network"))]
pub type Ports = ();

/// The ports a container publishes, host to container (`-p`, step 31).
#[cfg(feature = "network")]
pub type Ports = Vec<(u16, u16)>;

/// What a container got from a network: plain data, which `run` records
/// in the container's state and [`release`] gives back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub network: String,
    pub ip: Ipv4Addr,
    /// The host's end of the veth pair.
    pub veth: String,
    /// Its published ports (step 31; their DNAT rules).
    pub ports: Ports,
}

/// The iptables comment of a container's rules.
#[cfg(feature = "network")]
pub fn comment(root: &Path, container_id: &str) -> String {
    iptables::comment(&crate::ids::root_tag(root), &format!("ctr:{container_id}"))
}

/// Put the container whose first process is `pid` on `network` with the
/// address `ip` (leased by the caller; given back, with everything made,
/// when this fails), through `nl`.
pub fn connect(
    nl: &dyn Rtnetlink,
    root: &Path,
    network: &Network,
    ip: Ipv4Addr,
    container_id: &str,
    pid: i32,
) -> Result<Endpoint> {
    let short = &container_id[..container_id.len().min(8)];
    let endpoint = Endpoint {
        network: network.name.clone(),
        ip,
        veth: format!("veth{short}"),
        ports: Ports::default(),
    };
    let result = wire(nl, network, &endpoint, short, pid);
    if let Err(e) = result {
        disconnect(nl, root, &endpoint);
        return Err(e);
    }
    Ok(endpoint)
}

/// The requests, in order: the pair on the host, one end on the bridge
/// and up; the other moved into the container's namespace, and only there
/// renamed `eth0` (it is down), given its MAC and address, brought up;
/// then `lo` and the default route.
fn wire(nl: &dyn Rtnetlink, network: &Network, ep: &Endpoint, short: &str, pid: i32) -> Result<()> {
    let mut host = nl.host()?;
    let bridge = host
        .index(&network.bridge)
        .with_context(|| format!("network {}: its bridge is gone", network.name))?;
    let peer = format!("vpeer{short}");
    let index = host.add_veth(&ep.veth, &peer)?;
    host.set_master(index, bridge)?;
    host.set_up(index)?;
    let peer_index = host.index(&peer)?;
    host.move_to_namespace_of(peer_index, pid)?;

    let mut inside = nl.in_namespace_of(pid)?;
    let peer_index = inside.index(&peer)?;
    inside.rename(peer_index, "eth0")?;
    inside.set_mac(peer_index, mac_for(ep.ip))?;
    inside.add_address(peer_index, ep.ip, network.subnet.prefix_len())?;
    inside.set_up(peer_index)?;
    let lo = inside.index("lo")?;
    inside.set_up(lo)?;
    inside.add_default_route(network.gateway)?;
    Ok(())
}

/// Undo [`connect`]: the veth (if it still exists: it goes by itself when
/// the container's namespace ends), then the address. Best effort, each
/// part on its own.
pub fn disconnect(nl: &dyn Rtnetlink, root: &Path, ep: &Endpoint) {
    if let Ok(mut host) = nl.host()
        && let Ok(Some(link)) = host.link(&ep.veth)
    {
        let _ = host.delete(link.index);
    }
    give_back(root, ep);
}

/// Give back everything of `ep`: before step 31, what [`connect`] made.
#[cfg(not(feature = "network"))]
pub fn release(nl: &dyn Rtnetlink, root: &Path, ep: &Endpoint, _container_id: &str) {
    disconnect(nl, root, ep);
}

/// Give back everything of `ep`, the container `container_id`'s: its
/// published ports' rules (step 31), then what [`connect`] made.
#[cfg(feature = "network")]
pub fn release(nl: &dyn Rtnetlink, root: &Path, ep: &Endpoint, container_id: &str) {
    unpublish(root, ep.ip, &ep.ports, container_id);
    disconnect(nl, root, ep);
}

/// The address of a new container on `network` before step 29: the
/// lowest host address (not the network's, the gateway's nor the
/// broadcast address) not in `taken` (the addresses containers' states
/// hold). Two `run`s at the same moment can both pick the same one: step
/// 29 replaces this with a locked allocator.
#[cfg(not(feature = "ipam"))]
pub fn lowest_free(network: &Network, taken: &[Ipv4Addr]) -> Result<Ipv4Addr> {
    let subnet = &network.subnet;
    (1..subnet.size().saturating_sub(1))
        .filter_map(|n| subnet.nth(n))
        .find(|ip| *ip != network.gateway && !taken.contains(ip))
        .with_context(|| format!("subnet {subnet} has no free address left"))
}

/// Nothing to give back: the address was only ever in the container's
/// state.
#[cfg(not(feature = "ipam"))]
fn give_back(_root: &Path, _ep: &Endpoint) {}

/// Release the container's address in the IPAM (step 29).
#[cfg(feature = "ipam")]
fn give_back(root: &Path, ep: &Endpoint) {
    if let Ok(net) = super::store::load(root, &ep.network) {
        let _ = Ipam::new(root).release(&net.subnet, ep.ip);
    }
}

/// Give back what the container `container_id` may hold on a bridge
/// network without its state saying so, as a `run` killed between making
/// and recording leaves it: the veth named from its ID, while it is still
/// on the host (until its peer is moved into the container both ends stay
/// there, and nothing else would ever delete them), and from step 29 every
/// address the IPAM holds for it. Best effort, as every release.
pub fn release_unrecorded(nl: &dyn Rtnetlink, root: &Path, container_id: &str) {
    let short = &container_id[..container_id.len().min(8)];
    if let Ok(mut host) = nl.host()
        && let Ok(Some(link)) = host.link(&format!("veth{short}"))
    {
        let _ = host.delete(link.index);
    }
    release_leases_of(root, container_id);
}

/// Before step 29 no lease exists outside the container's state.
#[cfg(not(feature = "ipam"))]
fn release_leases_of(_root: &Path, _container_id: &str) {}

/// Every address the IPAM holds for `container_id`, recorded in its state
/// or not (a `run` killed between leasing and recording leaves the lease
/// only in the IPAM).
#[cfg(feature = "ipam")]
fn release_leases_of(root: &Path, container_id: &str) {
    let _ = Ipam::new(root).release_owner(container_id);
}

/// Publish `ports` (host to container) of the container at `ip` (step
/// 31): two DNAT rules each, tagged with the container. Undone by
/// [`unpublish`].
#[cfg(feature = "network")]
pub fn publish(root: &Path, ip: Ipv4Addr, ports: &[(u16, u16)], container_id: &str) -> Result<()> {
    for &(host_port, ctr_port) in ports {
        for rule in iptables::publish(host_port, ip, ctr_port) {
            rule.add(&comment(root, container_id))?;
        }
    }
    Ok(())
}

/// Delete the rules of [`publish`], best effort.
#[cfg(feature = "network")]
pub fn unpublish(root: &Path, ip: Ipv4Addr, ports: &[(u16, u16)], container_id: &str) {
    for &(host_port, ctr_port) in ports {
        for rule in iptables::publish(host_port, ip, ctr_port) {
            let _ = rule.delete(&comment(root, container_id));
        }
    }
}

/// The MAC address of the container whose address is `ip`:
/// `02:42:a:b:c:d` for `a.b.c.d`.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// Parse `-p HOST:CONTAINER` (step 31).
#[cfg(feature = "network")]
pub fn parse_port(s: &str) -> std::result::Result<(u16, u16), String> {
    let (h, c) = s
        .split_once(':')
        .ok_or("expected HOST_PORT:CONTAINER_PORT")?;
    let port = |p: &str| -> std::result::Result<u16, String> {
        match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("{p:?} is not a port (1-65535)")),
            Ok(n) => Ok(n),
        }
    };
    Ok((port(h)?, port(c)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::links::recording::{Ns, Recording, Request};

    const PID: i32 = 4242;
    const ID: &str = "0123456789ab";
    const IP: Ipv4Addr = Ipv4Addr::new(10, 200, 5, 2);

    fn net1() -> Network {
        Network {
            name: "net1".into(),
            driver: "bridge".into(),
            subnet: "10.200.5.0/24".parse().unwrap(),
            gateway: Ipv4Addr::new(10, 200, 5, 1),
            bridge: "net1".into(),
        }
    }

    /// A host with the bridge `net1` that refuses the requests `which`
    /// picks.
    fn host_refusing(which: impl Fn(&Request) -> bool + 'static) -> Recording {
        Recording::new()
            .with_host_link("net1")
            .refusing(which, libc::EADDRNOTAVAIL)
    }

    #[test]
    fn a_veth_left_on_the_host_by_a_killed_run_is_removed_by_its_id() {
        let fake = Recording::new().with_host_link("net1");
        // What a run killed between making the pair and moving its peer
        // leaves: both ends on the host, nothing recorded.
        fake.host()
            .unwrap()
            .add_veth("veth01234567", "vpeer01234567")
            .unwrap();
        let root = tempfile::tempdir().unwrap();
        release_unrecorded(&fake, root.path(), "fedcba987654");
        assert_eq!(
            fake.links(Ns::Host).len(),
            4,
            "another container's pair stays"
        );
        release_unrecorded(&fake, root.path(), ID);
        assert_eq!(fake.links(Ns::Host), ["lo", "net1"]);
    }

    #[test]
    fn a_failed_address_assignment_removes_the_veth_it_made() {
        let fake = host_refusing(|r| matches!(r, Request::AddAddress { .. }));
        let root = tempfile::tempdir().unwrap();
        let err = connect(&fake, root.path(), &net1(), IP, ID, PID).unwrap_err();
        let refusal = err.downcast_ref::<crate::network::netlink::Error>();
        assert_eq!(
            refusal.and_then(|e| e.errno()),
            Some(libc::EADDRNOTAVAIL),
            "{err:#}"
        );

        let made = fake.position("make the veth", |(ns, r)| {
            *ns == Ns::Host && matches!(r, Request::AddVeth { name, .. } if name == "veth01234567")
        });
        let refused = fake.position("add the address", |(ns, r)| {
            *ns == Ns::Of(PID)
                && matches!(r, Request::AddAddress { ip, prefix: 24, .. } if *ip == IP)
        });
        let deleted = fake.position("delete the veth", |(ns, r)| {
            *ns == Ns::Host && matches!(r, Request::Delete(_))
        });
        assert!(
            made < refused && refused < deleted,
            "{:#?}",
            fake.requests()
        );
        // Both ends are gone: the host's and the one in the container.
        assert_eq!(fake.links(Ns::Host), ["lo", "net1"]);
        assert_eq!(fake.links(Ns::Of(PID)), ["lo"]);
    }

    #[test]
    fn a_veth_that_cannot_be_moved_into_the_container_is_removed() {
        // The container's first process is gone before it is connected.
        let fake = host_refusing(|r| matches!(r, Request::MoveTo { .. }));
        let root = tempfile::tempdir().unwrap();
        assert!(connect(&fake, root.path(), &net1(), IP, ID, PID).is_err());
        assert_eq!(fake.links(Ns::Host), ["lo", "net1"]);
        assert!(
            !fake.requests().iter().any(|(ns, _)| *ns == Ns::Of(PID)),
            "nothing is asked inside a namespace the veth never reached: {:#?}",
            fake.requests()
        );
    }

    #[test]
    fn the_peer_is_moved_into_the_namespace_before_it_is_named_addressed_and_brought_up() {
        let fake = Recording::new().with_host_link("net1");
        let root = tempfile::tempdir().unwrap();
        let ep = connect(&fake, root.path(), &net1(), IP, ID, PID).unwrap();
        assert_eq!(
            (ep.network.as_str(), ep.ip, ep.veth.as_str()),
            ("net1", IP, "veth01234567")
        );

        let requests = fake.requests();
        let moved = fake.position("move the peer", |(ns, r)| {
            *ns == Ns::Host && matches!(r, Request::MoveTo { pid: PID, .. })
        });
        let Request::MoveTo { index: peer, .. } = requests[moved].1 else {
            unreachable!()
        };
        let inside = |what: &str, which: &dyn Fn(&Request) -> bool| {
            fake.position(what, |(ns, r)| *ns == Ns::Of(PID) && which(r))
        };
        let renamed = inside(
            "rename it eth0",
            &|r| matches!(r, Request::Rename { index, name } if *index == peer && name == "eth0"),
        );
        let mac = inside(
            "set its MAC",
            &|r| matches!(r, Request::SetMac { index, mac } if *index == peer && *mac == mac_for(IP)),
        );
        let addressed = inside(
            "give it its address",
            &|r| matches!(r, Request::AddAddress { index, .. } if *index == peer),
        );
        let up = inside(
            "bring it up",
            &|r| matches!(r, Request::SetUp(i) if *i == peer),
        );
        let route = inside(
            "add the default route",
            &|r| matches!(r, Request::AddDefaultRoute(gw) if *gw == net1().gateway),
        );
        assert!(
            moved < renamed && renamed < mac && mac < addressed && addressed < up && up < route,
            "{requests:#?}"
        );
        // The host's end is on the bridge and up before its peer leaves.
        let bridge_index = 2;
        let on_bridge = fake.position("attach to the bridge", |(ns, r)| {
            *ns == Ns::Host
                && matches!(r, Request::SetMaster { bridge, .. } if *bridge == bridge_index)
        });
        assert!(on_bridge < moved, "{requests:#?}");
        assert_eq!(fake.links(Ns::Host), ["lo", "net1", "veth01234567"]);
        assert_eq!(fake.links(Ns::Of(PID)), ["eth0", "lo"]);
    }

    /// From step 29 the address leased from the IPAM is given back too.
    #[cfg(feature = "ipam")]
    #[test]
    fn a_failed_connect_gives_the_address_back() {
        let root = tempfile::tempdir().unwrap();
        let net = net1();
        std::fs::create_dir_all(root.path().join("networks")).unwrap();
        std::fs::write(
            root.path().join("networks/net1.json"),
            serde_json::to_vec(&net).unwrap(),
        )
        .unwrap();
        let ipam = Ipam::new(root.path());
        let ip = ipam.allocate(&net.subnet, "0123456789ab").unwrap();
        assert_eq!(ipam.used(&net.subnet).unwrap(), 1);

        let fake = host_refusing(|r| matches!(r, Request::AddDefaultRoute(_)));
        assert!(connect(&fake, root.path(), &net, ip, ID, PID).is_err());
        assert_eq!(ipam.used(&net.subnet).unwrap(), 0);
        assert_eq!(fake.links(Ns::Host), ["lo", "net1"]);
    }

    #[test]
    fn the_mac_is_made_from_the_address() {
        assert_eq!(
            mac_for(Ipv4Addr::new(10, 200, 5, 2)),
            [0x02, 0x42, 10, 200, 5, 2]
        );
    }

    #[cfg(feature = "network")]
    #[test]
    fn ports_parse() {
        assert_eq!(parse_port("8080:80"), Ok((8080, 80)));
        for bad in ["80", "x:80", "80:y", "0:80", "70000:80", "-1:80", ""] {
            assert!(parse_port(bad).is_err(), "{bad}");
        }
    }
}
