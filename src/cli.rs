//! The command line (step 02). clap's derive API describes every verb; the
//! tutorial's Go CLI (urfave/cli) spelled long options with one dash
//! (`-name`, `-cpushare`), so [`normalize`] rewrites those spellings to
//! Docker's before clap sees them, and a learner can type either.
//!
//! Flags arrive with the chapter that gives them meaning: `-m` with step 06,
//! `--cpu-shares` and `--cpuset-cpus` with step 07, and so on.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use clap::{Args, Parser, Subcommand};

/// The default place for images, containers and networks.
pub const DEFAULT_ROOT: &str = "/var/lib/mydocker";

#[derive(Debug, Parser)]
#[command(
    name = "mydocker",
    version,
    about = "A small Linux container runtime, built one chapter at a time",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Where images, containers and networks are kept
    #[arg(long, global = true, env = "MYDOCKER_ROOT", default_value = DEFAULT_ROOT, value_name = "DIR")]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report whether this machine can run containers
    #[cfg(feature = "check")]
    Check(CheckArgs),

    /// Run a command in a new container
    #[cfg(feature = "cli")]
    // (boxed: its arguments are much larger than the other verbs')
    Run(Box<RunArgs>),

    /// List containers
    #[cfg(feature = "ps")]
    Ps(PsArgs),

    /// Print a detached container's output
    #[cfg(feature = "logs")]
    Logs(LogsArgs),

    /// Run a command in a running container
    #[cfg(feature = "exec")]
    Exec(ExecArgs),

    /// Attach to the terminal of a container started with -d -t (detach: ctrl-p ctrl-q)
    #[cfg(feature = "terminal")]
    Attach(AttachArgs),

    /// Stop running containers: SIGTERM, then SIGKILL after a timeout
    #[cfg(feature = "stop")]
    Stop(StopArgs),

    /// Remove containers
    #[cfg(feature = "rm")]
    Rm(RmArgs),

    /// Save a container's filesystem as an image
    #[cfg(feature = "commit")]
    Commit(CommitArgs),

    /// Copy files between a container and the host
    #[cfg(feature = "cp")]
    Cp(CpArgs),

    /// Manage bridge networks
    #[cfg(feature = "network")]
    Network(NetworkArgs),

    /// List images
    #[cfg(feature = "commit")]
    Images(ImagesArgs),

    /// Send a signal to running containers (SIGKILL unless -s)
    #[cfg(feature = "lifecycle")]
    Kill(KillArgs),

    /// Wait for containers to end and print each one's exit code
    #[cfg(feature = "lifecycle")]
    Wait(WaitArgs),

    /// Print containers' state and configuration as JSON
    #[cfg(feature = "lifecycle")]
    Inspect(InspectArgs),

    /// Start stopped containers again (same layer, volumes, network, limits)
    #[cfg(feature = "lifecycle")]
    Start(StartArgs),

    /// Stop containers, then start them again
    #[cfg(feature = "lifecycle")]
    Restart(RestartArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    #[cfg(feature = "oci_image")]
    Tag(TagArgs),

    /// Remove images (refused for an image a container uses, unless -f)
    #[cfg(feature = "oci_image")]
    Rmi(RmiArgs),

    /// Make an image from a tar of a root filesystem
    #[cfg(feature = "oci_image")]
    Import(ImportArgs),

    /// Load images from a Docker or OCI archive
    #[cfg(feature = "oci_image")]
    Load(LoadArgs),

    /// Save an image to an archive that docker, podman and skopeo load
    #[cfg(feature = "oci_image")]
    Save(SaveArgs),

    /// Download an image from a registry
    #[cfg(feature = "pull")]
    Pull(PullArgs),

    /// Log in to a registry (the credentials go to Docker's config.json)
    #[cfg(feature = "pull")]
    Login(LoginArgs),

    /// Log out from a registry (its credentials leave Docker's config.json)
    #[cfg(feature = "pull")]
    Logout(LogoutArgs),

    /// Manage images
    #[cfg(feature = "oci_image")]
    Image(ImageArgs),

    /// The first process inside a container (started by `run`)
    #[cfg(feature = "cli")]
    #[command(hide = true)]
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,

    /// Read kernel facts from this directory instead of /proc
    #[arg(long, hide = true, default_value = "/proc", value_name = "DIR")]
    pub proc: PathBuf,
}

#[derive(Debug, Args, PartialEq, Eq)]
pub struct RunArgs {
    /// Keep stdin open (the tutorial's `-ti` sets both -t and -i)
    #[arg(short = 'i', long)]
    pub interactive: bool,

    /// Attach the terminal
    #[arg(short = 't', long)]
    pub tty: bool,

    /// Run in the background and print the container's ID
    #[cfg(feature = "detach")]
    #[arg(short = 'd', long)]
    pub detach: bool,

    /// Name the container (tutorial spelling: -name)
    #[arg(long, value_parser = parse_container_name)]
    pub name: Option<String>,

    /// Memory limit, e.g. 100m or 1g (tutorial spelling: -m)
    #[cfg(feature = "memory-limit")]
    #[arg(short = 'm', long, value_parser = parse_memory, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<u64>,

