//! A [`Rtnetlink`] that sends no request (unit tests only): it records
//! each change it is asked for, with the namespace it was asked in, keeps
//! a small table of interfaces so that lookups answer as the kernel would
//! (a veth pair made, moved, renamed, deleted with its peer), and refuses
//! the requests a test chooses, so the order of a container's network
//! requests, and what a failure leaves, are checked without root.
//!
//! Like the kernel it refuses to rename an interface that is up (`EBUSY`)
//! and brings an interface down when it moves it to another namespace.

use std::cell::RefCell;
use std::io;
use std::net::Ipv4Addr;
use std::rc::Rc;

use super::{Links, Rtnetlink};
use crate::network::netlink::{Error, Link, Result};

/// A network namespace: the host's (the caller's), or a process's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    Host,
    Of(i32),
}

/// One change as the fake saw it (lookups are not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    AddVeth {
        name: String,
        peer: String,
    },
    SetMaster {
        index: u32,
        bridge: u32,
    },
    SetUp(u32),
    MoveTo {
        index: u32,
        pid: i32,
    },
    Rename {
        index: u32,
        name: String,
    },
    SetMac {
        index: u32,
        mac: [u8; 6],
    },
    AddAddress {
        index: u32,
        ip: Ipv4Addr,
        prefix: u8,
    },
    AddDefaultRoute(Ipv4Addr),
    Delete(u32),
}

#[derive(Debug, Clone)]
struct Iface {
    ns: Ns,
    name: String,
    index: u32,
    up: bool,
    master: Option<u32>,
    peer: Option<u32>,
}

type Refusal = Box<dyn Fn(&Request) -> bool>;

#[derive(Default)]
struct World {
    ifaces: Vec<Iface>,
    last_index: u32,
    log: Vec<(Ns, Request)>,
    refuse: Option<(Refusal, i32)>,
}

impl World {
    fn add(&mut self, ns: Ns, name: &str) -> u32 {
        self.last_index += 1;
        self.ifaces.push(Iface {
            ns,
            name: name.to_string(),
            index: self.last_index,
            up: false,
            master: None,
            peer: None,
        });
        self.last_index
    }

    fn find(&self, ns: Ns, name: &str) -> Option<&Iface> {
        self.ifaces.iter().find(|i| i.ns == ns && i.name == name)
    }

    fn get(&mut self, ns: Ns, index: u32, what: &str) -> Result<&mut Iface> {
        self.ifaces
            .iter_mut()
            .find(|i| i.ns == ns && i.index == index)
            .ok_or_else(|| errno(what, libc::ENODEV))
    }
}

fn errno(what: &str, n: i32) -> Error {
    Error::new(what, io::Error::from_raw_os_error(n))
}

/// The recording fake. Clones share one record.
#[derive(Clone, Default)]
pub struct Recording {
    world: Rc<RefCell<World>>,
}

impl Recording {
    /// A host with only `lo`; each process's namespace has only `lo`.
    pub fn new() -> Recording {
        let fake = Recording::default();
        fake.world.borrow_mut().add(Ns::Host, "lo");
        fake
    }

    /// Also an interface `name` on the host (a bridge, say).
    pub fn with_host_link(self, name: &str) -> Recording {
        self.world.borrow_mut().add(Ns::Host, name);
        self
    }

    /// Answer `errno` to every request `which` picks (it is still
    /// recorded).
    pub fn refusing(self, which: impl Fn(&Request) -> bool + 'static, errno: i32) -> Recording {
        self.world.borrow_mut().refuse = Some((Box::new(which), errno));
        self
    }

    /// Every change asked for so far, in order, with its namespace.
    pub fn requests(&self) -> Vec<(Ns, Request)> {
        self.world.borrow().log.clone()
    }

    /// Where the first request matching `which` is, panicking with the
    /// whole record when there is none.
    #[track_caller]
    pub fn position(&self, what: &str, which: impl Fn(&(Ns, Request)) -> bool) -> usize {
        let log = &self.world.borrow().log;
        log.iter()
            .position(which)
            .unwrap_or_else(|| panic!("no request {what} among {log:#?}"))
    }

    /// The interfaces of namespace `ns` now, by name, sorted.
    pub fn links(&self, ns: Ns) -> Vec<String> {
        let world = self.world.borrow();
        let mut names: Vec<String> = world
            .ifaces
            .iter()
            .filter(|i| i.ns == ns)
            .map(|i| i.name.clone())
            .collect();
        names.sort();
        names
    }

