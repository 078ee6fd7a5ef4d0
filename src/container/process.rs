//! The parent's side of a container process (step 05): clone `init` into new
//! namespaces, and wait for it while passing on the signals `run` receives.
//!
//! The signals to forward are blocked before the clone, so none is lost
//! between the clone and the wait loop; the child inherits the blocked mask
//! and `init` clears it just before `execve`.
//!
//! A signal that is *ignored* is thrown away when it is sent, blocked or
//! not, so `sigwait` never sees it. A shell starts a script's background
//! job (`cmd &`) with SIGINT and SIGQUIT ignored, and `nohup` ignores
//! SIGHUP: `run` started that way would never pass those signals on. So
//! once they are blocked, their dispositions go back to the default.

use std::ffi::CString;
use std::os::fd::RawFd;

use anyhow::{Context, Result};
use nix::sched::CloneFlags;
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, kill, sigaction, sigprocmask,
};
use nix::unistd::Pid;

use super::spec::Spec;
use super::{Prepared, channel};
use crate::cgroups::Cgroup;
use crate::namespaces;
use crate::signals::{FORWARDED, forwarded_set, reap};

/// Block the signals that [`wait_forwarding`] passes on, before the child
/// that will receive them exists.
/// Each is also taken back from SIG_IGN to the default disposition (safe
/// now: a blocked signal waits, it cannot end this process).
pub fn block_forwarded_signals() -> Result<()> {
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded_set()), None)
        .context("block signals before starting the container")?;
    FORWARDED.into_iter().try_for_each(to_default)
}

/// Put signal `s` back to its default disposition (`SIG_DFL`).
pub fn to_default(s: Signal) -> Result<()> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    // SAFETY: SIG_DFL installs no handler code.
    #[allow(unsafe_code)]
    unsafe { sigaction(s, &default) }.with_context(|| format!("reset the disposition of {s}"))?;
    Ok(())
}

/// Which network namespace a container gets (the choices arrive with
/// step 27's network modes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetNs {
    /// A new, empty one.
    #[default]
    New,
    /// The host's (`--net host`).
    #[cfg(feature = "net-modes")]
    Host,
    /// Another container's, open at this descriptor (`--net container:NAME`).
    #[cfg(feature = "net-modes")]
    Join(RawFd),
    /// Every namespace as a bundle's `linux.namespaces` chose it (step
    /// 40), the network one included.
    #[cfg(feature = "oci_runtime")]
    Chosen(crate::namespaces::Chosen),
}

impl NetNs {
    /// Before step 40 a container shares the host's user namespace.
    #[cfg(not(feature = "oci_runtime"))]
    fn own_user_namespace(&self) -> bool {
        false
    }

    /// From step 40 a bundle may ask for a new user namespace (one joined
    /// by path is refused by `oci::bundle`).
    #[cfg(feature = "oci_runtime")]
    fn own_user_namespace(&self) -> bool {
        matches!(self, NetNs::Chosen(c) if c.new.contains(CloneFlags::CLONE_NEWUSER))
    }

    /// Before step 27 there is only a new network namespace: the usual
    /// flags, nothing to join.
    #[cfg(not(feature = "net-modes"))]
    fn net_args(&self) -> (CloneFlags, Vec<(RawFd, libc::c_int)>) {
        (namespaces::container_flags(), Vec::new())
    }

    /// The usual flags, less a new network namespace for the host's or
    /// one joined (`--net container:NAME`).
    #[cfg(feature = "net-modes")]
    fn net_args(&self) -> (CloneFlags, Vec<(RawFd, libc::c_int)>) {
        let mut flags = namespaces::container_flags();
        if *self != NetNs::New {
            flags.remove(CloneFlags::CLONE_NEWNET);
        }
        let joins = match *self {
            NetNs::Join(fd) => vec![(fd, libc::CLONE_NEWNET)],
            _ => Vec::new(),
        };
        (flags, joins)
    }

    /// Before step 40 only the network namespace varies.
    #[cfg(not(feature = "oci_runtime"))]
    fn clone_args(&self) -> Result<(CloneFlags, Vec<(RawFd, libc::c_int)>)> {
        Ok(self.net_args())
    }
}

/// How to start a container: its network namespace, and what to do once
/// its first process exists, before it may run (connect it to a network,
/// step 28); `init` joins its cgroups before it goes on.
pub struct Launch<'a> {
    pub net: NetNs,
    pub attach: &'a dyn Fn(Pid) -> Result<()>,
}

impl Launch<'_> {
    /// A new, empty network namespace and nothing to attach.
    pub fn isolated() -> Launch<'static> {
        Launch {
            net: NetNs::New,
            attach: &|_| Ok(()),
        }
    }
}

