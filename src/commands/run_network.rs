//! `run`'s side of a container's network (from step 27): the network
//! module plans and makes it, `run` knows the containers. Here `--net` and
//! `-p` become a [`Plan`] (with what other containers hold, read from
//! their state); `container:NAME` becomes that container's namespace; and
//! the [`Endpoint`] the plan makes once the container's first process
//! exists is recorded in the container's state (or given back when that
//! fails).
//!
//! [`Endpoint`]: crate::network::mode::Endpoint

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Result, bail};
use nix::unistd::Pid;

use crate::container::process::NetNs;
use crate::container::release_network::record_network;
use crate::container::spec::Config;
use crate::container::state::{ContainerInfo, Store};
use crate::network::links::Kernel;
use crate::network::mode::{Mode, Plan};

/// A container's network, checked before anything is created.
pub struct Network {
    plan: Plan,
    ns: NetNs,
    /// The other container's namespace, open until the clone has joined it.
    _other: Option<File>,
}

impl Network {
    /// `--net` (and from step 31 `-p`) of `config`, checked now: an
    /// unknown network, a stopped container or a taken port is an error.
    pub fn plan(store: &Store, config: &Config) -> Result<Network> {
        let (ns, other) = namespace(store, &config.net)?;
        let plan = with_others(Plan::new(store.root(), &config.net)?, store, config)?;
        Ok(Network {
            plan,
            ns,
            _other: other,
        })
    }

    /// Record `--net` as given in the container's state.
    pub fn record(&self, info: &mut ContainerInfo) {
        info.net = Some(self.plan.mode().to_string());
    }

    pub fn namespace(&self) -> NetNs {
        self.ns.clone()
    }

    /// Set up the network of the container `info` whose first process is
    /// `pid`, and record what it got in its state.
    pub fn attach(&self, store: &Store, info: &ContainerInfo, pid: Pid) -> Result<()> {
        let attached = self
            .plan
            .attach(&Kernel, store.root(), &info.id, pid.as_raw())?;
        let Some(ep) = attached else {
            return Ok(());
        };
        if let Err(e) = record_network(store, info, &ep) {
            give_back(store.root(), &ep, &info.id);
            return Err(e);
        }
        Ok(())
    }
}

/// Before step 28 no endpoint exists to give back.
#[cfg(not(feature = "net-bridge"))]
fn give_back(_root: &Path, ep: &crate::network::mode::Endpoint, _id: &str) {
    match *ep {}
}

/// Give `ep` back: its rules, its veth, its address.
#[cfg(feature = "net-bridge")]
fn give_back(root: &Path, ep: &crate::network::endpoint::Endpoint, id: &str) {
    crate::network::endpoint::release(&Kernel, root, ep, id);
}

/// The namespace a container in `mode` is started in, and the open file
/// that must stay open until it has started (for `container:NAME`, whose
/// container must be running).
fn namespace(store: &Store, mode: &Mode) -> Result<(NetNs, Option<File>)> {
    match mode {
        Mode::None | Mode::Bridge(_) => Ok((NetNs::New, None)),
        Mode::Host => Ok((NetNs::Host, None)),
        Mode::Container(name) => {
            let other = store.find(name)?;
            let Some(pid) = other.live_pid() else {
                bail!(
                    "container {} is not running: --net container: needs a running container",
                    other.name
                );
            };
            let ns = File::open(format!("/proc/{pid}/ns/net"))?;
            if !other.is_alive() {
                bail!("container {} is not running", other.name);
            }
            Ok((NetNs::Join(ns.as_raw_fd()), Some(ns)))
        }
    }
}

/// Step 27: there are no bridge networks, so nothing of other containers
/// is needed.
#[cfg(not(feature = "net-bridge"))]
fn with_others(plan: Plan, _store: &Store, _config: &Config) -> Result<Plan> {
    Ok(plan)
}

/// Steps 29 and 30: the allocator knows the addresses taken.
#[cfg(all(feature = "ipam", not(feature = "network")))]
fn with_others(plan: Plan, _store: &Store, _config: &Config) -> Result<Plan> {
    Ok(plan)
}

/// Step 28: the new container's address avoids those the other
/// containers on its network hold.
#[cfg(all(feature = "net-bridge", not(feature = "ipam")))]
fn with_others(plan: Plan, store: &Store, config: &Config) -> Result<Plan> {
    let Mode::Bridge(network) = &config.net else {
        return Ok(plan);
    };
    let taken = store
        .list()
        .into_iter()
        .filter_map(|(_, info)| info.ok())
        .filter(|info| info.network.as_ref() == Some(network))
        .filter_map(|info| info.ip)
        .collect();
    Ok(plan.avoiding(taken))
}

/// From step 31: `-p`, whose host ports no other container may publish.
#[cfg(feature = "network")]
fn with_others(plan: Plan, store: &Store, config: &Config) -> Result<Plan> {
    let published: Vec<(u16, String)> = store
        .list()
        .into_iter()
        .filter_map(|(_, info)| info.ok())
        .flat_map(|info| {
            let name = info.name;
            info.ports.into_iter().map(move |(h, _)| (h, name.clone()))
        })
        .collect();
    plan.publish(&config.publish, &published)
}
