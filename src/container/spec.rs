//! What the engine runs (step 05): a container's resolved specification,
//! [`Config`], and the part of it `init` receives, [`Spec`].
//!
//! The commands turn flags into a [`Config`] once (names chosen, the image
//! found, volumes parsed, limits checked), and `container/`, `fs/` and
//! `cgroups/` take only that, never the command line: the engine does not
//! know how a container was asked for. Each chapter adds the fields it
//! honours (the root filesystem in step 10, volumes in 13, the environment
//! and `/etc` files in 24, the network mode in 27, the user and the
//! filesystem view in 35; a bundle's start FIFO and rlimits in 40).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::cgroups::Resources;

/// Where a container's root filesystem comes from: before step 10 the
/// host's own (nothing to find), from step 10 a directory.
#[cfg(not(feature = "pivot"))]
pub type Lower = ();
/// Where a container's root filesystem comes from: the directory it is
/// made from (step 10: `--rootfs`; from step 11 the image's layer).
#[cfg(all(feature = "pivot", not(feature = "oci_image")))]
pub type Lower = PathBuf;
/// Where a container's root filesystem comes from: the image's layers,
/// each extracted once (step 38).
#[cfg(feature = "oci_image")]
pub type Lower = crate::fs::oci::Stack;

/// One container, as `run` resolved it from its flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// Its name: `--name`, else its ID.
    pub name: String,
    /// The program and its arguments, verbatim (no shell).
    pub command: Vec<String>,
    /// Whether it has a terminal (`-t`; from step 24 it sets `TERM`).
    pub tty: bool,
    /// Its cgroup limits (steps 06 and 07).
    pub resources: Resources,
    /// Whether it runs in the background under a monitor (step 15).
    #[cfg(feature = "detach")]
    pub detach: bool,
    /// The read-only directory its root filesystem is made from, found
    /// once: the `--rootfs` directory (step 10), from step 11 the image's
    /// extracted layer.
    pub lower: Lower,
    /// The image's name (step 11).
    #[cfg(feature = "image")]
    pub image: String,
    /// Host directories mounted into it (step 13).
    #[cfg(feature = "volume")]
    pub volumes: Vec<crate::fs::volume::Volume>,
    /// Its `-e` variables, over the defaults (step 24).
    #[cfg(feature = "env")]
    pub env: Vec<String>,
    /// Its hostname when not its ID (`--hostname`, step 24).
    #[cfg(feature = "env")]
    pub hostname: Option<String>,
    /// Nameservers instead of the host's (`--dns`, step 24).
    #[cfg(feature = "env")]
    pub dns: Vec<std::net::IpAddr>,
    /// Extra lines of its `/etc/hosts` (`--add-host`, step 24).
    #[cfg(feature = "env")]
    pub add_host: Vec<(String, std::net::IpAddr)>,
    /// Its network mode (step 27).
    #[cfg(feature = "net-modes")]
    pub net: crate::network::mode::Mode,
    /// Host ports forwarded to it, `(host, container)` (step 31).
    #[cfg(feature = "network")]
    pub publish: Vec<(u16, u16)>,
    /// Its user, resolved in the image (`-u`, step 35; `None`: root).
    #[cfg(feature = "hardening")]
    pub user: Option<crate::security::user::User>,
    /// Its masks, `--read-only` and `--tmpfs` (step 35).
    #[cfg(feature = "hardening")]
    pub view: crate::fs::kernel_view::View,
}

/// The container's first program and its surroundings: what `init` needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// The program and its arguments, verbatim (no shell).
    pub argv: Vec<String>,
    /// The hostname inside the UTS namespace.
    pub hostname: String,
    /// The root filesystem to pivot into (from step 10; before that the
    /// container sees the host's).
    #[serde(default)]
    pub rootfs: Option<PathBuf>,
    /// The environment (from step 24; before that the container inherits
    /// the caller's).
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// Its capabilities and no_new_privs (from step 33; before that it
    /// keeps all of root's).
    #[cfg(feature = "capabilities")]
    #[serde(default)]
    pub security: crate::security::Profile,
    /// The user it runs as (from step 35; `None`: root).
    #[cfg(feature = "hardening")]
    #[serde(default)]
    pub user: Option<crate::security::user::User>,
    /// Masked `/proc` and `/sys`, `--read-only`, `--tmpfs` (from step 35).
    #[cfg(feature = "hardening")]
    #[serde(default)]
    pub view: crate::fs::kernel_view::View,
    /// Host devices to make nodes for in its `/dev` (`--device`, step 35).
    #[cfg(feature = "hardening")]
    #[serde(default)]
    pub devices: Vec<crate::devices::Device>,
    /// Cgroup files init writes `0` to first, moving itself into the
    /// container's cgroups ([`crate::cgroups::Cgroup::self_placement`]);
    /// empty when `run` has placed it. From step 08, whose pipe carries
    /// the spec before init goes on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup_tasks: Vec<PathBuf>,
    /// With `-t`, the size of the pseudo-terminal init makes inside and
    /// gives the program (from step 36; before that it keeps the caller's
    /// stdio).
    #[cfg(feature = "terminal")]
    #[serde(default)]
    pub terminal: Option<crate::terminal::Size>,
    /// The program's working directory, an absolute path inside the
    /// container (from step 38: `-w`, else the image's WorkingDir; `None`:
    /// `/`).
    #[cfg(feature = "oci_image")]
    #[serde(default)]
    pub workdir: Option<String>,
    /// Under the OCI front end (step 40): init's descriptor for the
    /// bundle's `exec.fifo` (an `O_PATH` descriptor), on which it waits,
    /// set up, until `start` ([`super::exec_fifo`]); `None`: it goes on.
    #[cfg(feature = "oci_runtime")]
    #[serde(default)]
    pub exec_fifo: Option<std::os::fd::RawFd>,
    /// The program's resource limits, `process.rlimits` of a bundle
    /// (step 40), set by init before it drops its capabilities.
    #[cfg(feature = "oci_runtime")]
    #[serde(default)]
    pub rlimits: Vec<super::rlimits::Rlimit>,
    /// Under the OCI front end (step 40): the bundle's mounts, devices,
    /// sysctls and masks, made instead of init's standard `/proc`, `/dev`
    /// and `/sys` ([`crate::fs::bundle_view`]); `None`: init's own.
    #[cfg(feature = "oci_runtime")]
    #[serde(default)]
    pub bundle_view: Option<crate::fs::bundle_view::BundleView>,
    /// Under the OCI front end (step 40): the bundle's `createContainer`
    /// and `startContainer` hooks, which init runs in the container's
    /// namespaces ([`super::hooks`]); `None`: there are none.
    #[cfg(feature = "oci_runtime")]
    #[serde(default)]
    pub hooks: Option<super::hooks::Inside>,
    /// Under the OCI front end (step 40): whether init makes a new cgroup
    /// namespace, once it is in its cgroups, so the namespace is rooted
    /// at them (`linux.namespaces` type `cgroup` without a path).
    #[cfg(feature = "oci_runtime")]
    #[serde(default)]
    pub cgroup_ns: bool,
}
