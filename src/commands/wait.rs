//! `mydocker wait CONTAINER...` (step 37): block until each container has
//! stopped, then print its exit code, one line per container, as
//! `docker wait` does.
//!
//! A detached container's exit is recorded by its monitor (step 15): `wait`
//! polls the state until the record is there, so the code printed is the
//! one `ps` and `inspect` show. A foreground container is removed when its
//! `run` ends (mydocker keeps no foreground container, unlike Docker), so
//! its code is `run`'s own exit code, and `wait` says it cannot be read.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cli::WaitArgs;
use crate::container::state::{Error as StateError, Status, Store};

/// How often the state is read while waiting.
const POLL: Duration = Duration::from_millis(20);

pub fn wait(root: &Path, args: &WaitArgs) -> Result<i32> {
    let store = Store::new(root);
    let mut code = 0;
    for key in &args.containers {
        match wait_one(&store, key) {
            Ok(exit) => println!("{exit}"),
            Err(e) => {
                eprintln!("mydocker: {e:#}");
                code = crate::exit_code::EXIT_MYDOCKER;
            }
        }
    }
    Ok(code)
}

/// How long an exit may go unrecorded once the process has gone: the
/// monitor records it within milliseconds unless it was killed itself.
const RECORD_GRACE: Duration = Duration::from_secs(5);

/// The exit code of container `key`, once it has one.
fn wait_one(store: &Store, key: &str) -> Result<i32> {
    let name = store.find(key)?.name;
    store.wait_created(&name)?;
    let mut gone_since: Option<Instant> = None;
    loop {
        let info = match store.load(&name) {
            Ok(info) => info,
            Err(StateError::NotFound(_)) => {
                bail!("container {name} was removed before its exit code could be read")
            }
            Err(e) => return Err(e.into()),
        };
        match (info.status, info.current_status(), info.exit_code) {
            (Status::Created, ..) => bail!("container {name} has not started"),
            // Its restart policy starts it again: not ended yet.
            (Status::Exited, _, Some(_)) if info.restarting => {}
            (Status::Exited, _, Some(code)) => return Ok(code),
            (_, Status::Exited, _) => {
                let since = *gone_since.get_or_insert_with(Instant::now);
                if since.elapsed() > RECORD_GRACE {
                    bail!("container {name} has exited, but nothing recorded its exit code");
                }
            }
            _ => {}
        }
        std::thread::sleep(POLL);
    }
}