    /// Relative CPU weight, 2..262144 (tutorial spelling: -cpushare)
    #[cfg(feature = "cpu-limit")]
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=262_144), value_name = "SHARES", allow_hyphen_values = true)]
    pub cpu_shares: Option<u64>,

    /// CPUs the container may use, e.g. 0-1 or 0,2 (tutorial spelling: -cpuset)
    #[cfg(feature = "cpu-limit")]
    #[arg(long, value_parser = parse_cpuset, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,

    /// Set an environment variable: KEY=VALUE, or KEY to pass the host's (repeatable)
    #[cfg(feature = "env")]
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]", value_parser = parse_env)]
    pub env: Vec<String>,

    /// The container's hostname (by default its ID)
    #[cfg(feature = "env")]
    #[arg(long, value_name = "NAME", value_parser = crate::container::identity::parse_hostname)]
    pub hostname: Option<String>,

    /// A nameserver for /etc/resolv.conf, instead of the host's (repeatable)
    #[cfg(feature = "env")]
    #[arg(long = "dns", value_name = "IP")]
    pub dns: Vec<std::net::IpAddr>,

    /// Add a line to /etc/hosts: HOST:IP (repeatable)
    #[cfg(feature = "env")]
    #[arg(long = "add-host", value_name = "HOST:IP", value_parser = crate::container::identity::parse_add_host)]
    pub add_host: Vec<(String, std::net::IpAddr)>,

    /// Add a Linux capability, e.g. NET_ADMIN, or ALL (repeatable)
    #[cfg(feature = "capabilities")]
    #[arg(long = "cap-add", value_name = "CAP", value_parser = crate::security::capabilities::parse_name)]
    pub cap_add: Vec<crate::security::capabilities::CapName>,

    /// Drop a Linux capability, e.g. CHOWN, or ALL (repeatable)
    #[cfg(feature = "capabilities")]
    #[arg(long = "cap-drop", value_name = "CAP", value_parser = crate::security::capabilities::parse_name)]
    pub cap_drop: Vec<crate::security::capabilities::CapName>,

    /// Give the container every privilege: every capability, no seccomp filter, no masked or read-only paths, every device
    #[cfg(feature = "capabilities")]
    #[arg(long)]
    pub privileged: bool,

    /// A security option: no-new-privileges (repeatable)
    #[cfg(all(feature = "capabilities", not(feature = "seccomp")))]
    #[arg(long = "security-opt", value_name = "OPT", value_parser = crate::security::capabilities::parse_security_opt)]
    pub security_opt: Vec<crate::security::capabilities::SecurityOpt>,

    /// A security option: no-new-privileges, seccomp=unconfined or
    /// seccomp=PROFILE.json (repeatable)
    #[cfg(feature = "seccomp")]
    #[arg(long = "security-opt", value_name = "OPT", value_parser = crate::security::capabilities::parse_security_opt)]
    pub security_opt: Vec<crate::security::capabilities::SecurityOpt>,

    /// Run as USER[:GROUP]: names from the image's /etc/passwd and /etc/group, or numbers
    #[cfg(feature = "hardening")]
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,

    /// Make the root filesystem unwritable (volumes and --tmpfs keep their own mode)
    #[cfg(feature = "hardening")]
    #[arg(long)]
    pub read_only: bool,

    /// Mount a tmpfs: PATH[:OPTIONS], e.g. /run:size=64m (repeatable)
    #[cfg(feature = "hardening")]
    #[arg(long, value_name = "PATH[:OPTIONS]", value_parser = crate::fs::tmpfs::parse)]
    pub tmpfs: Vec<crate::fs::tmpfs::Tmpfs>,

    /// The most processes and threads at once (0 or -1: no limit)
    #[cfg(feature = "hardening")]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,

    /// Add a host device: HOST[:CONTAINER][:PERMS], PERMS a subset of rwm (repeatable)
    #[cfg(feature = "hardening")]
    #[arg(long = "device", value_name = "DEVICE", value_parser = crate::devices::flag::parse)]
    pub device: Vec<crate::devices::Device>,

    /// Bind-mount a host directory: HOST:CONTAINER[:ro] (repeatable)
    #[cfg(feature = "volume")]
    #[arg(short = 'v', long = "volume", value_name = "HOST:CONTAINER[:ro]", value_parser = parse_volume)]
    pub volumes: Vec<crate::fs::volume::Volume>,

    /// Network: none (default), host, container:NAME, or a network's name (tutorial spelling: -net)
    #[cfg(feature = "net-modes")]
    #[arg(long = "net", visible_alias = "network", value_name = "MODE", default_value = "none", value_parser = crate::network::mode::Mode::parse)]
    pub net: crate::network::mode::Mode,

    /// Publish a container port on the host: HOST_PORT:CONTAINER_PORT (repeatable)
    #[cfg(feature = "network")]
    #[arg(short = 'p', long = "publish", value_name = "HOST:CONTAINER", value_parser = crate::network::endpoint::parse_port)]
    pub publish: Vec<(u16, u16)>,

    /// Start it again when it exits (with -d): no, on-failure[:N], always, unless-stopped
    #[cfg(feature = "lifecycle")]
    #[arg(long, value_name = "POLICY", default_value = "no")]
    pub restart: crate::container::restart::Policy,

    /// Remove the container when it exits (a foreground one always is)
    #[cfg(feature = "lifecycle")]
    #[arg(long = "rm")]
    pub auto_remove: bool,

    /// The directory to use as the container's root filesystem
    #[cfg(all(feature = "pivot", not(feature = "image")))]
    #[arg(long, value_name = "DIR")]
    pub rootfs: PathBuf,

    /// The image to run (an image tar in ROOT/images)
    #[cfg(all(feature = "image", not(feature = "oci_image")))]
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// The image to run (NAME[:TAG] in the image store)
    #[cfg(feature = "oci_image")]
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// A registry to pull from over plain HTTP, as HOST[:PORT] (localhost
    /// and 127.0.0.1 always are)
    #[cfg(feature = "pull")]
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,

    /// The working directory of the program, made if missing (default: the
    /// image's WorkingDir, else /)
    #[cfg(feature = "oci_image")]
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,

    /// The program to run instead of the image's Entrypoint ("" for none)
    #[cfg(feature = "oci_image")]
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,

    /// The command and its arguments, passed as they are (no shell)
    #[cfg(not(feature = "oci_image"))]
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// The command and its arguments, passed as they are (no shell); none:
    /// the image's Entrypoint and Cmd
    #[cfg(feature = "oci_image")]
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[cfg(feature = "commit")]
#[derive(Debug, Args)]
pub struct CommitArgs {
    /// The container to save (name, ID or ID prefix)
    #[cfg(feature = "commit-container")]
    #[arg(value_name = "CONTAINER")]
    pub container: String,

