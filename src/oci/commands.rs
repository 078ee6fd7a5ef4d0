//! The verbs of runc's command line (step 40), over the engine.
//!
//! `create` does what `mydocker run` does up to the moment the program
//! would start, with the engine's own functions (`process::start_container`
//! clones init into its namespaces and cgroups, init mounts, pivots and
//! names the host), then returns while init waits on the start FIFO. It
//! leaves no process of its own: init was its child, and when `create`
//! exits the kernel gives it to the nearest *subreaper* above
//! (`prctl(PR_SET_CHILD_SUBREAPER)`: containerd's shim, podman's conmon),
//! which collects its exit status — that is how those callers learn the
//! container's exit code without a monitor of ours in between.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::bundle::{self, Plan};
use super::cli::Kill;
use super::hooks;
use super::state::{Record, Root, Status, check_id};
use crate::cgroups::{self, Cgroup, detect::Hierarchy};
use crate::container::guard::Guard;
use crate::container::{exec_fifo, process};
use crate::fs::bundle_view::BundleView;

/// `create --bundle B [--pid-file F] [--console-socket S] ID`: returns
/// once init waits for `start`. Returns init's PID. With
/// `process.terminal`, init's stdin is a connection to `S`, over which it
/// sends the master of the terminal it makes (step 36's init does the
/// same for `run -t`).
pub fn create(
    root: &Root,
    id: &str,
    bundle: &Path,
    pid_file: Option<&Path>,
    console_socket: Option<&Path>,
) -> Result<i32> {
    check_id(id)?;
    let bundle =
        std::fs::canonicalize(bundle).with_context(|| format!("bundle {}", bundle.display()))?;
    let plan = bundle::plan(&bundle)?;
    let console = connect_console(plan.spec.terminal.is_some(), console_socket)?;
    let dir = root.make(id)?;
    let dir = Guard::new(dir, |_| {
        let _ = root.remove(id);
    });
    let mut record = Record {
        id: id.to_string(),
        bundle: bundle.clone(),
        rootfs: plan.spec.rootfs.clone().unwrap_or_default(),
        oci_version: plan.oci_version.clone(),
        pid: None,
        pid_start: None,
        created: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
        cgroups: Vec::new(),
        annotations: plan.annotations.clone(),
        hooks: plan.hooks.clone(),
        callers_mounts: plan
            .spec
            .bundle_view
            .as_ref()
            .is_some_and(|v| v.callers_mounts),
    };
    root.save(&record)?;
    let fifo = exec_fifo::make(&root.fifo(id))?;

    let (cgroup, freezer) = make_cgroup(id, &plan)?;
    let freezer = Guard::new(freezer, |f| {
        if let Some(dir) = f {
            let _ = cgroups::remove_paths(&[dir]);
        }
    });
    let cgroup = Guard::new(cgroup, |c| {
        let _ = c.destroy();
    });
    record.cgroups = cgroup.paths();
    record.cgroups.extend(freezer.iter().cloned());
    cgroup.apply(&plan.resources)?;
    cgroup.restrict_devices(&plan.devices)?;

    let spec = crate::container::spec::Spec {
        exec_fifo: Some(exec_fifo::INIT_FD),
        bundle_view: with_cgroups(plan.spec.bundle_view.clone(), &record.cgroups)?,
        hooks: record.hooks.inside(state_document(root, &record)?),
        ..plan.spec.clone()
    };
    let joined = open_namespaces(&plan.namespaces)?;
    let mut chosen = crate::namespaces::Chosen {
        new: plan.namespaces.new,
        join: [None; 8],
        maps: plan.namespaces.maps.clone(),
    };
    for (slot, (file, kind)) in chosen.join.iter_mut().zip(&joined) {
        *slot = Some((file.as_raw_fd(), *kind));
    }
    let net = process::NetNs::Chosen(chosen);
    // The freezer cgroup before init goes on: a new cgroup namespace is
    // rooted where init is when it makes it, in every hierarchy.
    let join_freezer = |pid: nix::unistd::Pid| -> Result<()> {
        if let Some(dir) = &*freezer {
            cgroups::join(std::slice::from_ref(dir), pid.as_raw())
                .context("place the container in its freezer cgroup")?;
        }
        Ok(())
    };
    let launch = process::Launch {
        net,
        attach: &join_freezer,
    };
    let started = process::start_container(
        &spec,
        &WithFreezer {
            cgroup: &**cgroup,
            freezer: freezer.as_deref(),
        },
        &launch,
        &console
            .iter()
            .map(|c| (c.as_raw_fd(), 0))
            .chain([(fifo.as_raw_fd(), exec_fifo::INIT_FD)])
            .collect::<Vec<_>>(),
    );
    drop(console);
    // Joining a PID namespace moved where this process's next children go
    // (`pid_for_children`), not the process (`/proc/self/ns/pid`): they
    // go back there now, so the hooks run in the runtime's namespaces.
    // (Opened only now: a descriptor more before the clone would shift
    // the numbers init's descriptor moves count on.)
    let own_pid_ns =
        std::fs::File::open("/proc/self/ns/pid").context("open this process's PID namespace")?;
    nix::sched::setns(&own_pid_ns, nix::sched::CloneFlags::CLONE_NEWPID)
        .context("return to this process's PID namespace")?;
    let (pid, failed) = started?;
    if let Some(failed) = failed {
        let _ = crate::namespaces::wait_exit_code(pid);
        bail!("{}", failed.message);
    }
    let pid_raw = pid.as_raw();
    let placed = (|| -> Result<()> {
        if let Some(adj) = plan.oom_score_adj {
            std::fs::write(format!("/proc/{pid_raw}/oom_score_adj"), adj.to_string())
                .context("process.oomScoreAdj: write /proc/PID/oom_score_adj")?;
        }
        record.pid = Some(pid_raw);
        record.pid_start = crate::proc_stat::process_start_time(pid_raw);
        root.save(&record)?;
        if let Some(f) = pid_file {
            crate::atomic_file::write_atomic(f, pid_raw.to_string().as_bytes())
                .with_context(|| format!("write the pid file {}", f.display()))?;
        }
        let creating = document(root, &record, Some(Status::Creating))?;
        hooks::run_all_in(
            "hooks.prestart",
            &record.hooks.prestart,
            &creating,
            &record.bundle,
        )?;
        hooks::run_all_in(
            "hooks.createRuntime",
            &record.hooks.create_runtime,
            &creating,
            &record.bundle,
        )
    })();
    if let Err(e) = placed {
        process::abort(pid);
        return Err(e);
    }
    cgroup.keep();
    freezer.keep();
    dir.keep();
    Ok(pid_raw)
}

