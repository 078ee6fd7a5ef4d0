//! Exit codes, as Docker uses them (step 02), and what a panic exits with.
//!
//! mydocker's own failures (bad flag, missing image, bad name) exit 125.
//! When the container's program cannot be started the init process exits
//! 126 (found but not executable) or 127 (not found); otherwise the
//! container's own exit code is passed through, 128+N when killed by signal N.
//!
//! A panic is a bug in mydocker, never the user's doing; should one happen
//! anyway, [`install_panic_hook`] makes it one line on stderr (`mydocker:
//! internal error: ...`) and exit code 125, like any other failure of
//! mydocker's own, not a backtrace and Rust's 101. One panic is no bug:
//! Rust ignores SIGPIPE and `println!` panics when the reader of standard
//! output has gone (`mydocker ps | head -1`); then mydocker dies of SIGPIPE,
//! quietly, as a C tool (and Docker's Go CLI) would.

/// mydocker itself failed.
pub const EXIT_MYDOCKER: i32 = 125;
/// The command was found but could not be executed.
pub const EXIT_CANNOT_RUN: i32 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// The exit code a shell would report for a process killed by `signal`.
pub fn signal_exit_code(signal: i32) -> i32 {
    128 + signal
}

/// The line a panic prints: its message on one line, and where it was.
fn panic_line(message: &str, location: Option<&std::panic::Location<'_>>) -> String {
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match location {
        Some(at) => format!(
            "mydocker: internal error: {message} (at {}:{})",
            at.file(),
            at.line()
        ),
        None => format!("mydocker: internal error: {message}"),
    }
}

/// From now on a panic prints one line and exits 125 (see the module
/// comment). `main` installs it first thing.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a panic without a message");
        if is_closed_stdout(message) {
            die_of_sigpipe();
        }
        let line = panic_line(message, info.location());
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
        std::process::exit(EXIT_MYDOCKER);
    }));
}

/// `println!`'s panic when standard output's reader has gone.
fn is_closed_stdout(message: &str) -> bool {
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// End as the kernel ends a process that writes to a pipe nobody reads:
/// by SIGPIPE at its default disposition.
fn die_of_sigpipe() -> ! {
    use nix::sys::signal::{SigHandler, Signal, raise, signal};
    // SAFETY: the default disposition installs no handler.
    #[allow(unsafe_code)]
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let _ = raise(Signal::SIGPIPE);
    std::process::exit(signal_exit_code(libc::SIGPIPE));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_closed_stdout_is_a_closed_stdout() {
        assert!(is_closed_stdout(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_stdout(
            "failed printing to stdout: No space left on device"
        ));
        assert!(!is_closed_stdout("index out of bounds"));
    }

    #[test]
    fn a_panic_message_becomes_one_line() {
        assert_eq!(
            panic_line("a\nb\tc", None),
            "mydocker: internal error: a b c"
        );
    }

    /// The test runs itself again as a child that installs the hook and
    /// panics: it must exit 125 with exactly one line on stderr.
    #[test]
    fn a_panic_exits_125_with_one_line() {
        const CHILD: &str = "MYDOCKER_TEST_PANIC_CHILD";
        if std::env::var_os(CHILD).is_some() {
            install_panic_hook();
            panic!("deliberate\nfor the test");
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "exit_code::tests::a_panic_exits_125_with_one_line",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(EXIT_MYDOCKER), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(
                "mydocker: internal error: deliberate for the test (at src/exit_code.rs:"
            ),
            "{err}"
        );
    }
}
