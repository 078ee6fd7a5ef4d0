//! `mydocker logs [-f] CONTAINER` (step 17): what a detached container wrote
//! to stdout and stderr, kept in `<root>/containers/<name>/container.log`.
//! With `-f`, keep printing what it writes until it exits.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cli::LogsArgs;
use crate::container::state::Store;

pub fn logs(root: &Path, args: &LogsArgs) -> Result<i32> {
    let store = Store::new(root);
    let info = store.find(&args.container)?;
    let path = store.log_path(&info.name);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !info.detached => {
            anyhow::bail!(
                "container {} runs in the foreground: its output goes to its terminal",
                info.name
            )
        }
        Err(e) => return Err(e).with_context(|| format!("open {}", path.display())),
    };
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("read {}", path.display()))?;
        if n > 0 {
            out.write_all(&buf[..n])?;
            continue;
        }
        out.flush()?;
        if !args.follow {
            return Ok(0);
        }
        let running = store
            .load(&info.name)
            .map(|i| i.is_alive())
            .unwrap_or(false);
        if !running {
            // One last read: output written just before the exit. The
            // monitor records the exit only once it has logged all of it
            // (from step 36 a terminal's output passes through the
            // monitor, after the process may be gone): wait for that.
            store.wait_exit_recorded(&info.name);
            std::io::copy(&mut file, &mut out)?;
            out.flush()?;
            return Ok(0);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
