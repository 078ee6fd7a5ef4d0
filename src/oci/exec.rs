//! `exec` (step 40): start one more process in a running container, as
//! containerd's shim asks for `ctr task exec` and podman for `podman exec`.
//!
//! The process is described like the container's own: a runtime-spec
//! `process` object, from `--process FILE` or built from runc's inline
//! form (`exec [--env K=V] [--cwd DIR] [--user UID[:GID]] [--tty] ID CMD...`
//! over the bundle's `process`). It is mapped by [`super::bundle`] exactly
//! as `create` maps the first one, so it gets the same refusals, and its
//! capabilities, no_new_privs, user, rlimits and environment.
//!
//! Joining is step 18's, [`crate::container::join`] (`man 2 setns`): open
//! the container's namespaces (`/proc/PID/ns/*`, only those that differ
//! from this process's: a container that kept the host's network stays in
//! it) and its cgroups' `cgroup.procs`, join the namespaces but the mount
//! namespace, then fork (a PID namespace applies only to children). The
//! child joins the mount namespace, enters the cgroups, confines itself
//! and `execve`s. With `--detach` this process writes the child's host PID
//! to `--pid-file` and exits: the child is
//! then reparented to the nearest subreaper (containerd's shim, podman's
//! conmon), which reaps it and learns its exit code, as with runc.
//!
//! A terminal (`process.terminal`, `--tty`) is made in the container's
//! devpts once its mount namespace is joined, and its master is sent over
//! `--console-socket` (SCM_RIGHTS, [`crate::terminal::console_socket`]),
//! at `process.consoleSize` as `create`'s; the child takes the slave as
//! its controlling terminal.

#![allow(unsafe_code)]

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use nix::unistd::{ForkResult, Pid, fork};
use oci_spec::runtime::{Process, Spec as Config};

use super::bundle;
use super::state::{Root, Status};
use crate::container::{init, join, process};

/// `exec ...`: returns the process's exit code (in the foreground), or 0
/// once it runs (`--detach`).
pub fn exec(root: &Root, args: &liboci_cli::Exec) -> Result<i32> {
    refuse_flags(args)?;
    crate::security::sealed_exe::reexec_sealed()?;
    let record = root.load(&args.container_id)?;
    let id = &record.id;
    match root.status(&record) {
        Status::Created | Status::Running => {}
        Status::Paused if args.ignore_paused => {}
        s => bail!("cannot exec in container {id}: it is {}", s.as_str()),
    }
    let Some(pid) = record.pid else {
        bail!("cannot exec in container {id}: it has no process yet");
    };
    let process = match &args.process {
        Some(file) => {
            let text = std::fs::read(file)
                .with_context(|| format!("--process {}: read", file.display()))?;
            serde_json::from_slice::<Process>(&text).with_context(|| {
                format!("--process {}: not a runtime-spec process", file.display())
            })?
        }
        None => inline(&record.bundle, args)?,
    };
    let terminal = process.terminal().unwrap_or(false);
    let plan = plan(&record.bundle, process)?;
    let socket = match (&args.console_socket, terminal) {
        (Some(path), true) => Some(
            UnixStream::connect(path)
                .with_context(|| format!("--console-socket {}: connect", path.display()))?,
        ),
        (None, true) => bail!("process.terminal: a terminal needs --console-socket"),
        (_, false) => None,
    };

    let namespaces = join::open(pid)?;
    let cgroups = join::open_cgroups(&record.cgroups)?;
    // The namespaces were opened by PID: make sure it still was ours.
    if root.status(&record) == Status::Stopped {
        bail!("cannot exec in container {id}: it has stopped");
    }
    // All but the mount namespace now; the child joins that one, so this
    // process keeps the host's paths for --pid-file and --log.
    let mount = namespaces
        .join_all_but_mount()
        .with_context(|| format!("exec in container {id}"))?;

    process::block_forwarded_signals()?;
    // SAFETY: single-threaded; the child only writes, then execs or exits.
    match unsafe { fork() }.context("fork the process")? {
        ForkResult::Child => {
            let fail = |e: anyhow::Error| -> ! {
                eprintln!("mydocker-runtime: exec: {e:#}");
                std::process::exit(crate::exit_code::EXIT_MYDOCKER);
            };
            if let Err(e) = cgroups.enter() {
                fail(e);
            }
            if let Err(e) = enter(mount, socket, &plan) {
                fail(e);
            }
            let env = plan.spec.env.clone().unwrap_or_default();
            std::process::exit(init::exec(&plan.spec.argv, Some(&env), |_| {}));
        }
        ForkResult::Parent { child } => {
            drop(cgroups);
            drop(socket);
            if let Some(f) = &args.pid_file {
                crate::atomic_file::write_atomic(f, child.as_raw().to_string().as_bytes())
                    .with_context(|| format!("write the pid file {}", f.display()))?;
            }
            if args.detach {
                return Ok(0);
            }
            process::wait_forwarding(Pid::from_raw(child.as_raw()))
        }
    }
}

