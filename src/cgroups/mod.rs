//! Control groups (`man 7 cgroups`): the kernel's way to account for and
//! limit what a group of processes may use: memory, CPU time, CPUs, PIDs.
//!
//! There are two designs of the interface. In **v1** every controller has
//! its own hierarchy (`/sys/fs/cgroup/memory/...`, `/sys/fs/cgroup/cpu/...`)
//! and a process sits in one cgroup per hierarchy. In **v2** there is a single
//! unified tree; a cgroup's `cgroup.subtree_control` decides which controllers
//! its children get. Many machines are **hybrid**: v1 controllers, plus a
//! cgroup2 mount that holds few or none of them.
//!
//! [`detect`] tells the three apart from `/proc/self/mountinfo` (step 01 uses
//! it to report the machine). Step 04 adds the [`Manager`] with one backend
//! per design; [`new_manager`] is the one place that picks between them.
//! A [`Manager`] only knows where the cgroups should go; its `create`
//! returns the [`Cgroup`] it made.

pub mod detect;

#[cfg(feature = "cgroups")]
mod manager;
#[cfg(feature = "cgroups")]
pub mod v1;
#[cfg(feature = "cgroups")]
pub mod v2;

#[cfg(feature = "cgroups")]
pub use manager::{Cgroup, Error, Manager, Resources, join, kill_all, remove_paths};

#[cfg(feature = "cgroups")]
use detect::{Hierarchy, Mode};

/// The manager for a container cgroup named `name`, below this process's own
/// cgroup in each hierarchy. v1 and hybrid machines use the v1 controllers
/// (a hybrid machine's cgroup2 mount holds none of them); v2 machines the
/// unified tree.
#[cfg(feature = "cgroups")]
pub fn new_manager(hierarchy: &Hierarchy, name: &str) -> Result<Box<dyn Manager>, Error> {
    match hierarchy.mode {
        Mode::V1 | Mode::Hybrid => Ok(Box::new(v1::V1Manager::new(hierarchy, name))),
        Mode::V2 => {
            let (mount, own) = hierarchy
                .v2
                .as_ref()
                .ok_or_else(|| Error::NoHierarchy("no cgroup2 mount found".into()))?;
            Ok(Box::new(v2::V2Manager::new(mount, own, name)))
        }
    }
}
