//! Images (step 11). An image here is a tar of a root filesystem, kept as
//! `<root>/images/<name>.tar`. The first container that uses it extracts it
//! once, in-process with the `tar` crate, to `<root>/images/<name>/`, which
//! from then on is a read-only layer: containers write elsewhere (step 12).
//!
//! An image is untrusted input. Every entry must stay inside the layer: no
//! absolute paths, no `..`, no hard link to a path outside; the `tar` crate
//! additionally refuses to write through a symlink that an earlier entry
//! planted. Extraction goes to a temporary directory that is renamed into
//! place only when complete, so a failed or interrupted extraction never
//! leaves a half image behind.

use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use super::temporaries::{self, Temporary};
use crate::names;

/// What the images directory's temporaries are named like: image names
/// start with a letter or digit, so a leading dot is always a temporary
/// (`.NAME.tar.XXXXXX` being saved, `.extract-NAME-XXXXXX` being
/// extracted).
const TEMPORARIES: &[&str] = &["."];

/// A failed image operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Name(#[from] names::InvalidName),
    #[error("image not found: {0}")]
    NotFound(String),
    #[error("{image}: entry {entry:?} would be written outside {target}")]
    Escapes {
        image: String,
        entry: String,
        target: &'static str,
    },
    /// `subject` is what the user named: `image NAME`, or `CONTAINER:PATH`
    /// for an archive copied into a container.
    #[error("{subject}: {what}: {err}")]
    Io {
        subject: String,
        what: String,
        err: std::io::Error,
    },
    /// The tar stream ended inside an entry or a header: the file was cut
    /// short (a copy or download that stopped).
    #[error("{subject}: the archive ends early (truncated) in {entry}")]
    Truncated { subject: String, entry: String },
}

/// An error of the image `image`.
fn io(image: &str, what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    about(format!("image {image}"), what)
}

