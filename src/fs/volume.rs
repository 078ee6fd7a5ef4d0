//! Volumes (step 13): `-v HOST:CONTAINER[:ro]` bind-mounts a host directory
//! (or file) into the container's root filesystem before `pivot_root`, so
//! the container reads and writes the host's files there, and they outlive
//! the container. A bind mount is the same directory seen at a second place;
//! `:ro` remounts that second place read-only (a bind mount takes the
//! read-only flag only on a remount).
//!
//! The container path is resolved inside the container's root
//! ([`super::scoped::resolve`]): `..` and symlinks in the image can never
//! place the mount on the host. A missing host directory is created (0755),
//! as Docker does.
//!
//! Several volumes are mounted as Docker mounts them: parents before
//! children (by the depth of the container path), whatever the order of
//! `-v`, so `-v I:/data/inner -v O:/data` shows `I` inside `O` instead of
//! `O` hiding it. The read-only remounts come after every bind, so a
//! read-only parent can still receive its children's mount points and a
//! read-write child inside it stays writable (a remount changes one mount,
//! never the mounts below it).
//!
//! The runtime mounts `/proc`, `/sys` and `/dev` itself, after the volumes
//! (step 10): a volume there, or below, would be hidden, so it is refused.

use std::path::{Component, Path, PathBuf};

use nix::mount::MsFlags;

use super::scoped;
use crate::syscall::Syscall;

/// The container paths the runtime mounts itself after the volumes
/// (step 10): no volume may be at or below them.
pub const RUNTIME_MOUNTS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// One `-v` option.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Volume {
    pub host: PathBuf,
    pub target: PathBuf,
    pub read_only: bool,
}

/// A refused or failed volume.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid volume {spec:?}: {reason}")]
    Invalid { spec: String, reason: &'static str },
    #[error("volume {spec}: {what}: {err}")]
    Io {
        spec: String,
        what: String,
        err: std::io::Error,
    },
    #[error("volume {spec}: bind-mount onto {target}: {err}")]
    Mount {
        spec: String,
        target: PathBuf,
        err: nix::Error,
    },
    #[error(
        "invalid volume {spec:?}: the container path {target} is at or below {reserved}, which mydocker mounts itself"
    )]
    Reserved {
        spec: String,
        target: PathBuf,
        reserved: &'static str,
    },
    #[error("invalid volumes: the container path {target} is given twice ({first} and {second})")]
    Duplicate {
        target: PathBuf,
        first: String,
        second: String,
    },
    #[error(transparent)]
    Resolve(#[from] scoped::Error),
}

/// The runtime's own mount point (of [`RUNTIME_MOUNTS`]) at or above
/// `target`, a path inside the container (`.` and repeated `/` ignored).
pub fn reserved_by_runtime(target: &Path) -> Option<&'static str> {
    let first = target.components().find_map(|c| match c {
        Component::Normal(n) => Some(n),
        _ => None,
    })?;
    RUNTIME_MOUNTS
        .into_iter()
        .find(|m| Path::new(m).file_name() == Some(first))
}

/// The container path without `.`, repeated or trailing `/`.
pub fn normal(target: &Path) -> PathBuf {
    target.components().collect()
}

/// How deep a container path is: `/data` 1, `/data/inner` 2.
fn depth(target: &Path) -> usize {
    target
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}

/// The order to mount `volumes` in: parents before children (shallower
/// container paths first; equal depths keep the order of `-v`). The same
/// container path twice is refused, as Docker refuses it.
pub fn mount_order(volumes: &[Volume]) -> Result<Vec<&Volume>, Error> {
    let mut order: Vec<&Volume> = volumes.iter().collect();
    order.sort_by_key(|v| depth(&v.target));
    for (i, a) in order.iter().enumerate() {
        if let Some(b) = order[i + 1..]
            .iter()
            .find(|b| normal(&b.target) == normal(&a.target))
        {
            return Err(Error::Duplicate {
                target: normal(&a.target),
                first: a.to_string(),
                second: b.to_string(),
            });
        }
    }
    Ok(order)
}

/// Mount every volume into the root filesystem at `rootfs`, parents first,
/// then make the read-only ones read-only. On an error the mounts made so
/// far stay: the caller unmounts everything below the layers.
pub fn mount_all(sys: &dyn Syscall, volumes: &[Volume], rootfs: &Path) -> Result<(), Error> {
    let order = mount_order(volumes)?;
    let mut mounted = Vec::with_capacity(order.len());
    for v in order {
        mounted.push((v, v.bind(sys, rootfs)?));
    }
    for (v, target) in mounted {
        if v.read_only {
            v.make_read_only(sys, &target)?;
        }
    }
    Ok(())
}

