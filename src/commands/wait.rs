//! `mydocker wait CONTAINER...` (step 37): block until each container has
//! stopped, then print its exit code, one line per container, as
//! `docker wait` does.
//!
//! A detached container's exit is recorded by its monitor (step 15): `wait`
//! polls the state until the record is there, so the code printed is the
//! one `ps` and `inspect` show; a `run -d --rm` container's monitor waits
//! for the `wait`s begun before it ended to read the code before it
//! removes the container ([`waiters`]). A foreground container is removed when its
//! `run` ends (mydocker keeps no foreground container, unlike Docker), so
//! its code is `run`'s own exit code, and `wait` says it cannot be read.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cli::WaitArgs;
use crate::container::state::{Error as StateError, Status, Store};
use crate::container::waiters;

/// How often the state is read while waiting.
const POLL: Duration = Duration::from_millis(20);

pub fn wait(root: &Path, args: &WaitArgs) -> Result<i32> {
    let store = Store::new(root);
    // Every container is registered as waited for before the first wait:
    // a `--rm` container ending meanwhile keeps its code for this `wait`.
    let waits: Vec<_> = args
        .containers
        .iter()
        .map(|key| {
            let name = store.find(key).map(|info| info.name);
            let hold = name
                .as_ref()
                .ok()
                .and_then(|n| waiters::register(&store, n));
            (name, hold)
        })
        .collect();
    // Waited for at once, each releasing its hold as soon as it has the
    // code (a removal waits for the holders); printed in the order asked,
    // each as soon as it and those before it are known.
    let mut code = 0;
    std::thread::scope(|s| {
        let handles: Vec<_> = waits
            .into_iter()
            .map(|(name, hold)| {
                let store = &store;
                s.spawn(move || {
                    let exit = wait_one(store, &name?);
                    drop(hold);
                    exit
                })
            })
            .collect();
        for handle in handles {
            match handle.join() {
                Ok(Ok(exit)) => println!("{exit}"),
                Ok(Err(e)) => {
                    eprintln!("mydocker: {e:#}");
                    code = crate::exit_code::EXIT_MYDOCKER;
                }
                Err(_) => code = crate::exit_code::EXIT_MYDOCKER,
            }
        }
    });
    Ok(code)
}

/// How long an exit may go unrecorded once the process has gone: the
/// monitor records it within milliseconds unless it was killed itself.
const RECORD_GRACE: Duration = Duration::from_secs(5);

/// The exit code of container `name`, once it has one.
fn wait_one(store: &Store, name: &str) -> Result<i32> {
    store.wait_created(name)?;
    let mut gone_since: Option<Instant> = None;
    loop {
        let info = match store.load(name) {
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
