//! A declarative check of one command (the harness, for every step): its
//! exit status, standard output and standard error are stated in one
//! chain, and anything not stated is expected to be absent, so a test
//! fails on an unexpected line on stderr as surely as on a wrong code:
//!
//! ```ignore
//! Expect::new(env.run(&["-m", "10q"], &["true"]))
//!     .status(125)
//!     .stderr_has("--memory")
//!     .run();
//! ```
//!
//! By default the command must exit 0 and print nothing on either stream;
//! each call states otherwise. A failure names every way the command did
//! not match, with its full output, at the line of the test
//! (`#[track_caller]`).

// As in the harness: a step's build uses only part of it.
#![allow(dead_code)]

use std::process::Output;

/// What one stream must hold.
#[derive(Debug, Clone)]
enum Text {
    /// Exactly this (the default: the empty string).
    Exactly(String),
    /// Each of these, somewhere.
    Containing(Vec<String>),
    /// Anything.
    Any,
}

impl Text {
    fn add_part(self, part: &str) -> Text {
        match self {
            Text::Containing(mut parts) => {
                parts.push(part.to_string());
                Text::Containing(parts)
            }
            _ => Text::Containing(vec![part.to_string()]),
        }
    }

    /// Why `got` does not match, if it does not.
    fn mismatch(&self, stream: &str, got: &str) -> Option<String> {
        match self {
            Text::Exactly(want) if want != got => {
                Some(format!("{stream}: expected exactly {want:?}"))
            }
            Text::Containing(parts) => {
                let missing: Vec<&String> = parts.iter().filter(|p| !got.contains(*p)).collect();
                (!missing.is_empty()).then(|| format!("{stream}: missing {missing:?}"))
            }
            _ => None,
        }
    }
}

/// A command and what it must do.
pub struct Expect {
    command: assert_cmd::Command,
    status: i32,
    stdout: Text,
    stderr: Text,
}

impl Expect {
    /// `command` must exit 0 and print nothing, unless told otherwise.
    pub fn new(command: assert_cmd::Command) -> Expect {
        Expect {
            command,
            status: 0,
            stdout: Text::Exactly(String::new()),
            stderr: Text::Exactly(String::new()),
        }
    }

    /// The exit code it must end with.
    pub fn status(mut self, code: i32) -> Expect {
        self.status = code;
        self
    }

    /// Its standard output, exactly.
    pub fn stdout(mut self, text: &str) -> Expect {
        self.stdout = Text::Exactly(text.to_string());
        self
    }

    /// A part its standard output must contain (repeatable).
    pub fn stdout_has(mut self, part: &str) -> Expect {
        self.stdout = self.stdout.add_part(part);
        self
    }

    /// Its standard output is not checked.
    pub fn any_stdout(mut self) -> Expect {
        self.stdout = Text::Any;
        self
    }

    /// Its standard error, exactly.
    pub fn stderr(mut self, text: &str) -> Expect {
        self.stderr = Text::Exactly(text.to_string());
        self
    }

    /// A part its standard error must contain (repeatable).
    pub fn stderr_has(mut self, part: &str) -> Expect {
        self.stderr = self.stderr.add_part(part);
        self
    }

    /// Run the command; fail the test, naming every mismatch, unless it
    /// did all that was stated. Returns its output for further checks.
    #[track_caller]
    pub fn run(mut self) -> Output {
        let out = self.command.output().expect("start the command");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut wrong = Vec::new();
        if out.status.code() != Some(self.status) {
            wrong.push(format!(
                "status: expected {}, got {:?}",
                self.status, out.status
            ));
        }
        wrong.extend(self.stdout.mismatch("stdout", &stdout));
        wrong.extend(self.stderr.mismatch("stderr", &stderr));
        assert!(
            wrong.is_empty(),
            "{:?}\n{}\n--- stdout\n{stdout}--- stderr\n{stderr}---",
            self.command,
            wrong.join("\n")
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Expect;

    fn sh(script: &str) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new("sh");
        c.args(["-c", script]);
        c
    }

    #[test]
    fn a_command_doing_what_is_stated_passes() {
        Expect::new(sh("echo out; echo err >&2; exit 3"))
            .status(3)
            .stdout("out\n")
            .stderr_has("err")
            .run();
    }

    #[test]
    #[should_panic(expected = "stderr: expected exactly \"\"")]
    fn an_unstated_line_on_stderr_fails() {
        Expect::new(sh("echo warning >&2")).run();
    }

    #[test]
    #[should_panic(expected = "status: expected 125")]
    fn a_wrong_status_fails() {
        Expect::new(sh("exit 1")).status(125).any_stdout().run();
    }
}
