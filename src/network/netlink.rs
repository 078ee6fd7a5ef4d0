//! Talking to the kernel's network stack over rtnetlink (steps 26 and 30,
//! `man 7 rtnetlink`): the messages `ip link`, `ip addr` and `ip route`
//! send, built with the `netlink-packet-route` crate and sent on a
//! `netlink-sys` socket, synchronously: request, then read replies until the
//! kernel's acknowledgement (or the end of a dump).
//!
//! A netlink socket belongs to the network namespace it was created in.
//! [`Netlink::in_namespace_of`] creates one inside a container's namespace
//! (the thread joins it, opens the socket, and returns), so the container's
//! interfaces are configured from outside, before its program starts.

#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use nix::sched::{CloneFlags, setns};

/// A failed netlink request.
#[derive(Debug, thiserror::Error)]
#[error("netlink: {what}: {err}")]
pub struct Error {
    pub what: String,
    pub err: io::Error,
}

impl Error {
    pub fn new(what: impl Into<String>, err: io::Error) -> Self {
        Error {
            what: what.into(),
            err,
        }
    }

    /// The errno, when the kernel refused.
    pub fn errno(&self) -> Option<i32> {
        self.err.raw_os_error()
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// One interface, as listed by the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub up: bool,
    /// The index of the bridge it is attached to.
    pub master: Option<u32>,
}

/// A rtnetlink connection in one network namespace.
pub struct Netlink {
    socket: Socket,
    seq: u32,
}

impl Netlink {
    /// A connection in this thread's network namespace.
    pub fn new() -> Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| Error::new("open a socket", e))?;
        socket.bind_auto().map_err(|e| Error::new("bind", e))?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|e| Error::new("connect", e))?;
        Ok(Netlink { socket, seq: 0 })
    }

    /// A connection inside the network namespace of process `pid`.
    pub fn in_namespace_of(pid: i32) -> Result<Self> {
        let theirs = File::open(format!("/proc/{pid}/ns/net"))
            .map_err(|e| Error::new(format!("open the network namespace of {pid}"), e))?;
        Self::in_namespace(&theirs)
    }

    /// A connection inside the network namespace `ns` (an open
    /// `/proc/PID/ns/net` or bind-mounted namespace file).
    pub fn in_namespace(ns: &File) -> Result<Self> {
        let ours = File::open("/proc/thread-self/ns/net")
            .map_err(|e| Error::new("open our network namespace", e))?;
        setns(ns, CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::new("enter the namespace", e.into()))?;
        let conn = Self::new();
        setns(&ours, CloneFlags::CLONE_NEWNET)
            .map_err(|e| Error::new("return to our namespace", e.into()))?;
        conn
    }

    /// Send `msg` and collect the replies until the acknowledgement or the
    /// end of the dump.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.socket.send(&buf, 0).map_err(|e| Error::new(what, e))?;

        let mut replies = Vec::new();
        loop {
            let mut rbuf: Vec<u8> = Vec::with_capacity(64 * 1024);
            let n = self
                .socket
                .recv(&mut rbuf, 0)
                .map_err(|e| Error::new(what, e))?;
            let mut offset = 0;
            while offset < n {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rbuf[offset..n])
                    .map_err(|e| Error::new(what, io::Error::other(e.to_string())))?;
                let len = reply.header.length as usize;
                if len == 0 {
                    return Ok(replies);
                }
                offset += len;
                if reply.header.sequence_number != self.seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(replies),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(replies),
                            Some(_) => Err(Error::new(what, e.to_io())),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => {
                        replies.push(m);
                        if flags & NLM_F_DUMP != NLM_F_DUMP && flags & NLM_F_ACK == 0 {
                            return Ok(replies);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn change_link(&mut self, msg: LinkMessage, what: &str) -> Result<()> {
        self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK, what)
            .map(drop)
    }

    /// Every interface.
    pub fn links(&mut self) -> Result<Vec<Link>> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
            "list links",
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_of(&l)),
                _ => None,
            })
            .collect())
    }

    /// The interface called `name`, if there is one.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(
            RouteNetlinkMessage::GetLink(msg),
            NLM_F_ACK,
            &format!("look up {name}"),
        ) {
            Ok(replies) => Ok(replies.iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_of(l)),
                _ => None,
            })),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The index of interface `name`, which must exist.
    pub fn index(&mut self, name: &str) -> Result<u32> {
        self.link(name)?.map(|l| l.index).ok_or_else(|| {
            Error::new(
                format!("look up {name}"),
                io::Error::from_raw_os_error(libc::ENODEV),
            )
        })
    }

    /// Create a bridge (`ip link add NAME type bridge`).
    pub fn add_bridge(&mut self, name: &str) -> Result<u32> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("create bridge {name}"),
        )?;
        self.index(name)
    }

    /// Create a veth pair (`ip link add NAME type veth peer name PEER`).
    pub fn add_veth(&mut self, name: &str, peer: &str) -> Result<u32> {
        let mut peer_msg = LinkMessage::default();
        peer_msg
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("create veth {name}"),
        )?;
        self.index(name)
    }

    /// Bring an interface up (`ip link set dev X up`).
    pub fn set_up(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.change_link(msg, &format!("bring up link {index}"))
    }

    /// Attach an interface to a bridge (`ip link set dev X master BR`).
    pub fn set_master(&mut self, index: u32, bridge: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::Controller(bridge));
        self.change_link(msg, &format!("attach link {index} to bridge {bridge}"))
    }

    /// Move an interface into the network namespace of process `pid`.
    pub fn move_to_namespace_of(&mut self, index: u32, pid: i32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::NetNsPid(pid as u32));
        self.change_link(msg, &format!("move link {index} to the namespace of {pid}"))
    }

    /// Set an interface's hardware address (`ip link set dev X address MAC`).
    pub fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
        self.change_link(msg, &format!("set the address of link {index}"))
    }

    /// Rename an interface (it must be down).
    pub fn rename(&mut self, index: u32, name: &str) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.change_link(msg, &format!("rename link {index} to {name}"))
    }

    /// Delete an interface (`ip link del`); a veth takes its peer with it.
    pub fn delete(&mut self, index: u32) -> Result<()> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.request(
            RouteNetlinkMessage::DelLink(msg),
            NLM_F_ACK,
            &format!("delete link {index}"),
        )
        .map(drop)
    }

    /// Give an interface an address (`ip addr add IP/PREFIX dev X`).
    pub fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = prefix;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(IpAddr::V4(ip)));
        msg.attributes
            .push(AddressAttribute::Address(IpAddr::V4(ip)));
        let host_bits = if prefix >= 32 { 0 } else { u32::MAX >> prefix };
        msg.attributes
            .push(AddressAttribute::Broadcast(Ipv4Addr::from(
                u32::from(ip) | host_bits,
            )));
        self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("add address {ip}/{prefix}"),
        )
        .map(drop)
    }

    /// Every IPv4 address: (interface index, address, prefix length).
    pub fn addresses(&mut self) -> Result<Vec<(u32, Ipv4Addr, u8)>> {
        let mut req = AddressMessage::default();
        req.header.family = AddressFamily::Inet;
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(req),
            NLM_F_DUMP,
            "list addresses",
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => {
                    a.attributes.iter().find_map(|attr| match attr {
                        AddressAttribute::Local(IpAddr::V4(ip)) => {
                            Some((a.header.index, *ip, a.header.prefix_len))
                        }
                        _ => None,
                    })
                }
                _ => None,
            })
            .collect())
    }

    /// Add the default route via `gateway` (`ip route add default via GW`).
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet;
        msg.header.table = libc::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Boot;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            &format!("add a default route via {gateway}"),
        )
        .map(drop)
    }

    /// The IPv4 default route's gateway, if there is one.
    pub fn default_gateway(&mut self) -> Result<Option<Ipv4Addr>> {
        let mut req = RouteMessage::default();
        req.header.address_family = AddressFamily::Inet;
        let replies = self.request(
            RouteNetlinkMessage::GetRoute(req),
            NLM_F_DUMP,
            "list routes",
        )?;
        Ok(replies.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r)
                if r.header.destination_prefix_length == 0
                    && r.header.table == libc::RT_TABLE_MAIN =>
            {
                r.attributes.iter().find_map(|a| match a {
                    RouteAttribute::Gateway(RouteAddress::Inet(gw)) => Some(*gw),
                    _ => None,
                })
            }
            _ => None,
        }))
    }
}

fn link_of(l: &LinkMessage) -> Link {
    Link {
        index: l.header.index,
        name: l
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::IfName(n) => Some(n.clone()),
                _ => None,
            })
            .unwrap_or_default(),
        up: l.header.flags.contains(LinkFlags::Up),
        master: l.attributes.iter().find_map(|a| match a {
            LinkAttribute::Controller(m) => Some(*m),
            _ => None,
        }),
    }
}
