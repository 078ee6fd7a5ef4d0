//! A container's recorded state (step 15): `<root>/containers/<name>/`
//! holds `config.json` (this [`ContainerInfo`]) and, for a detached
//! container, `container.log`.
//!
//! Every change is made under one lock (`<root>/containers/.lock`, an
//! `flock`) and written atomically (temporary file, fsync, rename), so two
//! commands at once never interleave and a crash never leaves a torn file.
//! A file that is broken anyway (truncated, garbage) is reported for that
//! container alone; the others are still listed.
//!
//! A container being made is marked by a second lock, `creating.lock` in
//! its directory, held from the moment its state is recorded until its
//! process is recorded (or what was made is removed): `rm` waits for it,
//! so it never removes a container under the process still making it
//! (Docker's daemon holds a lock per container for the same reason). From
//! step 37 `start` takes the same mark while it makes a stopped container
//! again ([`Store::begin_start`]).
//!
//! A container's process is named by its PID **and** that process's start
//! time (`/proc/PID/stat` field 22). A PID the kernel has since given to
//! another process is therefore never taken for the container: it is never
//! signalled or entered, and the container shows as exited.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::fs::temporaries::{self, Temporary};
use crate::names;

/// The prefix of a container directory being deleted (no container name
/// starts with a dot, so listings skip it).
const REMOVING: &str = ".removing-";

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being set up; no process yet.
    #[default]
    Created,
    Running,
    Exited,
}

impl Status {
    /// Its name as `ps --format json`, `inspect` and Docker's filters
    /// spell it: `created`, `running`, `exited`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

/// Everything recorded about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    /// The command and its arguments, as given.
    pub command: Vec<String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub status: Status,
    /// The container's first process, as seen from the host.
    pub pid: Option<i32>,
    /// Its start time in clock ticks since boot.
    pub pid_start: Option<u64>,
    pub exit_code: Option<i32>,
    /// Seconds since the epoch.
    pub finished: Option<u64>,
    /// Started with `-d` (kept after it exits, until `rm`).
    pub detached: bool,
    /// Its cgroup directories.
    pub cgroups: Vec<PathBuf>,
    /// Where its layers live (`upper`, `work`, `merged` below it).
    pub layers: Option<PathBuf>,
    /// The `-v` options, as given.
    pub volumes: Vec<String>,
    /// Its hostname (its ID unless `--hostname`, step 24).
    #[serde(default)]
    pub hostname: String,
    /// The environment of its first process (`-e`, step 24).
    #[serde(default)]
    pub env: Vec<String>,
    /// Its network mode (`--net`, step 27).
    #[cfg(feature = "net-modes")]
    #[serde(default)]
    pub net: Option<String>,
    /// The bridge network it is on (step 28).
    #[cfg(feature = "net-bridge")]
    #[serde(default)]
    pub network: Option<String>,
    /// Its address on that network.
    #[cfg(feature = "net-bridge")]
    #[serde(default)]
    pub ip: Option<std::net::Ipv4Addr>,
    /// The host's end of its veth pair.
    #[cfg(feature = "net-bridge")]
    #[serde(default)]
    pub veth: Option<String>,
    /// Published ports, host to container (`-p`, step 31).
    #[cfg(feature = "network")]
    #[serde(default)]
    pub ports: Vec<(u16, u16)>,
    /// Its capabilities and no_new_privs (step 33), which `exec` applies too.
    #[cfg(feature = "capabilities")]
    #[serde(default)]
    pub security: crate::security::Profile,
    /// The user its processes run as (`-u`, step 35), which `exec` takes
    /// unless `exec -u` names another; `None`: root.
    #[cfg(feature = "hardening")]
    #[serde(default)]
    pub user: Option<crate::security::user::User>,
    /// The arguments `run` was given after its verb, as typed (step 37):
    /// `start` reads them again to make the container's configuration.
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub run_args: Vec<String>,
    /// `--restart` (step 37).
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub restart: super::restart::Policy,
    /// How many times its policy has started it again (step 37).
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub restart_count: u32,
    /// Its monitor waits to start it again under its policy (step 37).
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub restarting: bool,
    /// The user stopped it (`stop`, `kill`, `rm -f`): its policy does not
    /// start it again, until `start` (step 37).
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub manually_stopped: bool,
    /// `run -d --rm`: its monitor removes it once its exit is recorded
    /// (step 37; Docker's HostConfig.AutoRemove).
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub auto_remove: bool,
    /// When its program was last started, seconds since the epoch (step 37).
    #[cfg(feature = "lifecycle")]
    #[serde(default)]
    pub started: Option<u64>,
    /// The image's manifest digest at `run` (step 38): `rmi` refuses an
    /// image a container was made from.
    #[cfg(feature = "oci_image")]
    #[serde(default)]
    pub image_manifest: String,
    /// The digests of the layers it stands on, bottom first (step 38):
    /// they stay in the store while it exists, whatever becomes of the
    /// image's name.
    #[cfg(feature = "oci_image")]
    #[serde(default)]
    pub image_layers: Vec<String>,
}

