//! Where a detached container's output goes, from step 37: as in Docker's
//! `json-file` log driver, each line the program writes becomes one JSON
//! object in `container.log`, with the stream it came from and the time it
//! was read:
//!
//! ```text
//! {"log":"a\n","stream":"stdout","time":"2026-11-29T12:00:00.123456789Z"}
//! ```
//!
//! so `logs` can give stdout and stderr back apart, with `--timestamps`,
//! `--since` and `--tail`. The program's stdout and stderr are two pipes;
//! the monitor reads both (`poll(2)`) until every writer has closed them,
//! which happens when the container's last process ends (the PID
//! namespace's end kills them all). A line longer than 16 KiB is cut into
//! several records, as Docker does, so one record never holds an
//! unbounded line.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};

use anyhow::{Context, Result};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::state::Store;

/// The longest `log` of one record, in bytes (Docker's buffer size).
pub const MAX_RECORD: usize = 16 * 1024;

/// One record of the log, as written and read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// The bytes written, usually one line with its `\n` (text as UTF-8,
    /// anything else replaced, as Docker does).
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When the monitor read it: RFC 3339 in UTC, nanoseconds.
    pub time: String,
}

/// The container's output, ready to hand to its first process.
pub struct Output {
    log: File,
    /// (read end, write end) of stdout's pipe and stderr's.
    stdout: (OwnedFd, OwnedFd),
    stderr: (OwnedFd, OwnedFd),
}

impl Output {
    /// Open container `name`'s log for appending and make the two pipes.
    pub fn open(store: &Store, name: &str) -> Result<Output> {
        let path = store.log_path(name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        let pipe =
            || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("make an output pipe");
        Ok(Output {
            log,
            stdout: pipe()?,
            stderr: pipe()?,
        })
    }

    /// The descriptor moves for the container's stdout and stderr.
    pub fn stdio(&self) -> [(RawFd, RawFd); 2] {
        [
            (self.stdout.1.as_raw_fd(), 1),
            (self.stderr.1.as_raw_fd(), 2),
        ]
    }

    /// The container runs: close the monitor's write ends, then copy what
    /// arrives into the log until both pipes are closed. Returns the log as
    /// a writer of stdout records, for output that reaches the monitor
    /// another way (a terminal's master, step 36).
    pub fn copy_until_closed(self) -> Box<dyn Write> {
        let Output {
            log,
            stdout,
            stderr,
        } = self;
        drop((stdout.1, stderr.1));
        let records = |stream| log.try_clone().map(|f| Records::new(f, stream));
        let (Ok(out), Ok(err)) = (records("stdout"), records("stderr")) else {
            return Box::new(Records::new(log, "stdout"));
        };
        let mut streams = [
            Stream::new(File::from(stdout.0), out),
            Stream::new(File::from(stderr.0), err),
        ];
        while streams.iter().any(|s| s.open) {
            let open: Vec<usize> = (0..2).filter(|&i| streams[i].open).collect();
            let mut fds: Vec<PollFd> = open
                .iter()
                .map(|&i| PollFd::new(streams[i].file.as_fd(), PollFlags::POLLIN))
                .collect();
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::Error::EINTR) => continue,
                Err(_) => break,
            }
            let ready: Vec<usize> = open
                .iter()
                .zip(&fds)
                .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
                .map(|(&i, _)| i)
                .collect();
            drop(fds);
            for i in ready {
                streams[i].copy();
            }
        }
        Box::new(Records::new(log, "stdout"))
    }
}

/// One of the two pipes, and where what it carries goes.
struct Stream {
    file: File,
    records: Records,
    open: bool,
}

impl Stream {
    fn new(file: File, records: Records) -> Stream {
        Stream {
            file,
            records,
            open: true,
        }
    }

    /// Copy what is there into the records; at end of file, mark it
    /// closed (the records then write any unended line when dropped).
    fn copy(&mut self) {
        let mut buf = [0u8; 64 * 1024];
        match self.file.read(&mut buf) {
            Ok(0) => self.open = false,
            Ok(n) => {
                let _ = self.records.write_all(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => self.open = false,
        }
        if !self.open {
            self.records.end();
        }
    }
}

/// A writer of one stream's records: bytes written become records, one
/// per line (and per [`MAX_RECORD`] bytes without a line's end); the start
/// of a line waits for its end, or is written as it is by [`Records::end`]
/// or when dropped.
pub struct Records {
    log: File,
    stream: &'static str,
    pending: Vec<u8>,
}

impl Records {
    pub fn new(log: File, stream: &'static str) -> Records {
        Records {
            log,
            stream,
            pending: Vec::new(),
        }
    }

    /// The stream has ended: write what is left of its last line.
    pub fn end(&mut self) {
        let rest = std::mem::take(&mut self.pending);
        if !rest.is_empty() {
            write_record(&mut self.log, self.stream, &rest);
        }
    }
}

impl Write for Records {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        for piece in split_records(&mut self.pending) {
            write_record(&mut self.log, self.stream, &piece);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        self.end();
    }
}

/// Take from `pending` every complete record: each line up to and with
/// its `\n`, and any run of [`MAX_RECORD`] bytes without one. What is left
/// is the start of a line still being written.
pub fn split_records(pending: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = match pending.iter().position(|&b| b == b'\n') {
            Some(i) if i < MAX_RECORD => i + 1,
            _ if pending.len() >= MAX_RECORD => MAX_RECORD,
            _ => break,
        };
        out.push(pending.drain(..end).collect());
    }
    out
}

fn write_record(log: &mut File, stream: &str, bytes: &[u8]) {
    let record = Record {
        log: String::from_utf8_lossy(bytes).into_owned(),
        stream: stream.to_string(),
        time: humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string(),
    };
    let mut line = serde_json::to_vec(&record).expect("a record serializes");
    line.push(b'\n');
    // One write per record: `logs -f` never sees half of one.
    let _ = log.write_all(&line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_lines_and_long_runs_are_cut() {
        let mut p = b"a\nbc\nde".to_vec();
        assert_eq!(
            split_records(&mut p),
            vec![b"a\n".to_vec(), b"bc\n".to_vec()]
        );
        assert_eq!(p, b"de");
        let mut long = vec![b'x'; MAX_RECORD * 2 + 5];
        long.push(b'\n');
        let pieces = split_records(&mut long);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[0].len(), MAX_RECORD);
        assert_eq!(pieces[2], b"xxxxx\n");
        assert!(long.is_empty());
    }
}
