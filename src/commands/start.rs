//! `mydocker start [-a] CONTAINER...` (step 37): run stopped containers
//! again from their records, as `docker start` does: the same ID, name,
//! write layer, volumes, network and limits (see `run_again.rs` for what
//! is kept and what is made again). Without `-a` it prints each name once
//! the container runs; with `-a` (one container) it prints what the
//! container writes, stdout and stderr apart, and exits with its code. A
//! container already running is left as it is and its name printed, as
//! Docker does.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::StartArgs;
use crate::container::state::{Error as StateError, Status, Store};

pub fn start(root: &Path, args: &StartArgs) -> Result<i32> {
    if args.attach && args.containers.len() > 1 {
        bail!("start -a takes one container: the output of several cannot be told apart");
    }
    let store = Store::new(root);
    let mut code = 0;
    for key in &args.containers {
        match start_one(root, &store, key, args.by_policy) {
            Ok(name) if args.attach => return attached(&store, &name),
            Ok(_) => {
                if !args.by_policy {
                    println!("{key}");
                }
            }
            Err(e) => {
                eprintln!("mydocker: {e:#}");
                code = crate::exit_code::EXIT_MYDOCKER;
            }
        }
    }
    Ok(code)
}

/// Start container `key` unless it runs; returns its name and where its
/// log ended before the start (what `-a` prints follows it).
pub fn start_one(root: &Path, store: &Store, key: &str, by_policy: bool) -> Result<Started> {
    let info = store.find(key)?;
    store.wait_created(&info.name)?;
    let log_end = std::fs::metadata(store.log_path(&info.name)).map_or(0, |m| m.len());
    // Two starts of one container at once (two `restart`s, a user's and
    // its policy's): the second waits for the first, then finds it
    // running and leaves it so, as Docker's starts of one container are
    // one after the other.
    while !store.load(&info.name)?.is_alive() {
        match super::run::again::start(root, &info.name, by_policy) {
            Err(e) if matches!(e.downcast_ref(), Some(StateError::BeingStarted(_))) => {
                store.wait_created(&info.name)?;
            }
            result => {
                result?;
                break;
            }
        }
    }
    Ok(Started {
        name: info.name,
        log_end,
    })
}

/// A container `start` left running.
pub struct Started {
    pub name: String,
    /// The length of its log before this start.
    pub log_end: u64,
}

/// `-a`: what the container writes until it exits, then its exit code.
fn attached(store: &Store, started: &Started) -> Result<i32> {
    super::logs::print_from(store, &started.name, started.log_end)?;
    store.wait_exit_recorded(&started.name);
    let info = store.load(&started.name)?;
    match (info.status, info.exit_code) {
        (Status::Exited, Some(code)) => Ok(code),
        _ => bail!("container {}: its exit code was not recorded", started.name),
    }
}
