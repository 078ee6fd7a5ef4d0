//! The programs a test or benchmark works with (`docker-registry`,
//! `skopeo`, `podman`, `containerd`), checked before they are started.
//! Shared by the integration tests and the benchmarks: each includes it
//! once, as `crate::tools` (`#[path]`), for `containerd.rs` and
//! `registry.rs` here to find.

// Not every target (nor every chapter's build) checks for a tool.
#![allow(dead_code)]

/// Fail at once, in one line, when the program `tool` is on no directory
/// of `PATH`, instead of with a raw spawn error.
#[track_caller]
pub fn require_tool(tool: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(tool))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    if !found {
        panic!("{tool} is not installed: run bash vagrant/provision.sh --test");
    }
}
