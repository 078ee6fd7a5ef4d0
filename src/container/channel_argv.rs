//! Steps 05-07: the command reaches `init` on its own command line,
//! `mydocker init --hostname H -- CMD ARGS...`, as in the tutorial's early
//! chapters. Two weaknesses show why chapter 08 replaces this: everything is
//! visible in `ps`, and `init` starts running the moment it is cloned, so
//! the program may begin before the parent has put it in its cgroups.

use std::ffi::CString;

use anyhow::{Context, Result};

use super::Prepared;
use super::spec::Spec;

/// What `init` was told on its command line: the hostname and the command.
#[derive(Debug, Clone, Default)]
pub struct Inbox {
    pub hostname: String,
    pub command: Vec<String>,
}

/// The parent's half of the channel: nothing to keep.
pub struct Sender;

/// The argument vector that starts `init`, and the descriptors to hand it.
pub fn prepare(spec: &Spec) -> Result<Prepared> {
    let mut argv = vec!["/proc/self/exe".to_string(), "init".into()];
    argv.extend(["--hostname".into(), spec.hostname.clone(), "--".into()]);
    argv.extend(spec.argv.iter().cloned());
    let argv = argv
        .into_iter()
        .map(|a| CString::new(a).context("an argument contains a NUL byte"))
        .collect::<Result<_>>()?;
    Ok(Prepared {
        argv,
        fds: Vec::new(),
        sender: Sender,
    })
}

impl Sender {
    /// Nothing to send: the command is already on init's command line,
    /// and no channel back tells whether the program started (init's exit
    /// code does).
    pub fn send(self, _spec: &Spec) -> Result<Option<super::ExecFailure>> {
        Ok(None)
    }
}

/// Before step 08 there is no channel back to `run`: init's exit code
/// tells it.
pub fn report_failure(_failure: &super::ExecFailure) {}

/// The child's half: read the spec from init's own arguments.
pub fn receive(inbox: &Inbox) -> Result<Spec> {
    Ok(Spec {
        argv: inbox.command.clone(),
        hostname: inbox.hostname.clone(),
        rootfs: None,
        env: None,
        cgroup_tasks: Vec::new(),
    })
}
