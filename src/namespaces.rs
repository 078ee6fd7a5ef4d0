//! Namespaces (step 03, `man 7 namespaces`): each gives a process its own
//! view of one kind of global resource.
//!
//! - **UTS**: hostname and domain name; `sethostname` inside changes nothing
//!   outside.
//! - **PID**: a new numbering; the first process is PID 1 and, like init,
//!   ignores signals it has no handler for. When it dies the kernel kills
//!   every other process in the namespace.
//! - **mount**: a copy of the mount table. Mounts made inside stay inside
//!   only if propagation is private (see the init process, step 05).
//! - **IPC**: System V IPC objects and POSIX message queues.
//! - **network**: interfaces, routes, iptables. A new one holds only `lo`,
//!   down.
//! - **user**: uid and gid mappings. Docker-style `run` leaves containers
//!   in the host's; from step 40 a bundle may ask for one of its own
//!   ([`UserMaps`]): its root is then an ordinary user outside.
//!
//! A process enters new namespaces when it is created, with `clone(2)` and
//! `CLONE_NEW*` flags. A PID namespace applies only to children, so the
//! container's first process must be created by `clone`, not by `unshare`
//! in place. [`spawn`] does that and immediately `execve`s a program.

#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char};
use std::os::fd::RawFd;

use nix::sched::CloneFlags;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// The namespaces every container gets: UTS, PID, mount, IPC and network.
pub fn container_flags() -> CloneFlags {
    CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET
}

/// Create a process in the namespaces `flags` that runs `argv` (the first
/// element is the program's path). `fds` lists `(source, target)` pairs:
/// each source is duplicated onto the target descriptor in the child before
/// the program starts (the targets survive `execve`, everything else marked
/// close-on-exec does not). Returns the child's PID as seen from here.
pub fn spawn(argv: &[CString], flags: CloneFlags, fds: &[(RawFd, RawFd)]) -> nix::Result<Pid> {
    spawn_joining(argv, flags, fds, &[])
}

/// As [`spawn`], and the child first joins the existing namespaces
/// `joins`, in order: each an open `/proc/PID/ns/KIND` and its
/// `CLONE_NEW*` kind (the network namespace of `--net container:NAME`,
/// step 28; any of a bundle's, step 40). A PID namespace cannot be
/// joined this way (`setns` of one applies to the caller's children).
pub fn spawn_joining(
    argv: &[CString],
    flags: CloneFlags,
    fds: &[(RawFd, RawFd)],
    joins: &[(RawFd, libc::c_int)],
) -> nix::Result<Pid> {
    spawn_waiting(argv, flags, fds, joins, None)
}

/// As [`spawn_joining`]; with `wait`, the child, once in its namespaces,
/// blocks reading one byte from that descriptor (the read end of a pipe
/// the caller writes to when it has set the child up) and then becomes
/// root of its user namespace (gid, groups, uid all 0) before it execs:
/// the capabilities a process has in a user namespace it made or joined
/// survive `execve` only if it is root there. EOF instead of the byte:
/// it exits with 125 without running anything.
fn spawn_waiting(
    argv: &[CString],
    flags: CloneFlags,
    fds: &[(RawFd, RawFd)],
    joins: &[(RawFd, libc::c_int)],
    wait: Option<RawFd>,
) -> nix::Result<Pid> {
    // Everything the child touches is prepared here: between clone and exec
    // the child must not allocate (another thread of this process may have
    // held the allocator's lock at the moment of the clone).
    let program: &CStr = argv.first().ok_or(nix::Error::EINVAL)?;
    let mut ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let fds = fds.to_vec();
    let joins = joins.to_vec();
    // Filled in the child (its own copy of this memory): no allocation
    // there.
    let mut temps: Vec<RawFd> = vec![-1; fds.len()];
    let above = fds.iter().map(|&(_, d)| d).max().unwrap_or(0) + 1;
    let mut stack = vec![0u8; 256 * 1024];

    let child = Box::new(move || -> isize {
        for &(ns, kind) in &joins {
            // SAFETY: setns on a descriptor the parent opened for this.
            if unsafe { libc::setns(ns, kind) } != 0 {
                return 125;
            }
        }
        if let Some(fd) = wait {
            let mut byte = 0u8;
            // SAFETY: a one-byte read into a local; setresgid, setgroups
            // and setresuid take plain integers (no list for setgroups).
            let ready = unsafe {
                libc::read(fd, (&raw mut byte).cast(), 1) == 1
                    && libc::setresgid(0, 0, 0) == 0
                    && libc::setgroups(0, std::ptr::null()) == 0
                    && libc::setresuid(0, 0, 0) == 0
            };
            if !ready {
                return 125;
            }
        }
        // Two passes, so that a move never overwrites the source of a
        // later one (a source may be numbered like another's target): each
        // source is first copied to a free number above every target
        // (F_DUPFD takes the lowest free one, so no other descriptor, such
        // as init's sealed executable, is touched), then moved to its
        // target (dup2 leaves the copy without FD_CLOEXEC, so it survives
        // exec).
        for (&(src, _), temp) in fds.iter().zip(temps.iter_mut()) {
            // SAFETY: plain descriptor duplication in the new process.
            *temp = unsafe { libc::fcntl(src, libc::F_DUPFD_CLOEXEC, above) };
            if *temp < 0 {
                return 125;
            }
        }
        for (&(_, dst), &temp) in fds.iter().zip(temps.iter()) {
            // SAFETY: as above; the temporary copy is closed after.
            if unsafe { libc::dup2(temp, dst) } < 0 {
                return 125;
            }
            // SAFETY: closing a descriptor this process made just above.
            unsafe { libc::close(temp) };
        }
        // SAFETY: `program` and `ptrs` are NUL-terminated and outlive the
        // call; execv only returns on failure.
        unsafe { libc::execv(program.as_ptr(), ptrs.as_ptr()) };
        127
    });
    // SAFETY: the child gets a copy of this address space (no CLONE_VM) and
    // its own stack; it only runs the closure above, which execs or exits.
    unsafe { nix::sched::clone(child, &mut stack, flags, Some(libc::SIGCHLD)) }
}

