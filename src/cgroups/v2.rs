//! cgroup v2 (step 04): one unified tree. A child cgroup only gets the
//! controllers its parent lists in `cgroup.subtree_control`, so the parent's
//! controllers are switched on first (`+memory +cpu +cpuset +pids`).
//!
//! v2 forbids a non-root cgroup from both holding processes and handing
//! controllers to children (the "no internal processes" rule). When this
//! process sits in such a cgroup (a login session's scope, say), enabling
//! fails with EBUSY; the container's cgroup is then made below the root of
//! the tree instead, which is exempt from the rule.
//!
//! The files differ from v1: `memory.max`, `cpu.weight` (1..10000, converted
//! from v1 shares as runc and crun do), `cpuset.cpus`; `pids.max` (step 35)
//! is the same in both.

use std::path::{Path, PathBuf};

use super::manager::{Cgroup, Error, Manager, Resources, io_err, remove_dir, write_file};

const WANTED: [&str; 4] = ["memory", "cpu", "cpuset", "pids"];

/// Where the container's directory in the unified tree is to be made.
#[derive(Debug)]
pub struct V2Manager {
    mount: PathBuf,
    parent: PathBuf,
    name: String,
}

/// The container's directory in the unified tree, made.
#[derive(Debug)]
pub struct V2Cgroup {
    dir: PathBuf,
}

/// Convert v1 CPU shares (2..262144, default 1024) to a v2 weight (1..10000,
/// default 100).
pub fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

impl V2Manager {
    pub fn new(mount: &Path, own: &Path, name: &str) -> Self {
        let own = own.strip_prefix("/").unwrap_or(own);
        V2Manager {
            mount: mount.to_path_buf(),
            parent: mount.join(own),
            name: name.to_string(),
        }
    }
}

/// Turn on, in the v2 cgroup `parent`, the wanted controllers it has
/// (those its `cgroup.controllers` lists), for its children. Errors: the
/// files' I/O; EBUSY when `parent` holds processes ("no internal
/// processes").
pub fn enable_controllers(parent: &Path) -> Result<(), Error> {
    let list = parent.join("cgroup.controllers");
    let available = std::fs::read_to_string(&list).map_err(io_err("read", &list))?;
    let enable: Vec<String> = WANTED
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if enable.is_empty() {
        return Ok(());
    }
    write_file(parent, "cgroup.subtree_control", &enable.join(" "))
}

impl Manager for V2Manager {
    fn candidates(&self) -> Vec<PathBuf> {
        let mut v = vec![self.parent.join(&self.name)];
        if self.parent != self.mount {
            v.push(self.mount.join(&self.name));
        }
        v
    }

    fn create(self: Box<Self>) -> Result<Box<dyn Cgroup>, Error> {
        let parent = match enable_controllers(&self.parent) {
            Ok(()) => self.parent,
            Err(Error::Io { err, .. })
                if err.raw_os_error() == Some(libc::EBUSY) && self.parent != self.mount =>
            {
                enable_controllers(&self.mount)?;
                self.mount
            }
            Err(e) => return Err(e),
        };
        let dir = parent.join(&self.name);
        std::fs::create_dir(&dir).map_err(io_err("create", &dir))?;
        Ok(Box::new(V2Cgroup { dir }))
    }
}

/// Before step 40 there are no further limits.
#[cfg(not(feature = "oci_runtime"))]
fn apply_more(_dir: &Path, _res: &Resources) -> Result<(), Error> {
    Ok(())
}

/// From step 40: a bundle's further limits, in v2's files: `cpu.max`
/// holds quota and period together; `memory.swap.max` counts swap alone,
/// so the runtime-spec's memory-plus-swap less the memory limit (runc's
/// conversion). v2 has no real-time budget per cgroup: asking for one
/// fails.
#[cfg(feature = "oci_runtime")]
fn apply_more(dir: &Path, res: &Resources) -> Result<(), Error> {
    let m = &res.more;
    if m.cpu_quota.is_some() || m.cpu_period.is_some() {
        let quota = match m.cpu_quota {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".to_string(),
        };
        let period = m.cpu_period.unwrap_or(100_000);
        write_file(dir, "cpu.max", &format!("{quota} {period}"))?;
    }
    if let Some(runtime) = m.cpu_realtime_runtime {
        write_file(dir, "cpu.rt_runtime_us", &runtime.to_string())?;
    }
    if let Some(mems) = &m.cpuset_mems {
        write_file(dir, "cpuset.mems", mems)?;
    }
    if let Some(low) = m.memory_reservation {
        write_file(dir, "memory.low", &low.to_string())?;
    }
    if let Some(swap) = m.memory_swap {
        let value = match (swap, res.memory) {
            (-1, _) => "max".to_string(),
            (s, Some(limit)) => (s as u64).saturating_sub(limit).to_string(),
            (s, None) => s.to_string(),
        };
        write_file(dir, "memory.swap.max", &value)?;
    }
    Ok(())
}