/// Start the container's init, as `run` in the foreground and the monitor
/// of a detached container both do: clone it into its namespaces with the
/// descriptor moves `stdio` (done first) and the channel's, place it in
/// `cgroup`, attach it (its network), then send the spec; the program runs
/// once that is done. A failure on the way kills the half-started init.
/// Returns init's PID and, when the program could not be started, why
/// (init then exits with the failure's code).
pub fn start_container(
    spec: &Spec,
    cgroup: &dyn Cgroup,
    launch: &Launch,
    stdio: &[(RawFd, RawFd)],
) -> Result<(Pid, Option<super::ExecFailure>)> {
    let Prepared {
        mut argv,
        fds: channel_fds,
        sender,
    } = channel::prepare(spec)?;
    let _sealed = seal_init(&mut argv)?;
    let mut fds = stdio.to_vec();
    fds.extend(channel_fds);
    let pid = start(&argv, &fds, &launch.net)?;
    crate::trace::mark("clone");
    let placed = place(spec, cgroup, pid, launch.net.own_user_namespace()).and_then(|spec| {
        crate::trace::mark("cgroup placement");
        (launch.attach)(pid)?;
        crate::trace::mark("network");
        sender.send(&spec)
    });
    match placed {
        Ok(failed) => Ok((pid, failed)),
        Err(e) => {
            abort(pid);
            Err(e)
        }
    }
}

/// Before step 08 `init` gets no spec it could act on before the program
/// runs: `run` moves it into its cgroups (`cgroup.procs`) first.
#[cfg(not(feature = "pipe"))]
fn place(spec: &Spec, cgroup: &dyn Cgroup, pid: Pid, _own_user_ns: bool) -> Result<Spec> {
    cgroup.add_task(pid.as_raw())?;
    Ok(spec.clone())
}

/// From step 08: where the cgroups allow it (v1), `init` moves itself in
/// before anything else, which costs the kernel far less than `run`
/// moving it ([`Cgroup::self_placement`]); `run` still waits for the
/// program to start, so nothing of the container's runs outside them.
/// Elsewhere `run` moves it, and also when init is in a user namespace
/// of its own (a bundle's, step 40): the cgroup files belong to the
/// host's root, over whom init has no rights there.
#[cfg(feature = "pipe")]
fn place(spec: &Spec, cgroup: &dyn Cgroup, pid: Pid, own_user_ns: bool) -> Result<Spec> {
    let tasks = if own_user_ns {
        Vec::new()
    } else {
        cgroup.self_placement()
    };
    if tasks.is_empty() {
        cgroup.add_task(pid.as_raw())?;
    }
    Ok(Spec {
        cgroup_tasks: tasks,
        ..spec.clone()
    })
}

/// Before step 33 `init` runs from `/proc/self/exe`, the host's binary:
/// there is no copy to keep open.
#[cfg(not(feature = "capabilities"))]
fn seal_init(_argv: &mut [CString]) -> Result<Option<std::os::fd::OwnedFd>> {
    Ok(None)
}

/// From step 33 `init` runs from a sealed copy of the binary
/// (CVE-2019-5736, `security::sealed_exe`); the copy stays open until the
/// clone has run it.
#[cfg(feature = "capabilities")]
fn seal_init(argv: &mut [CString]) -> Result<crate::security::sealed_exe::SealedExe> {
    let exe = crate::security::sealed_exe::SealedExe::new()?;
    if let Some(program) = argv.first_mut() {
        *program = exe.path();
    }
    crate::trace::mark("sealed copy");
    Ok(exe)
}

/// Clone `init` (its argument vector is `argv`) into the container's new
/// namespaces (the network namespace as `net` says), handing it the
/// descriptors `fds`.
#[cfg(not(feature = "oci_runtime"))]
fn start(argv: &[CString], fds: &[(RawFd, RawFd)], net: &NetNs) -> Result<Pid> {
    block_forwarded_signals()?;
    let (flags, joins) = net.clone_args()?;
    namespaces::spawn_joining(argv, flags, fds, &joins)
        .context("clone the container process into new namespaces")
}

/// From step 40 a bundle may choose every namespace, a user namespace
/// among them ([`namespaces::Chosen::spawn`] maps it before init runs).
#[cfg(feature = "oci_runtime")]
fn start(argv: &[CString], fds: &[(RawFd, RawFd)], net: &NetNs) -> Result<Pid> {
    block_forwarded_signals()?;
    match net {
        NetNs::Chosen(chosen) => chosen.spawn(argv, fds),
        other => {
            let (flags, joins) = other.net_args();
            Ok(namespaces::spawn_joining(argv, flags, fds, &joins)?)
        }
    }
    .context("clone the container process into new namespaces")
}

/// Wait for the container's first process, forwarding signals to it.
/// Returns its exit code (128+N when killed by signal N).
pub fn wait_forwarding(pid: Pid) -> Result<i32> {
    let set = forwarded_set();
    loop {
        if let Some(code) = reap(pid)? {
            return Ok(code);
        }
        let sig = set.wait().context("wait for a signal")?;
        if sig != Signal::SIGCHLD {
            // The container may already be gone; that is fine.
            let _ = kill(pid, sig);
        }
    }
}

/// Kill and collect a container process that must not go on (setup failed
/// after it was started).
pub fn abort(pid: Pid) {
    let _ = kill(pid, Signal::SIGKILL);
    let _ = namespaces::wait_exit_code(pid);
}
