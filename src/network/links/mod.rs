//! The rtnetlink requests that put a container on a network (steps 27 and
//! 28), behind one seam, as the `syscall` module puts the mount calls.
//!
//! Connecting a container is a sequence of requests whose *order* is the
//! point: the veth pair is made on the host, one end attached to the
//! bridge; the other end is moved into the container's namespace before it
//! is renamed `eth0`, given its address and brought up there (an interface
//! is named and addressed in the namespace that will use it); and when any
//! step fails, the veth made so far is deleted, or the host keeps a
//! `vethXXXX` nobody owns. Those rules can only be checked as root, with
//! real namespaces, unless the requests go through a trait.
//!
//! [`Links`] is one connection in one network namespace; [`Rtnetlink`]
//! opens them: in the caller's namespace (the host's) or in a container's.
//! [`Kernel`] opens real ones ([`Netlink`] sockets); in unit tests a
//! recording fake (`recording.rs`) notes each request with the
//! namespace it was made in, keeps a small table of interfaces, and can
//! refuse chosen requests, so the order is checked without root
//! (`cargo test --lib`). The seam is passed explicitly, never chosen by
//! `cfg!(test)`.

#[cfg(test)]
pub mod recording;

use std::net::Ipv4Addr;

use super::netlink::{Link, Netlink, Result};

/// The link, address and route requests of a container's network, in one
/// network namespace. Errors are the kernel's, with what was asked.
pub trait Links {
    /// The interface called `name`, if there is one.
    fn link(&mut self, name: &str) -> Result<Option<Link>>;
    /// The index of interface `name`, which must exist (`ENODEV`).
    fn index(&mut self, name: &str) -> Result<u32>;
    /// Create a veth pair `name` / `peer`; the index of `name`.
    fn add_veth(&mut self, name: &str, peer: &str) -> Result<u32>;
    /// Attach interface `index` to the bridge `bridge`.
    fn set_master(&mut self, index: u32, bridge: u32) -> Result<()>;
    /// Bring interface `index` up.
    fn set_up(&mut self, index: u32) -> Result<()>;
    /// Move interface `index` into the network namespace of process `pid`.
    fn move_to_namespace_of(&mut self, index: u32, pid: i32) -> Result<()>;
    /// Rename interface `index` (it must be down).
    fn rename(&mut self, index: u32, name: &str) -> Result<()>;
    /// Set the hardware address of interface `index`.
    fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> Result<()>;
    /// Give interface `index` the address `ip/prefix`.
    fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()>;
    /// Add the default route via `gateway`.
    fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()>;
    /// Delete interface `index` (a veth takes its peer with it).
    fn delete(&mut self, index: u32) -> Result<()>;
}

/// Opens [`Links`] connections.
pub trait Rtnetlink {
    /// A connection in the caller's network namespace (the host's).
    fn host(&self) -> Result<Box<dyn Links>>;
    /// A connection in the network namespace of process `pid`.
    fn in_namespace_of(&self, pid: i32) -> Result<Box<dyn Links>>;
}

/// The real requests, answered by the kernel.
#[derive(Debug, Default, Clone, Copy)]
pub struct Kernel;

impl Rtnetlink for Kernel {
    fn host(&self) -> Result<Box<dyn Links>> {
        Ok(Box::new(Netlink::new()?))
    }

    fn in_namespace_of(&self, pid: i32) -> Result<Box<dyn Links>> {
        Ok(Box::new(Netlink::in_namespace_of(pid)?))
    }
}

impl Links for Netlink {
    fn link(&mut self, name: &str) -> Result<Option<Link>> {
        Netlink::link(self, name)
    }

    fn index(&mut self, name: &str) -> Result<u32> {
        Netlink::index(self, name)
    }

    fn add_veth(&mut self, name: &str, peer: &str) -> Result<u32> {
        Netlink::add_veth(self, name, peer)
    }

    fn set_master(&mut self, index: u32, bridge: u32) -> Result<()> {
        Netlink::set_master(self, index, bridge)
    }

    fn set_up(&mut self, index: u32) -> Result<()> {
        Netlink::set_up(self, index)
    }

    fn move_to_namespace_of(&mut self, index: u32, pid: i32) -> Result<()> {
        Netlink::move_to_namespace_of(self, index, pid)
    }

    fn rename(&mut self, index: u32, name: &str) -> Result<()> {
        Netlink::rename(self, index, name)
    }

    fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> Result<()> {
        Netlink::set_mac(self, index, mac)
    }

    fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()> {
        Netlink::add_address(self, index, ip, prefix)
    }

    fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()> {
        Netlink::add_default_route(self, gateway)
    }

    fn delete(&mut self, index: u32) -> Result<()> {
        Netlink::delete(self, index)
    }
}
