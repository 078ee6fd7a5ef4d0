//! What a container holds on the host's network, given back (from step
//! 28: its address lease and its veth; from step 31 its published ports'
//! rules), when it exits, is discarded or is removed. Before step 28 it
//! holds nothing.

use std::path::Path;

use super::state::ContainerInfo;

/// Before step 28 a container holds nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn release_network(_root: &Path, _info: &ContainerInfo) {}

/// Before step 28 the state names nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn forget_network(_info: &mut ContainerInfo) {}

/// Clear what the state says the container holds on a bridge network (its
/// address and veth), once they are given back: an exited container holds
/// none, as in Docker. `net` (the mode asked for) stays.
#[cfg(all(feature = "net-bridge", not(feature = "network")))]
pub fn forget_network(info: &mut ContainerInfo) {
    info.network = None;
    info.ip = None;
    info.veth = None;
}

/// Give back what a container got from a bridge network: its veth, its
/// address.
#[cfg(all(feature = "net-bridge", not(feature = "network")))]
pub fn release_network(root: &Path, info: &ContainerInfo) {
    if let Some(ep) = endpoint_of(info) {
        crate::network::endpoint::disconnect(root, &ep);
    }
}

/// As before step 31, and its published ports too.
#[cfg(feature = "network")]
pub fn forget_network(info: &mut ContainerInfo) {
    info.network = None;
    info.ip = None;
    info.veth = None;
    info.ports.clear();
}

/// Give back what a container got from a bridge network: its port rules
/// (step 31), its veth, its address.
#[cfg(feature = "network")]
pub fn release_network(root: &Path, info: &ContainerInfo) {
    use crate::network::endpoint::{disconnect, unpublish};
    if let Some(ep) = endpoint_of(info) {
        unpublish(root, ep.ip, &info.ports, &info.id);
        disconnect(root, &ep);
    }
}

/// What the state says the container got from a bridge network.
#[cfg(feature = "net-bridge")]
fn endpoint_of(info: &ContainerInfo) -> Option<crate::network::endpoint::Endpoint> {
    match (&info.network, info.ip, &info.veth) {
        (Some(network), Some(ip), Some(veth)) => Some(crate::network::endpoint::Endpoint {
            network: network.clone(),
            ip,
            veth: veth.clone(),
        }),
        _ => None,
    }
}
