//! The network modes of a container (steps 27 and 28), as Docker's:
//!
//! - `none` (the default here): a network namespace of its own with only
//!   `lo`, brought up;
//! - `host`: no network namespace of its own: the host's interfaces;
//! - `container:NAME`: the network namespace of another, running
//!   container: the same interfaces and address;
//! - `NETWORK` (from step 28): a bridge network (made with the library
//!   in step 28, with `network create` from step 31).

use std::path::Path;

use anyhow::Result;

use super::links::Rtnetlink;

/// `--net bridge`: mydocker makes no network of its own.
#[cfg(not(feature = "network"))]
const NO_DEFAULT_BRIDGE: &str =
    "there is no default bridge: --net takes the name of a bridge network";

/// `--net bridge`: mydocker makes no network of its own.
#[cfg(feature = "network")]
const NO_DEFAULT_BRIDGE: &str =
    "there is no default bridge: create one with `mydocker network create`, then --net NAME";

/// A parsed `--net` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    None,
    Host,
    Container(String),
    Bridge(String),
}

impl Mode {
    pub fn parse(s: &str) -> std::result::Result<Mode, String> {
        Ok(match s {
            "" => return Err("empty network mode".into()),
            "none" => Mode::None,
            "host" => Mode::Host,
            "bridge" => return Err(NO_DEFAULT_BRIDGE.into()),
            _ => match s.strip_prefix("container:") {
                Some("") => return Err("container: needs a container name".into()),
                Some(name) => Mode::Container(name.to_string()),
                None => Mode::Bridge(s.to_string()),
            },
        })
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mode::None => f.write_str("none"),
            Mode::Host => f.write_str("host"),
            Mode::Container(c) => write!(f, "container:{c}"),
            Mode::Bridge(n) => f.write_str(n),
        }
    }
}

/// What a container gets from a network: before step 28 nothing (there
/// are no bridge networks to join), so no value of this type exists.
#[cfg(not(feature = "net-bridge"))]
#[derive(Debug)]
pub enum Endpoint {}

/// What a container gets from a bridge network (step 28).
#[cfg(feature = "net-bridge")]
pub use super::endpoint::Endpoint;

/// A bridge network: before step 28 there are none (`--net NAME` is
/// refused when planned), so no value of this type exists.
#[cfg(not(feature = "net-bridge"))]
#[derive(Debug)]
pub enum Network {}

#[cfg(feature = "net-bridge")]
use super::store::Network;

/// A container's network, checked before anything is created, and made
/// once its first process exists. The plan touches no container state:
/// [`Plan::attach`] returns the [`Endpoint`] it made, for `run` to record;
/// whatever the plan needs to know of other containers (the addresses
/// they hold, step 28; the host ports they publish, step 31) `run` reads
/// from their state and hands in as plain data.
pub struct Plan {
    mode: Mode,
    /// The bridge network of `--net NETWORK`.
    network: Option<Network>,
    /// The addresses other containers hold on its network (step 28).
    #[cfg(all(feature = "net-bridge", not(feature = "ipam")))]
    taken: Vec<std::net::Ipv4Addr>,
    /// The ports to publish, host to container (step 31).
    #[cfg(feature = "network")]
    ports: Vec<(u16, u16)>,
}

impl Plan {
    /// Check `mode` now, before the container exists: an unknown network
    /// (in `root`'s store) is an error. `container:NAME` is checked by
    /// whoever knows the containers: `run`, as it opens that container's
    /// namespace.
    pub fn new(root: &Path, mode: &Mode) -> Result<Plan> {
        Ok(Plan {
            mode: mode.clone(),
            network: bridge_network(root, mode)?,
            #[cfg(all(feature = "net-bridge", not(feature = "ipam")))]
            taken: Vec::new(),
            #[cfg(feature = "network")]
            ports: Vec::new(),
        })
    }

