//! `run` from step 15: every container is recorded in the state store under
//! its name. `-d` starts it under a monitor and returns its ID at once; a
//! foreground container is waited for and then removed with everything it
//! made (as `docker run --rm`).

use std::path::Path;

use anyhow::{Context, Result};

use super::{cgroup_name, resources, start};
use crate::cgroups::{self, Manager, detect::Hierarchy};
use crate::cli::RunArgs;
use crate::container::rootfs::{self, Rootfs};
use crate::container::spec::Spec;
use crate::container::state::{ContainerInfo, Status, Store, now};
use crate::container::{monitor, process};
use crate::util;

pub fn run(root: &Path, args: &RunArgs) -> Result<i32> {
    let store = Store::new(root);
    let id = util::random_hex(6).context("make a container ID")?;
    let name = args.name.clone().unwrap_or_else(|| id.clone());
    let mut info = ContainerInfo {
        id: id.clone(),
        name: name.clone(),
        image: args.image.clone(),
        command: args.command.clone(),
        created: now(),
        status: Status::Created,
        pid: None,
        pid_start: None,
        exit_code: None,
        finished: None,
        detached: args.detach,
        cgroups: Vec::new(),
        layers: None,
        volumes: args.volumes.iter().map(|v| v.to_string()).collect(),
        env: Vec::new(),
    };
    // A missing or broken image is refused before anything is recorded
    // (from step 11 on, `run` extracts it here if it was never used).
    crate::fs::image::layer(root, &args.image)?;
    // Recording first claims the name: a duplicate is refused before
    // anything else is made.
    store.create(&info)?;

    let hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy");
    let cgroup =
        match hierarchy.and_then(|h| Ok(cgroups::new_manager(&h, &cgroup_name(root, &id))?)) {
            Ok(c) => c,
            Err(e) => {
                let _ = store.remove(&name);
                return Err(e);
            }
        };
    let setup = (|| -> Result<Option<Rootfs>> {
        cgroup.create()?;
        cgroup.apply(&resources(args))?;
        rootfs::prepare(root, args, &name)
    })();
    let rootfs = match setup {
        Ok(r) => r,
        Err(e) => {
            let _ = cgroup.destroy();
            let _ = store.remove(&name);
            return Err(e);
        }
    };
    info.cgroups = cgroup.paths();
    info.layers = rootfs
        .as_ref()
        .and_then(|r| r.layers.as_ref())
        .map(|l| l.base.clone());
    let spec = Spec {
        argv: args.command.clone(),
        hostname: id.clone(),
        rootfs: rootfs.as_ref().map(|r| r.path.clone()),
    };
    let recorded = store.update(&name, |i| {
        i.cgroups = info.cgroups.clone();
        i.layers = info.layers.clone();
    });
    if let Err(e) = recorded {
        cleanup(&store, &name, &*cgroup, rootfs.as_ref());
        return Err(e.into());
    }

    if args.detach {
        if let Err(e) = monitor::launch(&store, &info, &spec, &*cgroup, rootfs.as_ref()) {
            cleanup(&store, &name, &*cgroup, rootfs.as_ref());
            return Err(e);
        }
        println!("{id}");
        return Ok(0);
    }

    let result = start(&spec, &*cgroup).and_then(|pid| {
        let start_time = util::process_start_time(pid.as_raw());
        let _ = store.update(&name, |i| {
            i.status = Status::Running;
            i.pid = Some(pid.as_raw());
            i.pid_start = start_time;
        });
        process::wait_forwarding(pid)
    });
    cleanup(&store, &name, &*cgroup, rootfs.as_ref());
    result
}

/// Remove everything a container made: layers and mounts, cgroups, state.
fn cleanup(store: &Store, name: &str, cgroup: &dyn Manager, rootfs: Option<&Rootfs>) {
    if let Some(r) = rootfs {
        if let Err(e) = r.release() {
            eprintln!("mydocker: container {name}: {e:#}");
        }
    }
    if let Err(e) = cgroup.destroy() {
        eprintln!("mydocker: container {name}: {e}");
    }
    if let Err(e) = store.remove(name) {
        eprintln!("mydocker: container {name}: {e}");
    }
}
