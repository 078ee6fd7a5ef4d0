//! The monitor of a detached container (step 15), like conmon or
//! containerd's shim: a small process that is the container's parent, so it
//! can wait for it, record its exit code and finish time, and remove its
//! cgroups. `run -d` returns as soon as the container runs; the container
//! never depends on the CLI process.
//!
//! `run -d` forks twice: the first child calls `setsid` (a new session,
//! with no controlling terminal, so closing the terminal sends it no
//! SIGHUP) and forks the monitor, then exits at once; the monitor is thus
//! adopted by init (or the nearest subreaper) and is nobody's zombie. The
//! monitor points its own stdio at /dev/null, so a caller reading `run -d`'s
//! output sees end-of-file when `run` exits, starts the container with
//! stdout and stderr going to `container.log`, and tells `run` over a pipe
//! that the container runs (or why it could not start). From step 36, with
//! `-t`, the monitor holds the container's terminal instead: it logs what
//! the program writes to it and serves `attach` (`terminal::server`).
//!
//! From step 37 the monitor also applies the container's restart policy
//! (`container::restart`): after recording the exit it may wait, then
//! become `mydocker start` of the same container. What it undoes when the
//! container cannot start is its caller's choice ([`Job::undo`]): a new
//! container is discarded whole, a stopped one started again keeps its
//! layer and record.

#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use anyhow::{Context, Result, bail};
use nix::unistd::{ForkResult, setsid};

use super::output::Output;
use super::process;
use super::process::Launch;
use super::rootfs::Rootfs;
use super::spec::Spec;
use super::state::{ContainerInfo, Creation, Status, Store, now};
use super::stdio::Stdio;
use crate::cgroups::Cgroup;

/// What the monitor needs: the container as `run` prepared it.
pub struct Job<'a> {
    pub store: &'a Store,
    pub info: &'a ContainerInfo,
    pub spec: &'a Spec,
    pub cgroup: &'a dyn Cgroup,
    pub rootfs: Option<&'a Rootfs>,
    pub how: &'a Launch<'a>,
    /// The mark of its creation, released once it runs or is removed.
    pub creation: &'a Creation,
    /// What gives back what was made when the container cannot start: for
    /// a new container everything, itself included ([`super::discard`]);
    /// for a stopped container started again (step 37), only what that
    /// start made.
    pub undo: &'a dyn Fn(),
}

/// A monitor that has been forked: from then on it alone owns the
/// container and everything made for it, and removes them when the
/// container cannot start or has ended.
pub struct Forked {
    report: File,
}

impl Forked {
    /// Wait for the monitor's word: the container runs (`None`), its
    /// program could not be started (why: the container is kept, and its
    /// exit recorded), or an error, why the container could not be made
    /// (the monitor has then removed what was made for it).
    pub fn started(self) -> Result<Option<super::ExecFailure>> {
        let mut report = String::new();
        let mut file = self.report;
        file.read_to_string(&mut report)
            .context("read the monitor's report")?;
        if report.starts_with("ok") {
            return Ok(None);
        }
        if let Some(failed) = report.strip_prefix("failed ")
            && let Some((code, message)) = failed.trim_end().split_once(' ')
            && let Ok(code) = code.parse()
        {
            return Ok(Some(super::ExecFailure {
                code,
                message: message.to_string(),
            }));
        }
        if report.is_empty() {
            bail!("the monitor exited before starting the container")
        }
        bail!("{}", report.trim_start_matches("err: ").trim_end())
    }
}

