//! The container's filesystem, chapter by chapter: the mount table
//! (read from step 01 on), a private mount tree with its own `/proc`
//! (step 05), the union mount (step 09), `pivot_root`
//! (step 10), images (step 11), the layers of a container (step 12),
//! volumes (step 13), saving the result as an image (step 14), and the
//! masked `/proc`, `--read-only` and `--tmpfs` of step 35, and the OCI
//! image store of step 38, and a bundle's own mounts of step 40.
//!
//! The image store is one seam, [`store`]: the tutorial's tar files
//! ([`image`]) until step 37, content-addressed layers ([`oci`]) from
//! step 38. [`image`] stays in the build: `cp` unpacks archives with it.

#[cfg(feature = "oci_runtime")]
pub mod bundle_view;
#[cfg(feature = "cp")]
pub mod copy;
#[cfg(feature = "image")]
pub mod image;
#[cfg(feature = "hardening")]
pub mod kernel_view;
#[cfg(feature = "layers")]
pub mod layers;
#[cfg(feature = "run")]
pub mod mount_ns;
pub mod mountinfo;
#[cfg(feature = "oci_image")]
pub mod oci;
#[cfg(feature = "union")]
pub mod overlay;
#[cfg(feature = "pivot")]
pub mod pivot;
#[cfg(feature = "pull")]
pub mod registry;
#[cfg(feature = "volume")]
pub mod scoped;
#[cfg(feature = "image")]
pub mod temporaries;
#[cfg(feature = "hardening")]
pub mod tmpfs;
#[cfg(feature = "volume")]
pub mod volume;

/// The image store: `ROOT/images/NAME.tar` (step 11).
#[cfg(all(feature = "image", not(feature = "oci_image")))]
pub use image as store;
/// The image store: the OCI layout under ROOT (step 38).
#[cfg(feature = "oci_image")]
pub use oci as store;
