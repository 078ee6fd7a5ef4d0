//! Where a detached container's output goes (step 15): its stdout and
//! stderr are both the file `container.log`, opened for appending, which
//! `logs` (step 17) prints as it is. Nothing stands between the program and
//! the file, so nothing is lost if the monitor dies; but the two streams
//! are mixed, and nothing says when a line was written (step 37 keeps them
//! apart, `output_json.rs`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{Context, Result};

use super::state::Store;

/// The container's output, ready to hand to its first process.
pub struct Output {
    log: File,
}

impl Output {
    /// Open container `name`'s log for appending.
    pub fn open(store: &Store, name: &str) -> Result<Output> {
        let path = store.log_path(name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("open {}", path.display()))?;
        Ok(Output { log })
    }

    /// The descriptor moves for the container's stdout and stderr.
    pub fn stdio(&self) -> [(RawFd, RawFd); 2] {
        [(self.log.as_raw_fd(), 1), (self.log.as_raw_fd(), 2)]
    }

    /// The container runs: the program writes to the file itself, so the
    /// monitor has nothing to copy. Returns the log, for output that
    /// reaches the monitor another way (a terminal's master, step 36).
    pub fn copy_until_closed(self) -> Box<dyn Write> {
        Box::new(self.log)
    }
}
