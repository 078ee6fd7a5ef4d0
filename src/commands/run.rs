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
