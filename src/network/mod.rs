//! Container networking (steps 25-32): subnets, interfaces over netlink,
//! NAT with iptables, address allocation, bridge networks, and the network
//! modes a container can have.
//!
//! - [`ip`] (25): CIDR arithmetic.
//! - [`netlink`], [`iptables`] (26): links, addresses, routes; NAT rules;
//!   [`links`]: the requests a container's network is made with, behind a
//!   seam that unit tests fake.
//! - [`mode`] (27, 28): `--net none | host | container:NAME | NETWORK`.
//! - [`ipam`] (29): which addresses are taken.
//! - [`store`], [`endpoint`] (28, 31): bridge networks and a container's
//!   place on one: veth pair, address, route; published ports (31).
//! - [`sysctl`] (31): the bridge's own kernel settings.
//! - [`isolation`] (31): one network's containers cannot reach another's.

pub mod ip;
#[cfg(feature = "net-veth")]
pub mod iptables;
#[cfg(feature = "net-veth")]
pub mod links;
#[cfg(feature = "net-veth")]
pub mod netlink;

#[cfg(feature = "net-bridge")]
pub mod endpoint;
#[cfg(feature = "ipam")]
pub mod ipam;
#[cfg(feature = "net-bridge")]
pub mod isolation;
#[cfg(feature = "net-modes")]
pub mod mode;
#[cfg(feature = "net-bridge")]
pub mod store;
#[cfg(feature = "net-bridge")]
pub mod sysctl;

/// The longest interface name the kernel accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;