    /// The name of the new image (ROOT/images/IMAGE.tar)
    #[cfg(not(feature = "oci_image"))]
    #[arg(value_name = "IMAGE")]
    pub image: String,

    /// The new image's reference, NAME[:TAG] (one layer over the container's image)
    #[cfg(feature = "oci_image")]
    #[arg(value_name = "IMAGE[:TAG]")]
    pub image: String,
}

#[cfg(feature = "network")]
#[derive(Debug, Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[cfg(feature = "network")]
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a network: a bridge with the subnet's first address
    Create {
        /// The driver (only bridge)
        #[arg(long, default_value = "bridge", value_parser = ["bridge"])]
        driver: String,
        /// The subnet, e.g. 192.168.10.0/24
        #[arg(long, value_parser = |s: &str| s.parse::<crate::network::ip::Subnet>().map_err(|e| e.to_string()))]
        subnet: crate::network::ip::Subnet,
        /// The network's name, also its bridge's (at most 15 bytes)
        name: String,
    },
    /// List networks
    #[command(visible_alias = "ls")]
    List,
    /// Remove networks (refused while a container uses one)
    #[command(visible_alias = "rm")]
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[cfg(feature = "cp")]
#[derive(Debug, Args)]
pub struct CpArgs {
    /// CONTAINER:PATH, a host path, or - (a tar archive on stdin)
    #[arg(value_name = "SRC")]
    pub src: String,

    /// CONTAINER:PATH, a host path, or - (a tar archive on stdout)
    #[arg(value_name = "DST")]
    pub dst: String,
}

#[cfg(feature = "ps")]
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (by default only running ones)
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Output format: table or json
    #[arg(long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,

    /// Show each command whole (the table cuts it to 20 characters, as Docker)
    #[arg(long)]
    pub no_trunc: bool,

    /// Print only the IDs
    #[cfg(feature = "lifecycle")]
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Show only containers that match: status=created|restarting|running|exited,
    /// name=TEXT (part of the name), id=PREFIX, exited=CODE (with -a); repeatable: every key must match, one value of a key suffices
    #[cfg(feature = "lifecycle")]
    #[arg(short = 'f', long = "filter", value_name = "KEY=VALUE", value_parser = parse_ps_filter)]
    pub filter: Vec<PsFilter>,
}

/// One `ps --filter` condition (Docker's keys).
#[cfg(feature = "lifecycle")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsFilter {
    /// `status=created|restarting|running|exited` (`restarting`: waiting
    /// for its restart policy to start it again)
    Status(String),
    /// `name=TEXT`: the name contains TEXT.
    Name(String),
    /// `id=PREFIX`: the ID starts with PREFIX.
    Id(String),
    /// `exited=CODE`: exited with this code.
    Exited(i32),
}

#[cfg(feature = "lifecycle")]
fn parse_ps_filter(s: &str) -> Result<PsFilter, String> {
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid filter {s:?}: expected KEY=VALUE"))?;
    match key {
        "status" => match value {
            "created" | "restarting" | "running" | "exited" => {
                Ok(PsFilter::Status(value.to_string()))
            }
            _ => Err(format!(
                "invalid filter status={value:?}: expected created, restarting, running or exited"
            )),
        },
        "name" => Ok(PsFilter::Name(value.to_string())),
        "id" => Ok(PsFilter::Id(value.to_string())),
        "exited" => value
            .parse()
            .map(PsFilter::Exited)
            .map_err(|_| format!("invalid filter exited={value:?}: expected an exit code")),
        _ => Err(format!(
            "invalid filter {key:?}: expected status, name, id or exited"
        )),
    }
}