    /// The mode planned, as `--net` gave it.
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Set up the network of the container `container_id` whose first
    /// process is `pid`, through `nl` (`root` holds the networks): `lo` up
    /// in a namespace of its own, nothing for `host` and `container:NAME`,
    /// and on a bridge network the [`Endpoint`] made, which the plan undoes
    /// itself when it fails part way.
    pub fn attach(
        &self,
        nl: &dyn Rtnetlink,
        root: &Path,
        container_id: &str,
        pid: i32,
    ) -> Result<Option<Endpoint>> {
        match (&self.mode, &self.network) {
            (Mode::Bridge(_), Some(net)) => self
                .attach_bridge(nl, root, net, container_id, pid)
                .map(Some),
            (Mode::None, _) => loopback_up(nl, pid).map(|()| None),
            _ => Ok(None),
        }
    }

    /// No bridge network exists before step 28.
    #[cfg(not(feature = "net-bridge"))]
    fn attach_bridge(
        &self,
        _: &dyn Rtnetlink,
        _: &Path,
        net: &Network,
        _: &str,
        _: i32,
    ) -> Result<Endpoint> {
        match *net {}
    }

    /// A veth pair, an address and a route on the bridge network.
    #[cfg(all(feature = "net-bridge", not(feature = "network")))]
    fn attach_bridge(
        &self,
        nl: &dyn Rtnetlink,
        root: &Path,
        net: &Network,
        container_id: &str,
        pid: i32,
    ) -> Result<Endpoint> {
        let ip = self.lease(root, net, container_id)?;
        crate::network::endpoint::connect(nl, root, net, ip, container_id, pid)
    }

    /// As before step 31, and the published ports' DNAT rules; on failure
    /// the container leaves the network again.
    #[cfg(feature = "network")]
    fn attach_bridge(
        &self,
        nl: &dyn Rtnetlink,
        root: &Path,
        net: &Network,
        container_id: &str,
        pid: i32,
    ) -> Result<Endpoint> {
        use crate::network::endpoint::{connect, publish, release};
        let ip = self.lease(root, net, container_id)?;
        let mut ep = connect(nl, root, net, ip, container_id, pid)?;
        ep.ports = self.ports.clone();
        if let Err(e) = publish(root, ep.ip, &ep.ports, container_id) {
            release(nl, root, &ep, container_id);
            return Err(e);
        }
        Ok(ep)
    }
}

/// Step 28 leases the lowest address no container holds (a race that
/// step 29's allocator closes).
#[cfg(all(feature = "net-bridge", not(feature = "ipam")))]
impl Plan {
    /// Also avoid `taken`, the addresses other containers hold on the
    /// network (`run` reads them from their state).
    pub fn avoiding(mut self, taken: Vec<std::net::Ipv4Addr>) -> Plan {
        self.taken = taken;
        self
    }

    fn lease(&self, _root: &Path, net: &Network, _owner: &str) -> Result<std::net::Ipv4Addr> {
        crate::network::endpoint::lowest_free(net, &self.taken)
    }
}

/// From step 29 the IPAM in `root` leases the address, to the container
/// `owner` (so that its removal gives it back even if it was never
/// recorded in the container's state).
#[cfg(feature = "ipam")]
impl Plan {
    fn lease(&self, root: &Path, net: &Network, owner: &str) -> Result<std::net::Ipv4Addr> {
        Ok(crate::network::ipam::Ipam::new(root).allocate(&net.subnet, owner)?)
    }
}

/// Published ports (step 31).
#[cfg(feature = "network")]
impl Plan {
    /// Also publish `ports`, checked now: only a container on a bridge
    /// network has them, and no host port may be taken twice, by this
    /// container or by another: `published` lists the host ports other
    /// containers publish, with their names (`run` reads them from their
    /// state).
    pub fn publish(mut self, ports: &[(u16, u16)], published: &[(u16, String)]) -> Result<Plan> {
        if !ports.is_empty() && !matches!(self.mode, Mode::Bridge(_)) {
            anyhow::bail!("-p publishes a port of a bridge network: use --net NETWORK");
        }
        ports_free(ports, published)?;
        self.ports = ports.to_vec();
        Ok(self)
    }
}

