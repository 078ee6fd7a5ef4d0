//! Address allocation (step 29): which addresses of each subnet are taken,
//! and by which container. One bitmap per subnet, a bit per address, kept
//! in `<root>/ipam.json` with each lease's holder, changed under an `flock`
//! and written atomically, so concurrent `run`s always get distinct
//! addresses and a crash never tears the file. The network address, the
//! gateway and the broadcast address are never handed out. A /16 is 65536
//! bits: 8 KiB, stored as hex.
//!
//! The holder is written in the same atomic write as the bit: a `run`
//! killed after leasing but before recording the address in its container's
//! state leaves a lease that `rm` still finds ([`Ipam::release_owner`]).

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::ip::Subnet;

/// A failed allocation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("subnet {0} has no free address left")]
    Exhausted(Subnet),
    #[error("{0} is not in subnet {1}")]
    Outside(Ipv4Addr, Subnet),
    #[error("IPAM state {path}: {reason}")]
    State { path: PathBuf, reason: String },
}

/// The allocator of one root.
pub struct Ipam {
    path: PathBuf,
}

/// One subnet's leases: a bit per address, and who holds each (by the
/// address's index in the subnet).
#[derive(Debug, Default)]
struct Leases {
    bits: Vec<u8>,
    owners: BTreeMap<u64, String>,
}

/// Leases by subnet.
type Subnets = BTreeMap<String, Leases>;

/// A subnet's entry in `ipam.json`: `{"bits": HEX, "owners": {INDEX: ID}}`
/// (the index of the address in the subnet, as a string: JSON's keys are
/// strings), or the bare hex string that roots made before holders were
/// kept.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Leases {
        bits: String,
        #[serde(default)]
        owners: BTreeMap<String, String>,
    },
    Bits(String),
}

impl Ipam {
    pub fn new(root: &Path) -> Self {
        Ipam {
            path: root.join("ipam.json"),
        }
    }

    fn state_err(&self, reason: impl ToString) -> Error {
        Error::State {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Run `f` on the leases under the lock, then save them.
    fn with_leases<T>(&self, f: impl FnOnce(&mut Subnets) -> Result<T, Error>) -> Result<T, Error> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.state_err(e))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".ipam.lock"))
            .map_err(|e| self.state_err(e))?;
        let _lock =
            Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| self.state_err(e))?;
        let mut subnets: Subnets = match std::fs::read(&self.path) {
            Ok(bytes) => {
                let disk: BTreeMap<String, OnDisk> =
                    serde_json::from_slice(&bytes).map_err(|e| self.state_err(e))?;
                disk.into_iter()
                    .map(|(k, v)| {
                        let leases = match v {
                            OnDisk::Leases { bits, owners } => Leases {
                                bits: from_hex(&bits),
                                owners: owners
                                    .into_iter()
                                    .filter_map(|(n, id)| Some((n.parse().ok()?, id)))
                                    .collect(),
                            },
                            OnDisk::Bits(bits) => Leases {
                                bits: from_hex(&bits),
                                owners: BTreeMap::new(),
                            },
                        };
                        (k, leases)
                    })
                    .collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Subnets::new(),
            Err(e) => return Err(self.state_err(e)),
        };
        let value = f(&mut subnets)?;
        subnets.retain(|_, l| l.bits.iter().any(|b| *b != 0));
        let disk: BTreeMap<&String, OnDisk> = subnets
            .iter()
            .map(|(k, l)| {
                let entry = OnDisk::Leases {
                    bits: to_hex(&l.bits),
                    owners: l
                        .owners
                        .iter()
                        .map(|(n, id)| (n.to_string(), id.clone()))
                        .collect(),
                };
                (k, entry)
            })
            .collect();
        let json = serde_json::to_vec(&disk).map_err(|e| self.state_err(e))?;
        crate::atomic_file::write_atomic(&self.path, &json).map_err(|e| self.state_err(e))?;
        Ok(value)
    }

    /// Take the lowest free host address of `subnet` for the container
    /// `owner` (its ID).
    pub fn allocate(&self, subnet: &Subnet, owner: &str) -> Result<Ipv4Addr, Error> {
        self.with_leases(|subnets| {
            let leases = subnets.entry(subnet.to_string()).or_default();
            if leases.bits.is_empty() {
                leases.bits = vec![0; bitmap_len(subnet)];
            }
            // Host 1 is the gateway; the last address is the broadcast.
            for n in 2..subnet.size() - 1 {
                if !get(&leases.bits, n) {
                    set(&mut leases.bits, n, true);
                    leases.owners.insert(n, owner.to_string());
                    return Ok(subnet.nth(n).expect("a host of the subnet"));
                }
            }
            Err(Error::Exhausted(*subnet))
        })
    }

    /// Give `ip` back.
    pub fn release(&self, subnet: &Subnet, ip: Ipv4Addr) -> Result<(), Error> {
        let n = subnet.index_of(ip).ok_or(Error::Outside(ip, *subnet))?;
        self.with_leases(|subnets| {
            if let Some(leases) = subnets.get_mut(&subnet.to_string()) {
                set(&mut leases.bits, n, false);
                leases.owners.remove(&n);
            }
            Ok(())
        })
    }

    /// Give back every address `owner` holds, in any subnet; returns how
    /// many.
    pub fn release_owner(&self, owner: &str) -> Result<usize, Error> {
        self.with_leases(|subnets| {
            let mut released = 0;
            for leases in subnets.values_mut() {
                let held: Vec<u64> = leases
                    .owners
                    .iter()
                    .filter(|(_, o)| o.as_str() == owner)
                    .map(|(n, _)| *n)
                    .collect();
                for n in held {
                    set(&mut leases.bits, n, false);
                    leases.owners.remove(&n);
                    released += 1;
                }
            }
            Ok(released)
        })
    }

    /// How many addresses of `subnet` are taken.
    pub fn used(&self, subnet: &Subnet) -> Result<u64, Error> {
        self.with_leases(|subnets| {
            Ok(subnets.get(&subnet.to_string()).map_or(0, |l| {
                l.bits.iter().map(|b| u64::from(b.count_ones())).sum()
            }))
        })
    }
}

