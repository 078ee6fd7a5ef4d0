//! The network modes of a container (steps 27 and 28), as Docker's:
//!
//! - `none` (the default here): a network namespace of its own with only
//!   `lo`, brought up;
//! - `host`: no network namespace of its own: the host's interfaces;
//! - `container:NAME`: the network namespace of another, running
//!   container: the same interfaces and address;
//! - `NETWORK` (from step 28): a bridge network (made with the library
//!   in step 28, with `network create` from step 31).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Result, bail};

use crate::container::process::NetNs;
use crate::container::state::Store;

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

/// The namespace a container in `mode` is started in, and the open file
/// that must stay open until it has started (for `container:NAME`).
pub fn namespace(root: &Path, mode: &Mode) -> Result<(NetNs, Option<File>)> {
    match mode {
        Mode::None | Mode::Bridge(_) => Ok((NetNs::New, None)),
        Mode::Host => Ok((NetNs::Host, None)),
        Mode::Container(name) => {
            let other = Store::new(root).find(name)?;
            let Some(pid) = other.live_pid() else {
                bail!(
                    "container {} is not running: --net container: needs a running container",
                    other.name
                );
            };
            let ns = File::open(format!("/proc/{pid}/ns/net"))?;
            if !other.is_alive() {
                bail!("container {} is not running", other.name);
            }
            Ok((NetNs::Join(ns.as_raw_fd()), Some(ns)))
        }
    }
}

/// A container's network, checked before anything is created, and set up
/// once its first process exists.
pub struct Plan {
    #[cfg(feature = "net-bridge")]
    root: std::path::PathBuf,
    mode: Mode,
    ns: NetNs,
    /// The other container's namespace, open until the clone has joined it.
    _other: Option<File>,
    #[cfg(feature = "net-bridge")]
    network: Option<crate::network::store::Network>,
    #[cfg(feature = "network")]
    ports: Vec<(u16, u16)>,
}

impl Plan {
    /// Check `mode` now, before the container exists: an unknown network
    /// or a stopped container is an error.
    pub fn new(root: &Path, mode: &Mode) -> Result<Plan> {
        let (ns, other) = namespace(root, mode)?;
        Ok(Plan {
            #[cfg(feature = "net-bridge")]
            root: root.to_path_buf(),
            mode: mode.clone(),
            ns,
            _other: other,
            #[cfg(feature = "net-bridge")]
            network: bridge_network(root, mode)?,
            #[cfg(feature = "network")]
            ports: Vec::new(),
        })
    }

    /// Record `--net` as given in the container's state.
    pub fn record(&self, info: &mut crate::container::state::ContainerInfo) {
        info.net = Some(self.mode.to_string());
    }

    pub fn namespace(&self) -> NetNs {
        self.ns
    }

    /// Set up the network of the container whose first process is `pid`.
    #[cfg(not(feature = "network"))]
    pub fn attach(
        &self,
        store: &Store,
        info: &crate::container::state::ContainerInfo,
        pid: nix::unistd::Pid,
    ) -> Result<()> {
        match &self.mode {
            Mode::None => loopback_up(pid.as_raw()),
            Mode::Host | Mode::Container(_) => Ok(()),
            Mode::Bridge(name) => self.attach_bridge(name, store, info, pid).map(|_| ()),
        }
    }

    #[cfg(not(feature = "net-bridge"))]
    fn attach_bridge(
        &self,
        name: &str,
        _: &Store,
        _: &crate::container::state::ContainerInfo,
        _: nix::unistd::Pid,
    ) -> Result<()> {
        bail!("network {name}: bridge networks arrive in step 28")
    }