/// The connection to `--console-socket` a terminal needs; a socket
/// without a terminal, or a terminal without a socket, is refused.
fn connect_console(
    terminal: bool,
    socket: Option<&Path>,
) -> Result<Option<std::os::unix::net::UnixStream>> {
    match (terminal, socket) {
        (true, Some(path)) => Ok(Some(
            std::os::unix::net::UnixStream::connect(path)
                .with_context(|| format!("--console-socket {}: connect", path.display()))?,
        )),
        (true, None) => bail!("process.terminal: a terminal needs --console-socket"),
        (false, Some(path)) => bail!(
            "--console-socket {}: only used with process.terminal: true",
            path.display()
        ),
        (false, None) => Ok(None),
    }
}

/// Open the namespaces a bundle joins, checking that each is of the kind
/// it is listed as (`ioctl(NS_GET_NSTYPE)`, `man 2 ioctl_ns`): runc
/// refuses `{"type": "ipc", "path": "/proc/1/ns/net"}` too.
fn open_namespaces(
    ns: &bundle::Namespaces,
) -> Result<Vec<(std::fs::File, nix::sched::CloneFlags)>> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    let mut out = Vec::new();
    for (path, kind) in &ns.join {
        let file = std::fs::File::open(path)
            .with_context(|| format!("linux.namespaces: open {}", path.display()))?;
        #[allow(unsafe_code)]
        // SAFETY: NS_GET_NSTYPE takes no argument and returns the kind.
        let got = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) };
        if got != kind.bits() {
            bail!(
                "linux.namespaces: {} is not a namespace of the kind it is listed as",
                path.display()
            );
        }
        out.push((file, *kind));
    }
    Ok(out)
}

