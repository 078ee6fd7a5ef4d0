//! How `ps`, `images` and `network ls` print (steps 14 and 16): times in
//! UTC, long text cut with an ellipsis, and columns aligned as Docker's
//! tables are.

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

/// A size for people: 1.4MB, 200KB.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
