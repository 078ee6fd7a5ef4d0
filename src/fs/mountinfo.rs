//! The mount table, read from `/proc/self/mountinfo` (proc(5)): the one
//! reader every part of mydocker uses. Step 01 reads it to find the cgroup
//! mounts and the root filesystem's type; from step 09 the union mount and
//! from step 13 the volumes are looked up in it, so that nothing is deleted
//! through a mount and nothing is left mounted.
//!
//! Each line describes one mount, fields separated by single spaces:
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2) (3)  (4)      (5)       (6)        (7)    (8) (9)     (10)       (11)
//! ```
//!
//! (1) mount ID, (2) parent ID, (3) device, (4) root of the mount within its
//! filesystem, (5) mount point, (6) per-mount options, (7) zero or more
//! optional fields, (8) a lone `-`, (9) filesystem type, (10) source,
//! (11) per-superblock options.
//!
//! Paths are not text: a mount point may hold any byte but `/` and NUL, and
//! need not be UTF-8. So that a line stays one line of fields, the kernel
//! writes space, tab, newline and backslash as a backslash and three octal
//! digits (`\040`, `\011`, `\012`, `\134`); every field is decoded here, on
//! bytes, before it is compared with a path. Comparing the raw text with a
//! path instead silently misses any mount whose path holds such a
//! character, and a cleanup that trusts "not mounted" then deletes through
//! the mount.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// One line of the mount table, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount's ID (field 1).
    pub id: u64,
    /// The parent mount's ID (field 2).
    pub parent: u64,
    /// What of its filesystem is mounted (field 4): `/` for a whole
    /// filesystem, a directory for a bind mount.
    pub root: PathBuf,
    /// Where it is mounted (field 5).
    pub mount_point: PathBuf,
    /// Per-mount options: `rw`, `nosuid`, ... (field 6).
    pub options: String,
    /// The filesystem type: `ext4`, `overlay`, `cgroup2`, ... (field 9).
    pub fs_type: String,
    /// The source: a device, or a name such as `overlay` (field 10).
    pub source: OsString,
    /// Per-superblock options: for a v1 cgroup, its controllers (field 11).
    pub super_options: String,
}

/// Decode the octal escapes (`\ooo`) the kernel writes in a field; any
/// other byte, a backslash not followed by three octal digits included,
/// is kept as it is.
pub fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)) && d[0] <= b'3');
        match (field[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn path(field: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(unescape(field)))
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(&unescape(field)).into_owned()
}

/// One line, or `None` when it is not a mount table line.
fn parse_line(line: &[u8]) -> Option<Mount> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    // The lone "-" ends the optional fields; it comes after field 6.
    let dash = fields.iter().skip(6).position(|f| *f == b"-")? + 6;
    let number = |f: &[u8]| std::str::from_utf8(f).ok()?.parse::<u64>().ok();
    let after = &fields[dash + 1..];
    Some(Mount {
        id: number(fields[0])?,
        parent: number(fields[1])?,
        root: path(fields[3]),
        mount_point: path(fields[4]),
        options: text(fields[5]),
        fs_type: text(after.first()?),
        source: OsString::from_vec(unescape(after.get(1)?)),
        super_options: after.get(2).map(|f| text(f)).unwrap_or_default(),
    })
}

/// Every mount in the text of a mountinfo file, in the kernel's order
/// (a mount after its parent); lines that do not parse are skipped.
pub fn parse(text: &[u8]) -> Vec<Mount> {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(parse_line)
        .collect()
}

/// The mount table of this process, read from the proc directory
/// `proc_root` (normally `/proc`; a fake one in tests).
pub fn read_from(proc_root: &Path) -> std::io::Result<Vec<Mount>> {
    Ok(parse(&std::fs::read(proc_root.join("self/mountinfo"))?))
}

/// The mount table of this process's mount namespace.
pub fn read() -> std::io::Result<Vec<Mount>> {
    read_from(Path::new("/proc"))
}

