//! The one interface over both cgroup designs (step 04): what a backend
//! does, and the file helpers both use. (`mod.rs` chooses the backend.)

use std::io;
use std::path::{Path, PathBuf};

/// What a container may use. `None` leaves the kernel's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    /// Memory limit in bytes (`-m`, step 06).
    pub memory: Option<u64>,
    /// Relative CPU weight in v1 "shares" (`--cpu-shares`, step 07).
    pub cpu_shares: Option<u64>,
    /// CPUs the container may run on, e.g. `0-1,3` (`--cpuset-cpus`, step 07).
    pub cpuset_cpus: Option<String>,
    /// The most tasks (processes and threads) at once (`--pids-limit`,
    /// step 35); 0 or less: no limit (`max`), as Docker.
    #[cfg(feature = "hardening")]
    #[serde(default)]
    pub pids_limit: Option<i64>,
    /// From step 40: the further limits a bundle's `linux.resources` may
    /// ask for.
    #[cfg(feature = "oci_runtime")]
    #[serde(default)]
    pub more: More,
}

/// The runtime-spec's limits beyond `run`'s flags (step 40,
/// `linux.resources.cpu` and `.memory`; the kernel's files are named in
/// each backend). `None` leaves the kernel's default.
#[cfg(feature = "oci_runtime")]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct More {
    /// CPU time per period, in microseconds (`cpu.quota`; -1: no limit).
    pub cpu_quota: Option<i64>,
    /// The period of the quota, in microseconds (`cpu.period`).
    pub cpu_period: Option<u64>,
    /// Real-time CPU time per real-time period, in microseconds.
    pub cpu_realtime_runtime: Option<i64>,
    /// The real-time period, in microseconds.
    pub cpu_realtime_period: Option<u64>,
    /// Memory nodes the container may use, e.g. `0-1` (`cpu.mems`).
    pub cpuset_mems: Option<String>,
    /// Soft memory limit in bytes (`memory.reservation`).
    pub memory_reservation: Option<i64>,
    /// Memory plus swap, in bytes (`memory.swap`; -1: no limit).
    pub memory_swap: Option<i64>,
}

impl Resources {
    /// Before step 35 there is no `--pids-limit`.
    #[cfg(not(feature = "hardening"))]
    pub fn pids_max(&self) -> Option<String> {
        None
    }

    /// The value for `pids.max` (the file has the same name and meaning in
    /// v1 and v2): the limit, or `max` for none.
    #[cfg(feature = "hardening")]
    pub fn pids_max(&self) -> Option<String> {
        self.pids_limit.map(|n| match n {
            n if n > 0 => n.to_string(),
            _ => "max".to_string(),
        })
    }
}

/// A cgroup operation that failed, naming the file and the cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cgroup {op} {path}: {err}")]
    Io {
        op: &'static str,
        path: PathBuf,
        err: io::Error,
    },
    #[error("no usable cgroup hierarchy: {0}")]
    NoHierarchy(String),
}

/// The device allowlist could not be written (step 35).
#[cfg(feature = "hardening")]
impl From<crate::devices::Error> for Error {
    fn from(e: crate::devices::Error) -> Error {
        Error::Io {
            op: e.op,
            path: e.path,
            err: e.err,
        }
    }
}

/// Build an [`Error::Io`] for `op` on `path`.
pub(crate) fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |err| Error::Io {
        op,
        path: path.to_path_buf(),
        err,
    }
}

/// Write `value` to the cgroup file `dir/file`.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), Error> {
    let path = dir.join(file);
    std::fs::write(&path, value).map_err(|err| Error::Io {
        op: "write",
        path: path.clone(),
        err,
    })
}

/// Remove a cgroup directory. The kernel refuses while the last task is still
/// leaving it (EBUSY), usually for well under a millisecond, so retry with a
/// short, growing pause, for at most about a second. A missing directory is
/// fine.
pub(crate) fn remove_dir(dir: &Path) -> Result<(), Error> {
    let mut pause = std::time::Duration::from_micros(50);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(10));
            }
            Err(err) => {
                return Err(Error::Io {
                    op: "remove",
                    path: dir.to_path_buf(),
                    err,
                });
            }
        }
    }
}