/// How much of a log `logs` prints (`--tail`).
#[cfg(feature = "lifecycle")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Every line (`all`, the default).
    All,
    /// The last N lines.
    Last(usize),
}

/// `--tail N` or `all`; a negative N is every line, as Docker's daemon
/// reads it.
#[cfg(feature = "lifecycle")]
fn parse_tail(s: &str) -> Result<Tail, String> {
    match s.parse::<i64>() {
        _ if s == "all" => Ok(Tail::All),
        Ok(n) if n < 0 => Ok(Tail::All),
        Ok(n) => Ok(Tail::Last(usize::try_from(n).unwrap_or(usize::MAX))),
        Err(_) => Err(format!(
            "invalid --tail {s:?}: expected a number of lines or all"
        )),
    }
}

/// `--since`: a time as Docker takes it: RFC 3339 (a date alone, or no
/// zone, is UTC), Unix seconds (with an optional fraction), or a duration
/// before now (`10m`, `1h30m`, `2s`).
#[cfg(feature = "lifecycle")]
pub fn parse_since(s: &str) -> Result<std::time::SystemTime, String> {
    let bad = || {
        format!(
            "invalid --since {s:?}: expected a time (2026-11-29T10:00:00Z), Unix seconds or a duration such as 10m"
        )
    };
    if let Ok(secs) = s.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(bad());
        }
        return std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_secs_f64(secs))
            .ok_or_else(bad);
    }
    if let Ok(ago) = humantime::parse_duration(s) {
        return Ok(std::time::SystemTime::now()
            .checked_sub(ago)
            .unwrap_or(std::time::UNIX_EPOCH));
    }
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    humantime::parse_rfc3339_weak(&full).map_err(|_| bad())
}

#[cfg(feature = "lifecycle")]
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal: a name (KILL, SIGTERM, hup) or a number
    #[arg(short = 's', long = "signal", default_value = "KILL", value_parser = parse_signal)]
    pub signal: nix::sys::signal::Signal,

    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// Parse a signal as Docker does: a number, or a name with or without
/// `SIG`, in any case.
#[cfg(feature = "lifecycle")]
pub fn parse_signal(s: &str) -> Result<nix::sys::signal::Signal, String> {
    use nix::sys::signal::Signal;
    let bad = || format!("invalid signal {s:?}: expected a name such as TERM or KILL, or a number");
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>().map_err(|_| bad())
}

#[cfg(feature = "lifecycle")]
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Print the container's stdout and stderr and exit with its code
    #[arg(short = 'a', long)]
    pub attach: bool,

    /// Started by its monitor under its restart policy (not for users)
    #[arg(long = "by-policy", hide = true)]
    pub by_policy: bool,

    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[cfg(feature = "lifecycle")]
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Seconds to wait after SIGTERM before SIGKILL; negative: no SIGKILL,
    /// wait as long as the container takes to exit
    #[arg(
        short = 't',
        long = "time",
        default_value_t = 10,
        value_name = "SECS",
        allow_negative_numbers = true
    )]
    pub time: i64,

    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[cfg(feature = "lifecycle")]
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[cfg(feature = "lifecycle")]
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print one field per container instead of JSON: `{{.State.Pid}}`
    /// (a path of field names) or `{{json .State}}`
    #[arg(short = 'f', long, value_name = "TEMPLATE")]
    pub format: Option<String>,

    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[cfg(feature = "logs")]
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new output until the container exits
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// Only the last N lines (`all`: every line)
    #[cfg(feature = "lifecycle")]
    #[arg(short = 'n', long, default_value = "all", value_name = "N", value_parser = parse_tail, allow_negative_numbers = true)]
    pub tail: Tail,

    /// Begin each line with the time it was written (RFC 3339, UTC)
    #[cfg(feature = "lifecycle")]
    #[arg(short = 't', long)]
    pub timestamps: bool,

    /// Only lines written since TIME: RFC 3339 (2026-11-29T10:00:00Z), Unix seconds, or a duration ago (10m, 1h30m)
    #[cfg(feature = "lifecycle")]
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    pub since: Option<std::time::SystemTime>,

    /// The container (name, ID or ID prefix)
    pub container: String,
}

#[cfg(feature = "terminal")]
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The container (name, ID or ID prefix)
    pub container: String,
}

#[cfg(feature = "exec")]
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open
    #[arg(short = 'i', long)]
    pub interactive: bool,

    /// Attach the terminal
    #[arg(short = 't', long)]
    pub tty: bool,

    /// Set an environment variable: KEY=VALUE, or KEY to pass the host's (repeatable)
    #[cfg(feature = "env")]
    #[arg(short = 'e', long = "env", value_name = "KEY[=VALUE]", value_parser = parse_env)]
    pub env: Vec<String>,

    /// Run as USER[:GROUP] (names from the container's /etc/passwd and /etc/group, or numbers) instead of the container's user
    #[cfg(feature = "hardening")]
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,

    /// The container (name, ID or ID prefix)
    pub container: String,

    /// The command and its arguments
    #[arg(required = true, trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[cfg(feature = "stop")]
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait after SIGTERM before SIGKILL; negative: no SIGKILL,
    /// wait as long as the container takes to exit
    #[arg(
        short = 't',
        long = "time",
        default_value_t = 10,
        value_name = "SECS",
        allow_negative_numbers = true
    )]
    pub time: i64,

    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[cfg(feature = "rm")]
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill and remove running containers too
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Accepted for Docker's scripts: mydocker makes no anonymous volumes, so there are none to remove
    #[cfg(feature = "lifecycle")]
    #[arg(short = 'v', long)]
    pub volumes: bool,

    /// The containers (names, IDs or ID prefixes); from step 38 images too
    #[arg(required = true)]
    pub containers: Vec<String>,
}

