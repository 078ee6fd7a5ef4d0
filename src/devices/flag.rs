//! `--device HOST[:CONTAINER][:PERMS]` (step 35, Docker's syntax): give the
//! container one of the host's devices.
//!
//! Two things are needed, and `--device` does both: a **node** in the
//! container's `/dev` with the host device's type and numbers (made by
//! `init` after `/dev` is mounted, through the [`Syscall`] seam), and a
//! **rule** in the devices controller that lets the container open it with
//! `PERMS` (a subset of `rwm`, default `rwm`). The node alone opens
//! nothing (the controller refuses); the rule alone gives no name to open.
//!
//! The host path is looked at when the flag is parsed: it must be a
//! character or block device, or `run` stops with 125 before anything is
//! made. (Docker also accepts a directory, for every device below it;
//! this step takes one device per flag.)

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::sys::stat::{Mode, SFlag, makedev};
use serde::{Deserialize, Serialize};

use super::{Access, Kind, Rule};
use crate::syscall::Syscall;

/// One `--device`, with what was found at its host path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The host's node, e.g. `/dev/loop0`.
    pub host: PathBuf,
    /// Where the node goes in the container (absolute); the host path when
    /// not given.
    pub container: PathBuf,
    /// Character or block.
    pub kind: Kind,
    pub major: u32,
    pub minor: u32,
    /// Permission bits of the host's node (`0o660`), copied to the new one.
    pub mode: u32,
    /// Owner and group of the host's node, copied too (as Docker does).
    pub uid: u32,
    pub gid: u32,
    /// What the container may do with it (`PERMS`).
    pub access: Access,
}

/// Split `HOST[:CONTAINER][:PERMS]` as Docker does: one part is the host
/// path; with two, the second is `PERMS` when it reads as permissions,
/// else the container path; with three, host, container and permissions.
fn split(value: &str) -> Result<(PathBuf, PathBuf, Access), String> {
    let parts: Vec<&str> = value.split(':').collect();
    let perms = |p: &str| {
        Access::parse(p).ok_or_else(|| format!("bad permissions {p:?}: a subset of \"rwm\""))
    };
    let (host, container, access) = match parts[..] {
        [host] => (host, host, Access::ALL),
        [host, second] => match Access::parse(second) {
            Some(access) => (host, host, access),
            None => (host, second, Access::ALL),
        },
        [host, container, p] => (host, container, perms(p)?),
        _ => return Err("expected HOST[:CONTAINER][:PERMS]".into()),
    };
    for (what, path) in [("host", host), ("container", container)] {
        if !path.starts_with('/') {
            return Err(format!("the {what} path {path:?} is not absolute"));
        }
    }
    Ok((host.into(), container.into(), access))
}

/// Parse a `--device` value and look at its host path (the flag's
/// `value_parser`): an error names what is wrong, and clap adds the flag
/// and value (exit 125).
pub fn parse(value: &str) -> Result<Device, String> {
    let (host, container, access) = split(value)?;
    let meta = std::fs::metadata(&host).map_err(|e| format!("{}: {e}", host.display()))?;
    let kind = if meta.file_type().is_char_device() {
        Kind::Char
    } else if meta.file_type().is_block_device() {
        Kind::Block
    } else {
        return Err(format!(
            "{} is not a character or block device",
            host.display()
        ));
    };
    let rdev = meta.rdev();
    Ok(Device {
        host,
        container,
        kind,
        major: nix::sys::stat::major(rdev) as u32,
        minor: nix::sys::stat::minor(rdev) as u32,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        access,
    })
}

impl Device {
    /// The allow rule for this device: `c 1:3 rwm`-style, type and both
    /// numbers exact.
    pub fn rule(&self) -> Rule {
        Rule {
            allow: true,
            kind: self.kind,
            major: Some(self.major),
            minor: Some(self.minor),
            access: self.access,
        }
    }
}

/// Make each device's node in the container, whose root is seen at
/// `inside` (`/` once pivoted; a temporary directory in unit tests), with
/// the host node's type, numbers, mode and owner. Missing parent
/// directories are made; whatever was at the path is replaced.
pub fn create_nodes(sys: &dyn Syscall, inside: &Path, devices: &[Device]) -> Result<()> {
    for d in devices {
        let rel = d.container.strip_prefix("/").unwrap_or(&d.container);
        let path = inside.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("replace {}", path.display()));
            }
            _ => {}
        }
        let kind = match d.kind {
            Kind::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFCHR,
        };
        let mode = Mode::from_bits_truncate(d.mode);
        sys.mknod(&path, kind, mode, makedev(d.major.into(), d.minor.into()))
            .with_context(|| {
                format!(
                    "create device {} for --device {}",
                    path.display(),
                    d.host.display()
                )
            })?;
        // mknod is subject to the umask; set the mode exactly.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(d.mode))
            .with_context(|| format!("chmod {}", path.display()))?;
        std::os::unix::fs::chown(&path, Some(d.uid), Some(d.gid))
            .with_context(|| format!("chown {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, Recording};

    #[test]
    fn values_split_as_docker_reads_them() {
        let all = Access::ALL;
        let r = Access::parse("r").unwrap();
        let s = |v| split(v).unwrap();
        assert_eq!(s("/dev/a"), ("/dev/a".into(), "/dev/a".into(), all));
        assert_eq!(s("/dev/a:r"), ("/dev/a".into(), "/dev/a".into(), r));
        assert_eq!(s("/dev/a:/dev/b"), ("/dev/a".into(), "/dev/b".into(), all));
        assert_eq!(s("/dev/a:/dev/b:r"), ("/dev/a".into(), "/dev/b".into(), r));
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (value, says) in [
            ("/dev/a:/dev/b:rx", "bad permissions \"rx\""),
            ("/dev/a:/b:r:x", "HOST[:CONTAINER][:PERMS]"),
            ("dev/a", "not absolute"),
            ("/dev/a:b", "not absolute"),
            ("/nonexistent-device", "No such file"),
            ("/", "not a character or block device"),
        ] {
            let err = parse(value).unwrap_err();
            assert!(err.contains(says), "{value}: {err}");
        }
    }

    #[test]
    fn a_host_device_is_read_with_its_numbers() {
        let d = parse("/dev/null:/dev/mine:rw").unwrap();
        assert_eq!((d.kind, d.major, d.minor), (Kind::Char, 1, 3));
        assert_eq!(d.container, Path::new("/dev/mine"));
        assert_eq!(
            crate::devices::v1::line(&d.rule()),
            "c 1:3 rw",
            "the rule names exactly this device"
        );
    }

    #[test]
    fn nodes_are_made_through_the_seam_where_asked() {
        let t = tempfile::tempdir().unwrap();
        let me = nix::unistd::getuid().as_raw();
        let d = Device {
            host: "/dev/loop0".into(),
            container: "/dev/sub/disk".into(),
            kind: Kind::Block,
            major: 7,
            minor: 0,
            mode: 0o640,
            uid: me,
            gid: nix::unistd::getgid().as_raw(),
            access: Access::ALL,
        };
        let sys = Recording::new();
        create_nodes(&sys, t.path(), &[d]).unwrap();
        let path = t.path().join("dev/sub/disk");
        assert_eq!(
            sys.calls(),
            [Call::Mknod {
                path: path.clone(),
                dev: makedev(7, 0)
            }]
        );
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }
}
