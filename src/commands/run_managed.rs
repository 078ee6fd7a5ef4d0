//! `run` from step 15: every container is recorded in the state store under
//! its name. `-d` starts it under a monitor and returns its ID at once; a
//! foreground container is waited for and then removed with everything it
//! made (as `docker run --rm`). What the program's stdin, stdout and stderr
//! are (from step 36, a terminal with `-t`) is `container::stdio`'s.

use std::path::Path;

use anyhow::{Context, Result};

use super::{cgroup_name, config};
use crate::cgroups::{self, detect::Hierarchy};
use crate::cli::RunArgs;
use crate::container::discard::discard;
use crate::container::guard::Guard;
use crate::container::identity::Identity;
use crate::container::process::Launch;
use crate::container::rootfs;
use crate::container::spec::{Config, Spec};
use crate::container::state::{ContainerInfo, Status, Store, now};
use crate::container::stdio::Stdio;
use crate::container::{monitor, process};
use crate::fs::layers::ContainerLayers;
use crate::syscall::Linux;
use crate::trace;
use nix::unistd::Pid;

pub fn run(root: &Path, args: &RunArgs) -> Result<i32> {
    trace::start();
    let store = Store::new(root);
    let id = crate::ids::random_hex(6).context("make a container ID")?;
    // A missing or broken image is refused before anything is recorded
    // (from step 11 on, `run` extracts it here if it was never used).
    let config = config(root, args, &id)?;
    let name = config.name.clone();
    let identity = Identity::plan(root, &config, &id)?;
    let net = network_plan(root, &config)?;
    let env = container_env(&config, &identity.hostname);
    let mut info = ContainerInfo {
        id: id.clone(),
        name: name.clone(),
        image: config.image.clone(),
        command: config.command.clone(),
        created: now(),
        status: Status::Created,
        detached: config.detach,
        volumes: config.volumes.iter().map(|v| v.to_string()).collect(),
        hostname: identity.hostname.clone(),
        env: env.clone().unwrap_or_default(),
        // Where its layers will be follows from its name.
        layers: Some(ContainerLayers::new(root, &name).base),
        #[cfg(feature = "hardening")]
        user: config.user.clone(),
        ..ContainerInfo::default()
    };
    net.record(&mut info);
    record_image(&mut info, &config);
    confine(root, args, &mut info)?;
    remember(args, &mut info)?;
    // `-it` without a terminal is refused here, before anything is made.
    // A detached container's stdin is the monitor's /dev/null whatever `-i`
    // says; with `-t` the monitor holds its terminal.
    let mut stdio = Stdio::plan(config.tty, args.interactive && !config.detach)?;
    trace::mark("check");

    // Each thing made is held by a guard that undoes it on an early
    // return (and, in the foreground, when the container has ended).
    let hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy")?;
    let cgroup = cgroups::new_manager(&hierarchy, &cgroup_name(root, &id))?;
    // Recorded before anything is made, with every directory its cgroup
    // may get: whatever a crash leaves, `rm -f` finds. Recording claims the
    // name: a duplicate is refused before any cgroup or layer is made.
    info.cgroups = cgroup.candidates();
    let creation = store.create(&info)?;
    let recorded = Guard::new(&store, |store| forget(store, &name));
    trace::mark("state");
    let cgroup = Guard::new(cgroup.create()?, |c| report(&name, c.destroy()));
    cgroup.apply(&config.resources)?;
    restrict_devices(&**cgroup, args)?;
    trace::mark("cgroups");
    let rootfs = rootfs::prepare(&Linux, root, &config)?;
    let rootfs = Guard::new(rootfs, |r| {
        if let Some(r) = r {
            report(&name, r.release());
        }
    });
    if let Some(r) = rootfs.as_ref() {
        // Its /etc files (from step 24), over the layers and volumes.
        identity.install(&Linux, &store.container_dir(&name), &r.path, &config)?;
    }
    trace::mark("rootfs");
    let spec = spec(
        &config,
        &identity.hostname,
        rootfs.as_ref().map(|r| r.path.clone()),
        env,
        &info,
        args,
        &stdio,
    );

    let attach = |pid: Pid| net.attach(&store, &info, pid);
    let how = Launch {
        net: net.namespace(),
        attach: &attach,
    };
    if config.detach {
        let job = monitor::Job {
            store: &store,
            info: &info,
            spec: &spec,
            cgroup: &**cgroup,
            rootfs: rootfs.as_ref(),
            how: &how,
            creation: &creation,
            undo: &|| discard(&store, &name, &**cgroup, rootfs.as_ref()),
        };
        let forked = monitor::fork(&job, stdio)?;
        // From here the monitor alone owns the container: it removes what
        // was made when the container cannot start, or once it has ended.
        rootfs.keep();
        recorded.keep();
        cgroup.keep();
        // As Docker: a program that cannot start is said, with its code
        // (126, 127), and no ID; the container stays, exited.
        if let Some(failed) = forked.started()? {
            eprintln!("mydocker: {}", failed.message);
            return Ok(failed.code);
        }
        println!("{id}");
        return Ok(0);
    }

    // A program that cannot start: init says why on stderr, and its exit
    // code (126, 127) is the container's.
    let (pid, _) = process::start_container(&spec, &**cgroup, &how, &stdio.for_init()?)?;
    trace::mark("start");
    let start_time = crate::proc_stat::process_start_time(pid.as_raw());
    let _ = store.update(&name, |i| {
        i.status = Status::Running;
        i.pid = Some(pid.as_raw());
        i.pid_start = start_time;
    });
    creation.done();
    trace::mark("record");
    let code = stdio.wait(pid);
    trace::mark("wait");
    // A foreground container is removed with everything it made, in this
    // order: its layers, its state, its cgroups.
    drop(rootfs);
    trace::mark("teardown: layers");
    drop(recorded);
    trace::mark("teardown: state");
    drop(cgroup);
    trace::mark("teardown: cgroups");
    trace::total("run");
    code
}

