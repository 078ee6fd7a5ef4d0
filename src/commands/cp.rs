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
//!
//! Errors speak of paths as the user typed them: `NAME:/path` on the
//! container's side, never the host directory under the root where the
//! container's files happen to live.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::CpArgs;
use crate::container::mounted_root::MountedRoot;
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

/// Whether `path` can only name a directory: it ends in `/` or `/.`
/// (`/etc/passwd/` is an error, not the file; as Docker and the kernel's
/// path walk).
fn names_a_directory(path: &str) -> bool {
    path.ends_with('/') || wants_contents(path)
}

pub fn cp(root: &Path, args: &CpArgs) -> Result<i32> {
    let (src, dst) = (parse_side(&args.src), parse_side(&args.dst));
    let name = match (&src, &dst) {
        (Side::Container { .. }, Side::Container { .. }) => {
            bail!(
                "copying between containers is not supported: one of SRC and DST must be a host path"
            )
        }
        (Side::Container { name, .. }, _) | (_, Side::Container { name, .. }) => name.clone(),
        _ => bail!("one of SRC and DST must be CONTAINER:PATH"),
    };
    let ctr = Ctr {
        merged: container_root(root, &name)?,
        name,
    };
    // Whatever fails below, and however deep (an entry of a tree, the tar
    // crate), the message names the container's side as `NAME:/path`.
    copy_between(&ctr, src, dst).map_err(|e| anyhow::anyhow!("{}", ctr.rename(&format!("{e:#}"))))
}

/// The container side of a copy: its name as typed, and its merged root.
struct Ctr {
    name: String,
    merged: MountedRoot,
}

impl Ctr {
    /// `path` as the user would write it: `NAME:/p` for a path in the
    /// container's root, the host path otherwise.
    fn show(&self, path: &Path) -> String {
        match path.strip_prefix(&self.merged) {
            Ok(rel) => format!("{}:/{}", self.name, rel.display()),
            Err(_) => path.display().to_string(),
        }
    }

    /// A message with every mention of the container's root rewritten.
    fn rename(&self, message: &str) -> String {
        let merged = self.merged.display().to_string();
        message
            .replace(&format!("{merged}/"), &format!("{}:/", self.name))
            .replace(&merged, &format!("{}:/", self.name))
    }

    /// `path` in the container, resolved inside its root.
    fn resolve(&self, path: &str) -> Result<PathBuf> {
        scoped::resolve(&self.merged, Path::new(path))
            .map_err(|e| anyhow::anyhow!("{}:{path}: {e}", self.name))
    }
}

fn copy_between(ctr: &Ctr, src: Side, dst: Side) -> Result<i32> {
    match (src, dst) {
        (Side::Container { path, .. }, Side::Host(host)) => {
            let from = resolve_source(ctr, &path)?;
            let into_dir = names_a_directory(&host.to_string_lossy());
            copy_to(ctr, &from, wants_contents(&path), &host, into_dir)
        }
        (Side::Container { path, .. }, Side::Stdio) => {
            let from = resolve_source(ctr, &path)?;
            let base = archive_name(&from);
            copy::tar_out(&from, &base, io::stdout().lock())
                .with_context(|| format!("write {}:{path} as an archive to stdout", ctr.name))?;
            Ok(0)
        }
        (Side::Host(host), Side::Container { path, .. }) => {
            let to = ctr.resolve(&path)?;
            let host_str = host.to_string_lossy();
            match std::fs::symlink_metadata(&host) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                    bail!("not a directory: {host_str}")
                }
                Err(_) => bail!("no such file or directory: {}", host.display()),
            }
            copy_to(
                ctr,
                &host,
                wants_contents(&host_str),
                &to,
                names_a_directory(&path),
            )
        }
        (Side::Stdio, Side::Container { path, .. }) => {
            let to = ctr.resolve(&path)?;
            if !to.is_dir() {
                bail!(
                    "destination {}:{path} must be an existing directory when reading an archive",
                    ctr.name
                );
            }
            image::extract_stream(&format!("{}:{path}", ctr.name), io::stdin().lock(), &to)?;
            Ok(0)
        }
        _ => bail!("one of SRC and DST must be CONTAINER:PATH"),
    }
}

/// The merged root of a container, running or stopped.
fn container_root(root: &Path, key: &str) -> Result<MountedRoot> {
    let store = Store::new(root);
    let info = store.find(key)?;
    crate::container::mounted_root::mounted_root(&crate::syscall::Linux, &store, &info)
}

/// Resolve a container source path: every component but the last is
/// followed inside the root; the last is taken as it is (a link stays a
/// link).
fn resolve_source(ctr: &Ctr, path: &str) -> Result<PathBuf> {
    let trimmed = path.trim_end_matches("/.");
    let p = Path::new(trimmed);
    let resolved = match (p.file_name(), p.parent()) {
        (Some(name), Some(parent)) => ctr.resolve(&parent.to_string_lossy())?.join(name),
        (Some(name), None) => ctr.resolve("/")?.join(name),
        // `/`, `.`, or a path ending in `..`: resolve it all.
        (None, _) => ctr.resolve(trimmed)?,
    };
    if std::fs::symlink_metadata(&resolved).is_err() {
        bail!("no such file or directory: {}:{path}", ctr.name);
    }
    if names_a_directory(path) && !resolved.is_dir() {
        bail!("not a directory: {}:{path}", ctr.name);
    }
    Ok(resolved)
}

/// The name a source has in an archive or at its destination.
fn archive_name(src: &Path) -> String {
    src.file_name()
        .map_or_else(|| ".".to_string(), |n| n.to_string_lossy().into_owned())
}

/// Copy `src` to `dst` by Docker's rules (see the module comment).
/// `into_dir`: the destination as written can only name a directory
/// (a trailing `/`); an existing file there is refused, not overwritten.
fn copy_to(ctr: &Ctr, src: &Path, contents: bool, dst: &Path, into_dir: bool) -> Result<i32> {
    let src_meta =
        std::fs::symlink_metadata(src).with_context(|| format!("read {}", ctr.show(src)))?;
    let dst_meta = std::fs::metadata(dst).ok();
    if into_dir && dst_meta.as_ref().is_some_and(|m| !m.is_dir()) {
        bail!("not a directory: {}/", ctr.show(dst).trim_end_matches('/'));
    }
    let target = match (&dst_meta, src_meta.is_dir()) {
        (Some(m), true) if m.is_dir() => {
            if contents {
                dst.to_path_buf()
            } else {
                dst.join(archive_name(src))
            }
        }
        (Some(_), true) => bail!("cannot copy a directory to the file {}", ctr.show(dst)),
        (Some(m), false) if m.is_dir() => dst.join(archive_name(src)),
        (Some(_), false) => dst.to_path_buf(),
        (None, _) => {
            let parent = dst
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                bail!("destination directory {} does not exist", ctr.show(parent));
            }
            if dst.to_string_lossy().ends_with('/') {
                bail!("destination directory {} does not exist", ctr.show(dst));
            }
            dst.to_path_buf()
        }
    };
    copy::copy_entry(src, &target).map_err(|e| {
        anyhow::anyhow!(
            "copy {} to {}: {}",
            ctr.show(&e.src),
            ctr.show(&e.dst),
            e.err
        )
    })?;
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
