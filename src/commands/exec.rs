//! `mydocker exec CONTAINER CMD...` (step 18): run a command inside a
//! running container. There is no daemon to ask: this process joins the
//! container itself (`man 2 setns`).
//!
//! 1. Open the container's namespaces (`/proc/PID/ns/{ipc,uts,net,pid,mnt}`)
//!    and its cgroups' `cgroup.procs` files while the host's paths are
//!    still visible, and check the PID still is the container's.
//! 2. `setns` into each namespace, the mount namespace last (it changes
//!    this process's `/`). This needs a single-threaded process, which
//!    mydocker is. Steps 1 and 2 are `container::join`'s, which the OCI
//!    runtime's `exec` (step 40) shares.
//! 3. A PID namespace applies only to children, so fork. The child writes
//!    its PID into the container's cgroups, takes the container's
//!    environment (from step 24 the one kept in its state), and `execve`s
//!    the command. The parent forwards signals and exits with
//!    the command's code.
//!
//! From step 33 the command gets the container's capabilities and
//! no_new_privs, as recorded at `run`, never more; and `exec` first runs
//! itself again from a sealed copy of its binary, so its child, visible
//! inside the container until it `execve`s, never leads back to the
//! host's file (CVE-2019-5736, `security::sealed_exe`). From step 35 it
//! runs as the container's user, or as `exec -u USER[:GROUP]`.
//!
//! From step 36 the command's stdio is `container::stdio`'s: with `-t` a
//! terminal made in the container's devpts once its mount namespace is
//! joined (the child takes the slave, this process relays the master),
//! and without `-i` stdin is `/dev/null`.
//!
//! Every descriptor opened here is close-on-exec: the command sees only
//! its stdin, stdout and stderr (the class of leak behind CVE-2024-21626).

#![allow(unsafe_code)]

use std::path::Path;

use anyhow::{Context, Result, bail};
use nix::unistd::{ForkResult, fork};

use crate::cli::ExecArgs;
use crate::container::state::{ContainerInfo, Store};
use crate::container::stdio::Stdio;
use crate::container::{init, join, process};

/// Before step 24 the container's command inherited the environment of
/// `run`, so read it back from the container's first process (its init
/// has the same environment before and after it `execve`s the command).
#[cfg(not(feature = "env"))]
fn exec_env(_info: &ContainerInfo, pid: i32, _args: &ExecArgs) -> Result<Vec<String>> {
    let environ = std::fs::read(format!("/proc/{pid}/environ"))
        .context("read the container's environment")?;
    Ok(environ
        .split(|b| *b == 0)
        .filter(|kv| !kv.is_empty())
        .map(|kv| String::from_utf8_lossy(kv).into_owned())
        .collect())
}

/// From step 24: the environment the container was configured with (kept
/// in its state, as Docker keeps it in its config) plus `exec -e`. Not
/// `/proc/PID/environ`: right after `run -d` returns, the first process
/// may still be mydocker's init, holding the caller's environment.
#[cfg(feature = "env")]
fn exec_env(info: &ContainerInfo, _pid: i32, args: &ExecArgs) -> Result<Vec<String>> {
    Ok(super::run::merge_env(info.env.clone(), &args.env))
}

/// Before step 33 `exec` runs from the host's binary.
#[cfg(not(feature = "capabilities"))]
fn seal_self() -> Result<()> {
    Ok(())
}

/// From step 33: run again from a sealed copy (returns in that copy).
#[cfg(feature = "capabilities")]
fn seal_self() -> Result<()> {
    Ok(crate::security::sealed_exe::reexec_sealed()?)
}

/// Before step 33 the command keeps every capability of root.
#[cfg(not(feature = "capabilities"))]
fn confine(_info: &ContainerInfo, _args: &ExecArgs) -> Result<()> {
    Ok(())
}

/// From step 33: the container's capabilities and no_new_privs.
#[cfg(all(feature = "capabilities", not(feature = "hardening")))]
fn confine(info: &ContainerInfo, _args: &ExecArgs) -> Result<()> {
    info.security
        .apply()
        .context("confine the command to the container's capabilities")
}

/// From step 35: also the container's user, or the one `exec -u` names,
/// resolved in the container's own `/etc/passwd` (this process is already
/// in its mount namespace).
#[cfg(feature = "hardening")]
fn confine(info: &ContainerInfo, args: &ExecArgs) -> Result<()> {
    use crate::security::user;
    let user = match &args.user {
        Some(name) => Some(user::resolve(name, &[std::path::PathBuf::from("/")])?),
        None => info.user.clone(),
    };
    user::confine(&info.security, user.as_ref())
        .context("confine the command to the container's user and capabilities")
}

pub fn exec(root: &Path, args: &ExecArgs) -> Result<i32> {
    seal_self()?;
    let store = Store::new(root);
    let info = store.find(&args.container)?;
    let Some(pid) = info.live_pid() else {
        bail!("container {} is not running", info.name);
    };
    let namespaces = join::open(pid)?;
    let cgroups = join::open_cgroups(&info.cgroups)?;
    let env = exec_env(&info, pid, args)?;
    // `-it` without a terminal is refused before joining anything.
    let mut stdio = Stdio::plan(args.tty, args.interactive)?;
    // The namespaces were opened by PID: make sure it was still ours.
    if !info.is_alive() {
        bail!("container {} is not running", info.name);
    }

    namespaces.join()?;
    // With `-t`, the terminal is made in the container's devpts.
    stdio.open_here()?;

    process::block_forwarded_signals()?;
    // SAFETY: single-threaded; the child only writes, then execs or exits.
    match unsafe { fork() }.context("fork the command")? {
        ForkResult::Child => {
            if let Err(e) = cgroups.enter() {
                eprintln!("mydocker: {e:#}");
                std::process::exit(crate::exit_code::EXIT_MYDOCKER);
            }
            if let Err(e) = stdio.in_child() {
                eprintln!("mydocker: {e:#}");
                std::process::exit(crate::exit_code::EXIT_MYDOCKER);
            }
            if let Err(e) = confine(&info, args) {
                eprintln!("mydocker: {e:#}");
                std::process::exit(crate::exit_code::EXIT_MYDOCKER);
            }
            std::process::exit(init::exec(&args.command, Some(&env), |_| {}));
        }
        ForkResult::Parent { child } => {
            drop(cgroups);
            stdio.wait(child)
        }
    }
}