/// When the bundle mounts a `cgroup` filesystem, the container's cgroup
/// directories (`dirs`, host paths) it shows, read here before init's clone:
/// in a new cgroup namespace init could not read them itself (its
/// `/proc/self/cgroup` is relative to the namespace's root).
fn with_cgroups(view: Option<BundleView>, dirs: &[PathBuf]) -> Result<Option<BundleView>> {
    let Some(mut view) = view else {
        return Ok(None);
    };
    if view
        .mounts
        .iter()
        .any(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
    {
        let read = crate::container::rootfs_inside::cgroup_dirs(dirs);
        view.cgroups = Some(read.context("read the container's cgroups")?);
    }
    Ok(Some(view))
}

/// The container's cgroups as `process::start_container` places init in
/// them: the engine's, and on cgroup v1 the freezer directory too, in the
/// same way: init writes `0` to each `tasks` file itself when it can
/// ([`Cgroup::self_placement`]), else the runtime writes its PID to each
/// `cgroup.procs`. (The runtime moving init into the freezer after the
/// clone took `cgroup_threadgroup_rwsem` and so an RCU grace period, 5 to
/// 10 ms of every `create` on a loaded machine, which init's own move
/// does not.)
struct WithFreezer<'a> {
    cgroup: &'a dyn Cgroup,
    freezer: Option<&'a Path>,
}

impl Cgroup for WithFreezer<'_> {
    fn apply(&self, resources: &crate::cgroups::Resources) -> Result<(), cgroups::Error> {
        self.cgroup.apply(resources)
    }

    fn add_task(&self, pid: i32) -> Result<(), cgroups::Error> {
        self.cgroup.add_task(pid)?;
        match self.freezer {
            Some(dir) => cgroups::join(&[dir.to_path_buf()], pid),
            None => Ok(()),
        }
    }

    /// Empty when the engine's cgroups cannot be joined this way (v2):
    /// then [`Cgroup::add_task`] places init in all of them.
    fn self_placement(&self) -> Vec<PathBuf> {
        let mut tasks = self.cgroup.self_placement();
        if !tasks.is_empty() {
            tasks.extend(self.freezer.map(|d| d.join("tasks")));
        }
        tasks
    }

    fn destroy(&self) -> Result<(), cgroups::Error> {
        self.cgroup.destroy()
    }

    fn paths(&self) -> Vec<PathBuf> {
        let mut paths = self.cgroup.paths();
        paths.extend(self.freezer.map(Path::to_path_buf));
        paths
    }

    fn restrict_devices(&self, policy: &crate::devices::Policy) -> Result<(), cgroups::Error> {
        self.cgroup.restrict_devices(policy)
    }
}

/// The cgroup `linux.cgroupsPath` names: an absolute path from each
/// hierarchy's root (containerd's `/NAMESPACE/ID`), a relative one below
/// this process's cgroup; without one, `mydocker-runc-ID` below it.
/// Also returns, on a cgroup v1 machine, the container's directory in the
/// freezer hierarchy, which the engine does not use but `pause` does.
fn make_cgroup(id: &str, plan: &Plan) -> Result<(Box<dyn Cgroup>, Option<PathBuf>)> {
    let mut hierarchy = Hierarchy::read(Path::new("/proc")).context("read the cgroup hierarchy")?;
    let path = plan
        .cgroups_path
        .clone()
        .unwrap_or_else(|| format!("mydocker-runc-{id}"));
    if path.contains(':') {
        bail!(
            "linux.cgroupsPath {path:?}: systemd's slice:prefix:name form needs --systemd-cgroup, which mydocker does not support"
        );
    }
    let absolute = path.starts_with('/');
    let rel = PathBuf::from(path.trim_start_matches('/'));
    let name = rel
        .file_name()
        .context("linux.cgroupsPath: empty")?
        .to_string_lossy()
        .to_string();
    let parent_rel = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    let place = |own: &Path| -> PathBuf {
        let base = if absolute {
            PathBuf::from("/")
        } else {
            own.to_path_buf()
        };
        base.join(&parent_rel)
    };
    for (ctrl, (mount, own)) in hierarchy.v1.iter_mut() {
        *own = place(own);
        if cgroups::detect::KNOWN_CONTROLLERS.contains(&ctrl.as_str()) {
            make_parents(
                mount,
                own,
                if ctrl == "cpuset" {
                    Parents::Cpuset
                } else {
                    Parents::Plain
                },
            )?;
        }
    }
    let unified = hierarchy.mode == cgroups::detect::Mode::V2;
    if let Some((mount, own)) = hierarchy.v2.as_mut() {
        *own = place(own);
        if unified {
            make_parents(mount, own, Parents::Unified)?;
        }
    }
    let freezer = match hierarchy.v1.get("freezer") {
        Some((mount, own)) => {
            make_parents(mount, own, Parents::Plain)?;
            let dir = mount.join(own.strip_prefix("/").unwrap_or(own)).join(&name);
            std::fs::create_dir(&dir)
                .with_context(|| format!("create the cgroup {}", dir.display()))?;
            Some(dir)
        }
        None => None,
    };
    match cgroups::new_manager(&hierarchy, &name).and_then(|m| m.create()) {
        Ok(cgroup) => Ok((cgroup, freezer)),
        Err(e) => {
            if let Some(dir) = &freezer {
                let _ = cgroups::remove_paths(std::slice::from_ref(dir));
            }
            Err(e.into())
        }
    }
}

