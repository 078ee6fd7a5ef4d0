//! `mydocker restart [-t SECS] CONTAINER...` (step 37): `stop` (SIGTERM,
//! then SIGKILL after the grace period) and `start`, one container after
//! the other, as `docker restart`. A stopped container is just started.

use std::path::Path;

use anyhow::Result;

use crate::cli::RestartArgs;
use crate::container::{state::Store, stop};

pub fn restart(root: &Path, args: &RestartArgs) -> Result<i32> {
    let store = Store::new(root);
    Ok(super::stop::each_container(&args.containers, |key| {
        let info = store.find(key)?;
        stop::stop(&store, &info, stop::grace(args.time))?;
        super::start::start_one(root, &store, key, false)
    }))
}
