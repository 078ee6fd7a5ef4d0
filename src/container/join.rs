//! Joining a running container (step 18): how one more process gets inside
//! namespaces and cgroups that another process made.
//!
//! Every namespace of a process is a file, `/proc/PID/ns/KIND` (`man 7
//! namespaces`). Opening it holds the namespace; `setns(fd, CLONE_NEW...)`
//! (`man 2 setns`) moves the calling thread into it. The order matters:
//!
//! - all files are opened first, while the host's `/proc` is still this
//!   process's: joining the mount namespace changes `/`, and the
//!   container's `/proc` shows its own PIDs, not the host's;
//! - the mount namespace is joined last, for the same reason (and the
//!   working directory, still the host's, is moved to the new `/`);
//! - joining a PID namespace changes nothing for the caller, only for the
//!   children it forks afterwards (`man 7 pid_namespaces`), so the caller
//!   forks once it has joined;
//! - `setns` needs a single-threaded process for the user and mount
//!   namespaces, which mydocker is.
//!
//! Cgroups are joined by writing the PID to each cgroup's `cgroup.procs`:
//! those files too are opened before the mount namespace hides the host's
//! `/sys/fs/cgroup`, and written by the forked child, which moves only
//! itself.
//!
//! A namespace the caller already shares (`run --net host` keeps the
//! host's network) is left alone: joining it would change nothing, and
//! joining one's own user namespace is refused (`EINVAL`).
//!
//! Step 18's `exec` joins the IPC, UTS, network, PID and mount namespaces
//! `run` makes. From step 40 the OCI runtime's `exec` also joins a user
//! namespace (first: it grants the rights to join the others) and a
//! cgroup namespace, which a bundle's config.json may ask for.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use nix::sched::CloneFlags;

use crate::syscall::{Linux, Syscall};

/// The namespaces a process joins (their names under `/proc/PID/ns`), in
/// the order it joins them: the mount namespace last.
#[cfg(not(feature = "oci_runtime"))]
pub const NAMESPACES: [(&str, CloneFlags); 5] = [
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// From step 40 (the OCI runtime, whose bundles may ask for them): also
/// the user namespace, first (it grants the rights to join the others),
/// and the cgroup namespace.
#[cfg(feature = "oci_runtime")]
pub const NAMESPACES: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// A container's namespaces that differ from the caller's, open, in
/// [`NAMESPACES`]' order, and not joined yet.
#[derive(Debug)]
pub struct Namespaces {
    open: Vec<(&'static str, CloneFlags, File)>,
}

/// A container's mount namespace, open (none when the caller shares it),
/// to join after the others.
#[derive(Debug)]
pub struct MountNamespace {
    open: Option<File>,
}

/// Open the namespaces of the process `pid` (a host PID) that differ from
/// this process's. Errors name the `/proc` file that could not be opened
/// (the process has gone: `ENOENT`). The caller should then check that
/// `pid` still is the container's: the files were found by PID.
pub fn open(pid: i32) -> Result<Namespaces> {
    let mut open = Vec::new();
    for (kind, flag) in NAMESPACES {
        let path = format!("/proc/{pid}/ns/{kind}");
        let theirs = File::open(&path).with_context(|| format!("open {path}"))?;
        let ours = std::fs::metadata(format!("/proc/self/ns/{kind}"))
            .with_context(|| format!("stat /proc/self/ns/{kind}"))?;
        let same = theirs
            .metadata()
            .is_ok_and(|m| m.ino() == ours.ino() && m.dev() == ours.dev());
        if !same {
            open.push((kind, flag, theirs));
        }
    }
    Ok(Namespaces { open })
}

impl Namespaces {
    /// Join them all, the mount namespace last, and move to its `/`.
    pub fn join(self) -> Result<()> {
        self.join_all_but_mount()?.join()
    }

    /// Join all but the mount namespace, which is returned to join later
    /// (the OCI runtime's `exec` keeps the host's paths until it forks: its
    /// `--pid-file` is a host path).
    pub fn join_all_but_mount(self) -> Result<MountNamespace> {
        let mut mount = None;
        for (kind, flag, file) in self.open {
            if flag == CloneFlags::CLONE_NEWNS {
                mount = Some(file);
                continue;
            }
            Linux
                .setns(&file, flag)
                .with_context(|| format!("join the container's {kind} namespace"))?;
        }
        Ok(MountNamespace { open: mount })
    }
}

impl MountNamespace {
    /// Join it and make its `/` the working directory.
    pub fn join(self) -> Result<()> {
        if let Some(file) = self.open {
            Linux
                .setns(&file, CloneFlags::CLONE_NEWNS)
                .context("join the container's mnt namespace")?;
        }
        nix::unistd::chdir("/").context("chdir to the container's root")
    }
}

/// The container's cgroups, their `cgroup.procs` open for writing.
#[derive(Debug)]
pub struct Cgroups {
    procs: Vec<File>,
}

/// Open `cgroup.procs` in each of the container's cgroup directories
/// `dirs` (host paths). Errors name the file.
pub fn open_cgroups(dirs: &[PathBuf]) -> Result<Cgroups> {
    let procs = dirs
        .iter()
        .map(|dir| {
            let path = dir.join("cgroup.procs");
            OpenOptions::new()
                .write(true)
                .open(&path)
                .with_context(|| format!("open {}", path.display()))
        })
        .collect::<Result<_>>()?;
    Ok(Cgroups { procs })
}

impl Cgroups {
    /// Move the calling process into every cgroup (in the forked child).
    pub fn enter(self) -> Result<()> {
        let me = std::process::id().to_string();
        for mut f in self.procs {
            f.write_all(me.as_bytes())
                .context("join the container's cgroup")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process shares every namespace with itself: nothing to join.
    #[test]
    fn own_namespaces_are_left_alone() {
        let pid = i32::try_from(std::process::id()).unwrap();
        assert!(open(pid).unwrap().open.is_empty());
        assert!(open(-1).unwrap_err().to_string().contains("/proc/-1/ns/"));
    }
}
