//! The OCI runtime front end (step 40): mydocker driven by runc's command
//! line, as containerd's shim and podman's conmon drive runc.
//!
//! Those tools do not call a runtime's own CLI. They unpack an image into a
//! *bundle* (a directory with `config.json`, the runtime-spec's description
//! of the container, and its root filesystem), then call
//! `RUNTIME --root DIR --log FILE --log-format json create --bundle B
//! --pid-file F ID`, later `start ID`, `state ID`, `kill ID 15`, `delete ID`.
//! The same binary answers under the name `mydocker-runtime` (a symlink to
//! `mydocker`: argv[0] chooses the front end), so init, which re-executes
//! the binary, is the same for both front ends.
//!
//! [`bundle`] maps `config.json` onto the engine's specification,
//! [`commands`] runs the verbs, [`state`] keeps what they share.

pub mod bundle;
pub mod cli;
pub mod commands;
pub mod exec;
pub mod freezer;
pub mod hooks;
pub mod inspect;
pub mod state;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Parser;

use cli::{Log, Opts, Verb};
use state::Root;

/// The name that selects this front end (argv[0]'s last component).
pub const NAME: &str = "mydocker-runtime";

/// Is `argv0` this front end's name?
pub fn is_runtime(argv0: &std::ffi::OsStr) -> bool {
    Path::new(argv0).file_name().is_some_and(|n| n == NAME)
}

/// Parse runc's command line and run it; returns the exit code (the
/// program's for a foreground `run`, 1 for an error, as runc).
pub fn main(args: Vec<OsString>) -> i32 {
    let opts = match Opts::try_parse_from(args) {
        Ok(o) => o,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let log = Log {
        file: opts.global.log.clone(),
        json: opts.global.log_format.as_deref() == Some("json"),
    };
    match dispatch(&opts) {
        Ok(code) => code,
        Err(e) => {
            report(&log, &format!("{}: {e:#}", opts.verb.name()));
            1
        }
    }
}

fn dispatch(opts: &Opts) -> Result<i32> {
    if let Some(f) = opts.global.log_format.as_deref()
        && f != "json"
        && f != "text"
    {
        bail!("--log-format {f:?}: expected json or text");
    }
    if opts.global.systemd_cgroup {
        bail!(
            "--systemd-cgroup: the systemd cgroup manager is not supported; mydocker writes cgroupfs directly"
        );
    }
    let root = Root::new(
        opts.global
            .root
            .as_deref()
            .unwrap_or(Path::new(state::DEFAULT_ROOT)),
    );
    match &opts.verb {
        Verb::Create(c) => {
            ensure_no_extra_fds(c.preserve_fds)?;
            commands::create(
                &root,
                &c.container_id,
                &c.bundle,
                c.pid_file.as_deref(),
                c.console_socket.as_deref(),
            )?;
            Ok(0)
        }
        Verb::Start(s) => commands::start(&root, &s.container_id).map(|()| 0),
        Verb::State(s) => commands::state(&root, &s.container_id).map(|()| 0),
        Verb::Kill(k) => commands::kill_verb(&root, k).map(|()| 0),
        Verb::Delete(d) => commands::delete(&root, &d.container_id, d.force).map(|()| 0),
        Verb::Run(r) => {
            ensure_no_extra_fds(r.preserve_fds)?;
            commands::run(&root, r)
        }
        Verb::Exec(e) => exec::exec(&root, e),
        Verb::Ps(p) => inspect::ps(&root, p).map(|()| 0),
        Verb::List(l) => inspect::list(&root, l).map(|()| 0),
        Verb::Pause(p) => commands::pause(&root, &p.container_id, true).map(|()| 0),
        Verb::Resume(r) => commands::pause(&root, &r.container_id, false).map(|()| 0),
        Verb::Spec(s) => inspect::spec(s).map(|()| 0),
        Verb::Features(_) => inspect::features().map(|()| 0),
    }
}

fn ensure_no_extra_fds(n: i32) -> Result<()> {
    if n != 0 {
        bail!("--preserve-fds {n}: passing extra descriptors is not supported yet");
    }
    Ok(())
}

/// Say an error: one line on stderr, and one in `--log` in its format
/// (runc's JSON: `{"level":"error","msg":...,"time":...}`).
fn report(log: &Log, msg: &str) {
    eprintln!("{NAME}: {msg}");
    let Some(file) = &log.file else { return };
    let line = if log.json {
        serde_json::json!({
            "level": "error",
            "msg": msg,
            "time": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        })
        .to_string()
    } else {
        format!(
            "time=\"{}\" level=error msg={:?}",
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
            msg
        )
    };
    let _ = append(file, &line);
}

fn append(file: &PathBuf, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(f, "{line}")
}