/// Wait for `pid` and turn its end into an exit code: its own code, or
/// 128+N when a signal N killed it.
pub fn wait_exit_code(pid: Pid) -> nix::Result<i32> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                return Ok(crate::exit_code::signal_exit_code(sig as i32));
            }
            Ok(_) => continue,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The identity of one of this process's namespaces (`/proc/self/ns/KIND`),
/// e.g. `uts:[4026531838]`.
pub fn own_namespace(kind: &str) -> std::io::Result<String> {
    std::fs::read_link(format!("/proc/self/ns/{kind}")).map(|p| p.display().to_string())
}

/// A container's namespaces chosen one by one (step 40: a bundle's
/// `linux.namespaces`): the kinds to make new (`CLONE_NEW*`), and existing
/// ones to join, each an open `/proc/PID/ns/KIND` (or a bind mount of
/// one) and its kind. A kind in neither is the caller's, as runc does.
#[cfg(feature = "oci_runtime")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub new: CloneFlags,
    /// At most one per kind; user first (it decides what the others may
    /// do), PID handled by [`Chosen::clone_args`].
    pub join: [Option<(RawFd, CloneFlags)>; 8],
    /// The mappings of a new user namespace (`new` has `CLONE_NEWUSER`).
    pub maps: UserMaps,
}

/// One line of `/proc/PID/uid_map` or `gid_map` (`man 7
/// user_namespaces`): ids `inside..inside+count` in the namespace are
/// `outside..outside+count` in its parent.
#[cfg(feature = "oci_runtime")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// A new user namespace's uid and gid mappings. The kernel takes each
/// file once, written by a process with `CAP_SETUID`/`CAP_SETGID` over
/// the ids in the parent namespace: the runtime (root) writes both for
/// init, as runc does, so `setgroups` need not be denied.
#[cfg(feature = "oci_runtime")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserMaps {
    pub uid: Vec<IdRange>,
    pub gid: Vec<IdRange>,
}

#[cfg(feature = "oci_runtime")]
impl UserMaps {
    /// Write both maps of `pid`'s user namespace (one `write`, as the
    /// kernel requires: `INSIDE OUTSIDE COUNT` per line).
    pub fn write(&self, pid: Pid) -> std::io::Result<()> {
        let text = |list: &[IdRange]| -> String {
            list.iter()
                .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
                .collect()
        };
        std::fs::write(format!("/proc/{pid}/uid_map"), text(&self.uid))?;
        std::fs::write(format!("/proc/{pid}/gid_map"), text(&self.gid))
    }
}

#[cfg(feature = "oci_runtime")]
impl Chosen {
    /// The flags for `clone` and what the child joins. A PID namespace to
    /// join is entered by the caller here, before the clone: `setns` of
    /// one only decides where the caller's later children go
    /// (`pid_for_children`), which is what the container's init must be.
    /// A new cgroup namespace is left out: it is rooted at the cgroups its
    /// maker is in at that moment, so init makes it (`unshare`) once it is
    /// in the container's, as runc does (`Spec::cgroup_ns`); one to join
    /// is joined here like the others.
    pub fn clone_args(&self) -> anyhow::Result<(CloneFlags, Vec<(RawFd, libc::c_int)>)> {
        let mut joins = Vec::new();
        for (fd, kind) in self.join.into_iter().flatten() {
            if kind == CloneFlags::CLONE_NEWPID {
                nix::sched::setns(
                    // SAFETY: the descriptor stays open until the clone.
                    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
                    kind,
                )
                .map_err(|e| anyhow::anyhow!("join the PID namespace: {e}"))?;
            } else {
                joins.push((fd, kind.bits()));
            }
        }
        Ok((self.new - CloneFlags::CLONE_NEWCGROUP, joins))
    }

    /// Clone `argv` into these namespaces as [`spawn_joining`] does. In a
    /// new user namespace the child waits until its maps are written
    /// here, then becomes root there and execs; a map the kernel refuses
    /// ends the child and is the error.
    pub fn spawn(&self, argv: &[CString], fds: &[(RawFd, RawFd)]) -> anyhow::Result<Pid> {
        use anyhow::Context;
        use std::os::fd::AsRawFd;
        let (flags, joins) = self.clone_args()?;
        if !flags.contains(CloneFlags::CLONE_NEWUSER) {
            return spawn_joining(argv, flags, fds, &joins).context("clone");
        }
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let pid =
            spawn_waiting(argv, flags, fds, &joins, Some(read.as_raw_fd())).context("clone")?;
        drop(read);
        let mapped = self
            .maps
            .write(pid)
            .context("linux.uidMappings/gidMappings: write the user namespace's maps")
            .and_then(|()| {
                nix::unistd::write(&write, b"1").context("wake init")?;
                Ok(())
            });
        if mapped.is_err() {
            drop(write);
            let _ = wait_exit_code(pid);
        }
        mapped.map(|()| pid)
    }
}

#[cfg(feature = "oci_runtime")]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_cgroup_namespace_is_left_to_init_and_the_others_are_cloned() {
        let chosen = Chosen {
            new: CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWCGROUP,
            join: [None; 8],
            maps: UserMaps::default(),
        };
        let (flags, joins) = chosen.clone_args().unwrap();
        assert_eq!(flags, CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID);
        assert!(joins.is_empty());
    }
}