impl std::fmt::Display for Volume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host.display(), self.target.display())?;
        if self.read_only {
            f.write_str(":ro")?;
        }
        Ok(())
    }
}

impl Volume {
    /// Parse `HOST:CONTAINER[:ro|:rw]`.
    pub fn parse(spec: &str) -> Result<Volume, Error> {
        let refuse = |reason| Error::Invalid {
            spec: spec.to_string(),
            reason,
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (host, target, read_only) = match parts.as_slice() {
            [h, t] => (*h, *t, false),
            [h, t, "ro"] => (*h, *t, true),
            [h, t, "rw"] => (*h, *t, false),
            [_, _, _] => return Err(refuse("the mode must be ro or rw")),
            [_] => return Err(refuse("expected HOST:CONTAINER[:ro]")),
            _ => return Err(refuse("too many ':'")),
        };
        if host.is_empty() || target.is_empty() {
            return Err(refuse("expected HOST:CONTAINER[:ro]"));
        }
        let host = PathBuf::from(host);
        let target = PathBuf::from(target);
        if !host.is_absolute() {
            return Err(refuse("the host path must be absolute"));
        }
        if !target.is_absolute() {
            return Err(refuse("the container path must be absolute"));
        }
        if !target
            .components()
            .any(|c| matches!(c, Component::Normal(_)))
            || target.components().any(|c| c == Component::ParentDir)
        {
            return Err(refuse(
                "the container path must name a directory below / without '..'",
            ));
        }
        if let Some(reserved) = reserved_by_runtime(&target) {
            return Err(Error::Reserved {
                spec: spec.to_string(),
                target,
                reserved,
            });
        }
        Ok(Volume {
            host,
            target,
            read_only,
        })
    }

    /// Bind-mount the volume (read-write) into the root filesystem at
    /// `rootfs`; returns the host path of the mount point.
    fn bind(&self, sys: &dyn Syscall, rootfs: &Path) -> Result<PathBuf, Error> {
        let spec = self.to_string();
        let io = |what: String| {
            let spec = spec.clone();
            move |err| Error::Io { spec, what, err }
        };
        if !self.host.exists() {
            std::fs::create_dir_all(&self.host)
                .map_err(io(format!("create {}", self.host.display())))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.host, std::fs::Permissions::from_mode(0o755))
                .map_err(io(format!("chmod {}", self.host.display())))?;
        }
        let target = scoped::resolve(rootfs, &self.target)?;
        if target == rootfs {
            return Err(Error::Invalid {
                spec,
                reason: "the container path resolves to the container's root",
            });
        }
        // A symlink in the image (`/p -> /proc`) can lead there too.
        let inside = target.strip_prefix(rootfs).unwrap_or(&target);
        if let Some(reserved) = reserved_by_runtime(inside) {
            return Err(Error::Reserved {
                spec,
                target: Path::new("/").join(inside),
                reserved,
            });
        }
        if self.host.is_dir() {
            std::fs::create_dir_all(&target).map_err(io(format!("create {}", target.display())))?;
        } else {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("create {}", parent.display())))?;
            }
            if !target.exists() {
                std::fs::File::create(&target)
                    .map_err(io(format!("create {}", target.display())))?;
            }
        }
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        sys.mount(Some(&self.host), &target, None, bind, None)
            .map_err(|err| Error::Mount {
                spec: spec.clone(),
                target: target.clone(),
                err,
            })?;
        Ok(target)
    }

    /// Remount the bind at `target` read-only. The kernel ignores
    /// `MS_RDONLY` on the bind itself, and a remount changes only this
    /// mount: the volumes mounted below it keep their own mode.
    fn make_read_only(&self, sys: &dyn Syscall, target: &Path) -> Result<(), Error> {
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        sys.mount(None, target, None, ro, None)
            .map_err(|err| Error::Mount {
                spec: self.to_string(),
                target: target.to_path_buf(),
                err,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let v = Volume::parse("/tmp/vol:/data").unwrap();
        assert_eq!(
            (v.host.as_path(), v.target.as_path(), v.read_only),
            (Path::new("/tmp/vol"), Path::new("/data"), false)
        );
        assert!(Volume::parse("/a:/b:ro").unwrap().read_only);
        assert_eq!(Volume::parse("/a:/b:ro").unwrap().to_string(), "/a:/b:ro");
    }

    #[test]
    fn bad_specs_are_refused() {
        for bad in [
            "/a",
            "a:/b",
            "/a:b",
            "/a:/",
            "/a:/../..",
            "/a:/b/../../c",
            "/a:/b:rx",
            ":/b",
            "/a:",
            "/a:/b:ro:x",
            "/a:/proc",
            "/a:/sys/fs/cgroup",
            "/a:/dev/shm",
            "/a://./dev/",
        ] {
            assert!(Volume::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_symlink_in_the_image_cannot_place_the_mount_outside() {
        let t = tempfile::tempdir().unwrap();
        let rootfs = t.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        std::os::unix::fs::symlink("/", rootfs.join("evil")).unwrap();
        let resolved = scoped::resolve(&rootfs, Path::new("/evil/data")).unwrap();
        assert_eq!(resolved, rootfs.join("data"));
    }

    #[test]
    fn paths_that_only_look_like_the_runtimes_are_accepted() {
        for good in ["/a:/procs", "/a:/data/proc", "/a:/devices"] {
            assert!(Volume::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn parents_are_mounted_before_children_whatever_the_order() {
        let vols: Vec<Volume> = ["/i:/data/inner", "/x:/x", "/o:/data", "/d:/data/inner/deep"]
            .iter()
            .map(|s| Volume::parse(s).unwrap())
            .collect();
        let order: Vec<String> = mount_order(&vols)
            .unwrap()
            .iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            order,
            ["/x:/x", "/o:/data", "/i:/data/inner", "/d:/data/inner/deep"]
        );
    }

    #[test]
    fn the_same_container_path_twice_is_refused() {
        let vols: Vec<Volume> = ["/a:/data", "/b:/data/"]
            .iter()
            .map(|s| Volume::parse(s).unwrap())
            .collect();
        let err = mount_order(&vols).unwrap_err().to_string();
        assert!(err.contains("/data is given twice"), "{err}");
    }
    /// Volumes `specs` (host paths relative to a temporary directory)
    /// mounted by the recording fake into a root in that directory: the
    /// mount calls as (target inside the root, flags).
    fn mount_calls(specs: &[&str]) -> Vec<(PathBuf, MsFlags)> {
        use crate::syscall::recording::{Call, Recording};
        let t = tempfile::tempdir().unwrap();
        let rootfs = t.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        let vols: Vec<Volume> = specs
            .iter()
            .map(|s| Volume::parse(&format!("{}{s}", t.path().display())).unwrap())
            .collect();
        let sys = Recording::new();
        mount_all(&sys, &vols, &rootfs).unwrap();
        sys.calls()
            .into_iter()
            .map(|c| match c {
                Call::Mount { target, flags, .. } => (
                    Path::new("/").join(target.strip_prefix(&rootfs).unwrap()),
                    flags,
                ),
                other => panic!("unexpected call {other:?}"),
            })
            .collect()
    }

    #[test]
    fn read_only_volumes_are_bound_then_remounted_read_only_after_every_bind() {
        let bind = MsFlags::MS_BIND | MsFlags::MS_REC;
        let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        assert_eq!(
            mount_calls(&["/in:/data/inner", "/out:/data:ro"]),
            [
                (PathBuf::from("/data"), bind),
                (PathBuf::from("/data/inner"), bind),
                (PathBuf::from("/data"), ro),
            ]
        );
    }

    #[test]
    fn a_read_write_volume_gets_no_remount() {
        let calls = mount_calls(&["/a:/a", "/b:/b:rw"]);
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(calls.iter().all(|(_, f)| !f.contains(MsFlags::MS_RDONLY)));
    }

    #[test]
    fn a_refused_bind_is_reported_with_its_volume_and_nothing_is_remounted() {
        use crate::syscall::recording::Recording;
        let t = tempfile::tempdir().unwrap();
        let rootfs = t.path().join("rootfs");
        std::fs::create_dir(&rootfs).unwrap();
        let host = t.path().join("h");
        let vols = [
            Volume::parse(&format!("{}:/x:ro", host.display())).unwrap(),
            Volume::parse(&format!("{}:/x/y", host.display())).unwrap(),
        ];
        let deep = rootfs.join("x/y");
        let sys = Recording::refusing(
            move |c| c.mount_target() == Some(deep.as_path()),
            nix::Error::EACCES,
        );
        let err = mount_all(&sys, &vols, &rootfs).unwrap_err().to_string();
        assert!(err.contains(":/x/y: bind-mount onto"), "{err}");
        assert_eq!(sys.calls().len(), 2, "{:#?}", sys.calls());
    }
}
