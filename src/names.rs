//! Names of containers, images and networks become directory and file names
//! under the root, so they are checked before any path is built from them:
//! `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 128 bytes. `..`, `a/b`, an empty
//! name or one with a newline can never reach the filesystem.

use std::fmt;

/// The longest name accepted.
pub const MAX_LEN: usize = 128;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidName {
    pub kind: &'static str,
    pub name: String,
    pub reason: &'static str,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} name {:?}: {}",
            self.kind, self.name, self.reason
        )
    }
}

/// Check `name` (of a `kind`: "container", "image", "network").
pub fn validate(kind: &'static str, name: &str) -> Result<(), InvalidName> {
    let refuse = |reason| {
        Err(InvalidName {
            kind,
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.len() > MAX_LEN {
        return refuse("it is longer than 128 bytes");
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or(' ');
    if !first.is_ascii_alphanumeric() {
        return refuse("it must start with a letter or digit");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return refuse("only letters, digits, '_', '.' and '-' are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in ["busybox", "image1", "c_1.test-2", "0abc"] {
            assert!(validate("image", n).is_ok(), "{n}");
        }
    }

    #[test]
    fn refuses_names_that_could_become_paths() {
        let long = "a".repeat(300);
        for n in [
            "",
            "..",
            ".",
            "../../etc",
            "a/b",
            "a\nb",
            "-x",
            long.as_str(),
            "a b",
        ] {
            assert!(validate("container", n).is_err(), "{n:?}");
        }
    }

    #[test]
    fn error_names_the_kind_and_value() {
        let e = validate("network", "a/b").unwrap_err();
        assert!(e.to_string().starts_with("invalid network name \"a/b\""));
    }
}
