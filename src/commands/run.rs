//! `mydocker run` (step 05): start a command in new namespaces, inside its
//! own cgroups (and, from step 10, its own root filesystem), and exit with
//! its code.
//!
//! Step 15 replaces the flow: containers get a recorded state, a name, and
//! may run detached under a monitor. The seam is the `mod flow` line:
//! `run_simple.rs` before step 15, `run_managed.rs` from then on. What both
//! share is here. From step 37 `run_again.rs` starts a stopped container
//! again with the same steps.

#[cfg(feature = "lifecycle")]
#[path = "run_again.rs"]
pub mod again;
#[cfg(not(feature = "detach"))]
#[path = "run_simple.rs"]
mod flow;
#[cfg(feature = "detach")]
#[path = "run_managed.rs"]
mod flow;
#[cfg(feature = "net-modes")]
#[path = "run_network.rs"]
mod run_network;

#[cfg(feature = "env")]
pub use flow::merge_env;
pub use flow::run;

use std::path::Path;

use anyhow::Result;

use crate::cgroups::Resources;
use crate::cli::RunArgs;
use crate::container::spec::Config;

/// The name of a container's cgroup: `mydocker-<root tag>-<id>`.
pub fn cgroup_name(root: &Path, id: &str) -> String {
    format!("mydocker-{}-{id}", crate::ids::root_tag(root))
}

/// Resolve the flags into the container's specification, once: its name
/// (`--name`, else `id`), the directory its root is made from (the image
/// is found, and extracted if never used, here and nowhere else), and each
/// chapter's options. A missing image or root directory is refused before
/// anything is made.
fn config(root: &Path, args: &RunArgs, id: &str) -> Result<Config> {
    config_on(args, id, lower(root, args)?)
}

/// [`config`] on the layer(s) `lower`, found already: a container started
/// again (step 37) stands on the ones it was made from.
fn config_on(args: &RunArgs, id: &str, lower: crate::container::spec::Lower) -> Result<Config> {
    Ok(Config {
        name: args.name.clone().unwrap_or_else(|| id.to_string()),
        command: command(args, &lower)?,
        tty: args.tty,
        resources: resources(args),
        #[cfg(feature = "detach")]
        detach: args.detach,
        #[cfg(feature = "hardening")]
        user: user(args, &lower)?,
        #[cfg(feature = "hardening")]
        view: view(args)?,
        #[cfg(feature = "image")]
        image: args.image.clone(),
        #[cfg(feature = "volume")]
        volumes: args.volumes.clone(),
        #[cfg(feature = "env")]
        env: env(args, &lower),
        #[cfg(feature = "env")]
        hostname: args.hostname.clone(),
        #[cfg(feature = "env")]
        dns: args.dns.clone(),
        #[cfg(feature = "env")]
        add_host: args.add_host.clone(),
        #[cfg(feature = "net-modes")]
        net: args.net.clone(),
        #[cfg(feature = "network")]
        publish: args.publish.clone(),
        lower,
    })
}

/// The program: the command line's, as given (until step 37).
#[cfg(not(feature = "oci_image"))]
fn command(args: &RunArgs, _lower: &crate::container::spec::Lower) -> Result<Vec<String>> {
    Ok(args.command.clone())
}

/// From step 38, as Docker: the image's Entrypoint (or `--entrypoint`;
/// `""` for none) followed by the command line's arguments, else the
/// image's Cmd (only when the entrypoint is the image's own). Nothing at
/// all is refused before anything is made.
#[cfg(feature = "oci_image")]
fn command(args: &RunArgs, lower: &crate::container::spec::Lower) -> Result<Vec<String>> {
    let config = lower.config.clone().unwrap_or_default();
    let (entrypoint, image_cmd) = match &args.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), Vec::new()),
        Some(e) => (vec![e.clone()], Vec::new()),
        None => (
            config.entrypoint().clone().unwrap_or_default(),
            config.cmd().clone().unwrap_or_default(),
        ),
    };
    let rest = if args.command.is_empty() {
        image_cmd
    } else {
        args.command.clone()
    };
    let argv: Vec<String> = entrypoint.into_iter().chain(rest).collect();
    anyhow::ensure!(
        !argv.is_empty(),
        "image {}: no command given and the image has no Entrypoint or Cmd",
        args.image
    );
    Ok(argv)
}

/// The `-e` variables (steps 24-37).
#[cfg(all(feature = "env", not(feature = "oci_image")))]
fn env(args: &RunArgs, _lower: &crate::container::spec::Lower) -> Vec<String> {
    args.env.clone()
}

/// From step 38 the image's Env, then the `-e` variables over it.
#[cfg(feature = "oci_image")]
fn env(args: &RunArgs, lower: &crate::container::spec::Lower) -> Vec<String> {
    let image = lower
        .config
        .as_ref()
        .and_then(|c| c.env().clone())
        .unwrap_or_default();
    image.into_iter().chain(args.env.iter().cloned()).collect()
}

