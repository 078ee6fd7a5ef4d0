//! Discarding a container that was being started (step 15): when it
//! cannot start, its monitor gives back everything made for it (network
//! endpoint, layers and mounts, cgroups, state). Each part is tried;
//! failures are reported and the rest goes on.

use super::release_network::release_network;
use super::state::Store;

/// Remove everything a container being started made, when it cannot start
/// or (in the foreground) has ended: its network endpoint, layers and
/// mounts, cgroups, state. Each part is tried; failures are reported.
pub fn discard(
    store: &Store,
    name: &str,
    cgroup: &dyn crate::cgroups::Cgroup,
    rootfs: Option<&super::rootfs::Rootfs>,
) {
    if let Ok(info) = store.load(name) {
        release_network(store.root(), &info);
    }
    if let Some(r) = rootfs
        && let Err(e) = r.release()
    {
        eprintln!("mydocker: container {name}: {e:#}");
    }
    if let Err(e) = cgroup.destroy() {
        eprintln!("mydocker: container {name}: {e}");
    }
    if let Err(e) = store.remove(name) {
        eprintln!("mydocker: container {name}: {e}");
    }
}
