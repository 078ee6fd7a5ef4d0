//! Temporary files a killed process leaves behind (step 11, for images;
//! from step 20 also the directories of containers being removed; from
//! step 38 the OCI store's blobs being written and layers being
//! extracted).
//!
//! An image is written whole or not at all: into a temporary file or
//! directory beside its final name, then renamed into place. A process
//! killed before the rename leaves the temporary behind, and nothing in
//! its name says whether its writer is dead or still at work.
//!
//! `flock(2)` answers that question. A lock belongs to an open file
//! description, and the kernel drops it when the last descriptor of that
//! description closes, which includes the death of the process, however
//! it dies. So each writer holds an exclusive lock on its temporary for as
//! long as it works on it ([`Temporary::claim`]), and a sweeper
//! ([`sweep`]) deletes only the temporaries whose lock it can take: their
//! writer is gone. One gap remains, between creating a temporary and
//! locking it; writers close it by holding a shared lock on the directory
//! itself across the two steps (a directory can be `flock`ed like a file;
//! no lock file is left beside the images), which the sweeper takes
//! exclusively.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};
use tempfile::{NamedTempFile, TempDir};

/// A writer's hold on its temporary file or directory: while this lives,
/// [`sweep`] leaves the temporary alone.
pub struct Temporary {
    _lock: Flock<File>,
}

impl Temporary {
    /// Make a temporary in `dir` with `make` (which returns it with its
    /// path) and lock it, under the directory's shared lock so that no
    /// sweep sees it unlocked. Errors: the lock files cannot be opened or
    /// locked, or `make` fails.
    pub fn claim<T>(
        dir: &Path,
        make: impl FnOnce() -> io::Result<T>,
        path: impl Fn(&T) -> &Path,
    ) -> io::Result<(T, Temporary)> {
        let _shared = lock(dir, FlockArg::LockShared)?;
        let made = make()?;
        let own = lock(path(&made), FlockArg::LockExclusive)?;
        Ok((made, Temporary { _lock: own }))
    }
}

impl Temporary {
    /// A new temporary file in `dir` named `prefix` and random letters,
    /// claimed. Errors: as [`Temporary::claim`].
    pub fn file_in(dir: &Path, prefix: &str) -> io::Result<(NamedTempFile, Temporary)> {
        Temporary::claim(
            dir,
            || tempfile::Builder::new().prefix(prefix).tempfile_in(dir),
            |t| t.path(),
        )
    }

    /// A new temporary directory in `dir` named `prefix` and random
    /// letters, claimed. Errors: as [`Temporary::claim`].
    pub fn dir_in(dir: &Path, prefix: &str) -> io::Result<(TempDir, Temporary)> {
        Temporary::claim(
            dir,
            || tempfile::Builder::new().prefix(prefix).tempdir_in(dir),
            |t| t.path(),
        )
    }
}

/// Make the directory `dest` whole or not at all: sweep what killed
/// writers left in its parent (names starting with one of `leftovers`),
/// let `fill` write into a claimed temporary directory beside `dest`
/// (named `prefix` and random letters), then rename it into place. A
/// `dest` that another process finished first is kept, and ours dropped.
/// Used for an image's layer (step 11) and the OCI store's layers
/// (step 38). Errors: `fill`'s, or `io_err(what, cause)` for the
/// temporary directory or the rename.
pub fn make_dir_in_place<E>(
    dest: &Path,
    prefix: &str,
    leftovers: &[&str],
    fill: impl FnOnce(&Path) -> Result<(), E>,
    io_err: impl Fn(String, io::Error) -> E,
) -> Result<(), E> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| io_err(format!("create {}", parent.display()), e))?;
    sweep(parent, leftovers);
    let (tmp, _claim) = Temporary::dir_in(parent, prefix)
        .map_err(|e| io_err("create a temporary directory".to_string(), e))?;
    fill(tmp.path())?;
    let tmp = tmp.keep();
    match std::fs::rename(&tmp, dest) {
        Ok(()) => Ok(()),
        Err(err) => {
            let _ = std::fs::remove_dir_all(&tmp);
            if dest.is_dir() {
                return Ok(());
            }
            Err(io_err(
                format!("rename the extracted directory to {}", dest.display()),
                err,
            ))
        }
    }
}

