//! Names for what mydocker makes (step 05): a container's random ID, and a
//! short tag per root directory, so that the cgroups and iptables rules of
//! containers from different roots (`--root`) never collide and a test can
//! find everything its own root made.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

/// A random ID of `bytes` bytes, as lower-case hex (2 digits per byte).
pub fn random_hex(bytes: usize) -> io::Result<String> {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// A short, stable tag for a mydocker root directory (FNV-1a of its path).
/// Cgroups are named `mydocker-<tag>-<id>`, so the cgroups of containers from
/// different roots never collide, and a test can find every cgroup its own
/// root made.
pub fn root_tag(root: &Path) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in root.as_os_str().as_encoded_bytes() {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_hex_and_distinct() {
        let a = random_hex(8).unwrap();
        let b = random_hex(8).unwrap();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
    #[test]
    fn root_tags_differ_per_root() {
        assert_eq!(root_tag(Path::new("/a")), root_tag(Path::new("/a")));
        assert_ne!(root_tag(Path::new("/a")), root_tag(Path::new("/b")));
        assert_eq!(root_tag(Path::new("/a")).len(), 8);
    }
}
