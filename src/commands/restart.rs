//! `mydocker restart [-t SECS] CONTAINER...` (step 37): `stop` (SIGTERM,
//! then SIGKILL after the grace period) and `start`, one container after
//! the other, as `docker restart`. A stopped container is just started.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::cli::RestartArgs;
use crate::container::{state::Store, stop};

pub fn restart(root: &Path, args: &RestartArgs) -> Result<i32> {
    let store = Store::new(root);
    let mut code = 0;
    for key in &args.containers {
        let result = store
            .find(key)
            .map_err(anyhow::Error::from)
            .and_then(|info| stop::stop(&store, &info, Duration::from_secs(args.time)))
            .and_then(|()| super::start::start_one(root, &store, key, false));
        match result {
            Ok(_) => println!("{key}"),
            Err(e) => {
                eprintln!("mydocker: {e:#}");
                code = crate::exit_code::EXIT_MYDOCKER;
            }
        }
    }
    Ok(code)
}
