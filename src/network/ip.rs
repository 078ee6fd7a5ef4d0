//! IP addresses and subnets (step 25). A subnet in CIDR notation,
//! `192.168.10.0/24`, is an address and a prefix length: the first 24 bits
//! name the network, the remaining 8 number the hosts on it. Parsing comes
//! from the `ipnet` crate; the arithmetic the chapter is about is here:
//!
//! - the **network** address has all host bits 0, the **broadcast** address
//!   all 1; neither can be given to a host;
//! - the **gateway** is, by Docker's convention, the first host (`.1`), and
//!   is given to the bridge;
//! - host *n* is the network address plus *n*.

use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;

/// An IPv4 subnet: its host bits are 0, and it lies outside the reserved
/// ranges (loopback, multicast, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Subnet(Ipv4Net);

/// A subnet that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid subnet {0:?}: expected CIDR notation such as 192.168.10.0/24")]
    Parse(String),
    #[error(
        "subnet {0} is too small: a /30 or larger is needed (network, gateway, broadcast and one container)"
    )]
    TooSmall(String),
    #[error("invalid subnet {0}: host bits are set; the subnet is {1}")]
    HostBits(String, String),
    #[error(
        "subnet {0} is reserved ({1}): choose a private range such as 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"
    )]
    Reserved(String, &'static str),
}

/// Ranges no bridge network may use (RFC 6890): the kernel treats them
/// apart from ordinary unicast subnets.
const RESERVED: [(&str, &str); 4] = [
    ("0.0.0.0/8", "this network"),
    ("127.0.0.0/8", "loopback"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved, with the broadcast address"),
];

impl FromStr for Subnet {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let net: Ipv4Net = s.trim().parse().map_err(|_| Error::Parse(s.to_string()))?;
        if net != net.trunc() {
            return Err(Error::HostBits(net.to_string(), net.trunc().to_string()));
        }
        if let Some((range, what)) = RESERVED
            .iter()
            .map(|(range, what)| (range.parse::<Ipv4Net>().expect("a CIDR"), *what))
            .find(|(range, _)| range.contains(&net.network()) || net.contains(&range.network()))
        {
            return Err(Error::Reserved(format!("{net} overlaps {range}"), what));
        }
        if net.prefix_len() > 30 {
            return Err(Error::TooSmall(net.to_string()));
        }
        Ok(Subnet(net))
    }
}

impl TryFrom<String> for Subnet {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<Subnet> for String {
    fn from(s: Subnet) -> String {
        s.to_string()
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Subnet {
    pub fn prefix_len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// All host bits 0.
    pub fn network(&self) -> Ipv4Addr {
        self.0.network()
    }

    /// All host bits 1.
    pub fn broadcast(&self) -> Ipv4Addr {
        self.0.broadcast()
    }

    /// The first host, given to the bridge.
    pub fn gateway(&self) -> Ipv4Addr {
        self.nth(1).expect("a /30 or larger has a first host")
    }

    /// How many addresses the subnet spans (network and broadcast included).
    pub fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.prefix_len()))
    }

    /// The address `n` places after the network address, if it is a host
    /// (neither the network nor the broadcast address).
    pub fn nth(&self, n: u64) -> Option<Ipv4Addr> {
        if n == 0 || n >= self.size() - 1 {
            return None;
        }
        Some(Ipv4Addr::from(u32::from(self.network()) + n as u32))
    }

    /// The position of `ip` in the subnet (the inverse of [`Subnet::nth`]).
    pub fn index_of(&self, ip: Ipv4Addr) -> Option<u64> {
        self.contains(ip)
            .then(|| u64::from(u32::from(ip) - u32::from(self.network())))
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        self.0.contains(&ip)
    }

    /// Do the two subnets share any address?
    pub fn overlaps(&self, other: &Subnet) -> bool {
        self.0.contains(&other.network()) || other.0.contains(&self.network())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Subnet {
        x.parse().unwrap()
    }

    #[test]
    fn the_parts_of_a_slash_24() {
        let n = s("192.168.10.0/24");
        assert_eq!(n.network(), Ipv4Addr::new(192, 168, 10, 0));
        assert_eq!(n.broadcast(), Ipv4Addr::new(192, 168, 10, 255));
        assert_eq!(n.gateway(), Ipv4Addr::new(192, 168, 10, 1));
        assert_eq!(n.nth(2), Some(Ipv4Addr::new(192, 168, 10, 2)));
        assert_eq!(n.nth(254), Some(Ipv4Addr::new(192, 168, 10, 254)));
        assert_eq!(n.nth(255), None, "the broadcast address is no host");
        assert_eq!(n.nth(0), None, "the network address is no host");
        assert_eq!(n.size(), 256);
    }

    #[test]
    fn a_subnet_with_host_bits_set_is_refused_naming_its_network() {
        // As Docker: `10.1.2.3/16` is a host on 10.1.0.0/16, not a subnet;
        // taking it silently for its network hides a typo.
        assert_eq!(
            "10.1.2.3/16".parse::<Subnet>(),
            Err(Error::HostBits("10.1.2.3/16".into(), "10.1.0.0/16".into()))
        );
        assert_eq!(s(" 10.1.0.0/16 ").to_string(), "10.1.0.0/16");
    }

    #[test]
    fn addresses_no_bridge_can_use_are_refused() {
        // Loopback, "this network", multicast and the reserved class E
        // (with the broadcast address): the kernel will not route them
        // to a bridge as it would an ordinary subnet.
        for bad in [
            "127.0.0.0/24",
            "127.0.0.0/8",
            "0.0.0.0/8",
            "0.0.0.0/0",
            "224.0.0.0/24",
            "239.1.0.0/16",
            "240.0.0.0/24",
            "255.255.255.0/24",
        ] {
            assert!(
                matches!(bad.parse::<Subnet>(), Err(Error::Reserved(..))),
                "{bad}: {:?}",
                bad.parse::<Subnet>()
            );
        }
        for good in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
        ] {
            assert!(good.parse::<Subnet>().is_ok(), "{good}");
        }
    }

    #[test]
    fn a_slash_16_reaches_across_octets() {
        let n = s("172.20.0.0/16");
        assert_eq!(n.nth(256), Some(Ipv4Addr::new(172, 20, 1, 0)));
        assert_eq!(n.nth(65534), Some(Ipv4Addr::new(172, 20, 255, 254)));
        assert_eq!(n.index_of(Ipv4Addr::new(172, 20, 1, 0)), Some(256));
        assert_eq!(n.index_of(Ipv4Addr::new(172, 21, 0, 1)), None);
    }

    #[test]
    fn containment_and_overlap() {
        let a = s("10.0.0.0/8");
        assert!(a.contains(Ipv4Addr::new(10, 200, 1, 1)));
        assert!(!a.contains(Ipv4Addr::new(11, 0, 0, 1)));
        assert!(a.overlaps(&s("10.5.0.0/16")));
        assert!(s("10.5.0.0/16").overlaps(&a));
        assert!(!s("192.168.1.0/24").overlaps(&s("192.168.2.0/24")));
    }

    #[test]
    fn bad_subnets_are_refused() {
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/33",
            "300.0.0.0/8",
            "abc/24",
            "10.0.0.0/-1",
        ] {
            assert!(
                matches!(bad.parse::<Subnet>(), Err(Error::Parse(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "10.0.0.0/31".parse::<Subnet>(),
            Err(Error::TooSmall(_))
        ));
    }
}
