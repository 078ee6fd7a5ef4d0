//! `mydocker rm [-f] CONTAINER...` (step 20): remove stopped containers and
//! everything they made; `-f` kills running ones first. A container whose
//! state file is broken can still be removed with `-f`. Each name is tried
//! in turn, past one that fails, as Docker's `rm` does; the exit status is
//! then 125. From step 37 `-v` is accepted for Docker's scripts and does
//! nothing: mydocker makes no anonymous volumes.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::cli::RmArgs;
use crate::container::state::{Error as StateError, Store};
use crate::container::{remove, stop};

pub fn rm(root: &Path, args: &RmArgs) -> Result<i32> {
    let store = Store::new(root);
    Ok(super::stop::each_container(&args.containers, |key| {
        remove_one(root, &store, key, args.force)
    }))
}

fn remove_one(root: &Path, store: &Store, key: &str, force: bool) -> Result<()> {
    let info = match store.find(key) {
        Ok(info) => info,
        Err(StateError::Broken { name, .. }) if force => {
            return remove::remove_broken(store, root, &name);
        }
        Err(e) => return Err(e.into()),
    };
    // A container still being made is removed once made: removed now, the
    // process making it would go on and start it with no record left.
    store.wait_created(&info.name)?;
    let info = store.load(&info.name)?;
    if info.is_alive() {
        if !force {
            bail!(
                "cannot remove running container {}: stop it first, or use rm -f",
                info.name
            );
        }
        stop::stop(store, &info, Duration::ZERO)?;
    }
    let _lock = store.lock()?;
    // Another `rm` may have won the race while this one stopped the
    // container or waited for the lock. Its removal runs under the lock, so
    // here the state file is either whole or gone with its directory; read
    // before the lock it could be caught half removed.
    if !store.config_path(&info.name).exists() {
        bail!("no such container: {key}");
    }
    // The state may have changed while stopping (the monitor's record).
    let info = store.load(&info.name)?;
    remove::remove(store, &info)
}
