//! A bundle's hooks (step 40, the runtime-spec's `hooks`): programs the
//! runtime runs at points of the container's life, each given the
//! container's state document on its stdin, so it can find the
//! container (its PID, its bundle) and, say, set up its network.
//!
//! - `prestart` (deprecated) and `createRuntime`: during `create`, once
//!   the namespaces and cgroups exist and before `create` returns; one
//!   failing fails `create` (the container is removed);
//! - `poststart`: after `start` woke the program; a failure is only
//!   logged;
//! - `poststop`: during `delete`, after the container is gone; a failure
//!   is only logged.
//!
//! They run in the runtime's own namespaces. `createContainer` and
//! `startContainer`, which run inside the container's, are refused (not
//! supported yet). A hook with `timeout` is killed after that many
//! seconds (with every process of its group) and counts as failed. The wait polls `try_wait` rather than
//! pull in a crate for one loop.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
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

/// The hooks the runtime runs itself, kept with the container at
/// `create` (a later change to `config.json` must not affect them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// `prestart`, then `createRuntime`.
    #[serde(default)]
    pub create_runtime: Vec<Hook>,
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// A configuration's `hooks`, refusing those mydocker cannot run.
    pub fn from_config(hooks: Option<&oci_spec::runtime::Hooks>) -> Result<Hooks> {
        let Some(h) = hooks else {
            return Ok(Hooks::default());
        };
        let list = |v: &Option<Vec<oci_spec::runtime::Hook>>| -> Vec<Hook> {
            v.iter()
                .flatten()
                .map(|h| Hook {
                    path: h.path().clone(),
                    args: h.args().clone().unwrap_or_default(),
                    env: h.env().clone().unwrap_or_default(),
                    timeout: h.timeout(),
                })
                .collect()
        };
        for (field, v) in [
            ("hooks.createContainer", h.create_container()),
            ("hooks.startContainer", h.start_container()),
        ] {
            if v.as_ref().is_some_and(|v| !v.is_empty()) {
                bail!(
                    "{field}: hooks run inside the container's namespaces are not supported by mydocker yet"
                );
            }
        }
        #[allow(deprecated)]
        let mut create_runtime = list(h.prestart());
        create_runtime.extend(list(h.create_runtime()));
        Ok(Hooks {
            create_runtime,
            poststart: list(h.poststart()),
            poststop: list(h.poststop()),
        })
    }
}

/// Run `hooks` in order, each with `state` (the state document) on its
/// stdin; the first failure stops the rest and is returned, naming
/// `which` (`hooks.poststart`) and the hook's path.
pub fn run_all(which: &str, hooks: &[Hook], state: &str) -> Result<()> {
    for (i, hook) in hooks.iter().enumerate() {
        run(hook, state).with_context(|| format!("{which}[{i}] {}", hook.path.display()))?;
    }
    Ok(())
}

fn run(hook: &Hook, state: &str) -> Result<()> {
    let mut cmd = Command::new(&hook.path);
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
