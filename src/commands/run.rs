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

use crate::cgroups::Resources;
use crate::cli::RunArgs;
use crate::util;

/// The name of a container's cgroup: `mydocker-<root tag>-<id>`.
pub fn cgroup_name(root: &Path, id: &str) -> String {
    format!("mydocker-{}-{id}", util::root_tag(root))
}

/// The limits asked for on the command line: none before step 06.
#[cfg(not(feature = "memory-limit"))]
fn resources(_args: &RunArgs) -> Resources {
    Resources::default()
}

/// The limits asked for on the command line: `-m` (step 06).
#[cfg(all(feature = "memory-limit", not(feature = "cpu-limit")))]
fn resources(args: &RunArgs) -> Resources {
    Resources {
        memory: args.memory,
        ..Resources::default()
    }
}

/// The limits asked for on the command line: `-m` (step 06),
/// `--cpu-shares` and `--cpuset-cpus` (step 07).
#[cfg(all(feature = "memory-limit", feature = "cpu-limit"))]
fn resources(args: &RunArgs) -> Resources {
    Resources {
        memory: args.memory,
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus.clone(),
    }
}
