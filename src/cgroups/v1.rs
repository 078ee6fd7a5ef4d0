//! cgroup v1 (step 04): one hierarchy per controller. The container gets a
//! directory `mydocker-<id>` in each of the memory, cpu, cpuset and pids
//! hierarchies, below the cgroup this process already sits in, so a runtime
//! that itself runs inside a cgroup never touches the cgroups around it.
//! From step 35 it gets one in the `devices` hierarchy too, for its device
//! allowlist (`crate::devices::v1`).
//!
//! The limits are plain files: `memory.limit_in_bytes`, `cpu.shares`,
//! `cpuset.cpus`, from step 35 `pids.max`. A new cpuset cgroup starts with empty `cpuset.cpus` and
//! `cpuset.mems`, and the kernel refuses tasks until both are set, so they
//! are copied from the parent before any task is added.

use std::path::{Path, PathBuf};

use super::detect::{Hierarchy, KNOWN_CONTROLLERS};
use super::manager::{Cgroup, Error, Manager, Resources, io_err, remove_dir, write_file};

/// The container's directories in each v1 hierarchy, to be made.
#[derive(Debug)]
pub struct V1Manager {
    dirs: Vec<(String, PathBuf)>,
}

/// The container's directories in each v1 hierarchy, made.
#[derive(Debug)]
pub struct V1Cgroup {
    dirs: Vec<(String, PathBuf)>,
}

impl V1Manager {
    pub fn new(hierarchy: &Hierarchy, name: &str) -> Self {
        let dirs = KNOWN_CONTROLLERS
            .iter()
            .filter_map(|ctrl| {
                let (mount, own) = hierarchy.v1.get(*ctrl)?;
                let own = own.strip_prefix("/").unwrap_or(own);
                Some((ctrl.to_string(), mount.join(own).join(name)))
            })
            .collect();
        V1Manager { dirs }
    }

    /// Fill an empty cpuset file from the parent cgroup.
    fn inherit_cpuset(dir: &Path, file: &str) -> Result<(), Error> {
        let own = dir.join(file);
        let current = std::fs::read_to_string(&own).unwrap_or_default();
        if !current.trim().is_empty() {
            return Ok(());
        }
        let parent = dir.parent().unwrap_or(dir).join(file);
        let value = std::fs::read_to_string(&parent).map_err(io_err("read", &parent))?;
        write_file(dir, file, value.trim())
    }
}

impl Manager for V1Manager {
    fn candidates(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.clone()).collect()
    }

    fn create(self: Box<Self>) -> Result<Box<dyn Cgroup>, Error> {
        let mut made = V1Cgroup { dirs: Vec::new() };
        for (ctrl, dir) in self.dirs {
            let step = std::fs::create_dir(&dir)
                .map_err(io_err("create", &dir))
                .map(|()| made.dirs.push((ctrl.clone(), dir.clone())))
                .and_then(|()| match ctrl.as_str() {
                    "cpuset" => Self::inherit_cpuset(&dir, "cpuset.cpus")
                        .and_then(|()| Self::inherit_cpuset(&dir, "cpuset.mems")),
                    _ => Ok(()),
                });
            if let Err(e) = step {
                let _ = made.destroy();
                return Err(e);
            }
        }
        Ok(Box::new(made))
    }
}

impl V1Cgroup {
    /// Before step 40 there are no further limits.
    #[cfg(not(feature = "oci_runtime"))]
    fn apply_more(&self, _res: &Resources) -> Result<(), Error> {
        Ok(())
    }

    /// From step 40: a bundle's further limits, in v1's files (the period
    /// before the quota it divides, the memory limit before the
    /// memory-plus-swap one that must not be below it).
    #[cfg(feature = "oci_runtime")]
    fn apply_more(&self, res: &Resources) -> Result<(), Error> {
        let m = &res.more;
        let files: [(&str, &str, Option<String>); 7] = [
            (
                "cpu",
                "cpu.cfs_period_us",
                m.cpu_period.map(|v| v.to_string()),
            ),
            (
                "cpu",
                "cpu.cfs_quota_us",
                m.cpu_quota.map(|v| v.to_string()),
            ),
            (
                "cpu",
                "cpu.rt_period_us",
                m.cpu_realtime_period.map(|v| v.to_string()),
            ),
            (
                "cpu",
                "cpu.rt_runtime_us",
                m.cpu_realtime_runtime.map(|v| v.to_string()),
            ),
            ("cpuset", "cpuset.mems", m.cpuset_mems.clone()),
            (
                "memory",
                "memory.soft_limit_in_bytes",
                m.memory_reservation.map(|v| v.to_string()),
            ),
            (
                "memory",
                "memory.memsw.limit_in_bytes",
                m.memory_swap.map(|v| v.to_string()),
            ),
        ];
        for (controller, file, value) in files {
            if let (Some(value), Some(dir)) = (value, self.dir(controller)) {
                write_file(dir, file, &value)?;
            }
        }
        Ok(())
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }
}

impl Cgroup for V1Cgroup {
    fn apply(&self, res: &Resources) -> Result<(), Error> {
        if let (Some(bytes), Some(dir)) = (res.memory, self.dir("memory")) {
            write_file(dir, "memory.limit_in_bytes", &bytes.to_string())?;
        }
        if let (Some(shares), Some(dir)) = (res.cpu_shares, self.dir("cpu")) {
            write_file(dir, "cpu.shares", &shares.to_string())?;
        }
        if let (Some(cpus), Some(dir)) = (&res.cpuset_cpus, self.dir("cpuset")) {
            write_file(dir, "cpuset.cpus", cpus)?;
        }
        if let (Some(max), Some(dir)) = (res.pids_max(), self.dir("pids")) {
            write_file(dir, "pids.max", &max)?;
        }
        self.apply_more(res)
    }

    fn add_task(&self, pid: i32) -> Result<(), Error> {
        for (_, dir) in &self.dirs {
            write_file(dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Each hierarchy's `tasks` file.
    fn self_placement(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.join("tasks")).collect()
    }

    fn destroy(&self) -> Result<(), Error> {
        for (_, dir) in &self.dirs {
            remove_dir(dir)?;
        }
        Ok(())
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.clone()).collect()
    }

    /// `devices.deny` and `devices.allow` in the `devices` hierarchy (a
    /// machine without that hierarchy has no device control to set).
    #[cfg(feature = "hardening")]
    fn restrict_devices(&self, policy: &crate::devices::Policy) -> Result<(), Error> {
        match self.dir("devices") {
            Some(dir) => Ok(crate::devices::v1::apply(dir, policy)?),
            None => Ok(()),
        }
    }
}
