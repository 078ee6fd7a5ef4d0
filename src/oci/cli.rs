//! runc's command line (step 40), parsed with youki's `liboci-cli`, whose
//! argument types follow runc's flags: the global `--root`, `--log`,
//! `--log-format`, and one struct per verb. `kill`'s signal is optional
//! here (runc sends SIGTERM without one), so that verb is ours.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// `mydocker-runtime [GLOBAL FLAGS] VERB ...`
#[derive(Debug, Parser)]
#[command(
    name = "mydocker-runtime",
    version,
    about = "mydocker as an OCI runtime: runc's command line over a bundle's config.json",
    // liboci-cli's own text names youki.
    mut_arg("log", |a| a.help("set the log file to write mydocker-runtime's logs to (default is stderr)"))
)]
pub struct Opts {
    #[command(flatten)]
    pub global: liboci_cli::GlobalOpts,
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Create a container from a bundle; its process waits for `start`
    Create(liboci_cli::Create),
    /// Let a created container's process run its program
    Start(liboci_cli::Start),
    /// Print a container's state as the runtime-spec's JSON
    State(liboci_cli::State),
    /// Send a signal to a container's process (SIGTERM by default)
    Kill(Kill),
    /// Remove a stopped container (`--force`: kill it first)
    Delete(liboci_cli::Delete),
    /// Create and start a container, and wait for it (unless `--detach`)
    Run(liboci_cli::Run),
    /// Run one more process in a running container
    Exec(liboci_cli::Exec),
    /// List the processes of a container
    Ps(liboci_cli::Ps),
    /// Freeze every process of a container
    Pause(liboci_cli::Pause),
    /// Thaw a paused container
    Resume(liboci_cli::Resume),
    /// List the containers under --root
    List(liboci_cli::List),
    /// Write a default config.json
    Spec(liboci_cli::Spec),
    /// Print what this runtime supports (the runtime-spec's features document)
    Features(liboci_cli::Features),
}

/// `kill [--all] ID [SIGNAL]`: a number, or a name with or without `SIG`.
#[derive(Debug, clap::Args)]
pub struct Kill {
    pub container_id: String,
    #[arg(default_value = "TERM")]
    pub signal: String,
    /// Send it to every process in the container's cgroup
    #[arg(short, long)]
    pub all: bool,
}

/// `kill`'s signal as runc parses it: a number, or a name with or without
/// `SIG` in any case. `0` (not `SIG0`, which runc does not know either)
/// is `None`: nothing is sent, only whether the process exists is
/// checked (kill(2)'s null signal, runc's liveness probe).
pub fn parse_signal(s: &str) -> anyhow::Result<Option<nix::sys::signal::Signal>> {
    if s == "0" {
        return Ok(None);
    }
    crate::cli::parse_signal(s)
        .map(Some)
        .map_err(anyhow::Error::msg)
}

impl Verb {
    /// The verb's name, for "not supported" errors.
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Create(_) => "create",
            Verb::Start(_) => "start",
            Verb::State(_) => "state",
            Verb::Kill(_) => "kill",
            Verb::Delete(_) => "delete",
            Verb::Run(_) => "run",
            Verb::Exec(_) => "exec",
            Verb::Ps(_) => "ps",
            Verb::Pause(_) => "pause",
            Verb::Resume(_) => "resume",
            Verb::List(_) => "list",
            Verb::Spec(_) => "spec",
            Verb::Features(_) => "features",
        }
    }
}

/// Where errors go: `--log` (stderr without it) in `--log-format`.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub file: Option<PathBuf>,
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use nix::sys::signal::Signal;

    #[test]
    fn signal_0_is_the_null_signal_and_names_take_sig_or_not() {
        assert_eq!(super::parse_signal("0").unwrap(), None);
        assert_eq!(super::parse_signal("SIG0").ok(), None, "runc refuses SIG0");
        assert_eq!(super::parse_signal("9").unwrap(), Some(Signal::SIGKILL));
        assert_eq!(super::parse_signal("hup").unwrap(), Some(Signal::SIGHUP));
        assert_eq!(
            super::parse_signal("SIGTERM").unwrap(),
            Some(Signal::SIGTERM)
        );
        assert!(super::parse_signal("NOPE").is_err());
    }
}
