//! Resolve a path inside a container's root filesystem as the container
//! would see it (step 13): `..` stops at the root, and a symlink, absolute
//! or relative, is followed *within* the root. A path from the command line
//! or a link planted in an image can never lead to the host
//! (the class of bug behind CVE-2018-15664 and CVE-2021-30465).

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow (as the kernel's 40).
const MAX_LINKS: usize = 40;

/// A path that could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: too many levels of symbolic links")]
    Loop(PathBuf),
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
}

/// The host path of `path` inside `root`, following symlinks inside the
/// root. Missing trailing components are kept as they are (so the result
/// can be created).
pub fn resolve(root: &Path, path: &Path) -> Result<PathBuf, Error> {
    let mut pending: Vec<OsString> = components(path);
    pending.reverse();
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            done.pop();
            continue;
        }
        let candidate = join(root, &done).join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Error::Loop(path.to_path_buf()));
                }
                let target = std::fs::read_link(&candidate).map_err(|err| Error::Io {
                    path: candidate.clone(),
                    err,
                })?;
                if target.is_absolute() {
                    done.clear();
                }
                let mut more = components(&target);
                more.reverse();
                pending.extend(more);
            }
            _ => done.push(part),
        }
    }
    Ok(join(root, &done))
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in parts {
        p.push(part);
    }
    p
}

/// The text of `path` in a filesystem made of `layers`, topmost first:
/// read from the topmost layer that has it; `None` when that is not a
/// readable file (an overlay whiteout: deleted) or no layer has it.
pub fn read_in_layers(layers: &[PathBuf], path: &Path) -> Option<String> {
    layers
        .iter()
        .filter_map(|root| resolve(root, path).ok())
        .find(|p| std::fs::symlink_metadata(p).is_ok())
        .filter(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn dot_dot_stops_at_the_root() {
        let t = tempfile::tempdir().unwrap();
        let got = resolve(t.path(), Path::new("/../../etc/passwd")).unwrap();
        assert_eq!(got, t.path().join("etc/passwd"));
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("tmp")).unwrap();
        symlink("/", t.path().join("tmp/x")).unwrap();
        symlink("/etc/passwd", t.path().join("pw")).unwrap();
        assert_eq!(
            resolve(t.path(), Path::new("/tmp/x/etc")).unwrap(),
            t.path().join("etc")
        );
        assert_eq!(
            resolve(t.path(), Path::new("/pw")).unwrap(),
            t.path().join("etc/passwd")
        );
    }

    #[test]
    fn relative_symlinks_cannot_climb_out() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("a")).unwrap();
        symlink("../../../../..", t.path().join("a/up")).unwrap();
        assert_eq!(
            resolve(t.path(), Path::new("/a/up/host")).unwrap(),
            t.path().join("host")
        );
    }

    #[test]
    fn symlink_loops_are_reported() {
        let t = tempfile::tempdir().unwrap();
        symlink("/l", t.path().join("l")).unwrap();
        assert!(matches!(
            resolve(t.path(), Path::new("/l")),
            Err(Error::Loop(_))
        ));
    }
}