/// What the container's first process is given: its command, hostname,
/// root, environment and each chapter's options, with the standard
/// descriptors `stdio` planned.
pub(super) fn spec(
    config: &Config,
    hostname: &str,
    rootfs: Option<std::path::PathBuf>,
    env: Option<Vec<String>>,
    info: &ContainerInfo,
    args: &RunArgs,
    stdio: &Stdio,
) -> Spec {
    #[allow(clippy::needless_update)]
    let spec = Spec {
        argv: config.command.clone(),
        hostname: hostname.to_string(),
        rootfs,
        env,
        #[cfg(feature = "hardening")]
        user: config.user.clone(),
        #[cfg(feature = "hardening")]
        view: config.view.clone(),
        ..Spec::default()
    };
    stdio.configure(with_devices(
        with_workdir(with_confinement(spec, info), args, config),
        args,
    ))
}

/// Report what could not be undone, and go on undoing the rest.
pub(super) fn report<E: std::fmt::Display>(name: &str, result: Result<(), E>) {
    if let Err(e) = result {
        eprintln!("mydocker: container {name}: {e:#}");
    }
}

/// Give back what the state says the container holds on the network, then
/// remove its state.
fn forget(store: &Store, name: &str) {
    if let Ok(info) = store.load(name) {
        crate::container::release_network::release_network(store.root(), &info);
    }
    report(name, store.remove(name));
}

/// Before step 24 the container inherits the caller's environment.
#[cfg(not(feature = "env"))]
pub(super) fn container_env(_config: &Config, _hostname: &str) -> Option<Vec<String>> {
    None
}

/// From step 24 the container gets Docker's defaults (`PATH`, `HOSTNAME`,
/// `HOME` from the image's `/etc/passwd`, `TERM` with `-t`) and its `-e`
/// options, and nothing of the caller's.
#[cfg(feature = "env")]
pub(super) fn container_env(config: &Config, hostname: &str) -> Option<Vec<String>> {
    let mut env = vec![
        format!("PATH={}", crate::container::init::DEFAULT_PATH),
        format!("HOSTNAME={hostname}"),
        format!("HOME={}", home(config)),
    ];
    if config.tty {
        env.push("TERM=xterm".into());
    }
    Some(merge_env(env, &config.env))
}

/// The container's `HOME`: uid 0's home in the image's `/etc/passwd`,
/// else `/root`.
#[cfg(all(feature = "env", not(feature = "hardening")))]
fn home(config: &Config) -> String {
    crate::container::identity::home(&config.lower)
}

/// From step 35: the home directory of the `-u` user (`/` for a uid the
/// image does not know, as runc), else uid 0's.
#[cfg(feature = "hardening")]
fn home(config: &Config) -> String {
    match &config.user {
        Some(user) => user.home.clone(),
        None => crate::container::identity::home(&config.lower),
    }
}

/// `base` with each of `overrides` (`KEY=VALUE`) replacing or adding.
#[cfg(feature = "env")]
pub fn merge_env(mut base: Vec<String>, overrides: &[String]) -> Vec<String> {
    for kv in overrides.iter().filter(|kv| !kv.is_empty()) {
        let key = kv.split_once('=').map_or(kv.as_str(), |(k, _)| k);
        base.retain(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) != key);
        base.push(kv.clone());
    }
    base
}

/// Before step 33 the container keeps every capability of root.
#[cfg(not(feature = "capabilities"))]
pub(super) fn confine(_root: &Path, _args: &RunArgs, _info: &mut ContainerInfo) -> Result<()> {
    Ok(())
}

#[cfg(not(feature = "capabilities"))]
pub(super) fn with_confinement(spec: Spec, _info: &ContainerInfo) -> Spec {
    spec
}

/// From step 33: the capabilities and no_new_privs of `--cap-add`,
/// `--cap-drop`, `--privileged` and `--security-opt`, recorded in the
/// state (for `exec`) before anything is made; from step 34 with the
/// system call filter compiled.
#[cfg(feature = "capabilities")]
pub(super) fn confine(root: &Path, args: &RunArgs, info: &mut ContainerInfo) -> Result<()> {
    info.security = crate::security::Profile::for_run(
        &args.cap_add,
        &args.cap_drop,
        args.privileged,
        &args.security_opt,
    )?
    .compiled(root)?;
    Ok(())
}

