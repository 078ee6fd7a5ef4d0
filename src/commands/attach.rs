//! `mydocker attach CONTAINER` (step 36): connect the caller's terminal to
//! that of a container started with `run -d -t`, whose monitor holds the
//! master (`terminal::server`). What is typed goes to the program, what it
//! writes comes back; ctrl-p ctrl-q detaches and leaves it running, as
//! Docker's (which then reports `read escape sequence` and exits 1).
//! Otherwise `attach` ends when the container does, with its exit code.
//!
//! Like `docker attach` to a container with a terminal, it needs a terminal
//! as stdin (`the input device is not a TTY`, exit 125), which goes raw
//! while attached.

use std::io::IsTerminal;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::unistd::Pid;

use crate::cli::AttachArgs;
use crate::container::process;
use crate::container::state::{Status, Store};
use crate::terminal::relay::{Ended, Relay};
use crate::terminal::server::ATTACH_SOCKET;
use crate::terminal::{console_socket, pty, raw_mode::RawMode, standard_fd};

/// How long `attach` waits for the monitor to record the exit, once the
/// terminal has closed.
const EXIT_RECORD_PATIENCE: Duration = Duration::from_secs(10);

pub fn attach(root: &Path, args: &AttachArgs) -> Result<i32> {
    let store = Store::new(root);
    let info = store.find(&args.container)?;
    let Some(pid) = info.live_pid() else {
        bail!("container {} is not running", info.name);
    };
    if !std::io::stdin().is_terminal() {
        bail!("the input device is not a TTY");
    }
    let path = store.container_dir(&info.name).join(ATTACH_SOCKET);
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "container {} has no terminal (it was not started with -d -t)",
                info.name
            )
        }
        Err(e) => return Err(e).with_context(|| format!("connect to {}", path.display())),
    };
    let master = console_socket::receive(stream.as_fd())?
        .with_context(|| format!("container {}'s monitor sent no terminal", info.name))?;
    process::block_forwarded_signals()?;
    let (stdin, stdout) = (standard_fd(0), standard_fd(1));
    let size_from = if std::io::stdout().is_terminal() {
        stdout
    } else {
        stdin
    };
    if let Some(size) = pty::size(size_from) {
        pty::set_size(master.as_fd(), size)?;
    }
    let ended = {
        let _raw = RawMode::enter(stdin)?;
        Relay {
            pid: Pid::from_raw(pid),
            child: false,
            peer: OwnedFd::from(stream),
            master,
            input: Some(stdin),
            size_from: Some(size_from),
            detach_keys: true,
        }
        .run()?
    };
    match ended {
        Ended::Detached => {
            eprintln!("read escape sequence");
            Ok(1)
        }
        Ended::Exited(code) => Ok(code),
        Ended::Closed => exit_code(&store, &info.name),
    }
}

/// The exit code the monitor records once the container has ended.
fn exit_code(store: &Store, name: &str) -> Result<i32> {
    let deadline = Instant::now() + EXIT_RECORD_PATIENCE;
    loop {
        let info = store.load(name)?;
        if info.status == Status::Exited {
            return Ok(info.exit_code.unwrap_or(-1));
        }
        if Instant::now() > deadline {
            bail!("container {name}'s terminal closed, but no exit was recorded");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