impl Temporary {
    /// Lock the existing file or directory `path` before it is renamed to a
    /// temporary's name (a directory being deleted, say), so that no sweep
    /// sees it there unlocked. Errors: `path` cannot be opened or locked.
    pub fn hold(path: &Path) -> io::Result<Temporary> {
        Ok(Temporary {
            _lock: lock(path, FlockArg::LockExclusive)?,
        })
    }
}

/// Open `path` (a file or a directory) and lock it with `how`.
fn lock(path: &Path, how: FlockArg) -> io::Result<Flock<File>> {
    Flock::lock(File::open(path)?, how).map_err(|(_, e)| io::Error::from(e))
}

/// Delete every temporary in `dir` whose name starts with one of
/// `prefixes` and whose writer is gone (its lock can be taken); the bytes
/// deleted (as [`files_size`], each inode once), so that `image prune`
/// can say what it freed. Best effort: what cannot be deleted now is
/// left for the next sweep, and not counted.
pub fn sweep(dir: &Path, prefixes: &[&str]) -> u64 {
    let Ok(_exclusive) = lock(dir, FlockArg::LockExclusive) else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut freed = 0;
    let mut seen = HashSet::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let path = entry.path();
        // Taken at once, or the writer still works on it.
        if lock(&path, FlockArg::LockExclusiveNonblock).is_err() {
            continue;
        }
        // Counted before it goes; added only when it went.
        let bytes = files_size(&path, &mut seen);
        let removed = match entry.file_type() {
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(&path),
            _ => std::fs::remove_file(&path),
        };
        if removed.is_ok() {
            freed += bytes;
        }
    }
    freed
}

/// The bytes of the regular file `path`, or of the regular files below
/// the directory `path` (symbolic links not followed), each inode once:
/// `seen` holds the (device, inode) pairs already counted, and gains
/// these. Unreadable entries count 0.
pub fn files_size(path: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = path.symlink_metadata() else {
        return 0;
    };
    if m.is_file() {
        return if seen.insert((m.dev(), m.ino())) {
            m.len()
        } else {
            0
        };
    }
    if !m.is_dir() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries.flatten().map(|e| files_size(&e.path(), seen)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_deletes_what_no_writer_holds_and_keeps_what_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let held_file = || {
            Temporary::claim(
                dir.path(),
                || {
                    tempfile::Builder::new()
                        .prefix(".a.tar.")
                        .tempfile_in(dir.path())
                },
                |t| t.path(),
            )
        };
        let (kept, hold) = held_file().unwrap();
        let (abandoned, gone) = held_file().unwrap();
        let abandoned = abandoned.keep().unwrap().1;
        drop(gone);
        let (kept_dir, dir_hold) = Temporary::claim(
            dir.path(),
            || {
                tempfile::Builder::new()
                    .prefix(".extract-a-")
                    .tempdir_in(dir.path())
            },
            |t| t.path(),
        )
        .unwrap();
        std::fs::write(dir.path().join("a.tar"), b"an image").unwrap();
        sweep(dir.path(), &[".a.tar.", ".extract-"]);
        assert!(kept.path().exists());
        assert!(kept_dir.path().exists());
        assert!(!abandoned.exists());
        assert!(dir.path().join("a.tar").exists(), "not a temporary");
        drop((hold, dir_hold));
        let kept_dir = kept_dir.keep();
        sweep(dir.path(), &[".a.tar.", ".extract-"]);
        assert!(!kept.path().exists());
        assert!(!kept_dir.exists());
    }
}
