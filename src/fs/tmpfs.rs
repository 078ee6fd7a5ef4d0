//! `--tmpfs PATH[:OPTIONS]` (step 35): a filesystem in memory (`man 5
//! tmpfs`) mounted at PATH inside the container, empty at start and gone
//! when the container's mount namespace goes. With `--read-only` it is how
//! a program gets the one writable directory it needs (`/tmp`, `/run`)
//! and nothing else.
//!
//! As Docker's, it is `noexec,nosuid,nodev` unless OPTIONS say otherwise
//! (`exec`, `suid`, `dev`), and OPTIONS may add `ro`, `size=`, `mode=`,
//! `uid=`, `gid=`, `nr_inodes=`. The mount is made by `init` after
//! `pivot_root`, in the container's own mount namespace: nothing to undo
//! on the host.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::mount::MsFlags;
use serde::{Deserialize, Serialize};

use crate::syscall::Syscall;

/// One `--tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tmpfs {
    /// Where inside the container (absolute).
    pub path: PathBuf,
    /// The mount flags (`MS_*` bits).
    pub flags: u64,
    /// The options passed to tmpfs itself (`size=64m,mode=1777`).
    pub data: String,
}

/// The options tmpfs itself takes (the rest are mount flags).
const DATA_OPTIONS: [&str; 6] = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"];

/// Parse a `--tmpfs PATH[:OPTIONS]` as Docker does: options in any order,
/// a later one winning over an earlier one (`exec` over the default
/// `noexec`).
pub fn parse(s: &str) -> Result<Tmpfs, String> {
    let (path, options) = s.split_once(':').unwrap_or((s, ""));
    let path = PathBuf::from(path);
    if !path.is_absolute() || path == Path::new("/") {
        return Err(format!(
            "{s:?}: the path must be absolute and not / (PATH[:OPTIONS])"
        ));
    }
    if path
        .components()
        .any(|c| c == std::path::Component::ParentDir)
    {
        return Err(format!("{s:?}: the path may not contain .."));
    }
    if let Some(reserved) = crate::fs::volume::reserved_by_runtime(&path) {
        return Err(format!(
            "{s:?}: {reserved} is mounted by the runtime itself; a tmpfs at or below it would hide or be hidden by it"
        ));
    }
    let mut flags = MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    let mut data = Vec::new();
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        let (set, clear) = match opt {
            "ro" => (MsFlags::MS_RDONLY, MsFlags::empty()),
            "rw" => (MsFlags::empty(), MsFlags::MS_RDONLY),
            "noexec" => (MsFlags::MS_NOEXEC, MsFlags::empty()),
            "exec" => (MsFlags::empty(), MsFlags::MS_NOEXEC),
            "nosuid" => (MsFlags::MS_NOSUID, MsFlags::empty()),
            "suid" => (MsFlags::empty(), MsFlags::MS_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, MsFlags::empty()),
            "dev" => (MsFlags::empty(), MsFlags::MS_NODEV),
            _ => {
                let key = opt.split_once('=').map(|(k, _)| k);
                match key {
                    Some(k) if DATA_OPTIONS.contains(&k) => {
                        let value = &opt[k.len() + 1..];
                        check_value(k, value).map_err(|why| format!("{s:?}: {opt:?}: {why}"))?;
                        data.retain(|d: &String| !d.starts_with(&format!("{k}=")));
                        data.push(opt.to_string());
                        continue;
                    }
                    _ => {
                        return Err(format!(
                            "{s:?}: unknown option {opt:?} (known: ro, rw, exec, noexec, suid, \
                             nosuid, dev, nodev, {}=...)",
                            DATA_OPTIONS.join("=..., ")
                        ));
                    }
                }
            }
        };
        flags = (flags - clear) | set;
    }
    Ok(Tmpfs {
        path,
        flags: flags.bits(),
        data: data.join(","),
    })
}

/// Check the value of a tmpfs option as `man 5 tmpfs` reads it, so that a
/// bad one is refused with the flag's name before anything is made rather
/// than by the kernel's EINVAL at mount time: `size` a number of bytes
/// with an optional k, m or g suffix, or a percentage of RAM; `nr_blocks`
/// and `nr_inodes` a number with an optional suffix; `mode` octal
/// permission bits (at most 7777); `uid` and `gid` numeric IDs.
fn check_value(key: &str, value: &str) -> Result<(), String> {
    let number = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let with_suffix = |v: &str| {
        let digits = v.strip_suffix(['k', 'K', 'm', 'M', 'g', 'G']).unwrap_or(v);
        number(digits)
    };
    let ok = match key {
        "size" => with_suffix(value) || value.strip_suffix('%').is_some_and(number),
        "nr_blocks" | "nr_inodes" => with_suffix(value),
        "mode" => {
            !value.is_empty()
                && value.len() <= 5
                && u32::from_str_radix(value, 8).is_ok_and(|m| m <= 0o7777)
        }
        "uid" | "gid" => value.parse::<u32>().is_ok(),
        _ => true,
    };
    if ok {
        return Ok(());
    }
    Err(match key {
        "size" => "a size is bytes with an optional k, m or g, or a percentage (64m, 10%)",
        "nr_blocks" | "nr_inodes" => "a count with an optional k, m or g",
        "mode" => "a mode is octal permission bits, at most 7777 (1777)",
        _ => "a numeric ID",
    }
    .to_string())
}