impl Cgroup for V2Cgroup {
    fn apply(&self, res: &Resources) -> Result<(), Error> {
        let dir = &self.dir;
        if let Some(bytes) = res.memory {
            write_file(dir, "memory.max", &bytes.to_string())?;
        }
        if let Some(shares) = res.cpu_shares {
            write_file(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
        }
        if let Some(cpus) = &res.cpuset_cpus {
            write_file(dir, "cpuset.cpus", cpus)?;
        }
        if let Some(max) = res.pids_max() {
            write_file(dir, "pids.max", &max)?;
        }
        apply_more(dir, res)
    }

    fn add_task(&self, pid: i32) -> Result<(), Error> {
        write_file(&self.dir, "cgroup.procs", &pid.to_string())
    }

    /// None: v2's `cgroup.threads` moves a thread only within a threaded
    /// subtree, and `cgroup.procs` takes the global lock even for `0`.
    fn self_placement(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    fn destroy(&self) -> Result<(), Error> {
        remove_dir(&self.dir)
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }

    /// A device filter program attached to the container's directory.
    #[cfg(feature = "hardening")]
    fn restrict_devices(&self, policy: &crate::devices::Policy) -> Result<(), Error> {
        Ok(crate::devices::load::apply(&self.dir, policy)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A fake cgroup2 root in a temporary directory: the files the kernel
    /// would show, as plain files.
    fn fake_tree(controllers: &str) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("cgroup.controllers"), controllers).unwrap();
        fs::write(t.path().join("cgroup.subtree_control"), "").unwrap();
        t
    }

    fn create(mount: &Path, own: &str, name: &str) -> Box<dyn Cgroup> {
        Box::new(V2Manager::new(mount, Path::new(own), name))
            .create()
            .unwrap()
    }

    fn read(p: PathBuf) -> String {
        fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn create_enables_available_controllers_and_makes_the_directory() {
        let t = fake_tree("cpuset cpu io memory hugetlb pids rdma misc\n");
        let m = create(t.path(), "/", "mydocker-abc");
        assert_eq!(
            read(t.path().join("cgroup.subtree_control")),
            "+memory +cpu +cpuset +pids"
        );
        assert!(t.path().join("mydocker-abc").is_dir());
        assert_eq!(m.paths(), vec![t.path().join("mydocker-abc")]);
    }

    #[test]
    fn only_controllers_the_parent_has_are_enabled() {
        let t = fake_tree("memory pids\n");
        create(t.path(), "/", "c");
        assert_eq!(
            read(t.path().join("cgroup.subtree_control")),
            "+memory +pids"
        );
    }

    #[test]
    #[allow(clippy::needless_update)]
    fn limits_go_to_the_v2_file_names() {
        let t = fake_tree("cpuset cpu memory pids\n");
        let m = create(t.path(), "/", "c");
        m.apply(&Resources {
            memory: Some(100 * 1024 * 1024),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0".into()),
            ..Resources::default()
        })
        .unwrap();
        let d = t.path().join("c");
        assert_eq!(read(d.join("memory.max")), "104857600");
        assert_eq!(read(d.join("cpu.weight")), "20");
        assert_eq!(read(d.join("cpuset.cpus")), "0");
        assert!(!d.join("memory.limit_in_bytes").exists());
        assert!(!d.join("cpu.shares").exists());
    }

    #[cfg(feature = "hardening")]
    #[test]
    fn the_pids_limit_goes_to_pids_max_and_none_is_max() {
        let t = fake_tree("pids\n");
        let m = create(t.path(), "/", "c");
        let limit = |n| Resources {
            pids_limit: Some(n),
            ..Resources::default()
        };
        m.apply(&limit(10)).unwrap();
        assert_eq!(read(t.path().join("c/pids.max")), "10");
        m.apply(&limit(-1)).unwrap();
        assert_eq!(read(t.path().join("c/pids.max")), "max");
        std::fs::remove_file(t.path().join("c/pids.max")).unwrap();
        m.apply(&Resources::default()).unwrap();
        assert!(!t.path().join("c/pids.max").exists(), "no flag, no write");
    }

    #[test]
    fn container_cgroup_sits_below_the_callers_own() {
        let t = fake_tree("memory\n");
        let own = t.path().join("machine.slice");
        fs::create_dir(&own).unwrap();
        fs::write(own.join("cgroup.controllers"), "memory\n").unwrap();
        let m = create(t.path(), "/machine.slice", "c");
        assert!(own.join("c").is_dir());
        m.add_task(4242).unwrap();
        assert_eq!(read(own.join("c/cgroup.procs")), "4242");
    }

    #[test]
    fn shares_convert_to_weights_like_other_runtimes() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }
}
