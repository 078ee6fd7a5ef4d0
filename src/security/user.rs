//! Users and groups (step 35, `man 7 credentials`). Without a user
//! namespace, uid 0 in a container *is* uid 0 on the host: the same number
//! the kernel compares with a file's owner, the same root that a
//! capability check falls back to. Capabilities (step 33) take most of
//! root's power away; running as another uid takes the rest: files of
//! root's on a volume are no longer writable, and a non-root process that
//! `execve`s keeps no capability at all.
//!
//! `-u/--user USER[:GROUP]` names the user as Docker does: a number, or a
//! name looked up in the **image's** `/etc/passwd` (never the host's: a
//! container's `nobody` is whatever its image says). With a name, the
//! user's groups come from the image's `/etc/group` (every group that
//! lists the name as a member) and its primary group and home directory
//! from its passwd entry. An explicit `:GROUP` replaces the primary group
//! and, as in runc (`libcontainer/user.GetExecUser`), leaves no
//! supplementary group. A number that the image does not know is taken as
//! it is, with group 0 and home `/`. A name the image does not know is an
//! error.
//!
//! Switching happens in `init` (and in `exec`'s child) in runc's order:
//! the bounding set is cut while still root, `PR_SET_KEEPCAPS` keeps the
//! permitted set across `setuid`, then `setgroups`, `setgid`, `setuid`
//! (groups first: once the uid is not 0 they can no longer be changed),
//! and only then the container's effective, permitted and inheritable
//! sets are set. The `execve` that follows computes a non-root user's
//! sets from the ambient set, which is empty: like Docker's, the program
//! of a non-root user has `CapEff: 0` and the bounding set of the
//! container. Without `-u` the container is root, with no supplementary
//! group: not those of whoever ran mydocker, which are the host's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::capabilities::Profile;
use crate::fs::scoped;

/// A user resolved to numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (`setgroups(2)`).
    pub groups: Vec<u32>,
    /// The home directory from the passwd entry, `/` without one.
    pub home: String,
    /// The file mode creation mask the program starts with (`umask(2)`),
    /// a bundle's `process.user.umask` (step 40); `None`: init's own.
    #[cfg(feature = "oci_runtime")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<u32>,
}

/// A `--user` that cannot be resolved in the image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid --user {value:?}: {reason}")]
    Invalid { value: String, reason: String },
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[error(transparent)]
    Caps(#[from] super::capabilities::Error),
}

/// One line of an `/etc/passwd`.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

/// One line of an `/etc/group`.
struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

fn passwd_entries(text: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if l.starts_with('#') || f.len() < 7 {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

fn group_entries(text: &str) -> impl Iterator<Item = GroupEntry<'_>> {
    text.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if l.starts_with('#') || f.len() < 4 {
            return None;
        }
        Some(GroupEntry {
            name: f[0],
            gid: f[2].parse().ok()?,
            members: f[3].split(',').filter(|m| !m.is_empty()).collect(),
        })
    })
}

/// Resolve `value` (`USER[:GROUP]`) against the passwd and group files'
/// contents, with runc's rules (see the module's text).
#[allow(clippy::needless_update)] // `umask` exists from step 40
pub fn resolve_in(value: &str, passwd: &str, group: &str) -> Result<User, Error> {
    let invalid = |reason: String| Error::Invalid {
        value: value.to_string(),
        reason,
    };
    let (user_part, group_part) = match value.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (value, None),
    };
    if user_part.is_empty() || group_part == Some("") {
        return Err(invalid("expected USER[:GROUP]".into()));
    }
    let numeric_uid = user_part.parse::<u32>().ok();
    let entry = passwd_entries(passwd).find(|e| match numeric_uid {
        Some(uid) => e.uid == uid,
        None => e.name == user_part,
    });
    let mut user = match (&entry, numeric_uid) {
        (Some(e), _) => User {
            uid: e.uid,
            gid: e.gid,
            groups: Vec::new(),
            home: e.home.to_string(),
            ..User::default()
        },
        (None, Some(uid)) => User {
            uid,
            gid: 0,
            groups: Vec::new(),
            home: "/".into(),
            ..User::default()
        },
        (None, None) => {
            return Err(invalid(format!(
                "no user {user_part:?} in the image's /etc/passwd"
            )));
        }
    };
    match group_part {
        Some(g) => {
            user.gid = match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => group_entries(group)
                    .find(|e| e.name == g)
                    .map(|e| e.gid)
                    .ok_or_else(|| invalid(format!("no group {g:?} in the image's /etc/group")))?,
            };
        }
        None => {
            if let Some(e) = &entry {
                user.groups = group_entries(group)
                    .filter(|g| g.members.contains(&e.name))
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    // (uid_t)-1 is no id: setresuid/setresgid read it as "leave it as it
    // is", so the program would stay root. Refused whether it was typed or
    // came from the image's files.
    let unchanged = u32::MAX;
    if user.uid == unchanged || user.gid == unchanged || user.groups.contains(&unchanged) {
        return Err(invalid(format!(
            "id {unchanged} is reserved (it means \"unchanged\" to the kernel)"
        )));
    }
    Ok(user)
}

/// Resolve `value` in a filesystem made of `layers`, topmost first (at
/// `run` the image's layers: one directory until step 37, its stack of
/// layers from step 38; at `exec` the container's root). Each file is read
/// from the topmost layer that has it (a deleted one, an overlay whiteout,
/// reads as empty, as does a missing passwd or group file).
pub fn resolve(value: &str, layers: &[PathBuf]) -> Result<User, Error> {
    let read = |name: &str| -> String {
        scoped::read_in_layers(layers, Path::new(name)).unwrap_or_default()
    };
    resolve_in(value, &read("/etc/passwd"), &read("/etc/group"))
}

fn sys(what: &str) -> impl FnOnce(nix::Error) -> Error + '_ {
    move |source| Error::Sys {
        what: what.to_string(),
        source,
    }
}