/// An error of `subject`, as the user named it. The tar crate wraps a
/// failure in a message naming the host path it was writing; only the
/// innermost cause is kept, the entry being named by `what`.
fn about(
    subject: impl Into<String>,
    what: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> Error {
    let (subject, what) = (subject.into(), what.into());
    move |err| Error::Io {
        subject,
        what,
        err: innermost(err),
    }
}

fn innermost(err: std::io::Error) -> std::io::Error {
    let mut cause: &(dyn std::error::Error + 'static) = &err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if std::ptr::addr_eq(cause, &err) {
        return err;
    }
    std::io::Error::new(err.kind(), cause.to_string())
}

/// The cause of a `tar` crate unpacking error in the user's terms: the
/// crate wraps each failure in messages naming the host paths it was
/// writing (a temporary directory the user never named). `None` when the
/// entry would have been written outside the destination (through a
/// symlink an earlier entry made: the crate's own check), else
/// [`os_cause`].
pub(crate) fn unpack_cause(err: std::io::Error) -> Option<std::io::Error> {
    if chain(&err)
        .iter()
        .any(|t| t.starts_with("trying to unpack outside of destination path"))
    {
        return None;
    }
    Some(os_cause(err))
}

/// What the OS said of `err` (`No such file or directory (os error 2)`),
/// without the paths the `tar` and `tempfile` crates put around it (a
/// temporary's the user never named); else its innermost cause.
pub(crate) fn os_cause(err: std::io::Error) -> std::io::Error {
    for t in chain(&err) {
        if let Some(i) = t.find("(os error ")
            && let Some(j) = t[i..].find(')')
        {
            return std::io::Error::new(err.kind(), &t[..i + j + 1]);
        }
    }
    innermost(err)
}

/// The messages of `err` and of each of its causes.
fn chain(err: &std::io::Error) -> Vec<String> {
    let mut texts = Vec::new();
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = at {
        texts.push(e.to_string());
        at = e.source();
    }
    texts
}

/// `<root>/images`.
pub fn images_dir(root: &Path) -> PathBuf {
    root.join("images")
}

/// `<root>/images/<name>.tar`, after checking the name.
pub fn tar_path(root: &Path, name: &str) -> Result<PathBuf, Error> {
    names::validate("image", name)?;
    Ok(images_dir(root).join(format!("{name}.tar")))
}

/// `<root>/images/<name>`: the extracted, read-only layer.
pub fn layer_path(root: &Path, name: &str) -> Result<PathBuf, Error> {
    names::validate("image", name)?;
    Ok(images_dir(root).join(name))
}

/// The image's read-only layer, extracting the tar the first time.
pub fn layer(root: &Path, name: &str) -> Result<PathBuf, Error> {
    let tar = tar_path(root, name)?;
    let layer = layer_path(root, name)?;
    if layer.is_dir() {
        return Ok(layer);
    }
    if !tar.is_file() {
        return Err(Error::NotFound(name.to_string()));
    }
    temporaries::make_dir_in_place(
        &layer,
        &format!(".extract-{name}-"),
        TEMPORARIES,
        |tmp| extract(name, &tar, tmp),
        |what, err| io(name, what)(err),
    )?;
    Ok(layer)
}

/// Is this archive path safe to create below the destination?
fn stays_inside(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// Extract `tar` into the empty directory `dest`, refusing entries that
/// would land outside it.
pub fn extract(image: &str, tar: &Path, dest: &Path) -> Result<(), Error> {
    let file = File::open(tar).map_err(io(image, format!("open {}", tar.display())))?;
    unpack(
        &format!("image {image}"),
        "the image",
        std::io::BufReader::new(file),
        dest,
    )
}

/// Extract a tar stream (`cp - CONTAINER:DIR`, step 23) into the existing
/// directory `dest`, with the same refusals as for images; errors name
/// `label`, the destination as the user typed it.
pub fn extract_stream(label: &str, reader: impl std::io::Read, dest: &Path) -> Result<(), Error> {
    unpack(label, "the destination", reader, dest)
}

fn unpack(
    label: &str,
    target: &'static str,
    reader: impl std::io::Read,
    dest: &Path,
) -> Result<(), Error> {
    let ended = std::cell::Cell::new(false);
    let mut archive = tar::Archive::new(EndWatch {
        inner: reader,
        ended: &ended,
    });
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_preserve_ownerships(true);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    let entries = archive
        .entries()
        .map_err(about(label, "read the archive"))?;
    // An error once the stream has ended (or a decompressor's
    // UnexpectedEof) is the archive's end, not the entry's fault.
    let truncated = |err: &std::io::Error, entry: &str| {
        (ended.get() || err.kind() == std::io::ErrorKind::UnexpectedEof).then(|| Error::Truncated {
            subject: label.to_string(),
            entry: entry.to_string(),
        })
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(err) => {
                return Err(truncated(&err, "an entry's header")
                    .unwrap_or_else(|| about(label, "read an entry")(err)));
            }
        };
        let path = entry
            .path()
            .map_err(about(label, "read an entry's path"))?
            .into_owned();
        let escapes = |p: &Path| Error::Escapes {
            image: label.to_string(),
            entry: p.display().to_string(),
            target,
        };
        if !stays_inside(&path) {
            return Err(escapes(&path));
        }
        if entry.header().entry_type().is_hard_link() {
            let target = entry
                .link_name()
                .map_err(about(label, "read a link target"))?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            if !stays_inside(&target) {
                return Err(escapes(&target));
            }
        }
        let unpacked = match entry.unpack_in(dest) {
            Ok(u) => u,
            Err(e) => match truncated(&e, &format!("entry {:?}", path.display().to_string())) {
                Some(cut) => return Err(cut),
                None => match unpack_cause(e) {
                    None => return Err(escapes(&path)),
                    Some(cause) => {
                        return Err(Error::Io {
                            subject: label.to_string(),
                            what: format!("extract entry {:?}", path.display().to_string()),
                            err: cause,
                        });
                    }
                },
            },
        };
        if !unpacked {
            return Err(escapes(&path));
        }
    }
    Ok(())
}

/// A reader that notes when `inner` reaches its end, so that an entry
/// cut short is told from a failed write.
struct EndWatch<'a, R> {
    inner: R,
    ended: &'a std::cell::Cell<bool>,
}

impl<R: std::io::Read> std::io::Read for EndWatch<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended.set(true);
        }
        Ok(n)
    }
}

/// One line of `mydocker images`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageInfo {
    pub name: String,
    pub size: u64,
    pub created: SystemTime,
}

