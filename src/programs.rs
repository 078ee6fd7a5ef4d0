//! Finding a program on this machine as a root shell would (step 01's
//! `check` reports the tools it finds; from step 26 the network chapters
//! run `iptables`). It belongs to neither chapter: both use it.

use std::path::{Path, PathBuf};

/// Find `program` in the directories of `PATH` (and the sbin directories,
/// which a root shell usually has but a test environment may not).
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}
