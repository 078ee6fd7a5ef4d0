//! Exit codes, as Docker uses them, and the errors every module shares.
//!
//! mydocker's own failures (bad flag, missing image, bad name) exit 125.
//! When the container's program cannot be started the init process exits
//! 126 (found but not executable) or 127 (not found); otherwise the
//! container's own exit code is passed through, 128+N when killed by signal N.

/// mydocker itself failed.
pub const EXIT_MYDOCKER: i32 = 125;
/// The command was found but could not be executed.
pub const EXIT_CANNOT_RUN: i32 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// The exit code a shell would report for a process killed by `signal`.
pub fn signal_exit_code(signal: i32) -> i32 {
    128 + signal
}
