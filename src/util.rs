//! Small helpers every chapter uses: random IDs, atomic file writes, and the
//! start time of a process (which tells a live process from a recycled PID).

use std::fs;
use std::io::{self, Read, Write};
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

/// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks
/// since boot. A PID plus this value names one process for its whole life.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// The start time of process `pid` while it has not ended: `None` when
/// there is no such process or it is a zombie (ended, not yet reaped by
/// its parent; state `Z` or `X` in field 3 of `/proc/PID/stat`).
pub fn live_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    match stat_field(&stat, 3)? {
        "Z" | "X" | "x" => None,
        _ => parse_start_time(&stat),
    }
}

/// The parent of process `pid` (field 4 of `/proc/PID/stat`).
pub fn parent_pid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_field(&stat, 4)?.parse().ok()
}

fn parse_start_time(stat: &str) -> Option<u64> {
    stat_field(stat, 22)?.parse().ok()
}

/// Field `n` (from 1) of a `/proc/PID/stat` line.
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    // The command name (field 2) is in parentheses and may hold spaces or
    // parentheses itself: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3.
    rest.split_whitespace().nth(n.checked_sub(3)?)
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
    fn start_time_survives_odd_command_names() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000 1";
        assert_eq!(parse_start_time(stat), Some(98765));
    }

    #[test]
    fn a_running_process_is_live() {
        assert_eq!(
            live_start_time(std::process::id() as i32),
            process_start_time(std::process::id() as i32)
        );
    }

    #[test]
    fn a_zombie_is_not_live() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: it stays a zombie until `wait`.
        while fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(process_start_time(pid).is_some());
        assert_eq!(live_start_time(pid), None);
        child.wait().unwrap();
    }

    #[test]
    fn own_start_time_is_readable() {
        assert!(process_start_time(std::process::id() as i32).is_some());
    }

    #[test]
    fn root_tags_differ_per_root() {
        assert_eq!(root_tag(Path::new("/a")), root_tag(Path::new("/a")));
        assert_ne!(root_tag(Path::new("/a")), root_tag(Path::new("/b")));
        assert_eq!(root_tag(Path::new("/a")).len(), 8);
    }

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

/// `s` cut to at most `max` characters, the last one an ellipsis when it
/// was cut (Docker's `Ellipsis`, counted in characters).
pub fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        out.push('…');
    }
    out
}

/// A time given in seconds since the epoch, as [`format_time`] writes it;
/// any value, even one past what `SystemTime` holds, gives a date.
pub fn format_epoch_secs(secs: u64) -> String {
    match std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs)) {
        Some(t) => format_time(t),
        None => "-".to_string(),
    }
}

/// A time as `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_time(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Rows as left-aligned columns separated by three spaces. Any cell, of any
/// length, is laid out (padding is counted here, not left to `format!`,
/// whose width argument has a limit); cells should be one line each.
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                let pad = widths[i] - cell.chars().count() + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
pub(crate) mod format_tests {
    use super::*;

    #[test]
    fn times_format_as_utc() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_555_597_524);
        assert_eq!(format_time(t), "2019-04-18 14:25:24");
        assert_eq!(format_time(std::time::UNIX_EPOCH), "1970-01-01 00:00:00");
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        assert_eq!(ellipsis("sleep 60", 20), "sleep 60");
        assert_eq!(ellipsis(&"x".repeat(20), 20), "x".repeat(20));
        assert_eq!(ellipsis(&"é".repeat(21), 20), "é".repeat(19) + "…");
        assert_eq!(ellipsis("abc", 1), "…");
        assert_eq!(ellipsis("abc", 0), "");
    }

    #[test]
    fn any_epoch_second_formats() {
        assert_eq!(format_epoch_secs(0), "1970-01-01 00:00:00");
        for secs in [u64::MAX, u64::MAX / 2, i64::MAX as u64, 1 << 40] {
            assert!(!format_epoch_secs(secs).is_empty());
        }
    }

    #[test]
    fn tables_align() {
        let rows = [["A".to_string(), "BB".into()], ["CCC".into(), "D".into()]];
        assert_eq!(table(&rows), "A     BB\nCCC   D\n");
    }

    /// A small deterministic generator (xorshift), for property-style loops.
    pub(crate) struct Gen(u64);

    impl Gen {
        pub(crate) fn new(seed: u64) -> Self {
            Gen(seed | 1)
        }
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// A length, often small, sometimes past every formatting limit.
        pub(crate) fn len(&mut self) -> usize {
            const EDGES: [usize; 8] = [0, 1, 19, 20, 21, 65_535, 65_536, 70_000];
            match self.next() % 4 {
                0 => EDGES[(self.next() % EDGES.len() as u64) as usize],
                _ => (self.next() % 40) as usize,
            }
        }
        /// A one-line string of `len` characters, ASCII and not.
        pub(crate) fn line(&mut self) -> String {
            const CHARS: [char; 6] = ['a', 'Z', ' ', 'é', '…', '界'];
            let n = self.len();
            (0..n)
                .map(|_| CHARS[(self.next() % CHARS.len() as u64) as usize])
                .collect()
        }
    }

    #[test]
    fn tables_of_any_cells_align_and_never_panic() {
        let mut g = Gen::new(0x5eed);
        for _ in 0..200 {
            let rows: Vec<[String; 3]> = (0..(g.next() % 4 + 1))
                .map(|_| [g.line(), g.line(), g.line()])
                .collect();
            let out = table(&rows);
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines.len(), rows.len());
            let widths: Vec<usize> = (0..2)
                .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap())
                .collect();
            for (line, row) in lines.iter().zip(&rows) {
                // Each cell starts at its column, whatever came before.
                let chars: Vec<char> = line.chars().collect();
                let mut at = 0;
                for (i, cell) in row.iter().enumerate() {
                    let got: String = chars[at.min(chars.len())..]
                        .iter()
                        .take(cell.chars().count())
                        .collect();
                    // (The line's trailing blanks are trimmed.)
                    assert!(got.starts_with(cell.trim_end()), "cell {i} misplaced");
                    at += widths.get(i).map_or(0, |w| w + 3);
                }
            }
        }
    }
}
