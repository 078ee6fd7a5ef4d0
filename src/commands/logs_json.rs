//! `mydocker logs [-f] [-n N] [-t] [--since TIME] CONTAINER` from step 37:
//! the container's log holds one JSON record per line (Docker's
//! `json-file` format, see `container::output`), so stdout comes back on
//! stdout and stderr on stderr, each line can carry the time it was
//! written, and lines can be chosen by time (`--since`) or by count from
//! the end (`--tail`). With `-f`, new records are printed as they arrive
//! until the container has exited.
//!
//! A line of the log that is not a record (a log written before step 37,
//! or damaged) is printed to stdout as it is, never dropped.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::cli::{LogsArgs, Tail};
use crate::container::output::Record;
use crate::container::state::Store;

pub fn logs(root: &Path, args: &LogsArgs) -> Result<i32> {
    let store = Store::new(root);
    let info = store.find(&args.container)?;
    let path = store.log_path(&info.name);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !info.detached => {
            anyhow::bail!(
                "container {} runs in the foreground: its output goes to its terminal",
                info.name
            )
        }
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let printer = Printer {
        timestamps: args.timestamps,
        since: args.since,
    };
    // What is there now: every line, then the last N of those chosen.
    let mut chosen = VecDeque::new();
    let mut partial = Vec::new();
    for line in read_lines(&mut reader, &mut partial, &path)? {
        if printer.wanted(&line) {
            chosen.push_back(line);
            if matches!(args.tail, Tail::Last(n) if chosen.len() > n) {
                chosen.pop_front();
            }
        }
    }
    for line in &chosen {
        printer.print(line)?;
    }
    if !args.follow {
        return Ok(0);
    }
    follow(
        &store,
        &info.name,
        &mut reader,
        &mut partial,
        &path,
        &printer,
    )?;
    Ok(0)
}

/// Print what container `name` writes from `offset` of its log on (the
/// log's length before it was started), on the streams it came from,
/// until it has exited: `start -a` (step 37).
pub fn print_from(store: &Store, name: &str, offset: u64) -> Result<()> {
    use std::io::{Seek, SeekFrom};
    let path = store.log_path(name);
    let mut file = File::open(&path).with_context(|| format!("open {}", path.display()))?;
    file.seek(SeekFrom::Start(offset))
        .with_context(|| format!("read {}", path.display()))?;
    let printer = Printer {
        timestamps: false,
        since: None,
    };
    let mut reader = BufReader::new(file);
    follow(store, name, &mut reader, &mut Vec::new(), &path, &printer)
}

/// Print new lines of the log as they arrive until the container has
/// exited and its exit is recorded.
fn follow(
    store: &Store,
    name: &str,
    reader: &mut BufReader<File>,
    partial: &mut Vec<u8>,
    path: &Path,
    printer: &Printer,
) -> Result<()> {
    loop {
        let running = store.load(name).map(|i| i.is_alive()).unwrap_or(false);
        if !running {
            // The monitor records the exit once it has logged the last of
            // the output (which, through a terminal, it may read after the
            // process is gone): wait for that before the last read.
            store.wait_exit_recorded(name);
        }
        for line in read_lines(reader, partial, path)? {
            if printer.wanted(&line) {
                printer.print(&line)?;
            }
        }
        if !running {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A line of the log: a record, or text that is not one.
enum Line {
    Record(Record, Option<SystemTime>),
    Text(Vec<u8>),
}

/// Every whole line readable now; the start of a line still being
/// written stays in `partial` until its end arrives.
fn read_lines(
    reader: &mut BufReader<File>,
    partial: &mut Vec<u8>,
    path: &Path,
) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    loop {
        let n = reader
            .read_until(b'\n', partial)
            .with_context(|| format!("read {}", path.display()))?;
        if n == 0 || partial.last() != Some(&b'\n') {
            return Ok(out);
        }
        let bytes = std::mem::take(partial);
        out.push(match serde_json::from_slice::<Record>(&bytes) {
            Ok(r) => {
                let time = humantime::parse_rfc3339(&r.time).ok();
                Line::Record(r, time)
            }
            Err(_) => Line::Text(bytes),
        });
    }
}

/// How lines are chosen and shown.
struct Printer {
    timestamps: bool,
    since: Option<SystemTime>,
}

impl Printer {
    /// A record written before `--since` is left out; text without a time
    /// is kept.
    fn wanted(&self, line: &Line) -> bool {
        match (line, self.since) {
            (Line::Record(_, Some(t)), Some(since)) => *t >= since,
            _ => true,
        }
    }

    fn print(&self, line: &Line) -> Result<()> {
        match line {
            Line::Text(bytes) => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()?;
            }
            Line::Record(r, _) => {
                let text = if self.timestamps {
                    format!("{} {}", r.time, r.log)
                } else {
                    r.log.clone()
                };
                if r.stream == "stderr" {
                    let mut err = std::io::stderr().lock();
                    err.write_all(text.as_bytes())?;
                    err.flush()?;
                } else {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                }
            }
        }
        Ok(())
    }
}
