//! What a container holds on the host's network, given back (from step
//! 28: its address lease, its veth, its published ports' rules), when it
//! exits, is discarded or is removed. Before step 28 it holds nothing.

use std::path::Path;

use super::state::ContainerInfo;

/// Before step 28 a container holds nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn release_network(_root: &Path, _info: &ContainerInfo) {}

/// Before step 28 the state names nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn forget_network(_info: &mut ContainerInfo) {}

/// Clear what the state says the container holds on a bridge network (its
/// address, veth and published ports), once they are given back: an exited
/// container holds none, as in Docker. `net` (the mode asked for) stays.
#[cfg(feature = "net-bridge")]
pub fn forget_network(info: &mut ContainerInfo) {
    info.network = None;
    info.ip = None;
    info.veth = None;
    info.ports.clear();
}

/// Give back what a container got from a bridge network: its port rules,
/// its veth, its address.
#[cfg(feature = "net-bridge")]
pub fn release_network(root: &Path, info: &ContainerInfo) {
    use crate::network::endpoint::{Endpoint, disconnect};
    if let (Some(network), Some(ip), Some(veth)) = (&info.network, info.ip, &info.veth) {
        let ep = Endpoint {
            network: network.clone(),
            ip,
            veth: veth.clone(),
            ports: info.ports.clone(),
        };
        disconnect(root, &ep, &info.id);
    }
}
