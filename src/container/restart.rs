//! Restart policies (step 37): `run -d --restart POLICY` asks the
//! container's monitor to start the program again after it exits, as
//! Docker's restart manager does.
//!
//! - `no` (the default): never.
//! - `on-failure[:N]`: after a non-zero exit code, at most N times (no N:
//!   without a limit).
//! - `always` and `unless-stopped`: after any exit. The two differ in
//!   Docker only when its daemon starts again; mydocker has no daemon, so
//!   here they are the same.
//!
//! A container the user stopped (`stop`, `kill`, `rm -f`, `restart`) is
//! never started again by its policy: Docker's "manually stopped" rule.
//! Each restart waits first, 100 ms doubling with each restart and capped
//! at [`MAX_BACKOFF`], so a program that fails at once does not take a
//! CPU; the container shows as `restarting (CODE)` in `ps` meanwhile.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::state::{ContainerInfo, Store};

/// When the monitor starts a container again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "name", content = "max")]
pub enum Policy {
    #[default]
    No,
    /// After a non-zero exit, at most this many times (`None`: no limit).
    OnFailure(Option<u32>),
    Always,
    UnlessStopped,
}

/// The longest wait before a restart. Docker doubles from 100 ms up to a
/// minute; mydocker stops doubling at 10 s, so that a container failing in
/// a loop is retried within seconds of whatever it waited for coming back.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The first wait before a restart (Docker's).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

impl Policy {
    /// Should a container that exited with `code`, after `restarts`
    /// restarts so far, be started again? Never when `manually_stopped`.
    pub fn restarts(self, code: i32, restarts: u32, manually_stopped: bool) -> bool {
        if manually_stopped {
            return false;
        }
        match self {
            Policy::No => false,
            Policy::OnFailure(max) => code != 0 && max.is_none_or(|max| restarts < max),
            Policy::Always | Policy::UnlessStopped => true,
        }
    }

    /// The name and the retry limit, as `inspect` shows them in
    /// `HostConfig.RestartPolicy` (`MaximumRetryCount`, 0 without a limit).
    pub fn name_and_max(self) -> (&'static str, u32) {
        match self {
            Policy::No => ("no", 0),
            Policy::OnFailure(max) => ("on-failure", max.unwrap_or(0)),
            Policy::Always => ("always", 0),
            Policy::UnlessStopped => ("unless-stopped", 0),
        }
    }
}

