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

use std::path::{Component, Path, PathBuf};

use nix::mount::{MsFlags, mount};

use super::scoped;

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
    #[error(transparent)]
    Resolve(#[from] scoped::Error),
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
        Ok(Volume {
            host,
            target,
            read_only,
        })
    }

    /// Bind-mount the volume into the root filesystem at `rootfs`; returns
    /// the host path of the mount point.
    pub fn mount(&self, rootfs: &Path) -> Result<PathBuf, Error> {
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
        let mount_err = |err| Error::Mount {
            spec: spec.clone(),
            target: target.clone(),
            err,
        };
        mount(Some(&self.host), &target, None::<&str>, bind, None::<&str>).map_err(mount_err)?;
        if self.read_only {
            let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_REC;
            if let Err(e) = mount(None::<&str>, &target, None::<&str>, ro, None::<&str>) {
                let _ = super::overlay::unmount(&target);
                return Err(mount_err(e));
            }
        }
        Ok(target)
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
}
