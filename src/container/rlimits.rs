//! Resource limits (step 40, `man 2 setrlimit`): per-process ceilings the
//! kernel enforces — open files (`RLIMIT_NOFILE`), processes of the user
//! (`RLIMIT_NPROC`), core size, stack. Each has a soft value, the one that
//! applies, and a hard value, the most the soft may be raised to without
//! `CAP_SYS_RESOURCE`. They are inherited across `fork` and `execve`, so
//! `init` sets a bundle's `process.rlimits` on itself before it drops its
//! capabilities, and the program starts with them.
//!
//! A hard limit above the caller's own needs `CAP_SYS_RESOURCE`; without it
//! (some machines' root lacks it) `setrlimit` fails with EPERM, and the
//! container is refused with the limit named, as runc does.

use anyhow::{Context, Result};
use nix::sys::resource::{Resource, setrlimit};
use serde::{Deserialize, Serialize};

/// One limit: the resource's name as the runtime-spec and `man 2
/// getrlimit` write it (`RLIMIT_NOFILE`), and its soft and hard values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    pub resource: String,
    pub soft: u64,
    pub hard: u64,
}

/// The kernel's resource for a name such as `RLIMIT_NOFILE`.
pub fn resource(name: &str) -> Option<Resource> {
    Some(match name {
        "RLIMIT_AS" => Resource::RLIMIT_AS,
        "RLIMIT_CORE" => Resource::RLIMIT_CORE,
        "RLIMIT_CPU" => Resource::RLIMIT_CPU,
        "RLIMIT_DATA" => Resource::RLIMIT_DATA,
        "RLIMIT_FSIZE" => Resource::RLIMIT_FSIZE,
        "RLIMIT_LOCKS" => Resource::RLIMIT_LOCKS,
        "RLIMIT_MEMLOCK" => Resource::RLIMIT_MEMLOCK,
        "RLIMIT_MSGQUEUE" => Resource::RLIMIT_MSGQUEUE,
        "RLIMIT_NICE" => Resource::RLIMIT_NICE,
        "RLIMIT_NOFILE" => Resource::RLIMIT_NOFILE,
        "RLIMIT_NPROC" => Resource::RLIMIT_NPROC,
        "RLIMIT_RSS" => Resource::RLIMIT_RSS,
        "RLIMIT_RTPRIO" => Resource::RLIMIT_RTPRIO,
        "RLIMIT_RTTIME" => Resource::RLIMIT_RTTIME,
        "RLIMIT_SIGPENDING" => Resource::RLIMIT_SIGPENDING,
        "RLIMIT_STACK" => Resource::RLIMIT_STACK,
        _ => return None,
    })
}

/// Set each limit on this process, in order; the first refused one is the
/// error, naming the limit and its values.
pub fn apply(limits: &[Rlimit]) -> Result<()> {
    for l in limits {
        let r = resource(&l.resource)
            .with_context(|| format!("unknown resource limit {:?}", l.resource))?;
        setrlimit(r, l.soft, l.hard).with_context(|| {
            format!(
                "set {} to soft {} hard {} (a hard limit above this host's needs CAP_SYS_RESOURCE)",
                l.resource, l.soft, l.hard
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_the_runtime_spec_is_known_and_others_are_not() {
        for name in [
            "RLIMIT_NOFILE",
            "RLIMIT_NPROC",
            "RLIMIT_CORE",
            "RLIMIT_RTTIME",
        ] {
            assert!(resource(name).is_some(), "{name}");
        }
        assert!(resource("RLIMIT_NOPE").is_none());
        assert!(resource("nofile").is_none());
    }
}
