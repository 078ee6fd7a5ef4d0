//! A stopped container started again (step 37, for `start`, `restart`
//! and restart policies): the same steps as `run -d`, from the
//! container's record instead of a new one.
//!
//! What is kept: the ID, the name, the write layer (what the program wrote
//! is still there), the log (new records follow the old ones), and the
//! configuration, read again from the arguments `run` was given (volumes,
//! environment, limits, network and published ports, capabilities, filter,
//! user, devices). What is made again, as on a first run: a cgroup with
//! the recorded limits, the union mount and the volumes' mounts, the
//! `/etc` files, an address on the network (maybe another one, as in
//! Docker) and the published ports' rules, and the process under a new
//! monitor.
//!
//! A start that fails gives back only what it made (mounts, cgroup,
//! address, rules): the container stays exited, with its layer and
//! record, never discarded as a new container that cannot start is.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use nix::unistd::Pid;

use super::flow::{confine, container_env, network_plan, report, restrict_devices, spec};
use super::{cgroup_name, config_on};
use crate::cgroups::{self, detect::Hierarchy};
use crate::container::guard::Guard;
use crate::container::identity::Identity;
use crate::container::monitor;
use crate::container::process::Launch;
use crate::container::release_network::{forget_network, release_network};
use crate::container::rootfs::{self, Rootfs};
use crate::container::state::{ContainerInfo, Status, Store, now};
use crate::container::stdio::Stdio;
use crate::fs::layers::ContainerLayers;
use crate::syscall::Linux;

/// Start the stopped container `name` again and return once it runs (its
/// monitor has recorded its process). `by_policy`: its monitor starts it
/// under its restart policy, which keeps the restart count and gives up
/// quietly when the user has stopped it meanwhile; a start by the user
/// clears the manual stop and begins the count again.
///
/// A container found running once its start lock is held (another start
/// got there first) is left as it is. A record that still says running
/// although its process is gone is waited on (its monitor is recording
/// the exit), and when no monitor records it (it was killed), what the
/// monitor would have given back is given back here ([`reclaim`]).
///
/// Errors: a container being started by another command, a record made
/// before step 37 (no `run` arguments kept), and whatever a first run
/// refuses (a published port taken by another container, a network gone).
pub fn start(root: &Path, name: &str, by_policy: bool) -> Result<()> {
    let store = Store::new(root);
    let creation = store.begin_start(name)?;
    let mut info = store.load(name)?;
    if info.is_alive() {
        return Ok(());
    }
    if info.status == Status::Running {
        store.wait_exit_recorded(name);
        info = store.load(name)?;
        if info.status == Status::Running {
            reclaim(&store, &info)?;
            info = store.load(name)?;
        }
    }
    if by_policy && (info.manually_stopped || !info.restarting) {
        // Stopped by the user since its monitor looked: no restart.
        store.update(name, |i| i.restarting = false)?;
        return Ok(());
    }
    anyhow::ensure!(
        !info.run_args.is_empty(),
        "container {name} was made before mydocker kept run's arguments: it cannot be started again"
    );
    let args = crate::cli::run_args_again(&info.run_args)
        .map_err(|e| anyhow!("container {name}: its recorded run arguments: {e}"))?;
    let config = config_on(&args, &info.id, recorded_lower(root, &info, &args)?)?;
    anyhow::ensure!(
        config.name == info.name,
        "container {name}: its recorded run arguments name another container ({})",
        config.name
    );
    let identity = Identity::plan(root, &config, &info.id)?;
    let net = network_plan(root, &config)?;
    let env = container_env(&config, &identity.hostname);
    net.record(&mut info);
    confine(root, &args, &mut info)?;
    let stdio = Stdio::plan(config.tty, false)?;

    let hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy")?;
    let cgroup = cgroups::new_manager(&hierarchy, &cgroup_name(root, &info.id))?;
    info.cgroups = cgroup.candidates();
    if !by_policy {
        // The user starts it: a new count, and no manual stop left.
        info.manually_stopped = false;
        info.restarting = false;
        info.restart_count = 0;
    }
    // (started by its policy, it stays `restarting` until its monitor
    // records the exit of this run, or this start fails: `wait` waits on)
    info.started = Some(now());
    store.update(name, |i| *i = info.clone())?;
    // Undone in reverse order on an early return: only what this start
    // made, never the container.
    let recorded = Guard::new(&store, |store| give_back_network(store, name));
    let cgroup = Guard::new(cgroup.create()?, |c| report(name, c.destroy()));
    cgroup.apply(&config.resources)?;
    restrict_devices(&**cgroup, &args)?;
    let rootfs = rootfs::prepare_again(&Linux, root, &config)?;
    let rootfs = Guard::new(rootfs, |r| report(name, r.unmount()));
    identity.install(&Linux, &store.container_dir(name), &rootfs.path, &config)?;
    let spec = spec(
        &config,
        &identity.hostname,
        Some(rootfs.path.clone()),
        env,
        &info,
        &args,
        &stdio,
    );
    let attach = |pid: Pid| net.attach(&store, &info, pid);
    let how = Launch {
        net: net.namespace(),
        attach: &attach,
    };
    let job = monitor::Job {
        store: &store,
        info: &info,
        spec: &spec,
        cgroup: &**cgroup,
        rootfs: Some(&*rootfs),
        how: &how,
        creation: &creation,
        undo: &|| undo(&store, name, &**cgroup, &rootfs),
    };
    let forked = monitor::fork(&job, stdio)?;
    // From here the monitor owns what was made, as after `run -d`.
    rootfs.keep();
    cgroup.keep();
    recorded.keep();
    match forked.started()? {
        None => Ok(()),
        Some(failed) => Err(anyhow!("container {name}: {}", failed.message)),
    }
}

