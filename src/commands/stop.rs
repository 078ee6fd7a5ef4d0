//! `mydocker stop [-t SECS] CONTAINER...` (step 19): SIGTERM, wait, SIGKILL.
//! The container's layers and volumes stay until `rm`: stopping loses no
//! data (Docker's semantics). Stopping a stopped container is not an error.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cli::StopArgs;
use crate::container::{state::Store, stop};

pub fn stop(root: &Path, args: &StopArgs) -> Result<i32> {
    let store = Store::new(root);
    let mut code = 0;
    for key in &args.containers {
        let result = store
            .find(key)
            .map_err(anyhow::Error::from)
            .and_then(|info| stop::stop(&store, &info, Duration::from_secs(args.time)));
        match result {
            Ok(()) => println!("{key}"),
            Err(e) => {
                eprintln!("mydocker: {e:#}");
                code = crate::exit_code::EXIT_MYDOCKER;
            }
        }
    }
    Ok(code)
}
