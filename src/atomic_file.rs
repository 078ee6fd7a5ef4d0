//! Files replaced whole (step 15, the state store; later networks and
//! address leases): the new content goes to a temporary file beside the
//! old one and is renamed over it (`man 2 rename`: atomic within one
//! filesystem), so a reader, or a crash, sees the old file or the new,
//! never a torn one.

use std::io::{self, Write};
use std::path::Path;

/// Write `data` to `path` so that a reader sees the old content or the new,
/// never a torn file: write a temporary file beside it, fsync, rename.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    write_replacing(path, data, true)
}

/// Write `data` to `path` atomically (a temporary file renamed over it), with
/// an fsync first when `durable`. Without it the file is still never torn
/// by a crash of the process, only possibly lost with the machine's power:
/// fine for state that lives no longer than the process that writes it.
pub fn write_replacing(path: &Path, data: &[u8], durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(data)?;
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    #[test]
    fn atomic_write_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
