//! Union filesystems (step 09). A union mount shows several directories as
//! one: read-only **lower** layers stacked under one writable **upper**
//! layer. Reading finds the topmost layer that has the file. Writing a file
//! that only a lower layer has first copies it up into the upper layer
//! ("copy-up"); deleting one leaves a **whiteout** in the upper layer that
//! hides the lower file. The lower layers never change, so many containers
//! can share one image.
//!
//! The tutorial uses aufs, which mainline Linux never merged; overlayfs
//! (mainline since 3.18) does the same job and needs one more directory, the
//! **work** directory, on the same filesystem as the upper one. Its
//! whiteouts are character devices 0:0. Both drivers sit behind [`Driver`];
//! aufs is used only when the running kernel lists it in /proc/filesystems
//! and overlay does not exist.
//!
//! The layers reach the kernel as one option string
//! (`lowerdir=A:B,upperdir=U,workdir=W`), so a path holding `,` or `:`
//! would be cut in two, and overlayfs drops a lone `\`. overlayfs reads a
//! backslash as "the next character is part of the path", so each of the
//! three is escaped with one; aufs has no such escape, and a layer path
//! holding one of them (or `=`) is refused there.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// The directories of one union mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers {
    /// Read-only layers, topmost first.
    pub lower: Vec<PathBuf>,
    /// The writable layer.
    pub upper: PathBuf,
    /// overlayfs's scratch directory (same filesystem as `upper`).
    pub work: PathBuf,
    /// Where the union appears.
    pub merged: PathBuf,
    /// The upper layer is thrown away when the union is unmounted: mount
    /// it `volatile` (overlayfs, Linux 5.10), which skips every sync of the
    /// upper filesystem. Without it, unmounting the union syncs the
    /// *whole* filesystem `upper` lives on (`ovl_sync_fs`), which on a
    /// disk other programs are writing to takes milliseconds to tens of
    /// them. After a crash overlayfs refuses to mount such an upper layer
    /// again (it leaves `work/work/incompat/volatile`), which is right for
    /// one that was to be removed anyway. Ignored by aufs; a kernel
    /// without the option gets the union without it.
    pub volatile: bool,
}

/// A union filesystem the kernel offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Overlay,
    Aufs,
}

/// A failed union operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the kernel has neither overlay nor aufs (see /proc/filesystems)")]
    NoDriver,
    #[error(
        "aufs cannot mount the layer {0}: its path holds ',', ':', '=' or '\\', which aufs options cannot carry (choose a --root without them)"
    )]
    BadPath(PathBuf),
    #[error("{driver:?} mount on {merged}: {err}")]
    Mount {
        driver: Driver,
        merged: PathBuf,
        err: nix::Error,
    },
    #[error("unmount {path}: {err}")]
    Unmount { path: PathBuf, err: nix::Error },
    #[error("create {path}: {err}")]
    Create { path: PathBuf, err: std::io::Error },
}

impl Driver {
    /// The driver to use, from the text of /proc/filesystems.
    pub fn from_filesystems(text: &str) -> Option<Driver> {
        let has = |n: &str| text.lines().any(|l| l.split_whitespace().last() == Some(n));
        if has("overlay") {
            Some(Driver::Overlay)
        } else if has("aufs") {
            Some(Driver::Aufs)
        } else {
            None
        }
    }

    /// The driver of the running kernel.
    pub fn detect() -> Result<Driver, Error> {
        let text = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
        Self::from_filesystems(&text).ok_or(Error::NoDriver)
    }

    /// The mount options that describe `layers` to this driver.
    pub fn options(self, layers: &Layers) -> Result<OsString, Error> {
        match self {
            Driver::Overlay => {
                let mut out = b"lowerdir=".to_vec();
                for (i, l) in layers.lower.iter().enumerate() {
                    if i > 0 {
                        out.push(b':');
                    }
                    overlay_escape(l, &mut out);
                }
                out.extend_from_slice(b",upperdir=");
                overlay_escape(&layers.upper, &mut out);
                out.extend_from_slice(b",workdir=");
                overlay_escape(&layers.work, &mut out);
                if layers.volatile {
                    out.extend_from_slice(b",volatile");
                }
                Ok(OsString::from_vec(out))
            }
            Driver::Aufs => {
                let all = layers.lower.iter().chain([&layers.upper, &layers.work]);
                for p in all {
                    if p.to_string_lossy().contains([',', ':', '=', '\\']) {
                        return Err(Error::BadPath(p.clone()));
                    }
                }
                let mut br = OsString::from("br=");
                br.push(&layers.upper);
                br.push("=rw");
                for l in &layers.lower {
                    br.push(":");
                    br.push(l);
                    br.push("=ro");
                }
                Ok(br)
            }
        }
    }
}

