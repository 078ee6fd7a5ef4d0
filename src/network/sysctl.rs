//! Per-interface kernel settings (step 31), `/proc/sys/net/ipv4/conf/IF/*`
//! (`man 7 ip`, the kernel's `ip-sysctl.rst`). They belong to the
//! interface: they are made with it and go with it, so mydocker sets them
//! only on the bridges it creates and never has to restore them. The
//! host-wide `net.ipv4.ip_forward` stays the administrator's.
//!
//! A network's bridge gets two:
//!
//! - `route_localnet=1`: a connection to a published port on `127.0.0.1`
//!   is DNATed to a container, so it leaves by the bridge with the source
//!   `127.0.0.1`; without this setting the kernel drops such a packet as a
//!   martian, and the client hangs. (A MASQUERADE rule then gives it the
//!   gateway's address; see [`super::iptables::network_rules`].)
//! - `forwarding=1`: IPv4 routes a packet only if the interface it arrived
//!   on forwards. A container reaching a published port through the host
//!   is DNATed to a container, routed back out of a bridge: that needs the
//!   bridge to forward, whatever the host-wide setting.

use std::path::PathBuf;

/// A failed write of a setting.
#[derive(Debug, thiserror::Error)]
#[error("sysctl net.ipv4.conf.{interface}.{key}={value}: {source}")]
pub struct Error {
    pub interface: String,
    pub key: &'static str,
    pub value: &'static str,
    pub source: std::io::Error,
}

fn path(interface: &str, key: &str) -> PathBuf {
    PathBuf::from("/proc/sys/net/ipv4/conf")
        .join(interface)
        .join(key)
}

/// Set `net.ipv4.conf.INTERFACE.KEY` to `value`.
pub fn set(interface: &str, key: &'static str, value: &'static str) -> Result<(), Error> {
    std::fs::write(path(interface, key), value).map_err(|source| Error {
        interface: interface.to_string(),
        key,
        value,
        source,
    })
}

/// The settings a network's bridge needs (see the module comment).
pub const BRIDGE: [(&str, &str); 2] = [("route_localnet", "1"), ("forwarding", "1")];

/// Apply [`BRIDGE`] to `bridge`.
pub fn configure_bridge(bridge: &str) -> Result<(), Error> {
    for (key, value) in BRIDGE {
        set(bridge, key, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_per_interface() {
        assert_eq!(
            path("br0", "route_localnet"),
            PathBuf::from("/proc/sys/net/ipv4/conf/br0/route_localnet")
        );
    }
}
