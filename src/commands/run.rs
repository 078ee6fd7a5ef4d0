//! `mydocker run` (step 05): start a command in new namespaces, inside its
//! own cgroups (and, from step 10, its own root filesystem), and exit with
//! its code.
//!
//! Step 15 replaces the flow: containers get a recorded state, a name, and
//! may run detached under a monitor. The seam is the `mod flow` line:
//! `run_simple.rs` before step 15, `run_managed.rs` from then on. What both
//! share is here.

#[cfg(not(feature = "detach"))]
#[path = "run_simple.rs"]
mod flow;
#[cfg(feature = "detach")]
#[path = "run_managed.rs"]
mod flow;

#[cfg(feature = "env")]
pub use flow::merge_env;
pub use flow::run;

use std::path::Path;

use anyhow::Result;

use crate::cgroups::{self, Resources};
use crate::cli::RunArgs;
use crate::container::{Prepared, channel, process, spec::Spec};
use crate::util;

/// The name of a container's cgroup: `mydocker-<root tag>-<id>`.
pub fn cgroup_name(root: &Path, id: &str) -> String {
    format!("mydocker-{}-{id}", util::root_tag(root))
}

/// The limits asked for on the command line. (Each limit flag arrives with
/// its chapter; before step 07 some fields are left at their default.)
#[allow(clippy::needless_update, unused_variables)]
fn resources(args: &RunArgs) -> Resources {
    Resources {
        #[cfg(feature = "memory-limit")]
        memory: args.memory,
        #[cfg(feature = "cpu-limit")]
        cpu_shares: args.cpu_shares,
        #[cfg(feature = "cpu-limit")]
        cpuset_cpus: args.cpuset_cpus.clone(),
        ..Resources::default()
    }
}

/// Start the container's init in the foreground's way: inheriting this
/// process's stdio, placed in `cgroup`, with the spec sent once it is.
fn start(
    spec: &Spec,
    cgroup: &dyn cgroups::Manager,
    launch: &process::Launch,
) -> Result<nix::unistd::Pid> {
    let Prepared { argv, fds, sender } = channel::prepare(spec)?;
    let pid = process::start_in(&argv, &fds, launch.net)?;
    crate::trace::mark("clone");
    let placed = cgroup
        .add_task(pid.as_raw())
        .map_err(anyhow::Error::from)
        .inspect(|()| crate::trace::mark("cgroup placement"))
        .and_then(|()| (launch.attach)(pid))
        .inspect(|()| crate::trace::mark("network"))
        .and_then(|()| sender.send(spec));
    if let Err(e) = placed {
        process::abort(pid);
        return Err(e);
    }
    Ok(pid)
}
