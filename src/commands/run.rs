//! `mydocker run` (step 05): start a command in new namespaces, inside its
//! own cgroups (and, from step 10, its own root filesystem), wait for it,
//! clean up, and exit with its code.

use std::path::Path;

use anyhow::{Context, Result};

use crate::cgroups::{self, Resources, detect::Hierarchy};
use crate::cli::RunArgs;
use crate::container::{Prepared, channel, process, rootfs, spec::Spec};
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

pub fn run(root: &Path, args: &RunArgs) -> Result<i32> {
    let id = util::random_hex(6).context("make a container ID")?;
    let name = args.name.clone().unwrap_or_else(|| id.clone());

    let hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy")?;
    let cgroup = cgroups::new_manager(&hierarchy, &cgroup_name(root, &id))?;
    cgroup.create()?;
    let rootfs = match rootfs::prepare(root, args, &name) {
        Ok(r) => r,
        Err(e) => {
            let _ = cgroup.destroy();
            return Err(e);
        }
    };
    let spec = Spec {
        argv: args.command.clone(),
        hostname: id.clone(),
        rootfs: rootfs.as_ref().map(|r| r.path.clone()),
    };
    let result = start_and_wait(&spec, &*cgroup, &resources(args));
    let released = rootfs.as_ref().map_or(Ok(()), |r| r.release());
    let removed = cgroup.destroy();
    let code = result?;
    released?;
    removed?;
    Ok(code)
}

fn start_and_wait(spec: &Spec, cgroup: &dyn cgroups::Manager, res: &Resources) -> Result<i32> {
    cgroup.apply(res)?;
    let Prepared { argv, fds, sender } = channel::prepare(spec)?;
    let pid = process::start(&argv, &fds)?;
    let placed = cgroup
        .add_task(pid.as_raw())
        .map_err(anyhow::Error::from)
        .and_then(|()| sender.send(spec));
    if let Err(e) = placed {
        process::abort(pid);
        return Err(e);
    }
    process::wait_forwarding(pid)
}
