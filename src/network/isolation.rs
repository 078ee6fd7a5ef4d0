//! Isolation between networks (step 31), as Docker's DOCKER-ISOLATION
//! chains: a network is a boundary. A container of one mydocker network
//! reaches neither the containers of another nor its gateway address;
//! a port published on the host still answers it.
//!
//! Two chains of the filter table, shared by every mydocker network on the
//! host (whatever its root), hold one tagged rule per network each:
//!
//! - `MYDOCKER-ISOLATION`, jumped to first from `FORWARD` (to another
//!   container) and `INPUT` (to a gateway address, which is the host's):
//!   `-i BRIDGE -m conntrack ! --ctstate DNAT -j MYDOCKER-ISOLATION-2`:
//!   traffic that arrived from a mydocker network, unless the host
//!   rewrote its destination for a published port;
//! - `MYDOCKER-ISOLATION-2`: `! -i BRIDGE -d SUBNET -j DROP`: bound for a
//!   network's addresses (its containers and its gateway) from another.
//!
//! Matching the destination by subnet covers both hooks with one rule
//! (`-o` is not allowed in `INPUT`). The chains and the two jumps are made
//! by the first network and removed with the last, under a host-wide lock
//! (`/run/lock/mydocker-isolation.lock`), so two mydocker processes never
//! remove a chain the other is filling. They carry the comment
//! `mydocker:isolation`; the per-network rules carry the network's tag,
//! like its NAT rules.

use std::fs::OpenOptions;

use super::iptables::{self, Error, Rule};

/// The first chain: which packets came from a mydocker network.
pub const CHAIN: &str = "MYDOCKER-ISOLATION";
/// The second chain: which network they are bound for.
pub const CHAIN_2: &str = "MYDOCKER-ISOLATION-2";
/// The comment of the shared jumps.
pub const SHARED: &str = "mydocker:isolation";
const LOCK: &str = "/run/lock/mydocker-isolation.lock";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The jumps into [`CHAIN`], first in `FORWARD` and `INPUT`.
fn jumps() -> [Rule; 2] {
    ["FORWARD", "INPUT"].map(|chain| Rule {
        table: "filter",
        chain,
        spec: strings(&["-j", CHAIN]),
    })
}

/// The two rules of the network on `bridge` with `subnet`.
pub fn rules(subnet: &str, bridge: &str) -> [Rule; 2] {
    [
        Rule {
            table: "filter",
            chain: CHAIN,
            spec: strings(&[
                "-i",
                bridge,
                "-m",
                "conntrack",
                "!",
                "--ctstate",
                "DNAT",
                "-j",
                CHAIN_2,
            ]),
        },
        Rule {
            table: "filter",
            chain: CHAIN_2,
            spec: strings(&["!", "-i", bridge, "-d", subnet, "-j", "DROP"]),
        },
    ]
}

fn lock() -> Result<nix::fcntl::Flock<std::fs::File>, Error> {
    let failed = |message: String| Error::Failed {
        args: format!("lock {LOCK}"),
        message,
    };
    let _ = std::fs::create_dir_all("/run/lock");
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)
        .map_err(|e| failed(e.to_string()))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| failed(e.to_string()))
}

fn chain_exists(chain: &str) -> bool {
    iptables::run(&strings(&["-t", "filter", "-S", chain])).is_ok()
}

/// Whether `chain` holds no rule (`-S` prints only its `-N` line).
fn chain_is_empty(chain: &str) -> bool {
    iptables::run(&strings(&["-t", "filter", "-S", chain]))
        .map(|s| s.lines().all(|l| !l.starts_with("-A")))
        .unwrap_or(true)
}

/// Isolate the network on `bridge` with `subnet`: the shared chains and
/// jumps if missing, then its two rules, marked with `comment`.
pub fn add(subnet: &str, bridge: &str, comment: &str) -> Result<(), Error> {
    let _lock = lock()?;
    for chain in [CHAIN, CHAIN_2] {
        if !chain_exists(chain) {
            iptables::run(&strings(&["-t", "filter", "-N", chain]))?;
        }
    }
    for jump in jumps() {
        if !jump.exists(SHARED) {
            jump.insert(SHARED)?;
        }
    }
    for rule in rules(subnet, bridge) {
        rule.add(comment)?;
    }
    Ok(())
}

/// Undo [`add`]: the network's rules, then the chains and jumps if no
/// network is left in them.
pub fn remove(subnet: &str, bridge: &str, comment: &str) -> Result<(), Error> {
    let _lock = lock()?;
    for rule in rules(subnet, bridge) {
        rule.delete(comment)?;
    }
    if [CHAIN, CHAIN_2].iter().all(|c| chain_is_empty(c)) {
        for jump in jumps() {
            jump.delete(SHARED)?;
        }
        for chain in [CHAIN, CHAIN_2] {
            if chain_exists(chain) {
                iptables::run(&strings(&["-t", "filter", "-X", chain]))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_drops_what_other_networks_send_it() {
        let [first, second] = rules("10.9.0.0/24", "br0");
        assert_eq!(first.chain, CHAIN);
        assert_eq!(first.spec.last().map(String::as_str), Some(CHAIN_2));
        assert!(first.spec.windows(2).any(|w| w == ["!", "--ctstate"]));
        assert_eq!(
            second.spec,
            ["!", "-i", "br0", "-d", "10.9.0.0/24", "-j", "DROP"]
        );
    }
}