fn bitmap_len(subnet: &Subnet) -> usize {
    (subnet.size() as usize).div_ceil(8)
}

fn get(bits: &[u8], n: u64) -> bool {
    bits.get((n / 8) as usize)
        .is_some_and(|b| b & (1 << (n % 8)) != 0)
}

fn set(bits: &mut [u8], n: u64, on: bool) {
    if let Some(b) = bits.get_mut((n / 8) as usize) {
        if on {
            *b |= 1 << (n % 8);
        } else {
            *b &= !(1 << (n % 8));
        }
    }
}

fn to_hex(bits: &[u8]) -> String {
    bits.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(s: &str) -> Subnet {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_are_distinct_and_skip_network_gateway_broadcast() {
        let t = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(t.path());
        let n = subnet("10.9.0.0/29"); // .0 network, .1 gateway, .7 broadcast
        let got: Vec<Ipv4Addr> = (0..5).map(|_| ipam.allocate(&n, "c").unwrap()).collect();
        assert_eq!(
            got,
            (2..=6)
                .map(|i| Ipv4Addr::new(10, 9, 0, i))
                .collect::<Vec<_>>()
        );
        assert!(matches!(ipam.allocate(&n, "c"), Err(Error::Exhausted(_))));
        ipam.release(&n, Ipv4Addr::new(10, 9, 0, 4)).unwrap();
        assert_eq!(ipam.allocate(&n, "c").unwrap(), Ipv4Addr::new(10, 9, 0, 4));
    }

    #[test]
    fn an_owner_gets_back_only_its_own_leases_in_every_subnet() {
        let t = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(t.path());
        let (a, b) = (subnet("10.9.0.0/24"), subnet("10.9.1.0/24"));
        ipam.allocate(&a, "one").unwrap();
        let kept = ipam.allocate(&a, "two").unwrap();
        ipam.allocate(&b, "one").unwrap();
        assert_eq!(ipam.release_owner("one").unwrap(), 2);
        assert_eq!(ipam.used(&a).unwrap(), 1);
        assert_eq!(ipam.used(&b).unwrap(), 0);
        assert_eq!(ipam.release_owner("one").unwrap(), 0);
        ipam.release(&a, kept).unwrap();
        assert_eq!(
            ipam.release_owner("two").unwrap(),
            0,
            "release forgets the owner"
        );
    }

    #[test]
    fn a_file_from_before_owners_were_kept_is_read() {
        let t = tempfile::tempdir().unwrap();
        // 10.9.0.2 taken (bit 2 of the first byte), no owner recorded.
        std::fs::write(t.path().join("ipam.json"), r#"{"10.9.0.0/24":"04"}"#).unwrap();
        let ipam = Ipam::new(t.path());
        let n = subnet("10.9.0.0/24");
        assert_eq!(ipam.used(&n).unwrap(), 1);
        assert_eq!(ipam.allocate(&n, "c").unwrap(), Ipv4Addr::new(10, 9, 0, 3));
        ipam.release(&n, Ipv4Addr::new(10, 9, 0, 2)).unwrap();
        assert_eq!(ipam.release_owner("c").unwrap(), 1);
        assert_eq!(ipam.used(&n).unwrap(), 0);
    }

    #[test]
    fn state_persists_and_empty_maps_vanish() {
        let t = tempfile::tempdir().unwrap();
        let n = subnet("192.168.50.0/24");
        let ip = Ipam::new(t.path()).allocate(&n, "c").unwrap();
        assert_eq!(Ipam::new(t.path()).used(&n).unwrap(), 1);
        Ipam::new(t.path()).release(&n, ip).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.path().join("ipam.json")).unwrap(),
            "{}"
        );
    }

    #[test]
    fn a_slash_16_with_a_thousand_leases() {
        let t = tempfile::tempdir().unwrap();
        let ipam = Ipam::new(t.path());
        let n = subnet("172.30.0.0/16");
        let mut last = Ipv4Addr::UNSPECIFIED;
        for _ in 0..1000 {
            last = ipam.allocate(&n, "c").unwrap();
        }
        assert_eq!(last, Ipv4Addr::new(172, 30, 3, 233));
        assert_eq!(ipam.used(&n).unwrap(), 1000);
    }

    #[test]
    fn concurrent_allocations_are_distinct() {
        let t = tempfile::tempdir().unwrap();
        let n = subnet("10.10.0.0/24");
        let root = t.path().to_path_buf();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let root = root.clone();
                std::thread::spawn(move || {
                    (0..10)
                        .map(|_| Ipam::new(&root).allocate(&n, "c").unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<Ipv4Addr> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 80);
    }

    #[test]
    fn releasing_outside_the_subnet_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let n = subnet("10.0.0.0/24");
        assert!(matches!(
            Ipam::new(t.path()).release(&n, Ipv4Addr::new(10, 0, 1, 1)),
            Err(Error::Outside(..))
        ));
    }
}
