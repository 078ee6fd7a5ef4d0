//! What `init` needs to know to become the container: the program and its
//! arguments, and the hostname. Later chapters add the root filesystem,
//! volumes and environment.

use serde::{Deserialize, Serialize};

/// The container's first program and its surroundings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// The program and its arguments, verbatim (no shell).
    pub argv: Vec<String>,
    /// The hostname inside the UTS namespace.
    pub hostname: String,
    /// The root filesystem to pivot into (from step 10; before that the
    /// container sees the host's).
    #[serde(default)]
    pub rootfs: Option<std::path::PathBuf>,
    /// The environment (from step 24; before that the container inherits
    /// the caller's).
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// Its capabilities and no_new_privs (from step 33; before that it
    /// keeps all of root's).
    #[cfg(feature = "capabilities")]
    #[serde(default)]
    pub security: crate::security::Profile,
}
