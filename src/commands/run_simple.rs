//! `run` before step 15: one foreground container, waited for and removed.

use std::path::Path;

use anyhow::{Context, Result};

use super::{cgroup_name, config};
use crate::cgroups::{self, detect::Hierarchy};
use crate::cli::RunArgs;
use crate::container::{process, rootfs, spec::Spec};
use crate::syscall::Linux;
use crate::util;

pub fn run(root: &Path, args: &RunArgs) -> Result<i32> {
    let id = util::random_hex(6).context("make a container ID")?;
    let config = config(root, args, &id)?;

    let hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy")?;
    let cgroup = cgroups::new_manager(&hierarchy, &cgroup_name(root, &id))?;
    cgroup.create()?;
    let rootfs = match rootfs::prepare(&Linux, root, &config) {
        Ok(r) => r,
        Err(e) => {
            let _ = cgroup.destroy();
            return Err(e);
        }
    };
    let spec = Spec {
        argv: config.command.clone(),
        hostname: id.clone(),
        rootfs: rootfs.as_ref().map(|r| r.path.clone()),
        env: None,
    };
    let result = cgroup
        .apply(&config.resources)
        .map_err(anyhow::Error::from)
        .and_then(|()| process::start_container(&spec, &*cgroup, &process::Launch::isolated(), &[]))
        .and_then(process::wait_forwarding);
    let released = rootfs.as_ref().map_or(Ok(()), |r| r.release());
    let removed = cgroup.destroy();
    let code = result?;
    released?;
    removed?;
    Ok(code)
}