/// The largest `config.json` read (64 MiB): far more than any command line
/// the kernel accepts (its argument limit is a quarter of the stack limit,
/// 2 MiB by default); a larger file is reported broken, never read whole.
pub const MAX_STATE_BYTES: u64 = 64 << 20;

/// A failed state operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Name(#[from] names::InvalidName),
    #[error("no such container: {0}")]
    NotFound(String),
    #[error("container name {0:?} is already in use")]
    NameInUse(String),
    #[error("{0:?} matches more than one container ID")]
    Ambiguous(String),
    #[error("container {name}: broken state file {path}: {reason}")]
    Broken {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("container {0} is still being made after 30 s; try again later")]
    StillCreating(String),
    #[cfg(feature = "lifecycle")]
    #[error("container {0} is being started by another command")]
    BeingStarted(String),
    #[error("{what} {path}: {err}")]
    Io {
        what: &'static str,
        path: PathBuf,
        err: std::io::Error,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |err| Error::Io {
        what,
        path: path.to_path_buf(),
        err,
    }
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ContainerInfo {
    /// Is the recorded process still this container's (same PID, same
    /// start time) and still running (not a zombie waiting to be reaped)?
    pub fn is_alive(&self) -> bool {
        match (self.pid, self.pid_start) {
            (Some(pid), Some(start)) => crate::proc_stat::live_start_time(pid) == Some(start),
            _ => false,
        }
    }

    /// The status as it really is: a container recorded as running whose
    /// process is gone has exited, whatever the file says.
    pub fn current_status(&self) -> Status {
        match self.status {
            Status::Running if !self.is_alive() => Status::Exited,
            s => s,
        }
    }

    /// The status as `ps` prints it: `running`, `exited (3)`, `created`.
    #[cfg(not(feature = "lifecycle"))]
    pub fn status_text(&self) -> String {
        self.plain_status_text()
    }

    /// From step 37 also `restarting (3)`: exited with 3, and its monitor
    /// waits to start it again under its restart policy.
    #[cfg(feature = "lifecycle")]
    pub fn status_text(&self) -> String {
        match (self.restarting, self.exit_code) {
            (true, Some(code)) if self.current_status() == Status::Exited => {
                format!("restarting ({code})")
            }
            _ => self.plain_status_text(),
        }
    }

    /// The state's name as Docker's `State.Status` and `ps --filter
    /// status=` spell it (step 37): `restarting` while its monitor waits
    /// to start it again under its restart policy, else `created`,
    /// `running` or `exited`.
    #[cfg(feature = "lifecycle")]
    pub fn docker_status(&self) -> &'static str {
        match self.current_status() {
            Status::Exited if self.restarting => "restarting",
            s => s.as_str(),
        }
    }

    fn plain_status_text(&self) -> String {
        match self.current_status() {
            Status::Created => "created".into(),
            Status::Running => "running".into(),
            Status::Exited => match self.exit_code {
                Some(code) => format!("exited ({code})"),
                None => "exited (unknown)".into(),
            },
        }
    }

    /// The PID, while the container runs.
    pub fn live_pid(&self) -> Option<i32> {
        if self.is_alive() { self.pid } else { None }
    }
}