/// How [`make_parents`] prepares each level above a container's cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parents {
    /// A v1 hierarchy: directories only.
    Plain,
    /// v1's cpuset hierarchy: each new directory gets its parent's CPUs
    /// and memory nodes, without which it refuses tasks.
    Cpuset,
    /// The v2 tree: each level, from the root down, hands the wanted
    /// controllers to its children (`cgroup.subtree_control`); a child
    /// gets only what its parent enables.
    Unified,
}

/// Make the cgroup directories above a container's (containerd's
/// namespace directory), prepared as `how` says. As runc, `delete` leaves
/// them: other containers of the namespace may be being created in them.
fn make_parents(mount: &Path, own: &Path, how: Parents) -> Result<()> {
    let mut dir = mount.to_path_buf();
    for part in own.strip_prefix("/").unwrap_or(own).components() {
        let parent = dir.clone();
        // A level holding processes (this process's own cgroup, for a
        // relative path) cannot hand controllers down (EBUSY): the
        // container's cgroup then has what that level already gives.
        if how == Parents::Unified {
            match cgroups::v2::enable_controllers(&parent) {
                Err(cgroups::Error::Io { err, .. }) if err.raw_os_error() == Some(libc::EBUSY) => {}
                r => r.with_context(|| format!("enable controllers in {}", parent.display()))?,
            }
        }
        dir.push(part);
        if dir.is_dir() {
            continue;
        }
        std::fs::create_dir(&dir)
            .with_context(|| format!("create the cgroup {}", dir.display()))?;
        if how == Parents::Cpuset {
            for file in ["cpuset.cpus", "cpuset.mems"] {
                let value = std::fs::read_to_string(parent.join(file)).unwrap_or_default();
                std::fs::write(dir.join(file), value.trim())
                    .with_context(|| format!("write {}", dir.join(file).display()))?;
            }
        }
    }
    Ok(())
}

/// `start ID`: wake the created container's init.
pub fn start(root: &Root, id: &str) -> Result<()> {
    let record = root.load(id)?;
    match root.status(&record) {
        Status::Created => {}
        s => bail!(
            "cannot start container {id}: it is {}, not created",
            s.as_str()
        ),
    }
    let alive = || root.status(&record) != Status::Stopped;
    let exe = record.pid.and_then(executable);
    if let Err(e) = exec_fifo::release(&root.fifo(id), &alive) {
        // Init has given up (a `startContainer` hook failed) and is
        // ending: as runc, `start` fails with the container stopped.
        wait_until(std::time::Duration::from_secs(2), || !alive());
        return Err(e);
    }
    if let (Some(pid), Some(exe)) = (record.pid, exe) {
        wait_for_exec(pid, &exe);
    }
    if let Err(e) = hooks::run_all_in(
        "hooks.poststart",
        &record.hooks.poststart,
        &state_document(root, &record)?,
        &record.bundle,
    ) {
        // The runtime-spec: a warning, and the container goes on.
        eprintln!("mydocker-runtime: warning: {e:#}");
    }
    Ok(())
}