#[cfg(feature = "commit")]
#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,

    /// Output format: table (default) or json (one object per line)
    #[cfg(feature = "oci_image")]
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,

    /// Only the image IDs, one per row
    #[cfg(feature = "oci_image")]
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Only the images of this repository (REPOSITORY, or REPOSITORY:TAG)
    #[cfg(feature = "oci_image")]
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image to tag (NAME[:TAG])
    #[arg(value_name = "SOURCE_IMAGE")]
    pub source: String,
    /// The new reference (NAME[:TAG])
    #[arg(value_name = "TARGET_IMAGE")]
    pub target: String,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Remove the name even when containers use the image (their layers stay)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// The images (NAME[:TAG])
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A tar (plain or gzip) of a root filesystem
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The new image's reference (NAME[:TAG])
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: String,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The archive to read (`-` or none: stdin)
    #[arg(short = 'i', long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Args)]
pub struct SaveArgs {
    /// The archive to write (none: stdout, when it is not a terminal)
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The images (NAME[:TAG], or an image ID: saved without a name)
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
}

#[cfg(feature = "pull")]
#[derive(Debug, Args)]
pub struct PullArgs {
    /// A registry to pull from over plain HTTP, as HOST[:PORT] (localhost
    /// and 127.0.0.1 always are)
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// The image: [HOST[:PORT]/]NAME[:TAG|@sha256:DIGEST] (no host: Docker Hub)
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub image: String,
}

#[cfg(feature = "pull")]
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user name
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: String,
    /// The password (seen by other users in the process list: prefer
    /// --password-stdin)
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Read the password from standard input
    #[arg(long = "password-stdin", conflicts_with = "password")]
    pub password_stdin: bool,
    /// A registry reached over plain HTTP, as HOST[:PORT] (localhost and
    /// 127.0.0.1 always are)
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// The registry, HOST[:PORT] (none: Docker Hub)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[cfg(feature = "pull")]
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry, HOST[:PORT] (none: Docker Hub)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[cfg(feature = "oci_image")]
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images (as `images`)
    Ls(ImagesArgs),
    /// Remove images (as `rmi`)
    Rm(RmiArgs),
    /// Print images' identity and configuration as JSON
    Inspect(InspectArgs),
    /// Remove the blobs and layers no image and no container uses
    Prune {
        /// Do not ask (mydocker never asks)
        #[arg(short = 'f', long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Before step 08 the hostname reaches init on its command line
    #[cfg(not(feature = "pipe"))]
    #[arg(long, default_value = "")]
    pub hostname: String,

    /// Before step 08 the command reaches init on its command line
    #[cfg(not(feature = "pipe"))]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,

    /// From step 08: the descriptor `run` sends the spec on
    #[cfg(feature = "pipe")]
    #[arg(long)]
    pub spec_fd: Option<i32>,

    /// From step 08: the descriptor held open until the program starts
    #[cfg(feature = "pipe")]
    #[arg(long)]
    pub ready_fd: Option<i32>,
}

#[cfg(feature = "run")]
impl InitArgs {
    /// What `init` reads its spec from, in the channel's own terms.
    pub fn inbox(&self) -> crate::container::channel::Inbox {
        crate::container::channel::Inbox {
            #[cfg(not(feature = "pipe"))]
            hostname: self.hostname.clone(),
            #[cfg(not(feature = "pipe"))]
            command: self.command.clone(),
            #[cfg(feature = "pipe")]
            spec_fd: self.spec_fd,
            #[cfg(feature = "pipe")]
            ready_fd: self.ready_fd,
        }
    }
}

/// Parse the full argument vector (program name first), accepting the
/// tutorial's single-dash long options. clap's description of the command
/// line ([`COMMAND`]) serves both [`normalize`] and the parse; the internal
/// verb `init` (the binary re-executed at every container start,
/// with an argument vector the runtime wrote) skips `normalize`.
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    with_command(|cli| {
        let args = if is_internal(&args) {
            args
        } else {
            normalize_with(cli, args)
        };
        parse_normalized(cli, args)
    })
}

/// clap's description of the whole command line, made at its first use and
/// kept for the rest of the process: `run` reads its command line twice
/// (`parse`, then `run_args`). It is not built as a whole
/// (`Command::build` prepares every verb, which costs several times what
/// parsing does): parsing builds only the verb it finds, and [`normalize`]
/// reads the options as declared.
static COMMAND: Mutex<Option<clap::Command>> = Mutex::new(None);

/// Call `f` with the [`COMMAND`].
fn with_command<R>(f: impl FnOnce(&mut clap::Command) -> R) -> R {
    let mut slot = COMMAND.lock().unwrap_or_else(PoisonError::into_inner);
    f(slot.get_or_insert_with(<Cli as clap::CommandFactory>::command))
}

