//! Copying files and trees between the host and a container (step 23).
//!
//! Everything is done here, in-process: no program from either side runs
//! (running the container's own `tar` on the host was CVE-2019-14271).
//! Entries are recreated by kind: directories, regular files (contents,
//! mode, owner, modification time), symbolic links **as links** (never
//! followed, so copying out of a container never reads host files a link
//! points to), FIFOs and device nodes with `mknod` (never opened, so a FIFO
//! cannot hang the copy); sockets are skipped. A regular file is created
//! with `O_NOFOLLOW`: a symlink planted at the destination is refused, not
//! written through.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{Mode, SFlag, UtimensatFlags, mknod, utimensat};
use nix::sys::time::TimeSpec;

/// A failed copy: the entry it failed on (deep in a tree, perhaps) and why.
/// The paths are the host's; the caller names them in the user's terms.
#[derive(Debug, thiserror::Error)]
#[error("copy {} to {}: {err}", src.display(), dst.display())]
pub struct Error {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub err: io::Error,
}

/// Copy `src` (of any kind) to `dst`. A directory is merged into an
/// existing directory `dst`; other kinds replace a non-directory `dst`.
pub fn copy_entry(src: &Path, dst: &Path) -> Result<(), Error> {
    let mut children = Vec::new();
    copy_one(src, dst, &mut children).map_err(|err| Error {
        src: src.to_path_buf(),
        dst: dst.to_path_buf(),
        err,
    })?;
    for (s, d) in children {
        copy_entry(&s, &d)?;
    }
    if fs::symlink_metadata(src).is_ok_and(|m| m.is_dir()) {
        // A directory's times are set after its entries changed them.
        let meta = fs::symlink_metadata(src).map_err(|err| Error {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            err,
        })?;
        restore_metadata(dst, &meta).map_err(|err| Error {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            err,
        })?;
    }
    Ok(())
}

/// Copy the entry `src` alone; a directory's children are pushed to
/// `children` for the caller to copy, so an error names the entry it hit.
fn copy_one(src: &Path, dst: &Path, children: &mut Vec<(PathBuf, PathBuf)>) -> io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    let kind = meta.file_type();
    if kind.is_dir() {
        match fs::symlink_metadata(dst) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "cannot copy a directory onto a file",
                ));
            }
            Err(_) => fs::create_dir(dst)?,
        }
        for child in fs::read_dir(src)? {
            let child = child?;
            children.push((child.path(), dst.join(child.file_name())));
        }
        return Ok(());
    } else {
        remove_non_dir(dst)?;
        if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
        } else if kind.is_file() {
            let mut from = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(src)?;
            let mut to = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(0o600)
                .open(dst)?;
            io::copy(&mut from, &mut to)?;
        } else if kind.is_fifo() || kind.is_char_device() || kind.is_block_device() {
            let sflag = if kind.is_fifo() {
                SFlag::S_IFIFO
            } else if kind.is_char_device() {
                SFlag::S_IFCHR
            } else {
                SFlag::S_IFBLK
            };
            mknod(dst, sflag, Mode::from_bits_truncate(0o600), meta.rdev())
                .map_err(io::Error::from)?;
        } else {
            return Ok(()); // a socket: nothing to copy
        }
    }
    restore_metadata(dst, &meta)
}

/// Remove `path` unless it is a directory or absent.
fn remove_non_dir(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "cannot overwrite a directory with a non-directory",
        )),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Give `dst` the owner, mode and modification time of `meta` (links
/// themselves, never their targets).
fn restore_metadata(dst: &Path, meta: &fs::Metadata) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))?;
    if !meta.file_type().is_symlink() {
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    let atime = TimeSpec::new(meta.atime(), meta.atime_nsec());
    let mtime = TimeSpec::new(meta.mtime(), meta.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        dst,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(io::Error::from)
}

/// Write `src` (named `name` in the archive) as a tar stream to `out`.
pub fn tar_out(src: &Path, name: &str, out: impl io::Write) -> io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    let meta = fs::symlink_metadata(src)?;
    if meta.is_dir() {
        b.append_dir_all(name, src)?;
    } else if meta.is_file() {
        b.append_path_with_name(src, name)?;
    } else {
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        if meta.file_type().is_symlink() {
            b.append_link(&mut h, name, fs::read_link(src)?)?;
        } else {
            b.append_data(&mut h, name, io::empty())?;
        }
    }
    b.into_inner()?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_round_trips_with_modes_links_and_times() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("sub/data"), "x").unwrap();
        fs::write(src.join("run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        nix::unistd::mkfifo(&src.join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        let dst = t.path().join("dst");
        copy_entry(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(dst.join("sub/data")).unwrap(), "x");
        assert_eq!(
            fs::metadata(dst.join("run.sh")).unwrap().mode() & 0o777,
            0o755
        );
        assert_eq!(
            fs::read_link(dst.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert!(
            fs::symlink_metadata(dst.join("fifo"))
                .unwrap()
                .file_type()
                .is_fifo()
        );
        let (a, b) = (
            fs::metadata(src.join("sub/data")).unwrap(),
            fs::metadata(dst.join("sub/data")).unwrap(),
        );
        assert_eq!((a.mtime(), a.mtime_nsec()), (b.mtime(), b.mtime_nsec()));
    }

    #[test]
    fn a_planted_symlink_at_the_destination_is_replaced_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        fs::write(&victim, "safe").unwrap();
        let src = t.path().join("f");
        fs::write(&src, "new").unwrap();
        let dst = t.path().join("dst");
        std::os::unix::fs::symlink(&victim, &dst).unwrap();
        copy_entry(&src, &dst).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "safe");
        assert_eq!(fs::read_to_string(&dst).unwrap(), "new");
    }
}
