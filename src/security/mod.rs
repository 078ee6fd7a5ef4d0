//! Step 33: the container stops being root on the host. Until this chapter
//! its processes ran as uid 0 with every capability, so `mount`, `insmod`
//! or writing `/proc/sys` from inside changed the host. Namespaces change
//! what a process *sees*; capabilities limit what it may *do*.
//!
//! - [`capabilities`]: Docker's 14 default capabilities, `--cap-add`,
//!   `--cap-drop`, `--privileged` and `--security-opt no-new-privileges`,
//!   applied by `init` (and by `exec`'s child) just before `execve`.
//! - [`sealed_exe`]: the processes that run mydocker's own code inside the
//!   container (`init`, `exec`'s child) run from a sealed in-memory copy of
//!   the binary, so `/proc/PID/exe` never leads back to the host's file
//!   (CVE-2019-5736).
//!
//! Step 34 narrows what the kernel offers at all:
//!
//! - [`seccomp`]: a system call filter with the effect of Docker's default
//!   profile, `--security-opt seccomp=unconfined|FILE.json`, loaded by the
//!   same `apply` as the capabilities.
//!
//! Step 35 adds `user`: `-u/--user`, resolved in the image's
//! `/etc/passwd` and `/etc/group`, switched to in runc's order between the
//! bounding set and the other capability sets.

pub mod capabilities;
pub mod sealed_exe;
#[cfg(feature = "seccomp")]
pub mod seccomp;
#[cfg(feature = "hardening")]
pub mod user;

pub use capabilities::Profile;
