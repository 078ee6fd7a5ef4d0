//! Stopping and removing a container (steps 19 and 20), shared by `stop`,
//! `rm` and the test harness.
//!
//! Every signal goes through [`signal`], which checks that the recorded
//! PID still belongs to the container (same start time): a PID the kernel
//! has handed to another process is never signalled.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::state::{ContainerInfo, Status, Store};

/// Send `sig` to the container's first process, if it still runs.
/// Returns whether it was sent.
pub fn signal(info: &ContainerInfo, sig: Signal) -> bool {
    match info.live_pid() {
        Some(pid) => kill(Pid::from_raw(pid), sig).is_ok(),
        None => false,
    }
}

/// Poll until `done` holds or `timeout` passes; returns whether it held.
/// A timeout too long for `Instant` to hold is no deadline at all.
fn wait_until(timeout: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if done() {
            return true;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// After the container's process has gone, its monitor records the exit;
/// wait (briefly) for that, so the state read next is final.
fn wait_recorded(store: &Store, name: &str) {
    wait_until(Duration::from_secs(5), || match store.load(name) {
        Ok(i) => i.status != Status::Running || !i.detached,
        Err(_) => true,
    });
}

/// Stop a container: SIGTERM, wait up to `timeout`, then SIGKILL. A
/// container that is not running is left as it is.
pub fn stop(store: &Store, info: &ContainerInfo, timeout: Duration) -> Result<()> {
    if !info.is_alive() {
        return Ok(());
    }
    signal(info, Signal::SIGTERM);
    if !wait_until(timeout, || !info.is_alive()) {
        signal(info, Signal::SIGKILL);
        if !wait_until(Duration::from_secs(10), || !info.is_alive()) {
            anyhow::bail!("container {} did not die after SIGKILL", info.name);
        }
    }
    wait_recorded(store, &info.name);
    Ok(())
}

/// Remove a container that no longer runs: its mounts and layers, any
/// cgroup left, and its state directory. Volume sources are never touched:
/// everything mounted below the layers is unmounted, and checked to be
/// gone, before a directory is deleted.
pub fn remove(store: &Store, info: &ContainerInfo) -> Result<()> {
    anyhow::ensure!(!info.is_alive(), "container {} is running", info.name);
    if let Some(base) = &info.layers {
        crate::fs::layers::ContainerLayers { base: base.clone() }
            .remove()
            .with_context(|| format!("remove the layers of container {}", info.name))?;
    }
    crate::cgroups::remove_paths(&info.cgroups)?;
    release_network(store.root(), info);
    store.remove(&info.name)?;
    Ok(())
}

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
    if let Some(r) = rootfs {
        if let Err(e) = r.release() {
            eprintln!("mydocker: container {name}: {e:#}");
        }
    }
    if let Err(e) = cgroup.destroy() {
        eprintln!("mydocker: container {name}: {e}");
    }
    if let Err(e) = store.remove(name) {
        eprintln!("mydocker: container {name}: {e}");
    }
}

/// Before step 28 a container holds nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn release_network(_root: &Path, _info: &ContainerInfo) {}

/// Before step 28 the state names nothing on the host's network.
#[cfg(not(feature = "net-bridge"))]
pub fn forget_network(_info: &mut ContainerInfo) {}

/// Clear what the state says the container holds on a bridge network (its
/// address, veth and published ports), once they are given back: an exited
/// container holds none, as in Docker. `net` (the mode asked for) stays.
#[cfg(feature = "net-bridge")]
pub fn forget_network(info: &mut ContainerInfo) {
    info.network = None;
    info.ip = None;
    info.veth = None;
    info.ports.clear();
}

/// Give back what a container got from a bridge network: its port rules,
/// its veth, its address.
#[cfg(feature = "net-bridge")]
pub fn release_network(root: &Path, info: &ContainerInfo) {
    use crate::network::endpoint::{Endpoint, disconnect};
    if let (Some(network), Some(ip), Some(veth)) = (&info.network, info.ip, &info.veth) {
        let ep = Endpoint {
            network: network.clone(),
            ip,
            veth: veth.clone(),
            ports: info.ports.clone(),
        };
        disconnect(root, &ep, &info.id);
    }
}

/// A container's root filesystem mounted on the host, for `commit` and
/// `cp` ([`mounted_root`]); derefs to its path.
#[cfg(feature = "isolation")]
pub struct MountedRoot {
    path: std::path::PathBuf,
    /// The layers mounted again for this use, unmounted on drop; `None`
    /// while the container runs (its own mounts are used).
    remounted: Option<crate::fs::layers::ContainerLayers>,
    _lock: Option<nix::fcntl::Flock<std::fs::File>>,
}

#[cfg(feature = "isolation")]
impl std::ops::Deref for MountedRoot {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

#[cfg(feature = "isolation")]
impl AsRef<Path> for MountedRoot {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

#[cfg(feature = "isolation")]
impl Drop for MountedRoot {
    fn drop(&mut self) {
        if let Some(layers) = &self.remounted {
            if let Err(e) = layers.unmount_all() {
                eprintln!("mydocker: unmount {}: {e}", layers.merged().display());
            }
        }
    }
}

/// The container's root filesystem as the host sees it: the merged mount
/// of its layers with its volumes and `/etc` files. While it runs, its own
/// mount. From step 21 a container that has exited holds no mounts (they
/// go when it ends, as in Docker), so they are made again for as long as
/// the returned guard lives: the image layer below the container's write
/// layer, the volumes, the `/etc` files. A lock file in the container's
/// directory keeps two such uses from unmounting under each other.
#[cfg(feature = "isolation")]
pub fn mounted_root(
    sys: &dyn crate::syscall::Syscall,
    store: &Store,
    info: &ContainerInfo,
) -> Result<MountedRoot> {
    use crate::fs::layers::ContainerLayers;
    let Some(base) = &info.layers else {
        anyhow::bail!("container {} has no root filesystem", info.name);
    };
    let layers = ContainerLayers { base: base.clone() };
    let merged = layers.merged();
    if info.is_alive() {
        anyhow::ensure!(
            crate::fs::overlay::is_mounted(&merged),
            "container {}: its root filesystem is not mounted",
            info.name
        );
        return Ok(MountedRoot {
            path: merged,
            remounted: None,
            _lock: None,
        });
    }
    let lock_path = store.container_dir(&info.name).join("mount.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("container {}: open {}", info.name, lock_path.display()))?;
    let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .with_context(|| format!("container {}: lock {}", info.name, lock_path.display()))?;
    // Left mounted by a use that was killed: start from nothing.
    layers.unmount_all()?;
    let guard = MountedRoot {
        path: merged.clone(),
        remounted: Some(layers.clone()),
        _lock: Some(lock),
    };
    let image_layer = crate::fs::image::layer(store.root(), &info.image)?;
    layers
        .mount(&image_layer)
        .with_context(|| format!("mount the layers of container {}", info.name))?;
    let volumes = info
        .volumes
        .iter()
        .map(|v| crate::fs::volume::Volume::parse(v))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("container {}: its recorded volumes", info.name))?;
    crate::fs::volume::mount_all(sys, &volumes, &merged)?;
    super::identity::remount(sys, &store.container_dir(&info.name), &merged, &volumes)?;
    Ok(guard)
}

/// Remove the state of a container whose `config.json` cannot be read: its
/// layers are found where they would be, from its name.
pub fn remove_broken(store: &Store, root: &Path, name: &str) -> Result<()> {
    let layers = crate::fs::layers::ContainerLayers::new(root, name);
    if layers.base.starts_with(store.container_dir(name)) {
        layers.remove()?;
    }
    store.remove(name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_timeout_is_waited_without_overflow() {
        // `stop -t 18446744073709551615`: a deadline past what Instant holds.
        assert!(wait_until(Duration::MAX, || true));
        assert!(wait_until(Duration::from_secs(u64::MAX), || true));
        assert!(!wait_until(Duration::ZERO, || false));
    }
}
