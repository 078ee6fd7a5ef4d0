//! Which cgroup design this machine uses, and where each controller lives.
//! Read from `/proc/self/mountinfo` (through [`crate::fs::mountinfo`]) and
//! `/proc/self/cgroup`, never guessed from the distribution. Introduced in
//! step 01 (`mydocker check`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::fs::mountinfo::{self, Mount};

/// The three layouts a machine can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only v1 hierarchies.
    V1,
    /// One cgroup2 tree mounted at the usual place; no v1 controllers.
    V2,
    /// v1 controllers, plus a cgroup2 mount beside them.
    Hybrid,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::V1 => "v1",
            Mode::V2 => "v2",
            Mode::Hybrid => "hybrid",
        })
    }
}

/// The cgroup mounts of this machine, and this process's place in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub mode: Mode,
    /// v1 controller name -> (mount point, this process's cgroup path in it).
    pub v1: BTreeMap<String, (PathBuf, PathBuf)>,
    /// The cgroup2 mount and this process's cgroup path in it.
    pub v2: Option<(PathBuf, PathBuf)>,
}

/// The v1 controllers mydocker knows how to use.
#[cfg(not(feature = "hardening"))]
pub const KNOWN_CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuset", "pids"];
/// The v1 controllers mydocker knows how to use; from step 35 also
/// `devices`, for the container's device allowlist.
#[cfg(feature = "hardening")]
pub const KNOWN_CONTROLLERS: [&str; 5] = ["memory", "cpu", "cpuset", "pids", "devices"];

impl Hierarchy {
    /// Read this machine's hierarchy from a proc directory (normally `/proc`).
    pub fn read(proc_root: &Path) -> std::io::Result<Self> {
        let mounts = mountinfo::read_from(proc_root)?;
        let cgroup = fs::read_to_string(proc_root.join("self/cgroup"))?;
        Ok(Self::from_mounts(&mounts, &cgroup))
    }

    /// Build the hierarchy from the text of `mountinfo` and `/proc/self/cgroup`.
    pub fn parse(mountinfo: &str, self_cgroup: &str) -> Self {
        Self::from_mounts(&mountinfo::parse(mountinfo.as_bytes()), self_cgroup)
    }

    /// Build the hierarchy from the mount table and `/proc/self/cgroup`.
    pub fn from_mounts(mounts: &[Mount], self_cgroup: &str) -> Self {
        // /proc/self/cgroup: "ID:controller,list:/path" (v1) or "0::/path" (v2).
        let mut own_v1: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut own_v2 = PathBuf::from("/");
        for line in self_cgroup.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(id), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if id == "0" && ctrls.is_empty() {
                own_v2 = PathBuf::from(path);
            } else {
                for c in ctrls.split(',') {
                    own_v1.insert(c.to_string(), PathBuf::from(path));
                }
            }
        }

        let mut v1 = BTreeMap::new();
        let mut v2 = None;
        for m in mounts {
            match m.fs_type.as_str() {
                "cgroup2" if v2.is_none() => {
                    v2 = Some((m.mount_point.clone(), own_v2.clone()));
                }
                "cgroup" => {
                    for opt in m.super_options.split(',') {
                        if let Some(own) = own_v1.get(opt) {
                            v1.entry(opt.to_string())
                                .or_insert_with(|| (m.mount_point.clone(), own.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        let has_v1_controllers = v1.keys().any(|k| !k.starts_with("name="));
        let mode = match (has_v1_controllers, &v2) {
            (true, Some(_)) => Mode::Hybrid,
            (true, None) => Mode::V1,
            (false, _) => Mode::V2,
        };
        Hierarchy { mode, v1, v2 }
    }

    /// The controllers this machine offers to mydocker: the v1 ones in v1 and
    /// hybrid mode, those listed in the cgroup2 root's `cgroup.controllers`
    /// in v2 mode.
    pub fn controllers(&self) -> Vec<String> {
        match self.mode {
            Mode::V1 | Mode::Hybrid => self
                .v1
                .keys()
                .filter(|k| !k.starts_with("name="))
                .cloned()
                .collect(),
            Mode::V2 => self
                .v2
                .as_ref()
                .and_then(|(mnt, _)| fs::read_to_string(mnt.join("cgroup.controllers")).ok())
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
25 30 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset
29 25 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
30 25 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str =
        "4:memory:/outer/inner\n3:cpuset:/\n1:cpu:/\n9:name=systemd:/\n0::/\n";

    #[test]
    fn hybrid_machine_is_recognised() {
        let h = Hierarchy::parse(HYBRID_MOUNTINFO, HYBRID_SELF);
        assert_eq!(h.mode, Mode::Hybrid);
        assert_eq!(
            h.v1["memory"],
            (
                PathBuf::from("/sys/fs/cgroup/memory"),
                PathBuf::from("/outer/inner")
            )
        );
        assert_eq!(h.controllers(), vec!["cpu", "cpuset", "memory"]);
    }

    #[test]
    fn pure_v2_machine_is_recognised() {
        let mi = "30 25 0:28 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let h = Hierarchy::parse(mi, "0::/user.slice/session-1.scope\n");
        assert_eq!(h.mode, Mode::V2);
        assert_eq!(
            h.v2,
            Some((
                PathBuf::from("/sys/fs/cgroup"),
                PathBuf::from("/user.slice/session-1.scope")
            ))
        );
    }

    #[test]
    fn pure_v1_machine_is_recognised() {
        let mi = "27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        let h = Hierarchy::parse(mi, "4:memory:/\n");
        assert_eq!(h.mode, Mode::V1);
    }

    #[test]
    fn co_mounted_v1_controllers_share_a_mount() {
        let mi = "26 25 0:24 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n";
        let h = Hierarchy::parse(mi, "2:cpu,cpuacct:/a\n");
        assert_eq!(h.v1["cpu"].0, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(h.v1["cpuacct"].1, PathBuf::from("/a"));
    }

    #[test]
    fn escaped_mount_points_are_decoded() {
        let mi = "27 25 0:25 / /sys/fs/cgroup/mem\\040ory\\134x rw - cgroup cgroup rw,memory\n";
        let h = Hierarchy::parse(mi, "4:memory:/\n");
        assert_eq!(h.v1["memory"].0, PathBuf::from("/sys/fs/cgroup/mem ory\\x"));
    }
}