/// Before step 28 there is no bridge network to find: `--net NAME` is
/// refused.
#[cfg(not(feature = "net-bridge"))]
fn bridge_network(_root: &Path, mode: &Mode) -> Result<Option<Network>> {
    match mode {
        Mode::Bridge(name) => anyhow::bail!("network {name}: bridge networks arrive in step 28"),
        _ => Ok(None),
    }
}

/// The bridge network of `mode`, which must exist.
#[cfg(feature = "net-bridge")]
fn bridge_network(root: &Path, mode: &Mode) -> Result<Option<Network>> {
    let Mode::Bridge(name) = mode else {
        return Ok(None);
    };
    Ok(Some(crate::network::store::load(root, name)?))
}

/// Published host ports must not be taken by another container, nor
/// given twice.
#[cfg(feature = "network")]
fn ports_free(ports: &[(u16, u16)], published: &[(u16, String)]) -> Result<()> {
    for (h, name) in published {
        if ports.iter().any(|(p, _)| p == h) {
            anyhow::bail!("host port {h} is already published by container {name}");
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (h, _) in ports {
        if !seen.insert(h) {
            anyhow::bail!("host port {h} is published twice");
        }
        host_port_free(*h)?;
    }
    Ok(())
}

/// A host port that a program of the host listens on (TCP, any address)
/// is refused, as Docker's port binding refuses it: a DNAT rule would take
/// that program's traffic away without a word. Tried by binding the port
/// on every address for a moment (IPv4, then IPv6 where the host has it).
#[cfg(feature = "network")]
fn host_port_free(port: u16) -> Result<()> {
    use std::io::ErrorKind;
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
    for addr in [
        std::net::SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
        std::net::SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
    ] {
        match TcpListener::bind(addr) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                anyhow::bail!(
                    "host port {port} is already in use on the host (a program listens on it)"
                )
            }
            // No IPv6 on this host, or no permission: nothing to learn.
            Err(_) => {}
        }
    }
    Ok(())
}

/// `lo` up in the container's fresh namespace (mode `none`; a bridge
/// network's endpoint brings it up too).
pub fn loopback_up(nl: &dyn Rtnetlink, pid: i32) -> Result<()> {
    let mut inside = nl.in_namespace_of(pid)?;
    let lo = inside.index("lo")?;
    inside.set_up(lo)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::links::recording::{Ns, Recording, Request};

    #[test]
    fn mode_none_brings_up_lo_in_the_container_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let fake = Recording::new();
        let plan = Plan::new(root.path(), &Mode::None).unwrap();
        let ep = plan.attach(&fake, root.path(), "c1", 77).unwrap();
        assert!(ep.is_none());
        let requests = fake.requests();
        assert!(
            matches!(requests.as_slice(), [(Ns::Of(77), Request::SetUp(_))]),
            "{requests:#?}"
        );
    }

    #[test]
    fn modes_host_and_container_make_no_request() {
        let root = tempfile::tempdir().unwrap();
        let fake = Recording::new();
        for mode in [Mode::Host, Mode::Container("web".into())] {
            let plan = Plan::new(root.path(), &mode).unwrap();
            assert!(plan.attach(&fake, root.path(), "c1", 77).unwrap().is_none());
        }
        assert_eq!(fake.requests(), []);
    }

    #[test]
    fn modes_parse() {
        assert_eq!(Mode::parse("none"), Ok(Mode::None));
        assert_eq!(Mode::parse("host"), Ok(Mode::Host));
        assert_eq!(
            Mode::parse("container:web"),
            Ok(Mode::Container("web".into()))
        );
        assert_eq!(Mode::parse("mynet"), Ok(Mode::Bridge("mynet".into())));
        assert!(Mode::parse("container:").is_err());
        assert!(Mode::parse("").is_err());
    }
}