/// In the child: join the mount namespace; make the terminal in the
/// container's devpts, send its master and take its slave; then the
/// working directory, limits, and the user and capabilities (and
/// no_new_privs) last, as `create`'s init does.
fn enter(
    mount: join::MountNamespace,
    socket: Option<UnixStream>,
    plan: &bundle::Plan,
) -> Result<()> {
    mount.join()?;
    if let Some(socket) = socket {
        let pty = crate::terminal::pty::open(Path::new("/dev/pts"))
            .context("make a terminal in the container's /dev/pts")?;
        // `process.consoleSize`, as `create` gives its terminal (without
        // one, 0x0 until the caller resizes it, as runc leaves it).
        if let Some(size) = plan.spec.terminal {
            crate::terminal::pty::set_size(pty.master.as_fd(), size)?;
        }
        crate::terminal::console_socket::send(socket.as_fd(), pty.master.as_fd())?;
        drop(pty.master);
        crate::terminal::pty::take_as_controlling(&pty.slave)?;
    }
    if let Some(dir) = &plan.spec.workdir {
        nix::unistd::chdir(dir.as_str()).with_context(|| format!("process.cwd {dir}: chdir"))?;
    }
    crate::container::rlimits::apply(&plan.spec.rlimits)?;
    crate::security::user::confine(&plan.spec.security, plan.spec.user.as_ref())
        .context("confine the process to its user and capabilities")
}

/// Flags runc knows that this runtime cannot honour, refused by name.
fn refuse_flags(args: &liboci_cli::Exec) -> Result<()> {
    ensure!(
        args.apparmor.is_none(),
        "--apparmor: AppArmor profiles are not supported by mydocker"
    );
    ensure!(
        args.process_label.is_none(),
        "--process-label: SELinux labels are not supported by mydocker"
    );
    ensure!(
        args.cgroup.is_none(),
        "--cgroup: joining a sub-cgroup is not supported by mydocker"
    );
    ensure!(
        args.preserve_fds == 0,
        "--preserve-fds {}: passing extra descriptors is not supported yet",
        args.preserve_fds
    );
    if args.process.is_some() {
        ensure!(
            args.command.is_empty(),
            "--process: give the command in the file, not after the container ID"
        );
    } else {
        ensure!(
            !args.command.is_empty(),
            "exec: no command given (the inline form is `exec ID CMD...`, or use --process FILE)"
        );
    }
    Ok(())
}

/// runc's inline form: the bundle's process with these changes.
fn inline(bundle: &Path, args: &liboci_cli::Exec) -> Result<Process> {
    let config = load(bundle)?;
    let mut p = config.process().clone().unwrap_or_default();
    p.set_args(Some(args.command.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    for (k, v) in &args.env {
        env.retain(|kv| kv.split_once('=').map_or(kv.as_str(), |(key, _)| key) != k);
        env.push(format!("{k}={v}"));
    }
    p.set_env(Some(env));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some((uid, gid)) = args.user {
        let mut user = p.user().clone();
        user.set_uid(uid);
        user.set_gid(gid.unwrap_or(0));
        p.set_user(user);
    }
    if !args.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(args.additional_gids.clone()));
        p.set_user(user);
    }
    if !args.cap.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add = |set: &Option<oci_spec::runtime::Capabilities>| -> Result<_> {
            let mut set = set.clone().unwrap_or_default();
            for name in &args.cap {
                let name = name.trim_start_matches("CAP_");
                set.insert(
                    name.parse()
                        .map_err(|e| anyhow::anyhow!("--cap {name}: {e}"))?,
                );
            }
            Ok(Some(set))
        };
        caps.set_bounding(add(caps.bounding())?);
        caps.set_effective(add(caps.effective())?);
        caps.set_permitted(add(caps.permitted())?);
        p.set_capabilities(Some(caps));
    }
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    p.set_terminal(Some(args.tty));
    Ok(p)
}

fn load(bundle: &Path) -> Result<Config> {
    let file = bundle.join("config.json");
    Config::load(&file).with_context(|| format!("read {}", file.display()))
}

/// Map the process as `create` maps the first one, inside the bundle's
/// configuration.
fn plan(bundle: &Path, process: Process) -> Result<bundle::Plan> {
    let mut config = load(bundle)?;
    config.set_process(Some(process));
    bundle::map(&config, bundle)
}
