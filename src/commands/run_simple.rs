//! `run` before step 15: one foreground container, waited for and removed
//! (its cgroup and root filesystem are held in guards, undone when it ends
//! or when starting it fails).

use std::path::Path;

use anyhow::{Context, Result};

use super::{cgroup_name, config};
use crate::cgroups::{self, detect::Hierarchy};
use crate::cli::RunArgs;
use crate::container::guard::Guard;
use crate::container::{process, rootfs, spec::Spec};
use crate::syscall::Linux;

pub fn run(root: &Path, args: &RunArgs) -> Result<i32> {
    let id = crate::ids::random_hex(6).context("make a container ID")?;
    let config = config(root, args, &id)?;

    let hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy")?;
    let cgroup = cgroups::new_manager(&hierarchy, &cgroup_name(root, &id))?.create()?;
    let cgroup = Guard::new(cgroup, |c| report(c.destroy()));
    let rootfs = rootfs::prepare(&Linux, root, &config)?;
    let rootfs = Guard::new(rootfs, |r| {
        if let Some(r) = r {
            report(r.release());
        }
    });
    let spec = Spec {
        argv: config.command.clone(),
        hostname: id.clone(),
        rootfs: rootfs.as_ref().map(|r| r.path.clone()),
        env: None,
        cgroup_tasks: Vec::new(),
    };
    cgroup.apply(&config.resources)?;
    let (pid, _) = process::start_container(&spec, &**cgroup, &process::Launch::isolated(), &[])?;
    let code = process::wait_forwarding(pid)?;
    // Ended: what could not be removed now is this command's error.
    let released = rootfs.keep().map_or(Ok(()), |r| r.release());
    let removed = cgroup.keep().destroy();
    released?;
    removed?;
    Ok(code)
}

/// Report what could not be undone, and go on undoing the rest.
fn report<E: std::fmt::Display>(result: Result<(), E>) {
    if let Err(e) = result {
        eprintln!("mydocker: {e:#}");
    }
}