/// Before step 10 the container's root is the host's: nothing to find.
#[cfg(not(feature = "pivot"))]
fn lower(_root: &Path, _args: &RunArgs) -> Result<()> {
    Ok(())
}

/// Step 10: the directory given with `--rootfs`.
#[cfg(all(feature = "pivot", not(feature = "image")))]
fn lower(_root: &Path, args: &RunArgs) -> Result<std::path::PathBuf> {
    use anyhow::Context;
    let path = args
        .rootfs
        .canonicalize()
        .with_context(|| format!("root filesystem {}", args.rootfs.display()))?;
    anyhow::ensure!(
        path.is_dir(),
        "root filesystem {} is not a directory",
        path.display()
    );
    Ok(path)
}

/// From step 11: the image's layer, extracted once.
#[cfg(all(feature = "image", not(feature = "pull")))]
fn lower(root: &Path, args: &RunArgs) -> Result<crate::container::spec::Lower> {
    Ok(crate::fs::store::layer(root, &args.image)?)
}

/// From step 39: the image's layers; an image missing from the store
/// whose name has a registry host (`127.0.0.1:5000/app:1`) is pulled
/// first, as Docker does (a short name is not: mydocker reaches the
/// network only when a registry is named).
#[cfg(feature = "pull")]
fn lower(root: &Path, args: &RunArgs) -> Result<crate::container::spec::Lower> {
    crate::commands::pull::local_or_pulled(root, &args.image, &args.insecure_registries)
}

/// From step 35: `-u`, resolved in the image's `/etc/passwd` and
/// `/etc/group` before anything is made (an unknown name is refused).
/// The image's layer is there already: [`lower`] extracted it; from step
/// 38 the image's own User applies when `-u` is not given.
#[cfg(feature = "hardening")]
fn user(
    args: &RunArgs,
    lower: &crate::container::spec::Lower,
) -> Result<Option<crate::security::user::User>> {
    let Some(user) = args.user.clone().or_else(|| image_user(lower)) else {
        return Ok(None);
    };
    let dirs = crate::fs::layers::LowerDirs::lower_dirs(lower);
    Ok(Some(crate::security::user::resolve(&user, &dirs)?))
}

/// Until step 37 an image says nothing of its user.
#[cfg(all(feature = "hardening", not(feature = "oci_image")))]
fn image_user(_lower: &crate::container::spec::Lower) -> Option<String> {
    None
}

/// From step 38: the image configuration's User, if not empty.
#[cfg(feature = "oci_image")]
fn image_user(lower: &crate::container::spec::Lower) -> Option<String> {
    lower
        .config
        .as_ref()
        .and_then(|c| c.user().clone())
        .filter(|u| !u.is_empty())
}

/// From step 35: the masks (off with `--privileged`), `--read-only` and
/// `--tmpfs`.
/// Two mounts at one place (two `--tmpfs`, or a `--tmpfs` and a volume)
/// are refused.
#[cfg(feature = "hardening")]
fn view(args: &RunArgs) -> Result<crate::fs::kernel_view::View> {
    let volumes: Vec<&Path> = args.volumes.iter().map(|v| v.target.as_path()).collect();
    let own: Vec<std::path::PathBuf> = crate::container::identity::FILES
        .iter()
        .map(|f| Path::new("/etc").join(f))
        .collect();
    let own: Vec<&Path> = own.iter().map(|p| p.as_path()).collect();
    crate::fs::tmpfs::check_targets(&args.tmpfs, &volumes, &own).map_err(anyhow::Error::msg)?;
    Ok(crate::fs::kernel_view::View {
        mask: !args.privileged,
        read_only: args.read_only,
        tmpfs: args.tmpfs.clone(),
        read_only_files: crate::container::identity::FILES
            .iter()
            .map(|f| Path::new("/etc").join(f))
            .filter(|f| !args.volumes.iter().any(|v| &v.target == f))
            .collect(),
    })
}

/// The limits asked for on the command line: none before step 06.
#[cfg(not(feature = "memory-limit"))]
fn resources(_args: &RunArgs) -> Resources {
    Resources::default()
}

/// The limits asked for on the command line: `-m` (step 06).
#[cfg(all(feature = "memory-limit", not(feature = "cpu-limit")))]
fn resources(args: &RunArgs) -> Resources {
    Resources {
        memory: args.memory,
        ..Resources::default()
    }
}

/// The limits asked for on the command line: `-m` (step 06),
/// `--cpu-shares` and `--cpuset-cpus` (step 07), `--pids-limit` (step 35).
#[cfg(all(feature = "memory-limit", feature = "cpu-limit"))]
#[allow(clippy::needless_update)] // the further limits of step 40
fn resources(args: &RunArgs) -> Resources {
    Resources {
        memory: args.memory,
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus.clone(),
        #[cfg(feature = "hardening")]
        pids_limit: args.pids_limit,
        ..Resources::default()
    }
}
