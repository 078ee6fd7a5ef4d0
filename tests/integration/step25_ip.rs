//! Step 25: subnet arithmetic, through the library's public interface.

use std::net::Ipv4Addr;

use mydocker::network::ip::Subnet;

#[test]
fn network_broadcast_gateway_and_hosts() {
    let s: Subnet = "192.168.10.0/24".parse().unwrap();
    assert_eq!(s.to_string(), "192.168.10.0/24");
    // A host's address is not a subnet: refused, naming the subnet meant.
    let err = "192.168.10.77/24"
        .parse::<Subnet>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("the subnet is 192.168.10.0/24"), "{err}");
    assert_eq!(s.network(), Ipv4Addr::new(192, 168, 10, 0));
    assert_eq!(s.broadcast(), Ipv4Addr::new(192, 168, 10, 255));
    assert_eq!(s.gateway(), Ipv4Addr::new(192, 168, 10, 1));
    assert_eq!(s.nth(100), Some(Ipv4Addr::new(192, 168, 10, 100)));
    assert!(s.contains(Ipv4Addr::new(192, 168, 10, 254)));
    assert!(!s.contains(Ipv4Addr::new(192, 168, 11, 1)));
}

#[test]
fn odd_prefixes() {
    let s: Subnet = "10.0.0.64/26".parse().unwrap();
    assert_eq!(
        (s.network(), s.broadcast()),
        (Ipv4Addr::new(10, 0, 0, 64), Ipv4Addr::new(10, 0, 0, 127))
    );
    assert_eq!(s.size(), 64);
    assert_eq!(s.nth(63), None);
    let tiny: Subnet = "10.0.0.8/30".parse().unwrap();
    assert_eq!(tiny.nth(2), Some(Ipv4Addr::new(10, 0, 0, 10)));
    assert_eq!(tiny.nth(3), None);
}