/// What the monitor of a container gives back when its program ends
/// (`container::monitor`), for a container whose monitor was killed
/// before: what is left in its cgroup and the cgroup, its mounts (not its
/// layers), its address and published ports' rules. Its exit is then
/// recorded with no code: nobody saw how it ended.
fn reclaim(store: &Store, info: &ContainerInfo) -> Result<()> {
    let name = &info.name;
    crate::cgroups::kill_all(&info.cgroups)
        .and_then(|()| crate::cgroups::remove_paths(&info.cgroups))
        .with_context(|| format!("container {name}: remove the cgroup its killed monitor left"))?;
    if let Some(base) = &info.layers {
        ContainerLayers { base: base.clone() }
            .unmount_all()
            .with_context(|| format!("container {name}: unmount what its killed monitor left"))?;
    }
    store.update(name, |i| {
        i.status = Status::Exited;
        i.exit_code = None;
        i.finished = Some(now());
        release_network(store.root(), i);
        forget_network(i);
    })?;
    Ok(())
}

/// Give back what this start got on the network, and clear it from the
/// state (the container's other records stay); a failed start under the
/// restart policy ends the restarts.
fn give_back_network(store: &Store, name: &str) {
    if let Ok(info) = store.load(name) {
        release_network(store.root(), &info);
    }
    let _ = store.update(name, |i| {
        forget_network(i);
        i.restarting = false;
    });
}

/// The monitor's undo when the container cannot start again: what this
/// start made, in reverse order (network, mounts, cgroup), not the
/// container: it stays exited with its layer and record.
fn undo(store: &Store, name: &str, cgroup: &dyn cgroups::Cgroup, rootfs: &Rootfs) {
    give_back_network(store, name);
    report(name, rootfs.unmount());
    report(name, cgroup.destroy());
}

/// The layer a container stands on, found again from its image's name
/// (until step 37 images are addressed by name only).
#[cfg(not(feature = "oci_image"))]
fn recorded_lower(
    root: &Path,
    _info: &ContainerInfo,
    args: &crate::cli::RunArgs,
) -> Result<crate::container::spec::Lower> {
    super::lower(root, args)
}

/// From step 38 the layers a container stands on are the ones it recorded
/// (its manifest's), whatever became of its image's name since: committed
/// over, re-tagged, or removed with `rmi -f` (which leaves them while a
/// container records them). A container recorded without them (made by an
/// earlier build) finds its image by name.
#[cfg(feature = "oci_image")]
fn recorded_lower(
    root: &Path,
    info: &ContainerInfo,
    args: &crate::cli::RunArgs,
) -> Result<crate::container::spec::Lower> {
    if info.image_manifest.is_empty() {
        return super::lower(root, args);
    }
    Ok(crate::fs::oci::Store::new(root).stack(&info.image, &info.image_manifest)?)
}
