//! `mydocker stop [-t SECS] CONTAINER...` (step 19): SIGTERM, wait, SIGKILL.
//! The container's layers and volumes stay until `rm`: stopping loses no
//! data (Docker's semantics). Stopping a stopped container is not an error.

use std::path::Path;

use anyhow::Result;

use crate::cli::StopArgs;
use crate::container::{state::Store, stop};

pub fn stop(root: &Path, args: &StopArgs) -> Result<i32> {
    let store = Store::new(root);
    Ok(each_container(&args.containers, |key| {
        let info = store.find(key)?;
        stop::stop(&store, &info, stop::grace(args.time))
    }))
}

/// Do `one` to each container of `keys` in turn, as Docker's `stop`,
/// `rm`, `kill` and `restart` do: each one done is named on stdout, and
/// failures go as [`each`] says.
pub fn each_container<T>(keys: &[String], mut one: impl FnMut(&str) -> Result<T>) -> i32 {
    each(keys, |key| {
        one(key)?;
        println!("{key}");
        Ok(())
    })
}

/// Do `one` to each of `keys` in turn (the verbs taking several
/// containers or images: `rm`, `stop`, `rmi`...): each failure reported
/// on stderr, and the rest still tried. The exit code: 125 (mydocker's
/// error) when any failed, else 0.
pub fn each(keys: &[String], mut one: impl FnMut(&str) -> Result<()>) -> i32 {
    let mut code = 0;
    for key in keys {
        if let Err(e) = one(key) {
            eprintln!("mydocker: {e:#}");
            code = crate::exit_code::EXIT_MYDOCKER;
        }
    }
    code
}
