//! `mydocker cp SRC DST` (step 23): copy between the host and a container,
//! running or stopped; exactly one side is `CONTAINER:PATH`, and `-` as the
//! host side streams a tar archive on stdin or stdout.
//!
//! Docker's rules for where things land:
//! - a file to an existing directory goes inside it; to any other path it
//!   becomes that file (its parent must exist);
//! - a directory to a missing path is created as that path; to an existing
//!   directory it goes inside it, or, when SRC ends in `/.`, only its
//!   contents are copied.
//!
//! The container's side is its root filesystem as the host sees it (the
//! merged mount). Paths there are resolved inside it ([`scoped::resolve`]):
//! `..` and symlinks never lead out. The last component of a source is not
//! followed: a symlink is copied as a symlink.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::CpArgs;
use crate::container::lifecycle::MountedRoot;
use crate::container::state::Store;
use crate::fs::{copy, image, scoped};

/// One side of `cp`.
#[derive(Debug, PartialEq, Eq)]
enum Side {
    Host(PathBuf),
    Stdio,
    Container { name: String, path: String },
}

/// `NAME:PATH` is a container path when the colon comes before any `/`
/// (so `./a:b` and `/tmp/a:b` stay host paths).
fn parse_side(s: &str) -> Side {
    if s == "-" {
        return Side::Stdio;
    }
    match s.split_once(':') {
        Some((name, path)) if !name.is_empty() && !name.contains('/') => Side::Container {
            name: name.to_string(),
            path: path.to_string(),
        },
        _ => Side::Host(PathBuf::from(s)),
    }
}

/// A path "ends in /." when its last component is `.` (copy the contents).
fn wants_contents(path: &str) -> bool {
    path == "." || path.ends_with("/.")
}

pub fn cp(root: &Path, args: &CpArgs) -> Result<i32> {
    let (src, dst) = (parse_side(&args.src), parse_side(&args.dst));
    match (src, dst) {
        (Side::Container { name, path }, Side::Host(host)) => {
            let merged = container_root(root, &name)?;
            let from = resolve_source(&merged, &path)?;
            copy_to(&from, wants_contents(&path), &host)
        }
        (Side::Container { name, path }, Side::Stdio) => {
            let merged = container_root(root, &name)?;
            let from = resolve_source(&merged, &path)?;
            let base = archive_name(&from);
            copy::tar_out(&from, &base, io::stdout().lock())
                .context("write the archive to stdout")?;
            Ok(0)
        }
        (Side::Host(host), Side::Container { name, path }) => {
            let merged = container_root(root, &name)?;
            let to = scoped::resolve(&merged, Path::new(&path))?;
            let host_str = host.to_string_lossy();
            if std::fs::symlink_metadata(&host).is_err() {
                bail!("no such file or directory: {}", host.display());
            }
            copy_to(&host, wants_contents(&host_str), &to)
        }
        (Side::Stdio, Side::Container { name, path }) => {
            let merged = container_root(root, &name)?;
            let to = scoped::resolve(&merged, Path::new(&path))?;
            if !to.is_dir() {
                bail!("destination {path:?} must be an existing directory when reading an archive");
            }
            image::extract_stream(&format!("{name}:{path}"), io::stdin().lock(), &to)?;
            Ok(0)
        }
        (Side::Container { .. }, Side::Container { .. }) => {
            bail!(
                "copying between containers is not supported: one of SRC and DST must be a host path"
            )
        }
        _ => bail!("one of SRC and DST must be CONTAINER:PATH"),
    }
}

/// The merged root of a container, running or stopped.
fn container_root(root: &Path, key: &str) -> Result<MountedRoot> {
    let store = Store::new(root);
    let info = store.find(key)?;
    crate::container::lifecycle::mounted_root(&store, &info)
}

/// Resolve a container source path: every component but the last is
/// followed inside the root; the last is taken as it is (a link stays a
/// link).
fn resolve_source(merged: &Path, path: &str) -> Result<PathBuf> {
    let p = Path::new(path.trim_end_matches("/."));
    let resolved = match p.file_name() {
        Some(name) => scoped::resolve(merged, p.parent().unwrap_or(Path::new("/")))?.join(name),
        // `/`, `.`, or a path ending in `..`: resolve it all.
        None => scoped::resolve(merged, p)?,
    };
    if std::fs::symlink_metadata(&resolved).is_err() {
        bail!("no such file or directory in the container: {path}");
    }
    Ok(resolved)
}

/// The name a source has in an archive or at its destination.
fn archive_name(src: &Path) -> String {
    src.file_name()
        .map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned())
}

/// Copy `src` to `dst` by Docker's rules (see the module comment).
fn copy_to(src: &Path, contents: bool, dst: &Path) -> Result<i32> {
    let src_meta = std::fs::symlink_metadata(src)?;
    let dst_meta = std::fs::metadata(dst).ok();
    let target = match (&dst_meta, src_meta.is_dir()) {
        (Some(m), true) if m.is_dir() => {
            if contents {
                dst.to_path_buf()
            } else {
                dst.join(archive_name(src))
            }
        }
        (Some(_), true) => bail!("cannot copy a directory to the file {}", dst.display()),
        (Some(m), false) if m.is_dir() => dst.join(archive_name(src)),
        (Some(_), false) => dst.to_path_buf(),
        (None, _) => {
            let parent = dst
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                bail!("destination directory {} does not exist", parent.display());
            }
            if dst.to_string_lossy().ends_with('/') {
                bail!("destination directory {} does not exist", dst.display());
            }
            dst.to_path_buf()
        }
    };
    copy::copy_entry(src, &target)
        .with_context(|| format!("copy {} to {}", src.display(), target.display()))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_parse_like_docker() {
        assert_eq!(parse_side("-"), Side::Stdio);
        assert_eq!(
            parse_side("c1:/etc"),
            Side::Container {
                name: "c1".into(),
                path: "/etc".into()
            }
        );
        assert_eq!(parse_side("/tmp/a:b"), Side::Host("/tmp/a:b".into()));
        assert_eq!(parse_side("./a:b"), Side::Host("./a:b".into()));
        assert_eq!(parse_side("rel"), Side::Host("rel".into()));
        assert!(wants_contents("/dir/."));
        assert!(!wants_contents("/dir"));
    }
}
