//! What the OCI front end remembers of a container (step 40), under its
//! own `--root` (default [`DEFAULT_ROOT`]): one directory per ID holding
//! `state.json` and, until `start`, the start FIFO.
//!
//! The status is never stored; it is found each time, so it is never stale
//! (the runtime-spec's four statuses):
//!
//! - `creating`: the directory exists, no process is recorded yet;
//! - `created`: the process lives and the FIFO is still there;
//! - `running`: the process lives and the FIFO is gone (`start` removed it);
//! - `paused`: running, and its cgroup is frozen (`pause`, [`super::freezer`]);
//! - `stopped`: the recorded process (same PID *and* start time, so never a
//!   stranger that reused the PID) has ended, or is a zombie its parent
//!   has not reaped yet.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::container::exec_fifo;

/// Where state is kept without `--root` (runc's is `/run/runc`).
pub const DEFAULT_ROOT: &str = "/run/mydocker-runc";

/// One container's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The bundle's absolute path.
    pub bundle: PathBuf,
    /// The root filesystem's absolute path.
    pub rootfs: PathBuf,
    /// The configuration's `ociVersion`.
    pub oci_version: String,
    /// The container's first process, once it exists.
    pub pid: Option<i32>,
    /// Its start time (`/proc/PID/stat` field 22).
    pub pid_start: Option<u64>,
    /// When `create` made it, RFC 3339.
    pub created: String,
    /// Its cgroup directories, one per hierarchy.
    pub cgroups: Vec<PathBuf>,
    /// The configuration's annotations, which `state` repeats.
    #[serde(default)]
    pub annotations: std::collections::HashMap<String, String>,
    /// The hooks the runtime runs itself, as `create` read them.
    #[serde(default)]
    pub hooks: super::hooks::Hooks,
    /// The container shares the caller's mount namespace, where init
    /// made its mounts (on a bind of the root onto itself): `delete`
    /// detaches that bind and everything on it.
    #[serde(default)]
    pub callers_mounts: bool,
}

/// The runtime-spec's statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The state directory, `--root`.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    pub fn new(dir: &Path) -> Root {
        Root {
            dir: dir.to_path_buf(),
        }
    }

    /// A container's directory. IDs are checked before ([`check_id`]).
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    pub fn fifo(&self, id: &str) -> PathBuf {
        self.dir(id).join(exec_fifo::NAME)
    }

    /// Make a new container's directory; an ID in use is refused.
    pub fn make(&self, id: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("create the state directory {}", self.dir.display()))?;
        let dir = self.dir(id);
        match std::fs::create_dir(&dir) {
            Ok(()) => Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                bail!("container {id} already exists")
            }
            Err(e) => Err(e).with_context(|| format!("create {}", dir.display())),
        }
    }

    pub fn save(&self, record: &Record) -> Result<()> {
        let path = self.dir(&record.id).join("state.json");
        crate::atomic_file::write_atomic(&path, &serde_json::to_vec(record)?)
            .with_context(|| format!("write {}", path.display()))
    }

    /// The record of `id`; an unknown ID is an error that says so.
    pub fn load(&self, id: &str) -> Result<Record> {
        check_id(id)?;
        let path = self.dir(id).join("state.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                bail!("container {id} does not exist")
            }
            Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
        };
        serde_json::from_slice(&text).with_context(|| format!("decode {}", path.display()))
    }

    /// The status, found now.
    pub fn status(&self, record: &Record) -> Status {
        match (record.pid, record.pid_start) {
            (Some(pid), Some(start)) => {
                if crate::proc_stat::live_start_time(pid) != Some(start) {
                    Status::Stopped
                } else if self.fifo(&record.id).exists() {
                    Status::Created
                } else if super::freezer::frozen(&record.cgroups) {
                    Status::Paused
                } else {
                    Status::Running
                }
            }
            _ => Status::Creating,
        }
    }

    /// Every container's record, by ID; directories without a readable
    /// record (one being created or removed) are skipped.
    pub fn all(&self) -> Result<Vec<Record>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("read {}", self.dir.display())),
        };
        let mut records: Vec<Record> = entries
            .flatten()
            .filter_map(|e| self.load(&e.file_name().to_string_lossy()).ok())
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(records)
    }

    /// Forget a container: remove its directory.
    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("remove {}", dir.display())),
        }
    }
}

/// A container ID must be a plain name: it becomes a directory name.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
    if !ok {
        bail!("invalid container ID {id:?}: use letters, digits, '_', '-', '.' and '+'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_leave_the_state_directory_are_refused() {
        for bad in ["", ".", "..", "a/b", "../x", "a b"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        for good in ["abc", "0123456789abcdef", "my_ctr-1.2+3"] {
            check_id(good).unwrap();
        }
    }
}