/// Where one container's cgroups are to be made, whatever the design
/// underneath. Nothing exists until [`Manager::create`], which returns the
/// cgroups it made, and where: a v2 cgroup may have to go elsewhere than
/// planned (see `v2.rs`), so their paths are known only then.
pub trait Manager {
    /// Every directory [`Manager::create`] may make (v2 may fall back from
    /// the caller's cgroup to the top of the tree), known before anything
    /// is made: recorded first, so that whatever a crash leaves is found
    /// and removed ([`remove_paths`] skips those that do not exist).
    fn candidates(&self) -> Vec<PathBuf>;

    /// Create the cgroup directories. A failure part way removes what was
    /// made.
    fn create(self: Box<Self>) -> Result<Box<dyn Cgroup>, Error>;
}

/// One container's cgroups, made.
pub trait Cgroup {
    /// Write the limits.
    fn apply(&self, resources: &Resources) -> Result<(), Error>;
    /// Move process `pid` into the container's cgroups.
    fn add_task(&self, pid: i32) -> Result<(), Error>;
    /// The files a single-threaded process writes `0` to in order to move
    /// itself into the container's cgroups, cheaply; empty when only
    /// [`Cgroup::add_task`] can. Moving a whole process (`cgroup.procs`)
    /// takes the kernel's global `cgroup_threadgroup_rwsem` for writing,
    /// which waits for an RCU grace period (5 to 15 ms on a loaded
    /// machine); a thread moving itself through v1's `tasks` file skips
    /// that lock (`cgroup_procs_write_start` in `kernel/cgroup/cgroup.c`).
    /// `init` is one thread, so moving it moves the process.
    fn self_placement(&self) -> Vec<PathBuf>;
    /// Remove the directories (all tasks must have exited).
    fn destroy(&self) -> Result<(), Error>;
    /// The directories, one per hierarchy.
    fn paths(&self) -> Vec<PathBuf>;
    /// Let the container open and make only the devices `policy` allows
    /// (step 35): the `devices` controller's files in v1, an eBPF program
    /// attached to the cgroup in v2 (see `crate::devices`).
    #[cfg(feature = "hardening")]
    fn restrict_devices(&self, policy: &crate::devices::Policy) -> Result<(), Error>;
}

/// Kill (SIGKILL) every process left in the cgroup directories `paths`
/// (missing ones are skipped), and wait until none is left, at most a
/// second: what a container's cgroups hold once its record says it has
/// ended can only be what a crash left there (a first process whose
/// monitor died before recording it), and the directories cannot be
/// removed while they hold it. cgroup v2's `cgroup.kill` (Linux 5.14) does
/// it at once; elsewhere each PID of `cgroup.procs` is killed, again until
/// the file is empty (a process may fork while its siblings are killed).
/// As runc's `kill --all`.
pub fn kill_all(paths: &[PathBuf]) -> Result<(), Error> {
    use nix::sys::signal::{Signal, kill};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    for dir in paths.iter().filter(|d| d.is_dir()) {
        let cgroup_kill = dir.join("cgroup.kill");
        if cgroup_kill.is_file() {
            write_file(dir, "cgroup.kill", "1")?;
        }
        loop {
            let procs = match std::fs::read_to_string(dir.join("cgroup.procs")) {
                Ok(procs) => procs,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(err) => {
                    return Err(Error::Io {
                        op: "read",
                        path: dir.join("cgroup.procs"),
                        err,
                    });
                }
            };
            let pids: Vec<i32> = procs
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect();
            if pids.is_empty() || std::time::Instant::now() >= deadline {
                break;
            }
            for pid in pids {
                let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    Ok(())
}

/// Remove cgroup directories recorded earlier (missing ones are fine).
pub fn remove_paths(paths: &[PathBuf]) -> Result<(), Error> {
    for dir in paths {
        remove_dir(dir)?;
    }
    Ok(())
}

/// Move `pid` into each of the cgroup directories `paths` (how `exec` joins a
/// running container's cgroups).
/// Directories of `paths` that do not exist are skipped: they are the
/// candidates [`Manager::create`] did not use.
pub fn join(paths: &[PathBuf], pid: i32) -> Result<(), Error> {
    for dir in paths.iter().filter(|d| d.is_dir()) {
        write_file(dir, "cgroup.procs", &pid.to_string())?;
    }
    Ok(())
}
