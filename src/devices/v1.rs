//! The devices controller of cgroup v1 (step 35): two write-only files in
//! the container's directory of the `devices` hierarchy.
//!
//! Each line written is `TYPE MAJOR:MINOR ACCESS`, as in `c 1:3 rwm`
//! (`*` for any number; `a` alone for every device). Writing to
//! `devices.deny` removes from what the cgroup may do, writing to
//! `devices.allow` adds to it; `devices.list` shows the result. A new
//! cgroup starts with its parent's list, so the container's first write is
//! `a` to `devices.deny` (nothing), then its allowlist line by line. A
//! cgroup can never allow more than its parent, which is why a nested
//! runtime cannot hand out devices it was not given.

use std::path::Path;

use super::Error;
use super::{Kind, Policy, Rule};

/// One rule as the devices controller reads it: `c 1:3 rwm`, `b *:* m`,
/// `a` (every device, every access).
pub fn line(rule: &Rule) -> String {
    if rule.kind == Kind::All && rule.major.is_none() && rule.minor.is_none() {
        return "a".to_string();
    }
    let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
    format!(
        "{} {}:{} {}",
        rule.kind.letter(),
        num(rule.major),
        num(rule.minor),
        rule.access
    )
}

/// What to write, in order: `(file, line)` pairs. First the default for
/// everything (`a` to `devices.deny` or `devices.allow`), then each rule to
/// the file of its kind.
pub fn writes(policy: &Policy) -> Vec<(&'static str, String)> {
    let file = |allow: bool| {
        if allow {
            "devices.allow"
        } else {
            "devices.deny"
        }
    };
    let mut out = vec![(file(policy.default_allow), "a".to_string())];
    out.extend(policy.rules.iter().map(|r| (file(r.allow), line(r))));
    out
}

/// Write `policy` into the devices cgroup `dir` (one `write(2)` per line:
/// the kernel takes one rule per write).
pub fn apply(dir: &Path, policy: &Policy) -> Result<(), Error> {
    for (file, line) in writes(policy) {
        let path = dir.join(file);
        std::fs::write(&path, &line).map_err(|err| Error {
            op: "write",
            path,
            err,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{Access, default_rules, policy};

    #[test]
    fn default_is_deny_all_then_dockers_list() {
        let w = writes(&policy(false, &[]));
        let text: Vec<String> = w.iter().map(|(f, l)| format!("{f} {l}")).collect();
        assert_eq!(
            text,
            [
                "devices.deny a",
                "devices.allow c *:* m",
                "devices.allow b *:* m",
                "devices.allow c 1:3 rwm",
                "devices.allow c 1:5 rwm",
                "devices.allow c 1:7 rwm",
                "devices.allow c 1:8 rwm",
                "devices.allow c 1:9 rwm",
                "devices.allow c 5:0 rwm",
                "devices.allow c 5:1 rwm",
                "devices.allow c 5:2 rwm",
                "devices.allow c 136:* rwm",
                "devices.allow c 10:200 rwm",
            ]
        );
    }

    #[test]
    fn privileged_allows_all() {
        assert_eq!(writes(&policy(true, &[])), [("devices.allow", "a".into())]);
    }

    #[test]
    fn rules_print_their_type_numbers_and_access() {
        let r = Rule {
            allow: false,
            kind: Kind::Block,
            major: Some(7),
            minor: Some(0),
            access: Access::parse("r").unwrap(),
        };
        assert_eq!(line(&r), "b 7:0 r");
        let p = Policy {
            default_allow: true,
            rules: vec![r],
        };
        assert_eq!(writes(&p)[1], ("devices.deny", "b 7:0 r".into()));
        assert_eq!(line(&default_rules()[0]), "c *:* m");
    }

    #[test]
    fn apply_writes_each_line_to_its_file() {
        let t = tempfile::tempdir().unwrap();
        // Plain files keep only the last write; the kernel's keep them all.
        apply(t.path(), &policy(false, &[])).unwrap();
        let read = |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap();
        assert_eq!(read("devices.deny"), "a");
        assert_eq!(read("devices.allow"), "c 10:200 rwm");
    }
}
