//! What a container holds on the host's network, in its state: recorded
//! when `run` has attached it (from step 28: the [`Endpoint`] the network
//! made, its address lease and veth; from step 31 its published ports'
//! rules), and given back when it exits, is discarded or is removed.
//! Before step 28 it holds nothing. The network module never sees the
//! state: it hands `run` an endpoint and takes one back, as plain data.
//!
//! [`Endpoint`]: crate::network::mode::Endpoint

use std::path::Path;

use super::state::ContainerInfo;

/// Before step 28 no endpoint exists to record.
#[cfg(all(feature = "net-modes", not(feature = "net-bridge")))]
pub fn record_network(
    _store: &super::state::Store,
    _info: &ContainerInfo,
    ep: &crate::network::mode::Endpoint,
) -> anyhow::Result<()> {
    match *ep {}
}

/// Record `ep`, what the container `info` got from a bridge network: its
/// name on its address in its `/etc/hosts` (step 24's file), then the
/// endpoint in its state. On failure nothing is recorded in the state and
/// the caller gives `ep` back.
#[cfg(feature = "net-bridge")]
pub fn record_network(
    store: &super::state::Store,
    info: &ContainerInfo,
    ep: &crate::network::endpoint::Endpoint,
) -> anyhow::Result<()> {
    super::identity::add_address(
        &store.container_dir(&info.name),
        ep.ip.into(),
        &info.hostname,
    )?;
    store.update(&info.name, |i| {
        i.network = Some(ep.network.clone());
        i.ip = Some(ep.ip);
        i.veth = Some(ep.veth.clone());
        set_ports(i, &ep.ports);
    })?;
    Ok(())
}

/// Before step 28 a container holds nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn release_network(_root: &Path, _info: &ContainerInfo) {}

/// Before step 28 the state names nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn forget_network(_info: &mut ContainerInfo) {}

/// Clear what the state says the container holds on a bridge network (its
/// address, veth and published ports), once they are given back: an
/// exited container holds none, as in Docker. `net` (the mode asked for)
/// stays.
#[cfg(feature = "net-bridge")]
pub fn forget_network(info: &mut ContainerInfo) {
    info.network = None;
    info.ip = None;
    info.veth = None;
    set_ports(info, &Default::default());
}

/// Give back what a container got from a bridge network (the kernel's
/// interfaces, through rtnetlink): its port rules (step 31), its veth, its
/// address; and what it may hold unrecorded (a veth left on the host, from
/// step 29 an address the IPAM still holds for it).
#[cfg(feature = "net-bridge")]
pub fn release_network(root: &Path, info: &ContainerInfo) {
    use crate::network::{endpoint, links::Kernel};
    if let Some(ep) = endpoint_of(info) {
        endpoint::release(&Kernel, root, &ep, &info.id);
    }
    endpoint::release_unrecorded(&Kernel, root, &info.id);
}

/// What the state says the container got from a bridge network.
#[cfg(feature = "net-bridge")]
fn endpoint_of(info: &ContainerInfo) -> Option<crate::network::endpoint::Endpoint> {
    match (&info.network, info.ip, &info.veth) {
        (Some(network), Some(ip), Some(veth)) => Some(crate::network::endpoint::Endpoint {
            network: network.clone(),
            ip,
            veth: veth.clone(),
            ports: ports_of(info),
        }),
        _ => None,
    }
}

/// No published ports before step 31.
#[cfg(all(feature = "net-bridge", not(feature = "network")))]
fn set_ports(_info: &mut ContainerInfo, _ports: &crate::network::endpoint::Ports) {}

#[cfg(all(feature = "net-bridge", not(feature = "network")))]
fn ports_of(_info: &ContainerInfo) -> crate::network::endpoint::Ports {}

/// The published ports, in the state (step 31).
#[cfg(feature = "network")]
fn set_ports(info: &mut ContainerInfo, ports: &crate::network::endpoint::Ports) {
    info.ports = ports.clone();
}

#[cfg(feature = "network")]
fn ports_of(info: &ContainerInfo) -> crate::network::endpoint::Ports {
    info.ports.clone()
}