/// The recorded profile travels to `init` in the spec.
#[cfg(feature = "capabilities")]
pub(super) fn with_confinement(spec: Spec, info: &ContainerInfo) -> Spec {
    Spec {
        security: info.security.clone(),
        ..spec
    }
}

/// Before step 35 the container may open every device.
#[cfg(not(feature = "hardening"))]
pub(super) fn restrict_devices(_cgroup: &dyn cgroups::Cgroup, _args: &RunArgs) -> Result<()> {
    Ok(())
}

#[cfg(not(feature = "hardening"))]
pub(super) fn with_devices(spec: Spec, _args: &RunArgs) -> Spec {
    spec
}

/// From step 35: Docker's device allowlist and one rule per `--device`;
/// `--privileged` allows every device. Set in the cgroup before any
/// process is in it.
#[cfg(feature = "hardening")]
pub(super) fn restrict_devices(cgroup: &dyn cgroups::Cgroup, args: &RunArgs) -> Result<()> {
    let policy = crate::devices::policy(args.privileged, &args.device);
    cgroup
        .restrict_devices(&policy)
        .context("set the container's device allowlist")
}

/// The `--device` nodes travel to `init`, which makes them in `/dev`.
#[cfg(feature = "hardening")]
pub(super) fn with_devices(spec: Spec, args: &RunArgs) -> Spec {
    Spec {
        devices: args.device.clone(),
        ..spec
    }
}

/// Before step 37 a container is never started again: nothing of the
/// command line is kept beyond what each chapter records.
#[cfg(not(feature = "lifecycle"))]
fn remember(_args: &RunArgs, _info: &mut ContainerInfo) -> Result<()> {
    Ok(())
}

/// From step 37: the arguments as typed (`start` reads them again),
/// `--restart`, which only a detached container may have: a foreground
/// container is removed when it ends (as Docker's `--rm`, with which
/// Docker refuses `--restart` too), and `--rm`, which a detached container
/// records for its monitor.
#[cfg(feature = "lifecycle")]
fn remember(args: &RunArgs, info: &mut ContainerInfo) -> Result<()> {
    use crate::container::restart::Policy;
    anyhow::ensure!(
        args.restart == Policy::No || !args.auto_remove,
        "conflicting options: --restart {} and --rm (a container removed when it \
         exits cannot be started again)",
        args.restart
    );
    anyhow::ensure!(
        args.restart == Policy::No || args.detach,
        "--restart {} needs -d: a foreground container is removed when it ends \
         (as with Docker's --rm, which refuses --restart too)",
        args.restart
    );
    info.run_args = crate::cli::run_args(&std::env::args_os().collect::<Vec<_>>());
    info.restart = args.restart;
    info.auto_remove = args.auto_remove && args.detach;
    info.started = Some(now());
    Ok(())
}

/// Before step 27 every container gets a new, empty network namespace.
#[cfg(not(feature = "net-modes"))]
fn network_plan(_root: &Path, _config: &Config) -> Result<NoNetwork> {
    Ok(NoNetwork)
}

/// The network of a container before step 27: nothing to set up.
#[cfg(not(feature = "net-modes"))]
struct NoNetwork;

#[cfg(not(feature = "net-modes"))]
impl NoNetwork {
    fn record(&self, _info: &mut ContainerInfo) {}
    fn namespace(&self) -> crate::container::process::NetNs {
        crate::container::process::NetNs::New
    }
    fn attach(&self, _store: &Store, _info: &ContainerInfo, _pid: Pid) -> Result<()> {
        Ok(())
    }
}

/// From step 27: `--net` (and from step 31 `-p`), checked before anything
/// is created.
#[cfg(feature = "net-modes")]
pub(super) fn network_plan(root: &Path, config: &Config) -> Result<super::run_network::Network> {
    super::run_network::Network::plan(&Store::new(root), config)
}

/// Until step 37 the image's name is all a container records of it.
#[cfg(not(feature = "oci_image"))]
fn record_image(_info: &mut ContainerInfo, _config: &Config) {}

/// From step 38: the manifest and the layers it stands on, which the
/// store keeps while the container exists.
#[cfg(feature = "oci_image")]
fn record_image(info: &mut ContainerInfo, config: &Config) {
    info.image_manifest = config.lower.manifest.clone();
    info.image_layers = config.lower.digests.clone();
}

/// Until step 37 the program starts in `/`.
#[cfg(not(feature = "oci_image"))]
fn with_workdir(spec: Spec, _args: &RunArgs, _config: &Config) -> Spec {
    spec
}

/// From step 38: `-w`, else the image's WorkingDir.
#[cfg(feature = "oci_image")]
fn with_workdir(spec: Spec, args: &RunArgs, config: &Config) -> Spec {
    let image = config
        .lower
        .config
        .as_ref()
        .and_then(|c| c.working_dir().clone())
        .filter(|w| !w.is_empty());
    Spec {
        workdir: args.workdir.clone().or(image),
        ..spec
    }
}