/// Fork the monitor, which starts the container. An error means no
/// monitor exists: what was made is still the caller's to remove.
pub fn fork(job: &Job, stdio: Stdio) -> Result<Forked> {
    let (read, write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("create the monitor's pipe")?;
    // SAFETY: mydocker is single-threaded, so the child may go on running
    // ordinary Rust code.
    match unsafe { nix::unistd::fork() }.context("fork the monitor")? {
        ForkResult::Parent { child } => {
            drop(write);
            let _ = crate::namespaces::wait_exit_code(child);
            Ok(Forked {
                report: File::from(read),
            })
        }
        ForkResult::Child => {
            drop(read);
            let _ = setsid();
            // SAFETY: as above, single-threaded.
            match unsafe { nix::unistd::fork() } {
                Ok(ForkResult::Child) => {
                    let code = monitor(job, File::from(write), stdio);
                    std::process::exit(code)
                }
                _ => std::process::exit(0),
            }
        }
    }
}

/// The monitor's life; returns its exit code.
fn monitor(job: &Job, mut report: File, mut stdio: Stdio) -> i32 {
    let Job {
        store,
        info,
        cgroup,
        rootfs,
        creation,
        undo,
        ..
    } = *job;
    let started = start(job, &mut stdio);
    let (pid, output) = match started {
        Ok((pid, output, failed)) => {
            creation.done();
            // A program that cannot start is still recorded, and its exit
            // (126, 127) below: `run` says why and exits with that code.
            let word = match failed {
                None => "ok\n".to_string(),
                Some(f) => format!("failed {} {}\n", f.code, f.message),
            };
            let _ = report.write_all(word.as_bytes());
            drop(report);
            (pid, output)
        }
        Err(e) => {
            // Cleaned up before `run` hears of it: when `run` exits 125,
            // nothing it made is left.
            undo();
            creation.done();
            let _ = report.write_all(format!("err: {e:#}\n").as_bytes());
            drop(report);
            return 1;
        }
    };
    // The program's output is copied to the log until its pipes close;
    // a terminal's (step 36) reaches the log through `supervise`.
    let log = output.copy_until_closed();
    let code = stdio.supervise(pid, log);
    let _ = cgroup.destroy();
    let released = release_at_exit(rootfs);
    // What it held on the network (an address, a veth, published ports) is
    // given back under the state's lock, in the same change that records
    // the exit: whoever sees it exited (`rm`, waiting for this record) sees
    // it holding nothing, and nothing is given back twice.
    let _ = store.update(&info.name, |i| {
        i.status = Status::Exited;
        i.exit_code = Some(code);
        i.finished = Some(now());
        if released {
            i.layers = None;
        }
        super::release_network::release_network(store.root(), i);
        super::release_network::forget_network(i);
        plan_restart(i, code);
    });
    after_exit(store, &info.name);
    0
}

/// Before step 37 a container that has ended stays so.
#[cfg(not(feature = "lifecycle"))]
fn plan_restart(_info: &mut ContainerInfo, _code: i32) {}

#[cfg(not(feature = "lifecycle"))]
fn after_exit(_store: &Store, _name: &str) {}

/// From step 37 its restart policy may start it again: decided in the
/// same change that records the exit, so nobody sees it exited for good
/// in between (`wait` waits on).
#[cfg(feature = "lifecycle")]
fn plan_restart(info: &mut ContainerInfo, code: i32) {
    super::restart::plan(info, code);
}

/// From step 37, when a restart was planned: the monitor waits (the
/// policy's backoff), then becomes `mydocker start` of the container.
#[cfg(feature = "lifecycle")]
fn after_exit(store: &Store, name: &str) {
    super::restart::after_exit(store, name);
}

/// Before step 21 all containers share one set of layers, so a container
/// gives them up when it ends (as the tutorial's `stop` clears its work
/// directories), and the next container can start.
#[cfg(not(feature = "isolation"))]
fn release_at_exit(rootfs: Option<&Rootfs>) -> bool {
    rootfs.is_some_and(|r| r.release().is_ok())
}

/// From step 21 a container's layers stay on disk until `rm`, as in
/// Docker: stopping loses no data, and a stopped container can be
/// committed. Its mounts (the union, the volumes, the `/etc` files) go when
/// it ends, also as in Docker; `cp` and `commit` mount them again while
/// they work ([`super::mounted_root::mounted_root`]).
#[cfg(feature = "isolation")]
fn release_at_exit(rootfs: Option<&Rootfs>) -> bool {
    if let Some(layers) = rootfs.and_then(|r| r.layers.as_ref()) {
        let _ = layers.unmount_all();
    }
    false
}

/// Point stdio at /dev/null, start the container with its output going
/// to its log ([`super::output`]), and record it as running.
fn start(
    job: &Job,
    stdio: &mut Stdio,
) -> Result<(nix::unistd::Pid, Output, Option<super::ExecFailure>)> {
    let Job {
        store,
        info,
        spec,
        cgroup,
        how,
        ..
    } = *job;
    let null = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .context("open /dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors of this process.
        unsafe { libc::dup2(null.as_raw_fd(), fd) };
    }
    let output = Output::open(store, &info.name)?;
    // Standard output and error are moved first: the channel's descriptor
    // moves come after, so none of them can overwrite the output's.
    // From step 36 with `-t`, init also gets the console socket as stdin.
    let mut moves = output.stdio().to_vec();
    moves.extend(stdio.for_monitor(&store.container_dir(&info.name))?);
    let (pid, failed) = process::start_container(spec, cgroup, how, &moves)?;
    let start_time = crate::proc_stat::process_start_time(pid.as_raw());
    store.update(&info.name, |i| {
        i.status = Status::Running;
        i.pid = Some(pid.as_raw());
        i.pid_start = start_time;
        // (a container started again, from step 37, has no code until
        // it ends again)
        i.exit_code = None;
    })?;
    Ok((pid, output, failed))
}
