//! `mydocker kill [-s SIGNAL] CONTAINER...` (step 37): send one signal to
//! each container's first process, SIGKILL unless told otherwise, as
//! `docker kill` does. Unlike `stop` it does not wait: a program that
//! handles the signal goes on running.
//!
//! The signal goes through `container::stop::signal`, which checks that
//! the recorded PID is still the container's (same start time), so a PID
//! the kernel has reused is never signalled. A container killed by the user
//! is not started again by its restart policy (Docker's rule for a
//! container stopped by hand).

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::KillArgs;
use crate::container::state::Store;
use crate::container::stop;

pub fn kill(root: &Path, args: &KillArgs) -> Result<i32> {
    let store = Store::new(root);
    Ok(super::stop::each_container(&args.containers, |key| {
        kill_one(&store, key, args.signal)
    }))
}

fn kill_one(store: &Store, key: &str, signal: nix::sys::signal::Signal) -> Result<()> {
    let info = store.find(key)?;
    // The user ended it: its restart policy does not start it again.
    if info.is_alive() {
        stop::stopped_by_user(store, &info.name);
    }
    if !stop::signal(&info, signal) {
        bail!("cannot kill container {}: it is not running", info.name);
    }
    Ok(())
}