/// Confine the calling thread (uid 0, every capability) to `profile`, as
/// `user` when given, in runc's order (see the module's text).
pub fn confine(profile: &Profile, user: Option<&User>) -> Result<(), Error> {
    if let Some(user) = user {
        set_umask(user);
    }
    profile.limit()?;
    match user {
        Some(user) => switch(user)?,
        // Root, without the supplementary groups of whoever ran mydocker:
        // they are the host's, not the container's.
        None => nix::unistd::setgroups(&[]).map_err(sys("clear the supplementary groups"))?,
    }
    profile.grant()?;
    Ok(())
}

/// Before step 40 the program keeps init's umask.
#[cfg(not(feature = "oci_runtime"))]
fn set_umask(_user: &User) {}

/// From step 40: a bundle's `process.user.umask`.
#[cfg(feature = "oci_runtime")]
fn set_umask(user: &User) {
    if let Some(mask) = user.umask {
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    }
}

/// Become `user`: groups, then gid, then uid (groups first: once the
/// uid is not 0 they cannot be changed), keeping the permitted set.
fn switch(user: &User) -> Result<(), Error> {
    use nix::unistd::{Gid, Uid};
    nix::sys::prctl::set_keepcaps(true).map_err(sys("set PR_SET_KEEPCAPS"))?;
    let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    nix::unistd::setgroups(&groups).map_err(sys("set the supplementary groups"))?;
    let gid = Gid::from_raw(user.gid);
    nix::unistd::setresgid(gid, gid, gid).map_err(sys("set the group id"))?;
    let uid = Uid::from_raw(user.uid);
    nix::unistd::setresuid(uid, uid, uid).map_err(sys("set the user id"))?;
    // setuid away from 0 emptied the effective set; the permitted one was
    // kept, and `grant` sets the container's sets from it.
    nix::sys::prctl::set_keepcaps(false).map_err(sys("clear PR_SET_KEEPCAPS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        nobody:x:65534:65534:nobody:/home:/bin/false\n\
        alice:x:1000:1000::/home/alice:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nnogroup:x:65534:\nalice:x:1000:\n\
        audio:x:29:alice,bob\nvideo:x:44:bob\n";

    #[test]
    fn names_are_resolved_in_the_given_files() {
        let u = resolve_in("nobody", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (65534, 65534, "/home"));
        assert!(u.groups.is_empty());
        let a = resolve_in("alice", PASSWD, GROUP).unwrap();
        assert_eq!((a.uid, a.gid), (1000, 1000));
        assert_eq!(a.groups, [29], "alice is a member of audio only");
    }

    #[test]
    fn the_id_that_means_unchanged_is_refused_wherever_it_comes_from() {
        // setresuid(2) and friends read (uid_t)-1 as "leave it as it is":
        // such a user would stay root with every capability.
        for value in ["4294967295", "0:4294967295", "ghost", "alice:ghostgroup"] {
            let passwd = format!("{PASSWD}ghost:x:4294967295:0::/:/bin/sh\n");
            let group = format!("{GROUP}ghostgroup:x:4294967295:\n");
            let err = resolve_in(value, &passwd, &group).unwrap_err().to_string();
            assert!(err.contains("4294967295"), "{value}: {err}");
        }
    }

    #[test]
    fn numbers_need_no_entry() {
        let u = resolve_in("1000:1000", "", "").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1000, 1000, "/"));
        let u = resolve_in("4242", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (4242, 0));
        let u = resolve_in("1000", PASSWD, GROUP).unwrap();
        assert_eq!((u.gid, u.home.as_str()), (1000, "/home/alice"));
    }

    #[test]
    fn an_explicit_group_replaces_the_primary_and_supplementary_ones() {
        let u = resolve_in("alice:nogroup", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 65534));
        assert!(u.groups.is_empty());
        let u = resolve_in("root:44", PASSWD, GROUP).unwrap();
        assert_eq!((u.uid, u.gid), (0, 44));
    }

    #[test]
    fn unknown_names_are_refused_naming_the_flag_and_value() {
        for bad in ["bob", "alice:staff", "", ":1", "1:"] {
            let err = resolve_in(bad, PASSWD, GROUP).unwrap_err().to_string();
            assert!(err.contains("--user"), "{err}");
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn files_are_read_from_the_given_root() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/passwd"), PASSWD).unwrap();
        assert_eq!(
            resolve("alice", &[t.path().to_path_buf()]).unwrap().uid,
            1000
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(resolve("alice", &[empty.path().to_path_buf()]).is_err());
        assert_eq!(resolve("7", &[empty.path().to_path_buf()]).unwrap().uid, 7);
    }
}