/// Is `args` (program name first) a call of an internal verb, one whose
/// argument vector mydocker wrote itself (`init`, hidden from help)?
fn is_internal(args: &[OsString]) -> bool {
    args.get(1).is_some_and(|verb| verb == "init")
}

/// Parse `args` as they stand (already normalized) with `cli`.
fn parse_normalized(cli: &mut clap::Command, args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut matches = cli.try_get_matches_from_mut(args)?;
    <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut matches).map_err(|e| e.format(cli))
}

/// The arguments `run` was given after its verb (`args` is the whole
/// command line, program name first), kept in the container's state so
/// that `start` (step 37) can read them again with [`run_args_again`]. The
/// global `--root` before the verb is left out: `start` has its own.
/// Arguments that are not UTF-8 are kept with their bad bytes replaced.
#[cfg(feature = "lifecycle")]
pub fn run_args(args: &[OsString]) -> Vec<String> {
    let args = normalize(args.to_vec());
    let mut words = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(word) = words.next() {
        match word.as_str() {
            "--root" => {
                words.next();
            }
            w if w.starts_with("--root=") => {}
            "run" => return words.collect(),
            _ => break,
        }
    }
    Vec::new()
}

/// Parse the arguments [`run_args`] kept, as `run` parsed them.
#[cfg(feature = "lifecycle")]
pub fn run_args_again(kept: &[String]) -> Result<RunArgs, String> {
    let line = ["mydocker", "run"]
        .into_iter()
        .map(OsString::from)
        .chain(kept.iter().map(OsString::from))
        .collect();
    // Kept as normalized: normalizing again would take the `--` it put
    // after the image for the user's, and add another.
    match with_command(|cli| parse_normalized(cli, line))
        .map_err(|e| e.to_string())?
        .command
    {
        Command::Run(args) => Ok(*args),
        _ => Err("not the arguments of run".into()),
    }
}

/// The tutorial's single-dash spellings and Docker's names for them.
const ALIASES: [(&str, &str); 6] = [
    ("-name", "--name"),
    ("-cpushare", "--cpu-shares"),
    ("-cpuset", "--cpuset-cpus"),
    ("-net", "--net"),
    ("-mem", "--memory"),
    ("-memory", "--memory"),
];

/// Whether the option word `word` (already in Docker's spelling: `--name`,
/// `-e`, a cluster such as `-it` or `-m5`) takes its value from the next
/// argument, as `command`'s options and the global ones of `cli` (the
/// whole command line: `--root`) are declared to clap. An unknown option
/// takes none (clap then reports it).
fn takes_next_value(cli: &clap::Command, command: &clap::Command, word: &str) -> bool {
    let takes = |a: &clap::Arg| a.get_action().takes_values();
    let arguments = || {
        command
            .get_arguments()
            .chain(cli.get_arguments().filter(|a| a.is_global_set()))
    };
    if let Some(long) = word.strip_prefix("--") {
        if long.contains('=') {
            return false;
        }
        return arguments().any(|a| {
            takes(a)
                && (a.get_long() == Some(long)
                    || a.get_all_aliases().is_some_and(|v| v.contains(&long)))
        });
    }
    // A cluster of short options: the first that takes a value takes the
    // rest of the word, or the next argument when the word ends there.
    let mut shorts = word.trim_start_matches('-').chars();
    while let Some(c) = shorts.next() {
        match arguments().find(|a| a.get_short() == Some(c)) {
            Some(a) if takes(a) => return shorts.as_str().is_empty(),
            Some(_) => continue,
            None => return false,
        }
    }
    false
}

/// The number of operands of `verb` before its command, when its last
/// operand is a command with its arguments: 1 for `run IMAGE` and `exec
/// CONTAINER`, 0 for `run COMMAND` before images (step 11). `None` for a
/// verb without such a command.
fn operands_before_command(verb: &clap::Command) -> Option<usize> {
    let positionals: Vec<&clap::Arg> = verb.get_positionals().collect();
    let last = positionals.last()?;
    last.is_trailing_var_arg_set()
        .then(|| positionals.len() - 1)
}

/// Prepare the argument vector for clap: rewrite the tutorial's
/// single-dash long options of `run` (`-name x`, `-cpushare=512`) to their
/// Docker spellings, and end the options where the command begins, as
/// Docker does: everything after `run`'s image (or `exec`'s container) is
/// the program's, flags included (`run IMAGE -c x`, `run IMAGE --version`),
/// by putting `--` there. A `--` the user writes after the image is then
/// the command's first word, as Docker passes it (`docker run busybox --
/// echo hi` runs a program named `--`); one before the image ends the
/// options. Only options are rewritten:
/// `run busybox sh -c 'x -name'` keeps its command as typed.
pub fn normalize(args: Vec<OsString>) -> Vec<OsString> {
    with_command(|cli| normalize_with(cli, args))
}

