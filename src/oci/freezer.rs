//! `pause` and `resume` (step 40): the cgroup *freezer*.
//!
//! A frozen cgroup's processes are stopped by the kernel and are not
//! scheduled again until it is thawed; unlike SIGSTOP they cannot notice
//! or undo it, and processes that fork meanwhile stay in the cgroup, so
//! they are frozen too. cgroup v1 has a `freezer` hierarchy whose
//! `freezer.state` takes `FROZEN` or `THAWED` and reads `FREEZING` until
//! every task has stopped; cgroup v2 has `cgroup.freeze` (`1` or `0`) in
//! every cgroup, and `cgroup.events` says `frozen 1` once done
//! (Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst,
//! cgroup-v2.rst). The runtime-spec's state then says `paused`, as runc's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a freeze may take before `pause` gives up and thaws again.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// The freezer control of a container's cgroups.
enum Control {
    /// v1: the directory in the freezer hierarchy.
    V1(PathBuf),
    /// v2: the container's unified cgroup.
    V2(PathBuf),
}

fn control(cgroups: &[PathBuf]) -> Option<Control> {
    cgroups.iter().find_map(|d| {
        if d.join("freezer.state").exists() {
            Some(Control::V1(d.clone()))
        } else if d.join("cgroup.freeze").exists() {
            Some(Control::V2(d.clone()))
        } else {
            None
        }
    })
}

/// Is the container's cgroup frozen (or being frozen)? False when it has
/// no freezer or the files cannot be read.
pub fn frozen(cgroups: &[PathBuf]) -> bool {
    let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    match control(cgroups) {
        Some(Control::V1(d)) => read(d.join("freezer.state")).trim() != "THAWED",
        Some(Control::V2(d)) => read(d.join("cgroup.freeze")).trim() == "1",
        None => false,
    }
}

/// Freeze (`true`) or thaw the container's cgroup, and wait until the
/// kernel says it is done (at most [`FREEZE_TIMEOUT`]; a freeze that does
/// not finish is undone and is an error).
pub fn set(cgroups: &[PathBuf], freeze: bool) -> Result<()> {
    let Some(ctl) = control(cgroups) else {
        bail!(
            "the container's cgroups have no freezer (cgroup v1 freezer hierarchy or v2 cgroup.freeze)"
        );
    };
    let (file, value, done): (PathBuf, &str, Box<dyn Fn() -> bool>) = match &ctl {
        Control::V1(d) => {
            let state = d.join("freezer.state");
            let want = if freeze { "FROZEN" } else { "THAWED" };
            let s = state.clone();
            (state, want, Box::new(move || read(&s).trim() == want))
        }
        Control::V2(d) => {
            let events = d.join("cgroup.events");
            let want = if freeze { "frozen 1" } else { "frozen 0" };
            (
                d.join("cgroup.freeze"),
                if freeze { "1" } else { "0" },
                Box::new(move || read(&events).lines().any(|l| l.trim() == want)),
            )
        }
    };
    let deadline = Instant::now() + FREEZE_TIMEOUT;
    loop {
        // v1 may stay FREEZING when a task is in an uninterruptible sleep;
        // writing FROZEN again retries, as runc does.
        std::fs::write(&file, value)
            .with_context(|| format!("write {value} to {}", file.display()))?;
        if done() {
            return Ok(());
        }
        if Instant::now() > deadline {
            if freeze {
                let _ = set(cgroups, false);
            }
            bail!(
                "the cgroup {} did not {} within {FREEZE_TIMEOUT:?}",
                file.display(),
                if freeze { "freeze" } else { "thaw" }
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}