/// How long to wait before restart number `n` (1 for the first): 100 ms,
/// doubled each time, at most [`MAX_BACKOFF`].
pub fn backoff(n: u32) -> Duration {
    let doublings = n.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Called by the monitor in the change that records the exit with `code`:
/// whether the policy starts the container again (it is `restarting`
/// until then), and the count of restarts.
pub fn plan(info: &mut ContainerInfo, code: i32) {
    info.restarting = info
        .restart
        .restarts(code, info.restart_count, info.manually_stopped);
    if info.restarting {
        info.restart_count += 1;
    }
}

/// The hidden flag of `start` the monitor passes when its policy starts
/// the container (the count and the manual stop rule differ).
pub const BY_POLICY_FLAG: &str = "--by-policy";

/// After the exit is recorded: a container run with `-d --rm` is removed;
/// when a restart was planned, wait the
/// backoff, then, unless the user stopped or removed the container
/// meanwhile, replace the monitor with `mydocker start --by-policy NAME`
/// (this same program), which starts the container as `start` does, under
/// a new monitor. The monitor is the only process left that knows the
/// container; becoming `start` reuses every step of making it again
/// rather than a second copy of them.
pub fn after_exit(store: &Store, name: &str) {
    let Ok(info) = store.load(name) else {
        return;
    };
    if !info.restarting {
        if info.auto_remove {
            remove_now(store, &info);
        }
        return;
    }
    std::thread::sleep(backoff(info.restart_count));
    match store.load(name) {
        Ok(info) if info.restarting && !info.manually_stopped => {}
        Ok(_) => {
            let _ = store.update(name, |i| i.restarting = false);
            return;
        }
        Err(_) => return,
    }
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new("/proc/self/exe")
        .arg0("mydocker")
        .arg("--root")
        .arg(store.root())
        .args(["start", BY_POLICY_FLAG, name])
        .exec();
    eprintln!("mydocker: container {name}: restart: {err}");
    let _ = store.update(name, |i| i.restarting = false);
}

impl FromStr for Policy {
    type Err = String;

    /// Docker's spellings: `no`, `on-failure`, `on-failure:N`, `always`,
    /// `unless-stopped`.
    fn from_str(s: &str) -> Result<Policy, String> {
        let (name, max) = match s.split_once(':') {
            Some((name, max)) => (name, Some(max)),
            None => (s, None),
        };
        let policy = match (name, max) {
            ("no", None) => Policy::No,
            ("always", None) => Policy::Always,
            ("unless-stopped", None) => Policy::UnlessStopped,
            ("on-failure", None) => Policy::OnFailure(None),
            ("on-failure", Some(n)) => Policy::OnFailure(Some(n.parse().map_err(|_| {
                format!("invalid restart count {n:?}: expected a number of retries")
            })?)),
            ("no" | "always" | "unless-stopped", Some(_)) => {
                return Err(format!(
                    "invalid restart policy {s:?}: only on-failure takes a count"
                ));
            }
            _ => {
                return Err(format!(
                    "invalid restart policy {s:?}: expected no, on-failure[:N], always or unless-stopped"
                ));
            }
        };
        Ok(policy)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Policy::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
            p => f.write_str(p.name_and_max().0),
        }
    }
}

/// `run -d --rm`: remove the container whose exit was just recorded, as
/// `rm` would (under the store's lock; a concurrent `rm` may have won).
fn remove_now(store: &Store, info: &ContainerInfo) {
    // Every `wait` begun before has read the exit code first.
    let _waiters = super::waiters::drain(store, &info.name);
    let Ok(_lock) = store.lock() else {
        return;
    };
    if let Ok(info) = store.load(&info.name)
        && let Err(e) = super::remove::remove(store, &info)
    {
        eprintln!("mydocker: container {}: --rm: {e:#}", info.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_spellings_parse_and_print_back() {
        for s in [
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:2",
        ] {
            assert_eq!(s.parse::<Policy>().unwrap().to_string(), s);
        }
        assert_eq!("on-failure:3".parse(), Ok(Policy::OnFailure(Some(3))));
        for bad in ["", "sometimes", "always:2", "on-failure:x", "on-failure:-1"] {
            assert!(bad.parse::<Policy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn on_failure_restarts_only_after_a_failure_and_at_most_n_times() {
        let p = Policy::OnFailure(Some(2));
        assert!(!p.restarts(0, 0, false));
        assert!(p.restarts(1, 0, false));
        assert!(p.restarts(1, 1, false));
        assert!(!p.restarts(1, 2, false));
        assert!(Policy::OnFailure(None).restarts(3, 1000, false));
    }

    #[test]
    fn always_restarts_after_any_exit_unless_stopped_by_the_user() {
        for p in [Policy::Always, Policy::UnlessStopped] {
            assert!(p.restarts(0, 50, false));
            assert!(p.restarts(137, 0, false));
            assert!(!p.restarts(137, 0, true));
        }
        assert!(!Policy::No.restarts(1, 0, false));
    }

    #[test]
    fn backoff_doubles_from_100_ms_up_to_the_cap() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(8), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn the_policy_is_recorded_as_json() {
        let json = serde_json::to_string(&Policy::OnFailure(Some(2))).unwrap();
        assert_eq!(
            serde_json::from_str::<Policy>(&json).unwrap(),
            Policy::OnFailure(Some(2))
        );
        let json = serde_json::to_string(&Policy::Always).unwrap();
        assert_eq!(
            serde_json::from_str::<Policy>(&json).unwrap(),
            Policy::Always
        );
    }
}