/// [`normalize`] with the command line's description `cli`.
fn normalize_with(cli: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len() + 1);
    let mut iter = args.into_iter().peekable();
    out.extend(iter.next()); // program name
    // The verb's clap command once it is known, and how many operands
    // remain before its command.
    let mut verb: Option<&clap::Command> = None;
    let mut before_command: Option<usize> = None;
    while let Some(arg) = iter.next() {
        let Some(s) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if s == "--" {
            out.push(arg);
            break;
        }
        if !s.starts_with('-') || s == "-" {
            out.push(arg.clone());
            match verb {
                None => {
                    verb = cli.find_subcommand(s);
                    before_command = verb.and_then(operands_before_command);
                    if verb.is_none_or(|v| v.has_subcommands()) {
                        break;
                    }
                }
                // The command's first word: clap takes every word after it
                // as the command's (trailing_var_arg).
                Some(_) => match before_command {
                    Some(0) => break,
                    Some(1) => {
                        if iter.peek().is_some() {
                            out.push("--".into());
                        }
                        break;
                    }
                    Some(n) => before_command = Some(n - 1),
                    None => {}
                },
            }
            continue;
        }
        let in_run = verb.is_some_and(|v| v.get_name() == "run");
        let (flag, value) = match s.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (s, None),
        };
        let flag = ALIASES
            .iter()
            .find(|(from, _)| *from == flag && in_run)
            .map(|(_, to)| *to)
            .unwrap_or(flag);
        let options = verb.unwrap_or(cli);
        let take_value = value.is_none() && takes_next_value(cli, options, flag);
        out.push(match value {
            Some(v) => OsString::from(format!("{flag}={v}")),
            None => OsString::from(flag),
        });
        if take_value && let Some(v) = iter.next() {
            out.push(v);
        }
    }
    out.extend(iter);
    out
}

#[cfg(feature = "volume")]
fn parse_volume(s: &str) -> Result<crate::fs::volume::Volume, String> {
    crate::fs::volume::Volume::parse(s).map_err(|e| e.to_string())
}

/// `KEY=VALUE` as given; `KEY` alone takes the host's value (and is left
/// out when the host has none, as Docker does). An empty key is refused.
#[cfg(feature = "env")]
pub fn parse_env(s: &str) -> Result<String, String> {
    let key = s.split_once('=').map_or(s, |(k, _)| k);
    if key.is_empty() {
        return Err("the variable name is empty".into());
    }
    if key.contains('\0') || s.contains('\0') {
        return Err("a NUL byte is not allowed".into());
    }
    if s.contains('=') {
        return Ok(s.to_string());
    }
    match std::env::var(key) {
        Ok(v) => Ok(format!("{key}={v}")),
        Err(_) => Ok(String::new()),
    }
}

fn parse_container_name(s: &str) -> Result<String, String> {
    crate::names::validate("container", s).map_err(|e| e.reason.to_string())?;
    Ok(s.to_string())
}

/// Parse a memory size: a number with an optional unit b, k, m or g (either
/// case, optionally followed by `b`), as Docker accepts. At least 6 MiB, as
/// in Docker: below that a container cannot even start.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(digits_end);
    let n: u64 = num
        .parse()
        .map_err(|_| "expected a number with an optional unit b, k, m or g".to_string())?;
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return Err(format!("unknown unit {unit:?} (use b, k, m or g)")),
    };
    let bytes = n.checked_mul(mult).ok_or("value is too large")?;
    if bytes < 6 << 20 {
        return Err("the minimum memory limit is 6m".to_string());
    }
    Ok(bytes)
}

/// Parse a CPU list (`0`, `0-1`, `0,2-3`) and check every CPU is online.
pub fn parse_cpuset(s: &str) -> Result<String, String> {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let online_cpus = cpu_list(online.trim()).unwrap_or_default();
    let wanted = cpu_list(s)?;
    if let Some(bad) = wanted.iter().find(|c| !online_cpus.contains(c)) {
        return Err(format!(
            "CPU {bad} is not online (online: {})",
            online.trim()
        ));
    }
    Ok(s.to_string())
}

