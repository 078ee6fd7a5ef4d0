//! Address allocation (step 29): which addresses of each subnet are taken.
//! One bitmap per subnet, a bit per address, kept in `<root>/ipam.json`,
//! changed under an `flock` and written atomically, so concurrent `run`s
//! always get distinct addresses and a crash never tears the file. The
//! network address, the gateway and the broadcast address are never handed
//! out. A /16 is 65536 bits: 8 KiB, stored as hex.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

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

/// Bitmaps by subnet.
type Bitmaps = BTreeMap<String, Vec<u8>>;

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

    /// Run `f` on the bitmaps under the lock, then save them.
    fn with_bitmaps<T>(
        &self,
        f: impl FnOnce(&mut Bitmaps) -> Result<T, Error>,
    ) -> Result<T, Error> {
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
        let mut maps: Bitmaps = match std::fs::read(&self.path) {
            Ok(bytes) => {
                let hex: BTreeMap<String, String> =
                    serde_json::from_slice(&bytes).map_err(|e| self.state_err(e))?;
                hex.into_iter().map(|(k, v)| (k, from_hex(&v))).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Bitmaps::new(),
            Err(e) => return Err(self.state_err(e)),
        };
        let value = f(&mut maps)?;
        maps.retain(|_, bits| bits.iter().any(|b| *b != 0));
        let hex: BTreeMap<&String, String> = maps.iter().map(|(k, v)| (k, to_hex(v))).collect();
        let json = serde_json::to_vec(&hex).map_err(|e| self.state_err(e))?;
        crate::atomic_file::write_atomic(&self.path, &json).map_err(|e| self.state_err(e))?;
        Ok(value)
    }

    /// Take the lowest free host address of `subnet`.
    pub fn allocate(&self, subnet: &Subnet) -> Result<Ipv4Addr, Error> {
        self.with_bitmaps(|maps| {
            let bits = maps
                .entry(subnet.to_string())
                .or_insert_with(|| vec![0; bitmap_len(subnet)]);
            // Host 1 is the gateway; the last address is the broadcast.
            for n in 2..subnet.size() - 1 {
                if !get(bits, n) {
                    set(bits, n, true);
                    return Ok(subnet.nth(n).expect("a host of the subnet"));
                }
            }
            Err(Error::Exhausted(*subnet))
        })
    }

    /// Give `ip` back.
    pub fn release(&self, subnet: &Subnet, ip: Ipv4Addr) -> Result<(), Error> {
        let n = subnet.index_of(ip).ok_or(Error::Outside(ip, *subnet))?;
        self.with_bitmaps(|maps| {
            if let Some(bits) = maps.get_mut(&subnet.to_string()) {
                set(bits, n, false);
            }
            Ok(())
        })
    }

    /// How many addresses of `subnet` are taken.
    pub fn used(&self, subnet: &Subnet) -> Result<u64, Error> {
        self.with_bitmaps(|maps| {
            Ok(maps.get(&subnet.to_string()).map_or(0, |bits| {
                bits.iter().map(|b| u64::from(b.count_ones())).sum()
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
        let got: Vec<Ipv4Addr> = (0..5).map(|_| ipam.allocate(&n).unwrap()).collect();
        assert_eq!(
            got,
            (2..=6)
                .map(|i| Ipv4Addr::new(10, 9, 0, i))
                .collect::<Vec<_>>()
        );
        assert!(matches!(ipam.allocate(&n), Err(Error::Exhausted(_))));
        ipam.release(&n, Ipv4Addr::new(10, 9, 0, 4)).unwrap();
        assert_eq!(ipam.allocate(&n).unwrap(), Ipv4Addr::new(10, 9, 0, 4));
    }

    #[test]
    fn state_persists_and_empty_maps_vanish() {
        let t = tempfile::tempdir().unwrap();
        let n = subnet("192.168.50.0/24");
        let ip = Ipam::new(t.path()).allocate(&n).unwrap();
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
            last = ipam.allocate(&n).unwrap();
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
                        .map(|_| Ipam::new(&root).allocate(&n).unwrap())
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