    #[cfg(feature = "net-bridge")]
    fn attach_bridge(
        &self,
        _name: &str,
        store: &Store,
        info: &crate::container::state::ContainerInfo,
        pid: nix::unistd::Pid,
    ) -> Result<crate::network::endpoint::Endpoint> {
        let net = self.network.as_ref().expect("checked in Plan::new");
        let ep = crate::network::endpoint::connect(&self.root, net, &info.id, pid.as_raw())?;
        let recorded = store.update(&info.name, |i| {
            i.network = Some(ep.network.clone());
            i.ip = Some(ep.ip);
            i.veth = Some(ep.veth.clone());
        });
        // Its name on its address in its /etc/hosts (step 24's file).
        let named = recorded.map_err(anyhow::Error::from).and_then(|_| {
            crate::container::identity::add_address(
                &store.container_dir(&info.name),
                ep.ip.into(),
                &info.hostname,
            )
        });
        if let Err(e) = named {
            crate::network::endpoint::disconnect(&self.root, &ep);
            return Err(e);
        }
        Ok(ep)
    }
}

/// Published ports (step 31).
#[cfg(feature = "network")]
impl Plan {
    /// Also publish `ports`, checked now: only a container on a bridge
    /// network has them, and no host port may be taken twice.
    pub fn publish(mut self, ports: &[(u16, u16)]) -> Result<Plan> {
        if !ports.is_empty() && !matches!(self.mode, Mode::Bridge(_)) {
            bail!("-p publishes a port of a bridge network: use --net NETWORK");
        }
        ports_free(&self.root, ports)?;
        self.ports = ports.to_vec();
        Ok(self)
    }

    /// Set up the network of the container whose first process is `pid`,
    /// its published ports included.
    pub fn attach(
        &self,
        store: &Store,
        info: &crate::container::state::ContainerInfo,
        pid: nix::unistd::Pid,
    ) -> Result<()> {
        match &self.mode {
            Mode::None => loopback_up(pid.as_raw()),
            Mode::Host | Mode::Container(_) => Ok(()),
            Mode::Bridge(name) => {
                let ep = self.attach_bridge(name, store, info, pid)?;
                self.publish_ports(store, info, &ep)
            }
        }
    }

    /// The DNAT rules of the published ports, recorded in the state; on
    /// failure the container leaves the network again.
    fn publish_ports(
        &self,
        store: &Store,
        info: &crate::container::state::ContainerInfo,
        ep: &crate::network::endpoint::Endpoint,
    ) -> Result<()> {
        use crate::network::endpoint::{disconnect, publish, unpublish};
        let done = publish(&self.root, ep.ip, &self.ports, &info.id).and_then(|_| {
            store
                .update(&info.name, |i| i.ports = self.ports.clone())
                .map_err(anyhow::Error::from)
        });
        if let Err(e) = done {
            unpublish(&self.root, ep.ip, &self.ports, &info.id);
            disconnect(&self.root, ep);
            return Err(e);
        }
        Ok(())
    }
}

/// The bridge network of `mode`, which must exist.
#[cfg(feature = "net-bridge")]
fn bridge_network(root: &Path, mode: &Mode) -> Result<Option<crate::network::store::Network>> {
    let Mode::Bridge(name) = mode else {
        return Ok(None);
    };
    Ok(Some(crate::network::store::load(root, name)?))
}

/// Published host ports must not be taken by another container, nor
/// given twice.
#[cfg(feature = "network")]
fn ports_free(root: &Path, ports: &[(u16, u16)]) -> Result<()> {
    let store = Store::new(root);
    for (_, info) in store.list() {
        let Ok(info) = info else { continue };
        for (h, _) in &info.ports {
            if ports.iter().any(|(p, _)| p == h) {
                bail!(
                    "host port {h} is already published by container {}",
                    info.name
                );
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (h, _) in ports {
        if !seen.insert(h) {
            bail!("host port {h} is published twice");
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
                bail!("host port {port} is already in use on the host (a program listens on it)")
            }
            // No IPv6 on this host, or no permission: nothing to learn.
            Err(_) => {}
        }
    }
    Ok(())
}

/// `lo` up in the container's fresh namespace (modes `none` and bridge).
pub fn loopback_up(pid: i32) -> Result<()> {
    let mut nl = crate::network::netlink::Netlink::in_namespace_of(pid)?;
    let lo = nl.index("lo")?;
    nl.set_up(lo)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