/// Every image under `<root>/images`, sorted by name.
pub fn list(root: &Path) -> std::io::Result<Vec<ImageInfo>> {
    let mut out = Vec::new();
    let dir = match std::fs::read_dir(images_dir(root)) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in dir.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(name) = file_name.strip_suffix(".tar") else {
            continue;
        };
        if names::validate("image", name).is_err() {
            continue;
        }
        let meta = entry.metadata()?;
        out.push(ImageInfo {
            name: name.to_string(),
            size: meta.len(),
            created: meta.modified()?,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Pack the tree at `src` into the image `<root>/images/<name>.tar`: written
/// to a temporary file beside it, fsynced, then renamed, so the image is
/// complete or absent, never half-written. Symlinks are stored as links,
/// never followed; sockets are skipped.
pub fn save(root: &Path, name: &str, src: &Path) -> Result<PathBuf, Error> {
    let dest = tar_path(root, name)?;
    let dir = images_dir(root);
    std::fs::create_dir_all(&dir).map_err(io(name, format!("create {}", dir.display())))?;
    temporaries::sweep(&dir, TEMPORARIES);
    let (tmp, _claim) = Temporary::file_in(&dir, &format!(".{name}.tar."))
        .map_err(io(name, "create a temporary file"))?;
    {
        let mut builder =
            tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, tmp.as_file()));
        builder.follow_symlinks(false);
        builder.mode(tar::HeaderMode::Complete);
        builder
            .append_dir_all(".", src)
            .map_err(io(name, format!("pack {}", src.display())))?;
        let mut w = builder
            .into_inner()
            .map_err(io(name, "finish the archive"))?;
        w.flush().map_err(io(name, "write the archive"))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(io(name, "fsync the archive"))?;
    tmp.persist(&dest)
        .map_err(|e| io(name, "rename the archive into place")(e.error))?;
    // A saved image replaces an older one of the same name: drop its layer.
    let layer = layer_path(root, name)?;
    if layer.is_dir() {
        let _ = std::fs::remove_dir_all(&layer);
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, tar::EntryType, Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(if *kind == tar::EntryType::Regular {
                2
            } else {
                0
            });
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            // Write raw names: the builder's checked setters refuse `..`.
            let name = path.as_bytes();
            h.as_old_mut().name[..name.len()].copy_from_slice(name);
            if let Some(l) = link {
                h.as_old_mut().linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
            h.set_cksum();
            let data: &[u8] = if *kind == tar::EntryType::Regular {
                b"hi"
            } else {
                b""
            };
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn extract_bytes(bytes: &[u8]) -> (tempfile::TempDir, Result<(), Error>) {
        let t = tempfile::tempdir().unwrap();
        let tar = t.path().join("x.tar");
        std::fs::write(&tar, bytes).unwrap();
        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let r = extract("x", &tar, &dest);
        (t, r)
    }

    #[test]
    fn ordinary_entries_extract() {
        let (t, r) = extract_bytes(&tar_with(&[
            ("./bin/", tar::EntryType::Directory, None),
            ("./bin/f", tar::EntryType::Regular, None),
            ("./bin/l", tar::EntryType::Symlink, Some("/etc/passwd")),
        ]));
        r.unwrap();
        assert_eq!(
            std::fs::read_to_string(t.path().join("dest/bin/f")).unwrap(),
            "hi"
        );
        assert_eq!(
            std::fs::read_link(t.path().join("dest/bin/l")).unwrap(),
            Path::new("/etc/passwd")
        );
    }

    #[test]
    fn parent_dir_entries_are_refused() {
        let (t, r) = extract_bytes(&tar_with(&[("../evil", tar::EntryType::Regular, None)]));
        assert!(matches!(r, Err(Error::Escapes { .. })), "{r:?}");
        assert!(!t.path().join("evil").exists());
    }

    #[test]
    fn absolute_entries_are_refused() {
        let (_t, r) = extract_bytes(&tar_with(&[(
            "/tmp/mydocker-evil",
            tar::EntryType::Regular,
            None,
        )]));
        assert!(matches!(r, Err(Error::Escapes { .. })), "{r:?}");
        assert!(!Path::new("/tmp/mydocker-evil").exists());
    }

    #[test]
    fn hard_links_outside_are_refused() {
        let (_t, r) = extract_bytes(&tar_with(&[(
            "h",
            tar::EntryType::Link,
            Some("../../etc/passwd"),
        )]));
        assert!(matches!(r, Err(Error::Escapes { .. })), "{r:?}");
    }

    #[test]
    fn writing_through_a_planted_symlink_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().display().to_string();
        let (_t, r) = extract_bytes(&tar_with(&[
            ("l", tar::EntryType::Symlink, Some(target.as_str())),
            ("l/owned", tar::EntryType::Regular, None),
        ]));
        assert!(r.is_err());
        assert!(!outside.path().join("owned").exists());
    }

    #[test]
    fn a_missing_image_is_named() {
        let t = tempfile::tempdir().unwrap();
        let e = layer(t.path(), "nope").unwrap_err();
        assert_eq!(e.to_string(), "image not found: nope");
        assert!(layer(t.path(), "../x").is_err());
    }

    #[test]
    fn save_then_extract_round_trips() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        std::fs::create_dir_all(src.join("d")).unwrap();
        std::fs::write(src.join("d/f"), "data").unwrap();
        std::os::unix::fs::symlink("d/f", src.join("link")).unwrap();
        let root = t.path().join("root");
        save(&root, "img", &src).unwrap();
        let layer = layer(&root, "img").unwrap();
        assert_eq!(std::fs::read_to_string(layer.join("d/f")).unwrap(), "data");
        assert_eq!(
            std::fs::read_link(layer.join("link")).unwrap(),
            Path::new("d/f")
        );
        let names: Vec<_> = list(&root).unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, vec!["img"]);
    }
}