/// Poll `done` every millisecond until it holds or `limit` has passed.
fn wait_until(limit: std::time::Duration, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// What `/proc/PID/exe` names: init's executable until it execs the
/// program. None once the process is gone.
fn executable(pid: i32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Wait (at most 2 s) until init has replaced itself with the program:
/// the FIFO's byte is written before init's last steps (capabilities,
/// user, seccomp), and the runtime-spec runs `poststart` hooks, and
/// callers send signals, to the program, not to init (a signal init has
/// no handler for is lost, as PID 1 ignores it).
fn wait_for_exec(pid: i32, init: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        match executable(pid) {
            Some(exe) if exe == init => std::thread::sleep(std::time::Duration::from_millis(1)),
            _ => return,
        }
    }
}

/// `state ID`: the runtime-spec's state, as JSON on stdout.
pub fn state(root: &Root, id: &str) -> Result<()> {
    let record = root.load(id)?;
    println!("{}", state_document(root, &record)?);
    Ok(())
}

/// The runtime-spec's state document of `record`, as `state` prints it
/// and hooks read it on their stdin.
fn state_document(root: &Root, record: &Record) -> Result<String> {
    document(root, record, None)
}

/// The state document, with `status` instead of the container's own
/// when given (`creating` for `prestart` and `createRuntime`, as runc,
/// with init's PID).
fn document(root: &Root, record: &Record, status: Option<Status>) -> Result<String> {
    let (status, pid) = match status {
        Some(given) => (given, record.pid.unwrap_or(0)),
        None => match root.status(record) {
            s @ (Status::Created | Status::Running | Status::Paused) => {
                (s, record.pid.unwrap_or(0))
            }
            s => (s, 0),
        },
    };
    let out = StateJson {
        oci_version: &record.oci_version,
        id: &record.id,
        pid,
        status: status.as_str(),
        bundle: &record.bundle,
        rootfs: &record.rootfs,
        created: &record.created,
        owner: "",
        annotations: &record.annotations,
    };
    Ok(serde_json::to_string_pretty(&out)?)
}

/// The runtime-spec's state document, in runc's order of fields.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StateJson<'a> {
    oci_version: &'a str,
    id: &'a str,
    pid: i32,
    status: &'a str,
    bundle: &'a Path,
    rootfs: &'a Path,
    created: &'a str,
    owner: &'a str,
    annotations: &'a std::collections::HashMap<String, String>,
}

/// `pause ID` / `resume ID`: freeze or thaw a running (or paused)
/// container's cgroup.
pub fn pause(root: &Root, id: &str, freeze: bool) -> Result<()> {
    let record = root.load(id)?;
    match (root.status(&record), freeze) {
        (Status::Running, true) | (Status::Paused, false) => {}
        (s, true) => bail!(
            "cannot pause container {id}: it is {}, not running",
            s.as_str()
        ),
        (s, false) => bail!(
            "cannot resume container {id}: it is {}, not paused",
            s.as_str()
        ),
    }
    super::freezer::set(&record.cgroups, freeze)
}

/// Every process in the container's cgroups, host PIDs in order.
pub fn pids(record: &Record) -> Vec<i32> {
    cgroup_pids(record)
}

/// `kill ID [SIGNAL]`: to init, or with `--all` to every process of its
/// cgroup. Signal `0` sends nothing: it only checks (as runc's liveness
/// probe) that the container's process is there.
pub fn kill_verb(root: &Root, args: &Kill) -> Result<()> {
    let record = root.load(&args.container_id)?;
    let signal = super::cli::parse_signal(&args.signal)?;
    let status = root.status(&record);
    if args.all {
        for pid in cgroup_pids(&record) {
            let _ = kill(Pid::from_raw(pid), signal);
        }
        return Ok(());
    }
    match (status, record.pid) {
        (Status::Created | Status::Running | Status::Paused, Some(pid)) => {
            kill(Pid::from_raw(pid), signal)
                .with_context(|| format!("send signal {} to container {}", args.signal, record.id))
        }
        // runc's words, which containerd's shim recognises.
        _ => bail!("cannot signal {}: container not running", record.id),
    }
}