/// Expand a kernel CPU list such as `0-2,5` into numbers.
pub fn cpu_list(s: &str) -> Result<Vec<u32>, String> {
    let bad = || format!("{s:?} is not a CPU list such as 0-1 or 0,2");
    if s.is_empty() {
        return Err(bad());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let a: u32 = a.parse().map_err(|_| bad())?;
                let b: u32 = b.parse().map_err(|_| bad())?;
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().map_err(|_| bad())?),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "cli")]
    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[cfg(feature = "lifecycle")]
    #[test]
    fn run_args_are_kept_without_the_root_and_parse_again() {
        let line = os(&[
            "mydocker",
            "--root",
            "/r",
            "run",
            "-d",
            "-name",
            "w",
            "-e",
            "A=1",
            "busybox",
            "sh",
            "-c",
            "echo -name",
        ]);
        let kept = run_args(&line);
        assert_eq!(
            kept,
            [
                "-d",
                "--name",
                "w",
                "-e",
                "A=1",
                "busybox",
                "--",
                "sh",
                "-c",
                "echo -name"
            ]
        );
        let args = run_args_again(&kept).unwrap();
        assert_eq!(args.name.as_deref(), Some("w"));
        assert_eq!(args.command, ["sh", "-c", "echo -name"]);
        assert!(run_args(&os(&["mydocker", "--root=/r", "ps"])).is_empty());
        assert!(run_args_again(&["--nope".into()]).is_err());
    }

    /// `normalize` without the `--` it puts before a command (present from
    /// step 11, where `run`'s first operand is the image).
    #[cfg(feature = "cli")]
    fn rewritten(args: &[&str]) -> Vec<OsString> {
        let mut got = normalize(os(args));
        if let Some(i) = got.iter().position(|a| a == "--") {
            got.remove(i);
        }
        got
    }

    /// (From step 02, where `run` and its options arrive.)
    #[cfg(feature = "cli")]
    #[test]
    fn tutorial_spellings_are_rewritten_before_the_command_only() {
        let got = rewritten(&[
            "mydocker",
            "run",
            "-ti",
            "-name",
            "c1",
            "sh",
            "-c",
            "echo -name",
        ]);
        assert_eq!(
            got,
            os(&[
                "mydocker",
                "run",
                "-ti",
                "--name",
                "c1",
                "sh",
                "-c",
                "echo -name"
            ])
        );
        let got = rewritten(&[
            "mydocker",
            "--root",
            "/r",
            "run",
            "-cpushare=512",
            "-cpuset",
            "0",
            "top",
        ]);
        assert_eq!(
            got,
            os(&[
                "mydocker",
                "--root",
                "/r",
                "run",
                "--cpu-shares=512",
                "--cpuset-cpus",
                "0",
                "top"
            ])
        );
    }

    #[cfg(feature = "cli")]
    #[test]
    fn value_of_an_option_is_not_taken_for_the_command() {
        let got = normalize(os(&["mydocker", "run", "--name", "-name", "x"]));
        assert_eq!(got, os(&["mydocker", "run", "--name", "-name", "x"]));
    }

    /// Everything after `run`'s image is the command's, flags included,
    /// as Docker reads it; the options before it are mydocker's, with
    /// their values wherever clap allows them.
    #[cfg(feature = "image")]
    #[test]
    fn the_command_after_the_image_keeps_its_flags() {
        let run = |args: &[&str]| match parse(os(args)).unwrap().command {
            Command::Run(r) => r,
            _ => unreachable!(),
        };
        let r = run(&["mydocker", "run", "-m", "10m", "busybox", "-m", "5"]);
        assert_eq!(r.image, "busybox");
        assert_eq!(r.command, ["-m", "5"]);
        assert_eq!(r.memory, Some(10 << 20));
        let r = run(&[
            "mydocker", "run", "-it", "-m10m", "busybox", "--rm", "-c", "x",
        ]);
        assert_eq!(r.command, ["--rm", "-c", "x"]);
        assert!(r.tty && r.interactive);
        // The global --root after the verb takes its value.
        let r = run(&["mydocker", "run", "--root", "/r", "busybox", "true"]);
        assert_eq!(
            (r.image.as_str(), &r.command[..]),
            ("busybox", &["true".to_string()][..])
        );
        // A `--` the user wrote after the image is the command's first
        // word, as Docker passes it (`docker run busybox -- echo` runs a
        // program named `--`); before the image it ends the options.
        let r = run(&["mydocker", "run", "busybox", "--", "-x"]);
        assert_eq!(r.command, ["--", "-x"]);
        let r = run(&["mydocker", "run", "--", "busybox", "--", "-x"]);
        assert_eq!(
            (r.image.as_str(), &r.command[..]),
            ("busybox", &["--".to_string(), "-x".into()][..])
        );
    }

    /// So is a `--` after `exec`'s container.
    #[cfg(feature = "exec")]
    #[test]
    fn a_dash_dash_after_the_container_is_the_commands() {
        let exec = |args: &[&str]| match parse(os(args)).unwrap().command {
            Command::Exec(e) => e,
            _ => unreachable!(),
        };
        assert_eq!(
            exec(&["mydocker", "exec", "c", "--", "ls"]).command,
            ["--", "ls"]
        );
        assert_eq!(
            exec(&["mydocker", "exec", "c", "ls", "--"]).command,
            ["ls", "--"]
        );
    }

    /// `start` reads the command line `run` kept as `run` read it, a `--`
    /// after the image included.
    #[cfg(all(feature = "lifecycle", feature = "image"))]
    #[test]
    fn a_dash_dash_after_the_image_survives_the_kept_arguments() {
        let kept = run_args(&os(&["mydocker", "run", "busybox", "--", "echo", "hi"]));
        assert_eq!(run_args_again(&kept).unwrap().command, ["--", "echo", "hi"]);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("100m"), Ok(100 << 20));
        assert_eq!(parse_memory("1G"), Ok(1 << 30));
        assert_eq!(parse_memory("8192k"), Ok(8 << 20));
        assert_eq!(parse_memory("104857600"), Ok(100 << 20));
        assert!(parse_memory("10q").is_err());
        assert!(parse_memory("-5m").is_err());
        assert!(parse_memory("1m").is_err());
        assert!(parse_memory("").is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list("0-2,5"), Ok(vec![0, 1, 2, 5]));
        assert!(cpu_list("2-1").is_err());
        assert!(cpu_list("a").is_err());
        assert!(parse_cpuset("0").is_ok());
        assert!(parse_cpuset("9999").unwrap_err().contains("not online"));
    }
}
