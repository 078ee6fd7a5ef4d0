//! Running a runtime-spec hook (step 40): a program given the container's
//! state document (JSON) on its stdin, with its own arguments and
//! environment, killed after `timeout` seconds.
//!
//! The runtime runs most hooks itself, in its own namespaces
//! (`oci::hooks`); two kinds run in the container's, so `init` runs them
//! ([`Inside`]): `createContainer` after the bundle's mounts and before
//! `pivot_root` (its path still resolves in the runtime's view of the
//! filesystem, as the runtime-spec asks), and `startContainer` once
//! `start` has woken init, in the container's root, as the container's
//! user with its capabilities (init is confined before it waits), before
//! the program is `execve`d. A hook is a child of whoever runs it: one `init` starts is
//! in the container's PID namespace, cgroups and mount namespace.
//!
//! The wait polls `try_wait` rather than pull in a crate for one loop.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// One hook: a program (absolute path), its argv (`args[0]` included),
/// its environment (`NAME=value`), and a timeout in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hook {
    pub path: std::path::PathBuf,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub timeout: Option<i64>,
}

/// The hooks `init` runs in the container's namespaces, and the state
/// document they read: `create` writes it before init exists (status
/// `creating`, PID 0); init puts in its PID and status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inside {
    #[serde(default)]
    pub create_container: Vec<Hook>,
    #[serde(default)]
    pub start_container: Vec<Hook>,
    pub state: String,
}

/// Init's PID as the runtime sees it (the number `state` reports; runc
/// gives its init's own number in the container, 1), read before the
/// pivot, while `/proc` is still the runtime's.
static RUNTIME_PID: OnceLock<i32> = OnceLock::new();

impl Inside {
    /// In init, with the bundle's mounts made under `root` (host path)
    /// and before the pivot: the `createContainer` hooks, run from
    /// `root` (as runc does) with status `creating`.
    pub fn create_container(&self, root: &Path) -> Result<()> {
        let pid = *RUNTIME_PID.get_or_init(runtime_pid);
        if self.create_container.is_empty() {
            return Ok(());
        }
        std::env::set_current_dir(root)
            .with_context(|| format!("hooks.createContainer: chdir to {}", root.display()))?;
        run_all(
            "hooks.createContainer",
            &self.create_container,
            &self.state_with(pid, "creating")?,
        )
    }

    /// In init, woken by `start`, in the container's root: the
    /// `startContainer` hooks, with status `created` (as runc).
    pub fn start_container(&self) -> Result<()> {
        if self.start_container.is_empty() {
            return Ok(());
        }
        let pid = RUNTIME_PID.get().copied().unwrap_or_else(own_pid);
        run_all(
            "hooks.startContainer",
            &self.start_container,
            &self.state_with(pid, "created")?,
        )
    }

    /// The state document with `pid` and `status` put in.
    fn state_with(&self, pid: i32, status: &str) -> Result<String> {
        let mut doc: serde_json::Value =
            serde_json::from_str(&self.state).context("read the hooks' state document")?;
        doc["pid"] = pid.into();
        doc["status"] = status.into();
        Ok(serde_json::to_string_pretty(&doc)?)
    }
}

/// This process's PID in the PID namespace of the `/proc` mounted at
/// `/proc` (the runtime's, before the pivot); else its own.
fn runtime_pid() -> i32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok())
        .unwrap_or_else(own_pid)
}

/// This process's PID in its own PID namespace.
fn own_pid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// Run `hooks` in order, each with `state` (the state document) on its
/// stdin; the first failure stops the rest and is returned, naming
/// `which` (`hooks.poststart`) and the hook's path.
pub fn run_all(which: &str, hooks: &[Hook], state: &str) -> Result<()> {
    run_each(which, hooks, state, None)
}

/// [`run_all`] with each hook started in `dir` (the runtime runs its
/// own hooks in the bundle directory, as runc, which works from there).
pub fn run_all_in(which: &str, hooks: &[Hook], state: &str, dir: &Path) -> Result<()> {
    run_each(which, hooks, state, Some(dir))
}

fn run_each(which: &str, hooks: &[Hook], state: &str, dir: Option<&Path>) -> Result<()> {
    for (i, hook) in hooks.iter().enumerate() {
        run(hook, state, dir).with_context(|| format!("{which}[{i}] {}", hook.path.display()))?;
    }
    Ok(())
}

fn run(hook: &Hook, state: &str, dir: Option<&Path>) -> Result<()> {
    let mut cmd = Command::new(&hook.path);
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    if let Some((arg0, rest)) = hook.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    // Its own process group, so a timeout ends whatever it started too.
    cmd.env_clear()
        .envs(hook.env.iter().filter_map(|e| e.split_once('=')))
        .stdin(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().context("start the hook")?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine (EPIPE).
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = hook
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(status) = child.try_wait().context("wait for the hook")? {
            break status;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let group = nix::unistd::Pid::from_raw(-(child.id() as i32));
            let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            bail!("timed out after {} s", hook.timeout.unwrap_or(0));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !status.success() {
        bail!("failed: {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_gets_inits_pid_and_the_status_and_keeps_the_rest() {
        let inside = Inside {
            state: r#"{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":0,
                       "bundle":"/b","annotations":{"k":"v"}}"#
                .to_string(),
            ..Inside::default()
        };
        let doc: serde_json::Value =
            serde_json::from_str(&inside.state_with(4321, "created").unwrap()).unwrap();
        assert_eq!(doc["pid"], 4321);
        assert_eq!(doc["status"], "created");
        assert_eq!(doc["id"], "c1");
        assert_eq!(doc["annotations"]["k"], "v");
    }

    #[test]
    fn a_hook_reads_the_state_gets_its_args_and_env_and_a_failure_names_it() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("out");
        let hook = Hook {
            path: "/bin/sh".into(),
            args: vec![
                "sh".into(),
                "-c".into(),
                format!("{{ cat; echo \" $0 $1 $GREETING\"; }} > {}", out.display()),
                "zero".into(),
                "one".into(),
            ],
            env: vec!["GREETING=hi".into()],
            timeout: Some(5),
        };
        run_all("hooks.x", &[hook], "{}").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{} zero one hi\n");
        let failing = Hook {
            path: "/bin/false".into(),
            ..Hook::default()
        };
        let e = run_all("hooks.startContainer", &[failing], "{}").unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "hooks.startContainer[0] /bin/false: failed: exit status: 1"
        );
    }
}