    fn open(&self, ns: Ns) -> Box<dyn Links> {
        let mut world = self.world.borrow_mut();
        if world.find(ns, "lo").is_none() {
            world.add(ns, "lo");
        }
        Box::new(Conn {
            world: Rc::clone(&self.world),
            ns,
        })
    }
}

impl Rtnetlink for Recording {
    fn host(&self) -> Result<Box<dyn Links>> {
        Ok(self.open(Ns::Host))
    }

    fn in_namespace_of(&self, pid: i32) -> Result<Box<dyn Links>> {
        Ok(self.open(Ns::Of(pid)))
    }
}

/// One fake connection, in namespace `ns`.
struct Conn {
    world: Rc<RefCell<World>>,
    ns: Ns,
}

impl Conn {
    /// Record `req`, refuse it if the test said so, else apply `change`.
    fn ask<T>(
        &mut self,
        req: Request,
        change: impl FnOnce(&mut World, Ns) -> Result<T>,
    ) -> Result<T> {
        let mut world = self.world.borrow_mut();
        let what = format!("{req:?}");
        let refused = world
            .refuse
            .as_ref()
            .and_then(|(which, n)| which(&req).then_some(*n));
        world.log.push((self.ns, req));
        match refused {
            Some(n) => Err(errno(&what, n)),
            None => change(&mut world, self.ns),
        }
    }
}

impl Links for Conn {
    fn link(&mut self, name: &str) -> Result<Option<Link>> {
        Ok(self.world.borrow().find(self.ns, name).map(|i| Link {
            index: i.index,
            name: i.name.clone(),
            up: i.up,
            master: i.master,
        }))
    }

    fn index(&mut self, name: &str) -> Result<u32> {
        self.link(name)?
            .map(|l| l.index)
            .ok_or_else(|| errno(&format!("look up {name}"), libc::ENODEV))
    }

    fn add_veth(&mut self, name: &str, peer: &str) -> Result<u32> {
        let req = Request::AddVeth {
            name: name.into(),
            peer: peer.into(),
        };
        self.ask(req, |w, ns| {
            if w.find(ns, name).is_some() || w.find(ns, peer).is_some() {
                return Err(errno("add veth", libc::EEXIST));
            }
            let a = w.add(ns, name);
            let b = w.add(ns, peer);
            w.get(ns, a, "add veth")?.peer = Some(b);
            w.get(ns, b, "add veth")?.peer = Some(a);
            Ok(a)
        })
    }

    fn set_master(&mut self, index: u32, bridge: u32) -> Result<()> {
        self.ask(Request::SetMaster { index, bridge }, |w, ns| {
            w.get(ns, bridge, "set master")?;
            w.get(ns, index, "set master")?.master = Some(bridge);
            Ok(())
        })
    }

    fn set_up(&mut self, index: u32) -> Result<()> {
        self.ask(Request::SetUp(index), |w, ns| {
            w.get(ns, index, "set up")?.up = true;
            Ok(())
        })
    }

    fn move_to_namespace_of(&mut self, index: u32, pid: i32) -> Result<()> {
        self.ask(Request::MoveTo { index, pid }, |w, ns| {
            let i = w.get(ns, index, "move")?;
            i.ns = Ns::Of(pid);
            i.up = false;
            i.master = None;
            Ok(())
        })
    }

    fn rename(&mut self, index: u32, name: &str) -> Result<()> {
        let req = Request::Rename {
            index,
            name: name.into(),
        };
        self.ask(req, |w, ns| {
            if w.find(ns, name).is_some() {
                return Err(errno("rename", libc::EEXIST));
            }
            let i = w.get(ns, index, "rename")?;
            if i.up {
                return Err(errno("rename", libc::EBUSY));
            }
            i.name = name.to_string();
            Ok(())
        })
    }

    fn set_mac(&mut self, index: u32, mac: [u8; 6]) -> Result<()> {
        self.ask(Request::SetMac { index, mac }, |w, ns| {
            w.get(ns, index, "set mac").map(drop)
        })
    }

    fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<()> {
        self.ask(Request::AddAddress { index, ip, prefix }, |w, ns| {
            w.get(ns, index, "add address").map(drop)
        })
    }

    fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<()> {
        self.ask(Request::AddDefaultRoute(gateway), |_, _| Ok(()))
    }

    fn delete(&mut self, index: u32) -> Result<()> {
        self.ask(Request::Delete(index), |w, ns| {
            let peer = w.get(ns, index, "delete")?.peer;
            w.ifaces
                .retain(|i| i.index != index && Some(i.index) != peer);
            Ok(())
        })
    }
}