/// Every process in the container's cgroups.
fn cgroup_pids(record: &Record) -> Vec<i32> {
    let mut pids: Vec<i32> = record
        .cgroups
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// `delete [--force] ID`: a stopped (or created, never started) container
/// goes at once; a running one only with `--force`, killed first.
pub fn delete(root: &Root, id: &str, force: bool) -> Result<()> {
    let record = match root.load(id) {
        Ok(r) => r,
        Err(_) if force && check_id(id).is_ok() => return root.remove(id),
        Err(e) => return Err(e),
    };
    match root.status(&record) {
        Status::Running | Status::Paused if !force => {
            bail!("cannot delete container {id}: it is running (stop it, or use --force)")
        }
        Status::Stopped => {}
        _ => {
            // A frozen process dies of SIGKILL only once thawed: send
            // it first, then thaw, so nothing runs on meanwhile.
            if super::freezer::frozen(&record.cgroups) {
                for pid in cgroup_pids(&record) {
                    let _ = kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                }
                super::freezer::set(&record.cgroups, false)?;
            }
            cgroups::kill_all(&record.cgroups)?;
            wait_ended(root, &record);
        }
    }
    cgroups::kill_all(&record.cgroups)?;
    cgroups::remove_paths(&record.cgroups)?;
    if record.callers_mounts {
        // The topmost mount on the root is init's bind (a caller's own
        // mount of the root, containerd's, lies below it and stays).
        // Not mounted (delete called from another mount namespace): nothing to do.
        let _ = nix::mount::umount2(&record.rootfs, nix::mount::MntFlags::MNT_DETACH);
    }
    let document = state_document(root, &record)?;
    root.remove(id)?;
    if let Err(e) = hooks::run_all_in(
        "hooks.poststop",
        &record.hooks.poststop,
        &document,
        &record.bundle,
    ) {
        eprintln!("mydocker-runtime: warning: {e:#}");
    }
    Ok(())
}

/// Wait (at most 5 s) until the container's process has ended.
fn wait_ended(root: &Root, record: &Record) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while root.status(record) != Status::Stopped && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// `run [--detach] --bundle B ID`: create, start, and (in the foreground)
/// wait for the program, passing signals on, then delete it. Returns its
/// exit code.
pub fn run(root: &Root, args: &liboci_cli::Run) -> Result<i32> {
    let pid = create(
        root,
        &args.container_id,
        &args.bundle,
        args.pid_file.as_deref(),
        args.console_socket.as_deref(),
    )?;
    if let Err(e) = start(root, &args.container_id) {
        let _ = delete(root, &args.container_id, true);
        return Err(e);
    }
    if args.detach {
        return Ok(0);
    }
    let code = process::wait_forwarding(Pid::from_raw(pid))?;
    delete(root, &args.container_id, true)?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A nested `linux.cgroupsPath` on cgroup v2 (containerd's
    /// `/NAMESPACE/ID`): every level from the root to the container's
    /// parent hands the controllers down, else the container's directory
    /// has no `cpu.weight` to write (seen in the v2 VM: "Permission
    /// denied", cgroupfs refusing to create the missing file).
    #[test]
    fn a_nested_cgroup_path_on_v2_enables_the_controllers_at_every_level() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        std::fs::write(root.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
        // What the kernel shows in a new directory: its parent's enabled
        // controllers. A plain directory here, so made up front.
        let ns = root.join("k8s.io");
        std::fs::create_dir(&ns).unwrap();
        std::fs::write(ns.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(ns.join("cgroup.subtree_control"), "").unwrap();
        make_parents(root, Path::new("/k8s.io"), Parents::Unified).unwrap();
        let manager: Box<dyn cgroups::Manager> = Box::new(cgroups::v2::V2Manager::new(
            root,
            Path::new("/k8s.io"),
            "ctr",
        ));
        manager.create().unwrap();
        for dir in [root, ns.as_path()] {
            let enabled = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap();
            assert_eq!(enabled, "+memory +cpu +pids", "{}", dir.display());
        }
    }
}