/// Refuse two mounts at one place: two `--tmpfs` of the same path, or a
/// `--tmpfs` where a volume (`volumes`, container paths) is mounted, as
/// Docker refuses a duplicate mount point. Refuse too a `--tmpfs` above a
/// volume or one of the container's own files (`files`: `/etc/hostname`
/// and the others): it is mounted by `init`, after them, and would hide
/// them (Docker orders all mounts by depth; here they are made in two
/// places, so the overlap is refused rather than silently lost).
pub fn check_targets(mounts: &[Tmpfs], volumes: &[&Path], files: &[&Path]) -> Result<(), String> {
    use crate::fs::volume::normal;
    for (i, m) in mounts.iter().enumerate() {
        let at = normal(&m.path);
        if mounts[..i].iter().any(|o| normal(&o.path) == at) {
            return Err(format!(
                "duplicate mount point: --tmpfs {} is given twice",
                at.display()
            ));
        }
        if volumes.iter().any(|v| normal(v) == at) {
            return Err(format!(
                "duplicate mount point: {} is both a --tmpfs and a volume",
                at.display()
            ));
        }
        let below = |p: &&&Path| {
            let p = normal(p);
            p != at && p.starts_with(&at)
        };
        if let Some(v) = volumes.iter().find(below) {
            return Err(format!(
                "--tmpfs {} would hide the volume at {} (a tmpfs is mounted after the volumes)",
                at.display(),
                v.display()
            ));
        }
        if let Some(f) = files.iter().find(below) {
            return Err(format!(
                "--tmpfs {} would hide the container's own {} (mount the tmpfs below it instead)",
                at.display(),
                f.display()
            ));
        }
    }
    Ok(())
}

impl Tmpfs {
    /// The mount flags.
    pub fn flags(&self) -> MsFlags {
        MsFlags::from_bits_truncate(self.flags)
    }
}

/// Mount each of `mounts` in the container's root, seen at `inside`,
/// creating the directory first.
pub fn mount_all(sys: &dyn Syscall, mounts: &[Tmpfs], inside: &Path) -> Result<()> {
    for m in mounts {
        let target = inside.join(m.path.strip_prefix("/").unwrap_or(&m.path));
        std::fs::create_dir_all(&target)
            .with_context(|| format!("create {} for --tmpfs", m.path.display()))?;
        let data = (!m.data.is_empty()).then_some(m.data.as_str());
        sys.mount(
            Some(Path::new("tmpfs")),
            &target,
            Some("tmpfs"),
            m.flags(),
            data,
        )
        .with_context(|| format!("mount --tmpfs on {}", m.path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, Recording};

    #[test]
    fn defaults_are_dockers_and_options_override_them() {
        let t = parse("/run").unwrap();
        assert_eq!(
            t.flags(),
            MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID | MsFlags::MS_NODEV
        );
        assert_eq!(t.data, "");
        let t = parse("/tmp:exec,size=64m,ro,mode=1777,size=32m").unwrap();
        assert_eq!(
            t.flags(),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_RDONLY
        );
        assert_eq!(t.data, "mode=1777,size=32m");
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            "tmp",
            "/",
            "/a/../b",
            "/x:bogus",
            "/x:color=red",
            "/x:size=abc",
            "/x:size=",
            "/x:size=10x",
            "/x:nr_inodes=-1",
            "/x:mode=999",
            "/x:mode=17777",
            "/x:uid=abc",
            "/x:gid=-1",
            "/proc",
            "/sys/fs",
            "/dev/x",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn good_values_pass() {
        for good in [
            "/x:size=65536",
            "/x:size=64m",
            "/x:size=1G",
            "/x:size=50%",
            "/x:nr_inodes=1k",
            "/x:mode=1777",
            "/x:mode=0755",
            "/x:uid=1000,gid=0",
            "/procs",
            "/data/dev",
        ] {
            assert!(parse(good).is_ok(), "{good}: {:?}", parse(good));
        }
    }

    #[test]
    fn a_mount_point_is_given_once() {
        let t = |s: &str| parse(s).unwrap();
        let etc = [Path::new("/etc/hosts")];
        assert!(check_targets(&[t("/a"), t("/b")], &[Path::new("/c")], &etc).is_ok());
        assert!(check_targets(&[t("/data/sub")], &[Path::new("/data")], &etc).is_ok());
        let twice = check_targets(&[t("/a"), t("/a/")], &[], &etc).unwrap_err();
        assert!(twice.contains("--tmpfs /a is given twice"), "{twice}");
        let both = check_targets(&[t("/data")], &[Path::new("/data")], &etc).unwrap_err();
        assert!(
            both.contains("/data is both a --tmpfs and a volume"),
            "{both}"
        );
        let hides = check_targets(&[t("/data")], &[Path::new("/data/sub")], &etc).unwrap_err();
        assert!(
            hides.contains("would hide the volume at /data/sub"),
            "{hides}"
        );
        let hides = check_targets(&[t("/etc")], &[], &etc).unwrap_err();
        assert!(
            hides.contains("would hide the container's own /etc/hosts"),
            "{hides}"
        );
    }

    #[test]
    fn each_is_mounted_where_asked_with_its_options() {
        let t = tempfile::tempdir().unwrap();
        let sys = Recording::new();
        let mounts = [parse("/run/x:size=1m").unwrap()];
        mount_all(&sys, &mounts, t.path()).unwrap();
        assert!(t.path().join("run/x").is_dir());
        assert_eq!(
            sys.calls(),
            [Call::Mount {
                source: Some("tmpfs".into()),
                target: t.path().join("run/x"),
                fstype: Some("tmpfs".into()),
                flags: MsFlags::MS_NOEXEC | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                data: Some("size=1m".into()),
            }]
        );
    }
}
