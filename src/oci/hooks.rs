//! A bundle's hooks (step 40, the runtime-spec's `hooks`): programs the
//! runtime runs at points of the container's life, each given the
//! container's state document on its stdin, so it can find the
//! container (its PID, its bundle) and, say, set up its network.
//!
//! - `prestart` (deprecated) and `createRuntime`: during `create`, once
//!   the namespaces and cgroups exist and before `create` returns; one
//!   failing fails `create` (the container is removed);
//! - `createContainer`: during `create`, in the container's namespaces,
//!   after the bundle's mounts and before `pivot_root` (so its path
//!   resolves as the runtime sees the filesystem); run by init; one
//!   failing fails `create`;
//! - `startContainer`: during `start`, in the container (its namespaces,
//!   its root), before the program is executed; run by init; one
//!   failing fails `start`, and the container is stopped;
//! - `poststart`: after `start` woke the program; a failure is only
//!   logged;
//! - `poststop`: during `delete`, after the container is gone; a failure
//!   is only logged.
//!
//! Those but `createContainer` and `startContainer` run in the runtime's
//! own namespaces, in the bundle directory (runc works from there), and
//! `prestart` and `createRuntime` read status `creating` with init's PID,
//! as runc's. A failure names the field the hook came from
//! (`hooks.prestart[0]`). A hook with `timeout` is killed after that many seconds
//! (with every process of its group) and counts as failed
//! ([`crate::container::hooks`] runs them).
//!
//! One difference from runc: runc stops init before its `pivot_root` to
//! run `createRuntime` there, so `createContainer` follows it; here
//! `createRuntime` runs once init is set up, after `createContainer`.

use serde::{Deserialize, Serialize};

pub use crate::container::hooks::{Hook, Inside, run_all_in};

/// The hooks of a bundle, kept with the container at `create` (a later
/// change to `config.json` must not affect them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hooks {
    /// `prestart` (deprecated), run just before `createRuntime`.
    #[serde(default)]
    pub prestart: Vec<Hook>,
    #[serde(default)]
    pub create_runtime: Vec<Hook>,
    /// Run by init, in the container's namespaces.
    #[serde(default)]
    pub create_container: Vec<Hook>,
    /// Run by init, in the container's namespaces.
    #[serde(default)]
    pub start_container: Vec<Hook>,
    #[serde(default)]
    pub poststart: Vec<Hook>,
    #[serde(default)]
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// A configuration's `hooks`.
    pub fn from_config(hooks: Option<&oci_spec::runtime::Hooks>) -> anyhow::Result<Hooks> {
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
        Ok(Hooks {
            #[allow(deprecated)]
            prestart: list(h.prestart()),
            create_runtime: list(h.create_runtime()),
            create_container: list(h.create_container()),
            start_container: list(h.start_container()),
            poststart: list(h.poststart()),
            poststop: list(h.poststop()),
        })
    }

    /// What init runs in the container's namespaces, with `state` (the
    /// state document while `creating`); `None` when there is nothing.
    pub fn inside(&self, state: String) -> Option<Inside> {
        if self.create_container.is_empty() && self.start_container.is_empty() {
            return None;
        }
        Some(Inside {
            create_container: self.create_container.clone(),
            start_container: self.start_container.clone(),
            state,
        })
    }
}
