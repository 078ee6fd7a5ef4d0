//! Bridge networks (steps 28 and 31): `<root>/networks/<name>.json`.
//!
//! A network is a Linux bridge named like the network, holding the subnet's
//! gateway address, so the host can reach the containers on it and route
//! for them; a MASQUERADE rule lets their traffic leave with the host's
//! address, two more let published ports answer on `127.0.0.1` and from
//! the network itself (step 31, with the bridge's own settings in
//! [`super::sysctl`]). mydocker only ever deletes a bridge and rules it recorded as
//! its own, and never adopts an interface that already exists.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::ip::Subnet;
use super::netlink::Netlink;
use super::{IFNAME_MAX, iptables, isolation, sysctl};
use crate::names;

/// One network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub name: String,
    pub driver: String,
    pub subnet: Subnet,
    pub gateway: Ipv4Addr,
    /// The bridge interface (same name as the network).
    pub bridge: String,
}

fn dir(root: &Path) -> PathBuf {
    root.join("networks")
}

fn path(root: &Path, name: &str) -> PathBuf {
    dir(root).join(format!("{name}.json"))
}

/// Check a network name: a valid name, and short enough for an interface.
pub fn validate_name(name: &str) -> Result<()> {
    names::validate("network", name)?;
    if ["none", "host", "bridge"].contains(&name) {
        bail!("network name {name} is reserved: --net {name} names a network mode");
    }
    if name.len() > IFNAME_MAX {
        bail!(
            "invalid network name {name:?}: at most {IFNAME_MAX} bytes (it names the bridge interface)"
        );
    }
    Ok(())
}

/// The iptables comment of a network's rules.
pub fn comment(root: &Path, name: &str) -> String {
    iptables::comment(&crate::ids::root_tag(root), &format!("net:{name}"))
}

/// Read one network.
pub fn load(root: &Path, name: &str) -> Result<Network> {
    validate_name(name)?;
    let p = path(root, name);
    let bytes = std::fs::read(&p).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!("no such network: {name}"),
        _ => anyhow::anyhow!("read {}: {e}", p.display()),
    })?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("network {name}: broken file {}", p.display()))
}

/// Every network, sorted by name.
pub fn list(root: &Path) -> Result<Vec<Network>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir(root)) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    for e in rd.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".json")
            && validate_name(name).is_ok()
        {
            out.push(load(root, name)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Create a bridge network: refuse a taken name, an overlapping subnet or
/// an existing interface; record it, then make the bridge with the gateway
/// address and its rules. A failure part way undoes it all.
///
/// The record comes first so that a create killed at any instant leaves
/// either nothing or a network that `network ls` lists and `network rm`
/// removes (it tolerates a missing bridge or rule): a bridge made before its
/// record could be neither seen nor removed, and its name never used again.
pub fn create(root: &Path, name: &str, subnet: Subnet) -> Result<Network> {
    validate_name(name)?;
    std::fs::create_dir_all(dir(root))?;
    let _lock = lock(root)?;
    if path(root, name).exists() {
        bail!("network {name} already exists");
    }
    for other in list(root)? {
        if other.subnet.overlaps(&subnet) {
            bail!(
                "subnet {subnet} overlaps network {} ({})",
                other.name,
                other.subnet
            );
        }
    }
    let mut nl = Netlink::new()?;
    if nl.link(name)?.is_some() {
        bail!("an interface named {name} already exists on this host; mydocker will not adopt it");
    }
    let net = Network {
        name: name.to_string(),
        driver: "bridge".into(),
        subnet,
        gateway: subnet.gateway(),
        bridge: name.to_string(),
    };
    let json = serde_json::to_vec_pretty(&net)?;
    crate::atomic_file::write_atomic(&path(root, name), &json)?;
    let index = match nl.add_bridge(name) {
        Ok(index) => index,
        Err(e) => {
            let _ = std::fs::remove_file(path(root, name));
            return Err(e.into());
        }
    };
    let configured = (|| -> Result<()> {
        nl.add_address(index, net.gateway, subnet.prefix_len())?;
        sysctl::configure_bridge(name)?;
        nl.set_up(index)?;
        for rule in iptables::network_rules(&subnet.to_string(), name) {
            rule.add(&comment(root, name))?;
        }
        isolation::add(&subnet.to_string(), name, &comment(root, name))?;
        Ok(())
    })();
    if let Err(e) = configured {
        delete_rules(root, &net);
        let _ = nl.delete(index);
        let _ = std::fs::remove_file(path(root, name));
        return Err(e);
    }
    Ok(net)
}

/// Remove a network: its rule, its bridge, its record. The caller has
/// checked that no container uses it.
pub fn remove(root: &Path, name: &str) -> Result<()> {
    let _lock = lock(root)?;
    let net = load(root, name)?;
    for rule in iptables::network_rules(&net.subnet.to_string(), &net.bridge) {
        rule.delete(&comment(root, name))?;
    }
    isolation::remove(&net.subnet.to_string(), &net.bridge, &comment(root, name))?;
    let mut nl = Netlink::new()?;
    if let Some(link) = nl.link(&net.bridge)? {
        nl.delete(link.index)?;
    }
    std::fs::remove_file(path(root, name))?;
    Ok(())
}

/// Delete every rule of `net`, best effort (undoing a failed create).
fn delete_rules(root: &Path, net: &Network) {
    for rule in iptables::network_rules(&net.subnet.to_string(), &net.bridge) {
        let _ = rule.delete(&comment(root, &net.name));
    }
    let _ = isolation::remove(
        &net.subnet.to_string(),
        &net.bridge,
        &comment(root, &net.name),
    );
}

fn lock(root: &Path) -> Result<nix::fcntl::Flock<std::fs::File>> {
    std::fs::create_dir_all(dir(root))?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir(root).join(".lock"))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("lock the networks: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_of_network_modes_cannot_name_a_network() {
        // `--net host` would mean the mode, never the network (Docker has
        // predefined networks of these names and refuses to make another).
        for name in ["none", "host", "bridge"] {
            let err = validate_name(name).unwrap_err().to_string();
            assert!(err.contains("reserved"), "{name}: {err}");
        }
        assert!(validate_name("n1").is_ok());
    }
}