/// The containers of one root.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The held state lock; released when dropped.
pub struct Lock(#[allow(dead_code)] Flock<File>);

/// The mark of a container being made (see the module's opening): an
/// exclusive `flock` on `<name>/creating.lock`, released by [`Creation::done`],
/// or when every process holding it (the one that made it, and a monitor
/// forked from it) has exited. The descriptor is close-on-exec, so the
/// container's own program never holds it.
pub struct Creation(File);

impl Creation {
    /// The container's process is recorded, or what was made is removed:
    /// the lock is released for every process sharing it (an `flock` belongs
    /// to the open file, which a fork shares).
    pub fn done(&self) {
        let _ = self.0.unlock();
    }
}

/// Open the lock file `path`, made empty when missing (never truncated:
/// its content is nothing, its `flock` everything). Errors name the path.
fn open_lock_file(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("open", path))
}

/// How long `rm` waits for a container to be made before giving up.
const CREATION_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Store {
    pub fn new(root: &Path) -> Self {
        Store {
            dir: root.join("containers"),
        }
    }

    /// The mydocker root this store belongs to.
    pub fn root(&self) -> &Path {
        self.dir.parent().unwrap_or(Path::new("/"))
    }

    /// `<root>/containers/<name>`.
    pub fn container_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn config_path(&self, name: &str) -> PathBuf {
        self.container_dir(name).join("config.json")
    }

    pub fn log_path(&self, name: &str) -> PathBuf {
        self.container_dir(name).join("container.log")
    }

    /// Take the lock for a change of state.
    pub fn lock(&self) -> Result<Lock, Error> {
        fs::create_dir_all(&self.dir).map_err(io_err("create", &self.dir))?;
        self.lock_in_place()
    }

    /// Take the lock without making the store: when it is gone (the whole
    /// root was removed) there is no state to change, and a late writer,
    /// such as the monitor of a container whose root was deleted, must not
    /// bring the directories back.
    fn lock_in_place(&self) -> Result<Lock, Error> {
        let path = self.dir.join(".lock");
        let file = open_lock_file(&path)?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map(Lock)
            .map_err(|(_, errno)| Error::Io {
                what: "lock",
                path,
                err: errno.into(),
            })
    }

    /// Record a new container; its name must be free. Returns the mark of
    /// its creation, taken before any other command can see the container.
    pub fn create(&self, info: &ContainerInfo) -> Result<Creation, Error> {
        names::validate("container", &info.name)?;
        let _lock = self.lock()?;
        let dir = self.container_dir(&info.name);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(Error::NameInUse(info.name.clone()));
            }
            Err(e) => return Err(io_err("create", &dir)(e)),
        }
        let path = dir.join("creating.lock");
        let file = open_lock_file(&path)?;
        // std's lock is flock(2), and is not released on drop: `run -d`
        // closes its copy while the monitor it forked still holds the lock.
        file.lock().map_err(io_err("lock", &path))?;
        let creation = Creation(file);
        self.save(info)?;
        Ok(creation)
    }

    /// Mark the stopped container `name` as being started again (step
    /// 37): the same mark as [`Store::create`]'s, so `rm` waits for it, and
    /// a second `start` at the same time is refused rather than run twice.
    #[cfg(feature = "lifecycle")]
    pub fn begin_start(&self, name: &str) -> Result<Creation, Error> {
        names::validate("container", name)?;
        let path = self.container_dir(name).join("creating.lock");
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Creation(file)),
            Err(fs::TryLockError::WouldBlock) => Err(Error::BeingStarted(name.to_string())),
            Err(fs::TryLockError::Error(e)) => Err(io_err("lock", &path)(e)),
        }
    }

    /// Wait until the container `name` is no longer being made (its
    /// process is recorded, or what was made is removed), for at most
    /// 30 s. A container made before this mark existed has no lock file:
    /// nothing to wait for.
    pub fn wait_created(&self, name: &str) -> Result<(), Error> {
        names::validate("container", name)?;
        let path = self.container_dir(name).join("creating.lock");
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("open", &path)(e)),
        };
        let deadline = std::time::Instant::now() + CREATION_WAIT;
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(()),
                Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(Error::StillCreating(name.to_string()));
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_err("lock", &path)(e)),
            }
        }
    }

    /// Wait, for at most 5 s, until the state of container `name` no
    /// longer says it runs: once its process has gone, its monitor records
    /// the exit (after logging the last of its output). A foreground or
    /// removed container has nothing to wait for.
    pub fn wait_exit_recorded(&self, name: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            match self.load(name) {
                Ok(info) if info.status == Status::Running && info.detached => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                _ => return,
            }
        }
    }

    /// Write `info` (the caller holds the lock, or is its only writer).
    /// A detached container's state is fsynced: it must survive the
    /// machine. A foreground one's lives only as long as its `run`.
    pub fn save(&self, info: &ContainerInfo) -> Result<(), Error> {
        let path = self.config_path(&info.name);
        let json = serde_json::to_vec_pretty(info).expect("state serializes");
        crate::atomic_file::write_replacing(&path, &json, info.detached)
            .map_err(io_err("write", &path))
    }

    /// Change a container's state under the lock. Returns false when the
    /// container has been removed meanwhile (nothing is written then).
    pub fn update(
        &self,
        name: &str,
        change: impl FnOnce(&mut ContainerInfo),
    ) -> Result<bool, Error> {
        let _lock = match self.lock_in_place() {
            Ok(lock) => lock,
            Err(_) if !self.dir.exists() => return Ok(false),
            Err(e) => return Err(e),
        };
        if !self.config_path(name).exists() {
            return Ok(false);
        }
        let mut info = self.load(name)?;
        change(&mut info);
        self.save(&info)?;
        Ok(true)
    }

    /// Read one container's state by its name.
    pub fn load(&self, name: &str) -> Result<ContainerInfo, Error> {
        names::validate("container", name)?;
        let path = self.config_path(name);
        let mut bytes = Vec::new();
        let read =
            File::open(&path).and_then(|f| f.take(MAX_STATE_BYTES + 1).read_to_end(&mut bytes));
        match read {
            Ok(_) => {}
            // A directory without its state file is what a command killed
            // between making the directory and renaming the file into place
            // leaves: listed, and removable with `rm -f`, as a broken one.
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && self.container_dir(name).is_dir() =>
            {
                return Err(Error::Broken {
                    name: name.to_string(),
                    path,
                    reason: "no state file (the command that created it was interrupted)".into(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(name.to_string()));
            }
            Err(e) => return Err(io_err("read", &path)(e)),
        }
        let broken = |reason: String| Error::Broken {
            name: name.to_string(),
            path: path.clone(),
            reason,
        };
        if bytes.len() as u64 > MAX_STATE_BYTES {
            return Err(broken(format!("larger than {} MiB", MAX_STATE_BYTES >> 20)));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            broken(if bytes.is_empty() {
                "empty".into()
            } else {
                e.to_string()
            })
        })
    }

    /// The names of all containers (directories), sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| names::validate("container", n).is_ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Every container, each loaded or with the reason it could not be.
    pub fn list(&self) -> Vec<(String, Result<ContainerInfo, Error>)> {
        self.names()
            .into_iter()
            .map(|n| (n.clone(), self.load(&n)))
            .collect()
    }

    /// Find a container by name, full ID, or unique ID prefix.
    pub fn find(&self, key: &str) -> Result<ContainerInfo, Error> {
        let _lock = self.lock()?;
        self.find_unlocked(key)
    }

    fn find_unlocked(&self, key: &str) -> Result<ContainerInfo, Error> {
        if key.is_empty() {
            return Err(Error::NotFound(key.to_string()));
        }
        match self.load(key) {
            Ok(info) => return Ok(info),
            Err(Error::NotFound(_)) | Err(Error::Name(_)) => {}
            Err(e) => return Err(e),
        }
        let mut matches: Vec<ContainerInfo> = self
            .list()
            .into_iter()
            .filter_map(|(_, r)| r.ok())
            .filter(|i| i.id.starts_with(key))
            .collect();
        match matches.len() {
            0 => Err(Error::NotFound(key.to_string())),
            1 => Ok(matches.remove(0)),
            _ => Err(Error::Ambiguous(key.to_string())),
        }
    }

    /// Delete a container's state directory (config and log). The caller
    /// has already removed its layers and mounts.
    ///
    /// The directory is first renamed out of the store's namespace (to a
    /// name no container can have, which listings skip), then deleted: a
    /// reader sees the container whole or not at all, never a directory
    /// half deleted (which would read as a broken container).
    ///
    /// An `rm` killed between the rename and the end of the deletion leaves
    /// the renamed directory; the deleting process holds an flock on it,
    /// and every removal first sweeps the ones nobody holds.
    pub fn remove(&self, name: &str) -> Result<(), Error> {
        names::validate("container", name)?;
        temporaries::sweep(&self.dir, &[REMOVING]);
        let dir = self.container_dir(name);
        let _held = match Temporary::hold(&dir) {
            Ok(held) => held,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("remove", &dir)(e)),
        };
        let trash = self
            .dir
            .join(format!("{REMOVING}{name}-{}", std::process::id()));
        match fs::rename(&dir, &trash) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("remove", &dir)(e)),
        }
        fs::remove_dir_all(&trash).map_err(io_err("remove", &trash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, id: &str) -> ContainerInfo {
        ContainerInfo {
            id: id.into(),
            name: name.into(),
            image: "busybox".into(),
            command: vec!["top".into()],
            created: 0,
            status: Status::Running,
            pid: None,
            pid_start: None,
            exit_code: None,
            finished: None,
            detached: true,
            cgroups: vec![],
            layers: None,
            volumes: vec![],
            ..ContainerInfo::default()
        }
    }

    #[test]
    fn names_are_unique() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        s.create(&info("a", "111111111111")).unwrap();
        assert!(matches!(
            s.create(&info("a", "222222222222")),
            Err(Error::NameInUse(_))
        ));
        assert_eq!(s.load("a").unwrap().id, "111111111111");
    }

    #[test]
    fn found_by_name_id_or_prefix() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        s.create(&info("a", "abc111111111")).unwrap();
        s.create(&info("b", "abd222222222")).unwrap();
        assert_eq!(s.find("b").unwrap().name, "b");
        assert_eq!(s.find("abc111111111").unwrap().name, "a");
        assert_eq!(s.find("abd").unwrap().name, "b");
        assert!(matches!(s.find("ab"), Err(Error::Ambiguous(_))));
        assert!(matches!(s.find("zzz"), Err(Error::NotFound(_))));
        assert!(matches!(s.find("../x"), Err(Error::NotFound(_))));
    }

    #[test]
    fn a_broken_file_is_reported_alone() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        s.create(&info("good", "111111111111")).unwrap();
        s.create(&info("bad", "222222222222")).unwrap();
        fs::write(s.config_path("bad"), "").unwrap();
        let list = s.list();
        assert_eq!(list.len(), 2);
        assert!(matches!(&list[0], (n, Err(Error::Broken { .. })) if n == "bad"));
        assert!(list[1].1.is_ok());
    }

    /// What an `rm` killed mid-deletion leaves (its directory renamed to
    /// `.removing-NAME-PID`, partly deleted) is deleted by the next removal,
    /// unless a living removal still holds it.
    #[test]
    fn a_removal_cut_short_is_finished_by_the_next_one() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        s.create(&info("a", "111111111111")).unwrap();
        s.create(&info("b", "222222222222")).unwrap();
        let left = t.path().join("containers/.removing-x-999999");
        fs::create_dir_all(left.join("sub")).unwrap();
        fs::write(left.join("sub/log"), "old log").unwrap();
        let busy = t.path().join("containers/.removing-y-999998");
        fs::create_dir_all(&busy).unwrap();
        let held = nix::fcntl::Flock::lock(
            File::open(&busy).unwrap(),
            nix::fcntl::FlockArg::LockExclusive,
        )
        .unwrap();
        s.remove("a").unwrap();
        assert!(!left.exists(), "the abandoned removal is finished");
        assert!(busy.exists(), "a removal still at work is left alone");
        drop(held);
        s.remove("b").unwrap();
        assert!(!busy.exists());
    }

    /// Whatever bytes `config.json` holds, loading gives a value or an
    /// error, never a panic.
    #[test]
    fn any_state_file_loads_or_fails_cleanly() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        let mut good = info("c", "123456789012");
        good.command = vec!["echo".into(), "x".repeat(70_000)];
        s.create(&good).unwrap();
        let valid = fs::read(s.config_path("c")).unwrap();
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        // Truncated anywhere (a crash without atomic writes, a full disk).
        let step = valid.len() / 300 + 1;
        inputs.extend((0..valid.len()).step_by(step).map(|n| valid[..n].to_vec()));
        // Garbage, and JSON of the wrong shape or nested past any stack.
        let mut g = crate::format::tests::Gen::new(42);
        inputs.extend((0..200).map(|_| {
            (0..g.len())
                .map(|_| (g.next() & 0xff) as u8)
                .collect::<Vec<u8>>()
        }));
        for text in [
            "null",
            "[]",
            "{}",
            "\"config\"",
            "{\"id\": 1}",
            "{\"created\": -1}",
            "{\"created\": 1e400}",
            "{\"pid\": 99999999999}",
        ] {
            inputs.push(text.as_bytes().to_vec());
        }
        inputs.push([b"[".repeat(100_000), b"]".repeat(100_000)].concat());
        inputs.push(b"{\"a\":".repeat(100_000));
        for input in inputs {
            fs::write(s.config_path("c"), &input).unwrap();
            if s.load("c").is_ok() {
                assert_eq!(input, valid);
            }
        }
    }

    #[test]
    fn a_huge_state_file_is_refused_unread() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        s.create(&info("c", "123456789012")).unwrap();
        let f = File::create(s.config_path("c")).unwrap();
        f.set_len(MAX_STATE_BYTES + 1).unwrap();
        let err = s.load("c").unwrap_err();
        assert!(matches!(err, Error::Broken { .. }), "{err}");
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn a_dead_process_is_not_running() {
        let mut i = info("a", "1");
        i.pid = Some(std::process::id() as i32);
        i.pid_start = crate::proc_stat::process_start_time(i.pid.unwrap());
        assert_eq!(i.current_status(), Status::Running);
        i.pid_start = Some(1);
        assert_eq!(i.current_status(), Status::Exited);
        assert_eq!(i.status_text(), "exited (unknown)");
        i.exit_code = Some(3);
        assert_eq!(i.status_text(), "exited (3)");
    }

    #[test]
    fn updates_skip_removed_containers() {
        let t = tempfile::tempdir().unwrap();
        let s = Store::new(t.path());
        s.create(&info("a", "1")).unwrap();
        assert!(s.update("a", |i| i.exit_code = Some(1)).unwrap());
        s.remove("a").unwrap();
        assert!(!s.update("a", |i| i.exit_code = Some(2)).unwrap());
        assert!(!s.container_dir("a").exists());
    }

    #[test]
    fn an_update_after_the_root_is_gone_does_not_bring_it_back() {
        let t = tempfile::tempdir().unwrap();
        let store = Store::new(&t.path().join("root"));
        assert!(!store.update("gone", |_| {}).unwrap());
        assert!(!t.path().join("root").exists());
    }
}