/// Append `path` to `out` as one overlayfs option value: `\`, `,` and
/// `:` each behind a backslash (the kernel removes it again). Every other
/// byte, spaces, newlines and non-UTF-8 included, passes as it is.
fn overlay_escape(path: &Path, out: &mut Vec<u8>) {
    for &b in path.as_os_str().as_bytes() {
        if matches!(b, b'\\' | b',' | b':') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Create the upper, work and merged directories and mount the union.
pub fn mount_union(layers: &Layers) -> Result<Driver, Error> {
    let driver = Driver::detect()?;
    for dir in [&layers.upper, &layers.work, &layers.merged] {
        std::fs::create_dir_all(dir).map_err(|err| Error::Create {
            path: dir.clone(),
            err,
        })?;
    }
    let fstype = match driver {
        Driver::Overlay => "overlay",
        Driver::Aufs => "aufs",
    };
    let mount_with = |layers: &Layers| -> Result<(), Error> {
        let options = driver.options(layers)?;
        mount(
            Some(fstype),
            &layers.merged,
            Some(fstype),
            MsFlags::empty(),
            Some(options.as_os_str()),
        )
        .map_err(|err| Error::Mount {
            driver,
            merged: layers.merged.clone(),
            err,
        })
    };
    match mount_with(layers) {
        // A kernel before 5.10 refuses `volatile` as an unknown option.
        Err(Error::Mount {
            err: nix::Error::EINVAL,
            ..
        }) if layers.volatile && driver == Driver::Overlay => mount_with(&Layers {
            volatile: false,
            ..layers.clone()
        })?,
        other => other?,
    }
    Ok(driver)
}

/// Unmount whatever is mounted at `path` (lazily: it disappears from the
/// tree at once, even if a process still has a file open in it). Not
/// mounted is fine.
pub fn unmount(path: &Path) -> Result<(), Error> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => Ok(()),
        Err(err) => Err(Error::Unmount {
            path: path.to_path_buf(),
            err,
        }),
    }
}

/// Is `path` a mount point in this mount namespace? (Not when the mount
/// table cannot be read.)
pub fn is_mounted(path: &Path) -> bool {
    super::mountinfo::read().is_ok_and(|mounts| super::mountinfo::is_mount_point(&mounts, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers() -> Layers {
        Layers {
            lower: vec!["/l/a".into(), "/l/b".into()],
            upper: "/u".into(),
            work: "/w".into(),
            merged: "/m".into(),
            volatile: false,
        }
    }

    #[test]
    fn overlay_is_preferred_over_aufs() {
        assert_eq!(
            Driver::from_filesystems("nodev\taufs\nnodev\toverlay\n"),
            Some(Driver::Overlay)
        );
        assert_eq!(
            Driver::from_filesystems("nodev\taufs\n"),
            Some(Driver::Aufs)
        );
        assert_eq!(Driver::from_filesystems("nodev\tproc\n"), None);
    }

    #[test]
    fn mount_options_for_each_driver() {
        assert_eq!(
            Driver::Overlay.options(&layers()).unwrap(),
            "lowerdir=/l/a:/l/b,upperdir=/u,workdir=/w"
        );
        assert_eq!(
            Driver::Aufs.options(&layers()).unwrap(),
            "br=/u=rw:/l/a=ro:/l/b=ro"
        );
        let throwaway = Layers {
            volatile: true,
            ..layers()
        };
        assert_eq!(
            Driver::Overlay.options(&throwaway).unwrap(),
            "lowerdir=/l/a:/l/b,upperdir=/u,workdir=/w,volatile"
        );
        assert_eq!(
            Driver::Aufs.options(&throwaway).unwrap(),
            "br=/u=rw:/l/a=ro:/l/b=ro"
        );
    }

    #[test]
    fn overlay_escapes_what_its_options_would_cut() {
        let l = Layers {
            lower: vec!["/l/a:b".into(), "/l/c,d".into()],
            upper: "/u/x\\y z\tw\n\u{e9}".into(),
            work: "/w".into(),
            merged: "/m".into(),
            volatile: false,
        };
        assert_eq!(
            Driver::Overlay.options(&l).unwrap(),
            "lowerdir=/l/a\\:b:/l/c\\,d,upperdir=/u/x\\\\y z\tw\n\u{e9},workdir=/w"
        );
    }

    #[test]
    fn aufs_refuses_what_its_options_cannot_carry() {
        for bad in ["/a,b", "/a:b", "/a=b", "/a\\b"] {
            let mut l = layers();
            l.upper = bad.into();
            assert!(
                matches!(Driver::Aufs.options(&l), Err(Error::BadPath(_))),
                "{bad}"
            );
        }
    }
}