/// Is something mounted at `path`?
pub fn is_mount_point(mounts: &[Mount], path: &Path) -> bool {
    mounts.iter().any(|m| m.mount_point == path)
}

/// The mount points at or below `base` (a whole component: `/a/b` is
/// below `/a`, `/a/bc` is not), deepest first, one entry per mount: a
/// place mounted twice is listed twice, for two unmounts.
pub fn below(mounts: &[Mount], base: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = mounts
        .iter()
        .filter(|m| m.mount_point.starts_with(base))
        .map(|m| m.mount_point.clone())
        .collect();
    // Stable: of two mounts at one place the later (the upper) stays later,
    // so reversing the kernel's order first puts it first.
    found.reverse();
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    const TABLE: &[u8] = b"\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
30 22 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
41 22 0:40 / /tmp/a\\040b\\011c\\134d\\012e-\xc3\xa9/merged rw - overlay overlay rw,lowerdir=/l
42 41 8:1 /srv/vol\\040x /tmp/a\\040b\\011c\\134d\\012e-\xc3\xa9/merged/data rw master:3 - ext4 /dev/sda1 rw
43 22 0:41 / /tmp/a\\040bc rw - tmpfs my\\040tmpfs rw
";

    #[test]
    fn fields_are_read_around_the_optional_ones() {
        let m = parse(TABLE);
        assert_eq!(m.len(), 5);
        assert_eq!((m[0].id, m[0].parent), (22, 1));
        assert_eq!(m[0].mount_point, Path::new("/"));
        assert_eq!(m[0].fs_type, "ext4");
        assert_eq!(m[0].source, "/dev/sda1");
        assert_eq!(m[0].super_options, "rw,errors=remount-ro");
        assert_eq!(m[1].mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m[1].super_options, "rw,cpu,cpuacct");
        assert_eq!(m[3].options, "rw");
    }

    #[test]
    fn escaped_characters_and_non_ascii_are_decoded() {
        let m = parse(TABLE);
        assert_eq!(
            m[2].mount_point,
            Path::new("/tmp/a b\tc\\d\ne-\u{e9}/merged")
        );
        assert_eq!(m[3].root, Path::new("/srv/vol x"));
        assert_eq!(m[4].source, "my tmpfs");
    }

    #[test]
    fn names_that_are_not_utf8_survive() {
        let m = parse(b"50 22 0:1 / /tmp/\xff\\040x rw - tmpfs tmpfs rw\n");
        assert_eq!(m[0].mount_point.as_os_str().as_bytes(), b"/tmp/\xff x");
    }

    #[test]
    fn only_octal_escapes_are_decoded() {
        assert_eq!(unescape(b"\\040\\011\\012\\134"), b" \t\n\\");
        assert_eq!(unescape(b"a\\08x\\1"), b"a\\08x\\1");
        assert_eq!(unescape(b"\\400"), b"\\400");
    }

    #[test]
    fn lines_that_are_not_mounts_are_skipped() {
        assert!(parse(b"garbage\n1 2 3\n\n").is_empty());
    }

    #[test]
    fn mounts_below_a_directory_deepest_first() {
        let m = parse(TABLE);
        let base = Path::new("/tmp/a b\tc\\d\ne-\u{e9}");
        assert_eq!(
            below(&m, base),
            [base.join("merged/data"), base.join("merged")]
        );
        // A sibling whose name only starts the same is not below.
        assert!(below(&m, Path::new("/tmp/a b")).is_empty());
        assert!(is_mount_point(&m, &base.join("merged")));
        assert!(!is_mount_point(&m, base));
    }

    #[test]
    fn a_place_mounted_twice_is_listed_twice() {
        let m = parse(b"1 0 0:1 / /x rw - tmpfs t rw\n2 1 0:2 / /x rw - tmpfs u rw\n");
        assert_eq!(
            below(&m, Path::new("/x")),
            [Path::new("/x"), Path::new("/x")]
        );
    }
}
