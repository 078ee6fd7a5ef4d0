//! The container process (step 05): how `run` starts a program in new
//! namespaces and inside cgroups, and what the program's first moments look
//! like from the inside.
//!
//! `run` (the parent) clones a child into new namespaces; the child
//! immediately re-executes this same binary as the hidden verb `mydocker
//! init` ([`init`]), which prepares the container's view of the system and
//! then replaces itself with the user's program via `execve`, so that the
//! program is PID 1. [`process`] holds the parent's side.
//!
//! Who the container is (its hostname; from step 24 its `/etc/hostname`,
//! `/etc/hosts` and `/etc/resolv.conf`) is [`identity`]'s, one seam:
//! `identity_id.rs` before step 24, `identity_files.rs` from then on.
//!
//! What the program's stdin, stdout and stderr are is [`stdio`]'s: before
//! step 36 those of `run` (or `exec`), from step 36 a pseudo-terminal of
//! its own with `-t`, and `/dev/null` as stdin without `-i`.
//!
//! How the command reaches `init` is chapter 08's subject, so it sits
//! behind one seam, [`channel`]: before step 08 on init's command line,
//! from step 08 over a pipe.

use std::ffi::CString;
use std::os::fd::RawFd;

#[cfg(feature = "detach")]
pub mod discard;
#[cfg(feature = "oci_runtime")]
pub mod exec_fifo;
pub mod guard;
#[cfg(feature = "oci_runtime")]
pub mod hooks;
#[cfg(all(feature = "detach", not(feature = "env")))]
#[path = "identity_id.rs"]
pub mod identity;
#[cfg(feature = "env")]
#[path = "identity_files.rs"]
pub mod identity;
pub mod init;
#[cfg(feature = "exec")]
pub mod join;
#[cfg(feature = "detach")]
pub mod monitor;
#[cfg(feature = "isolation")]
pub mod mounted_root;
pub mod process;
#[cfg(feature = "detach")]
pub mod release_network;
#[cfg(feature = "detach")]
pub mod remove;
#[cfg(feature = "lifecycle")]
pub mod restart;
#[cfg(feature = "oci_runtime")]
pub mod rlimits;
pub mod rootfs;
pub mod spec;
#[cfg(feature = "detach")]
pub mod state;
#[cfg(not(feature = "terminal"))]
#[path = "stdio_inherited.rs"]
pub mod stdio;
#[cfg(feature = "terminal")]
#[path = "stdio_terminal.rs"]
pub mod stdio;
#[cfg(feature = "detach")]
pub mod stop;
#[cfg(feature = "lifecycle")]
pub mod waiters;

#[cfg(not(feature = "pivot"))]
#[path = "rootfs_host.rs"]
pub mod rootfs_inside;
#[cfg(feature = "pivot")]
#[path = "rootfs_pivot.rs"]
pub mod rootfs_inside;

#[cfg(all(feature = "detach", not(feature = "lifecycle")))]
#[path = "output_file.rs"]
pub mod output;
#[cfg(feature = "lifecycle")]
#[path = "output_json.rs"]
pub mod output;

#[cfg(not(feature = "pipe"))]
#[path = "channel_argv.rs"]
pub mod channel;
#[cfg(feature = "pipe")]
#[path = "channel_pipe.rs"]
pub mod channel;

/// The program could not be started (init's `execve` failed, or init
/// gave up before it): the exit code init leaves (126 found but not
/// runnable, 127 not found, as Docker) and why. `init` tells `run` over
/// its ready pipe (from step 08), so a detached container's `run` can say
/// it as the foreground one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFailure {
    pub code: i32,
    pub message: String,
}

/// What `run` needs to start `init`: its argument vector, the descriptors
/// to hand it (`(source, target)` pairs), and the sending half of the
/// channel.
pub struct Prepared {
    pub argv: Vec<CString>,
    pub fds: Vec<(RawFd, RawFd)>,
    pub sender: channel::Sender,
}
