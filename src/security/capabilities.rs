//! Capabilities (step 33, `man 7 capabilities`). The kernel no longer asks
//! "is this uid 0?" but "does this thread hold the capability for that?":
//! `CAP_SYS_ADMIN` for `mount`, `CAP_NET_ADMIN` for routes and iptables,
//! `CAP_SYS_MODULE` for `init_module`, about forty in all. Each thread has
//! five sets of them:
//!
//! - **bounding**: the most it can ever get again through `execve`; a
//!   capability dropped from it (`PR_CAPBSET_DROP`) is gone for good, for
//!   this process and all it starts;
//! - **permitted**: what it holds and may switch on;
//! - **effective**: what the kernel checks right now;
//! - **inheritable**: what may pass to a program that `execve` runs, when
//!   that program's file allows it;
//! - **ambient**: what passes to any program a non-root user runs.
//!
//! `execve` computes the new sets from the old ones and the program's
//! file. For uid 0 every file counts as allowing everything, so the new
//! permitted set is `inheritable | bounding` and the new effective set
//! equals it: for a container whose processes are root, the bounding set
//! is what matters. So `init` (and `exec`'s child), just before `execve`,
//! drop from the bounding set everything the container may not have, clear
//! the ambient set, and set effective, permitted and inheritable to the
//! container's set. Docker's default is the 14 of [`DOCKER_DEFAULT`]
//! (`CapEff: 00000000a80425fb`); `--cap-add`, `--cap-drop` and
//! `--privileged` change it, as Docker's do.
//!
//! **no_new_privs** (`prctl(PR_SET_NO_NEW_PRIVS)`, `--security-opt
//! no-new-privileges`) goes further: no `execve` after it can gain
//! anything, not through a set-uid file (`su`, `sudo`) nor through file
//! capabilities. It is inherited and can never be unset.

use caps::{CapSet, Capability, CapsHashSet};
use serde::{Deserialize, Serialize};

/// Docker's default capabilities, in the kernel's order.
pub const DOCKER_DEFAULT: [Capability; 14] = [
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FOWNER,
    Capability::CAP_FSETID,
    Capability::CAP_KILL,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_NET_RAW,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_MKNOD,
    Capability::CAP_AUDIT_WRITE,
    Capability::CAP_SETFCAP,
];

/// A capability as `--cap-add`/`--cap-drop` name it: one, or `ALL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapName {
    All,
    One(Capability),
}

/// Parse a capability name as Docker does: any case, with or without
/// `CAP_`, or `ALL`.
pub fn parse_name(s: &str) -> Result<CapName, String> {
    let canonical = caps::to_canonical(s.trim());
    if canonical == "CAP_ALL" {
        return Ok(CapName::All);
    }
    canonical
        .parse::<Capability>()
        .map(CapName::One)
        .map_err(|_| format!("unknown capability {s:?} (see `man 7 capabilities`)"))
}

/// An option of `--security-opt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOpt {
    /// `no-new-privileges[:true|false]`
    NoNewPrivileges(bool),
    /// `seccomp=unconfined|FILE.json` (step 34)
    #[cfg(feature = "seccomp")]
    Seccomp(super::seccomp::Filter),
}

/// The options `--security-opt` knows, for its error message.
#[cfg(not(feature = "seccomp"))]
const KNOWN_OPTIONS: &str = "no-new-privileges";

#[cfg(feature = "seccomp")]
const KNOWN_OPTIONS: &str = "no-new-privileges, seccomp";

/// Parse `--security-opt`: `no-new-privileges`, with `:true`, `=true`,
/// `:false` or `=false` as Docker accepts; from step 34 also
/// `seccomp=unconfined` and `seccomp=FILE.json` (read now).
pub fn parse_security_opt(s: &str) -> Result<SecurityOpt, String> {
    let (key, value) = match s.split_once([':', '=']) {
        Some((k, v)) => (k, Some(v)),
        None => (s, None),
    };
    match (key, value) {
        ("no-new-privileges", None | Some("true")) => Ok(SecurityOpt::NoNewPrivileges(true)),
        ("no-new-privileges", Some("false")) => Ok(SecurityOpt::NoNewPrivileges(false)),
        ("no-new-privileges", Some(v)) => {
            Err(format!("no-new-privileges takes true or false, not {v:?}"))
        }
        #[cfg(feature = "seccomp")]
        ("seccomp", v) => super::seccomp::parse_opt(v.unwrap_or("")).map(SecurityOpt::Seccomp),
        _ => Err(format!(
            "unknown security option {s:?} (known: {KNOWN_OPTIONS})"
        )),
    }
}

/// What a container may do: its capabilities and no_new_privs. Recorded in
/// the container's state at `run`, so `exec` applies the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The capabilities of every set but ambient, by name, in the kernel's
    /// order (`CAP_CHOWN`, ...).
    pub capabilities: Vec<String>,
    /// `prctl(PR_SET_NO_NEW_PRIVS)` before `execve`.
    #[serde(default)]
    pub no_new_privs: bool,
    /// The system call filter and its compiled program (step 34; Docker's
    /// default in a state recorded before it).
    #[cfg(feature = "seccomp")]
    #[serde(default)]
    pub seccomp: super::seccomp::Seccomp,
    /// From step 40: an OCI configuration's five sets, each its own
    /// (`process.capabilities`); `None`: `capabilities` in every set but
    /// ambient, as `run` gives.
    #[cfg(feature = "oci_runtime")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sets: Option<Sets>,
}

/// The five capability sets of a process, by name (`CAP_KILL`), as the
/// runtime-spec's `process.capabilities` lists them (step 40).
#[cfg(feature = "oci_runtime")]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sets {
    pub bounding: Vec<String>,
    pub effective: Vec<String>,
    pub permitted: Vec<String>,
    pub inheritable: Vec<String>,
    pub ambient: Vec<String>,
}

/// Docker's default (also what a state recorded before step 33 gets).
impl Default for Profile {
    fn default() -> Profile {
        Profile::of(DOCKER_DEFAULT.iter().copied().collect(), false)
    }
}

/// A failed capability operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown capability {0:?} in the container's profile")]
    Unknown(String),
    #[error("{what}: {source}")]
    Caps {
        what: String,
        #[source]
        source: caps::errors::CapsError,
    },
    #[error("read the kernel's last capability (/proc/sys/kernel/cap_last_cap): {0}")]
    LastCap(String),
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[cfg(feature = "seccomp")]
    #[error(transparent)]
    Seccomp(#[from] super::seccomp::Error),
}

fn caps_err(what: impl Into<String>) -> impl FnOnce(caps::errors::CapsError) -> Error {
    let what = what.into();
    move |source| Error::Caps { what, source }
}

impl Profile {
    /// The profile of `run`'s flags, with Docker's rules: `--privileged`
    /// gives every capability this host's bounding set has (and ignores
    /// the others); `--cap-add ALL` gives those too, less `--cap-drop`;
    /// `--cap-drop ALL` leaves only `--cap-add`; otherwise the default,
    /// less `--cap-drop`, plus `--cap-add`. From step 34 `--security-opt
    /// seccomp=` chooses the filter, and `--privileged` turns it off.
    pub fn for_run(
        add: &[CapName],
        drop: &[CapName],
        privileged: bool,
        opts: &[SecurityOpt],
    ) -> Result<Profile, Error> {
        let ones = |names: &[CapName]| -> CapsHashSet {
            names
                .iter()
                .filter_map(|n| match n {
                    CapName::One(c) => Some(*c),
                    CapName::All => None,
                })
                .collect()
        };
        let host = || {
            caps::read(None, CapSet::Bounding).map_err(caps_err("read this host's bounding set"))
        };
        let set: CapsHashSet = if privileged {
            host()?
        } else if add.contains(&CapName::All) {
            host()?.difference(&ones(drop)).copied().collect()
        } else if drop.contains(&CapName::All) {
            ones(add)
        } else {
            let default: CapsHashSet = DOCKER_DEFAULT.iter().copied().collect();
            default
                .difference(&ones(drop))
                .copied()
                .chain(ones(add))
                .collect()
        };
        let profile = opts.iter().fold(Profile::of(set, false), |p, o| match o {
            SecurityOpt::NoNewPrivileges(on) => Profile {
                no_new_privs: *on,
                ..p
            },
            #[cfg(feature = "seccomp")]
            SecurityOpt::Seccomp(filter) => Profile {
                seccomp: super::seccomp::Seccomp {
                    filter: filter.clone(),
                    program: None,
                },
                ..p
            },
        });
        Ok(unconfined_if_privileged(profile, privileged))
    }

    fn of(set: CapsHashSet, no_new_privs: bool) -> Profile {
        let mut v: Vec<Capability> = set.into_iter().collect();
        v.sort_by_key(Capability::index);
        Profile {
            capabilities: v.iter().map(Capability::to_string).collect(),
            no_new_privs,
            #[cfg(feature = "seccomp")]
            seccomp: super::seccomp::Seccomp::default(),
            #[cfg(feature = "oci_runtime")]
            sets: None,
        }
    }

    /// Before step 40 every set but ambient holds `capabilities`.
    #[cfg(not(feature = "oci_runtime"))]
    fn wanted(&self, set: CapSet) -> Result<CapsHashSet, Error> {
        match set {
            CapSet::Ambient => Ok(CapsHashSet::new()),
            _ => self.set(),
        }
    }

    /// From step 40: the configuration's own set when it gave five.
    #[cfg(feature = "oci_runtime")]
    fn wanted(&self, set: CapSet) -> Result<CapsHashSet, Error> {
        let Some(sets) = &self.sets else {
            return match set {
                CapSet::Ambient => Ok(CapsHashSet::new()),
                _ => self.set(),
            };
        };
        let names = match set {
            CapSet::Bounding => &sets.bounding,
            CapSet::Effective => &sets.effective,
            CapSet::Permitted => &sets.permitted,
            CapSet::Inheritable => &sets.inheritable,
            CapSet::Ambient => &sets.ambient,
        };
        names
            .iter()
            .map(|n| n.parse().map_err(|_| Error::Unknown(n.clone())))
            .collect()
    }

    /// The capabilities, parsed back.
    pub fn set(&self) -> Result<CapsHashSet, Error> {
        self.capabilities
            .iter()
            .map(|n| n.parse().map_err(|_| Error::Unknown(n.clone())))
            .collect()
    }

    /// The set as the kernel shows it in `/proc/PID/status` (`CapEff:`).
    pub fn mask(&self) -> Result<u64, Error> {
        Ok(self.set()?.iter().fold(0, |m, c| m | c.bitmask()))
    }

    /// Confine the calling thread to this profile; the next `execve` keeps
    /// exactly these capabilities (the caller is uid 0). Order matters:
    /// from step 34 the system call filter is loaded first, while the
    /// thread still holds `CAP_SYS_ADMIN`; dropping from the bounding set
    /// needs `CAP_SETPCAP` in the effective set, and the effective set
    /// must stay within the permitted one.
    pub fn apply(&self) -> Result<(), Error> {
        self.limit()?;
        self.grant()
    }

    /// The first half of [`Profile::apply`]: no_new_privs, the bounding set
    /// cut to this profile, the ambient set cleared. The effective set is
    /// untouched, so the caller still holds `CAP_SETUID` and `CAP_SETGID`
    /// to change its user (step 35) before [`Profile::grant`].
    pub fn limit(&self) -> Result<(), Error> {
        let wanted = self.wanted(CapSet::Bounding)?;
        if self.no_new_privs {
            nix::sys::prctl::set_no_new_privs().map_err(|source| Error::Sys {
                what: "set no_new_privs".into(),
                source,
            })?;
        }
        self.filter_syscalls()?;
        for cap in caps::all() {
            let held = caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false);
            if held && !wanted.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(caps_err(format!("drop {cap} from the bounding set")))?;
            }
        }
        drop_newer_than_known()?;
        caps::clear(None, CapSet::Ambient).map_err(caps_err("clear the ambient set"))?;
        Ok(())
    }

    /// The second half of [`Profile::apply`]: effective, permitted and
    /// inheritable set to this profile (within what is still permitted),
    /// then the ambient set raised (each of its capabilities must be
    /// permitted and inheritable, `man 7 capabilities`).
    pub fn grant(&self) -> Result<(), Error> {
        for (set, name) in [
            (CapSet::Effective, "effective"),
            (CapSet::Permitted, "permitted"),
            (CapSet::Inheritable, "inheritable"),
        ] {
            let wanted = self.wanted(set)?;
            caps::set(None, set, &wanted).map_err(caps_err(format!("set the {name} set")))?;
        }
        for cap in self.wanted(CapSet::Ambient)? {
            caps::raise(None, CapSet::Ambient, cap)
                .map_err(caps_err(format!("raise {cap} in the ambient set")))?;
        }
        Ok(())
    }
}

/// Before step 34 no system call is filtered.
#[cfg(not(feature = "seccomp"))]
fn unconfined_if_privileged(profile: Profile, _privileged: bool) -> Profile {
    profile
}

/// From step 34: `--privileged` runs without a filter, whatever
/// `--security-opt seccomp=` says, as Docker does.
#[cfg(feature = "seccomp")]
fn unconfined_if_privileged(profile: Profile, privileged: bool) -> Profile {
    if privileged {
        Profile {
            seccomp: super::seccomp::Seccomp {
                filter: super::seccomp::Filter::Unconfined,
                program: None,
            },
            ..profile
        }
    } else {
        profile
    }
}

impl Profile {
    /// Before step 34 no system call is filtered.
    #[cfg(not(feature = "seccomp"))]
    fn filter_syscalls(&self) -> Result<(), Error> {
        Ok(())
    }

    /// From step 34: load the container's system call filter.
    #[cfg(feature = "seccomp")]
    fn filter_syscalls(&self) -> Result<(), Error> {
        Ok(self.seccomp.load(&self.capabilities, self.no_new_privs)?)
    }

    /// Before step 34 there is nothing to compile.
    #[cfg(not(feature = "seccomp"))]
    pub fn compiled(self, _root: &std::path::Path) -> Result<Profile, Error> {
        Ok(self)
    }

    /// From step 34: the profile with its system call filter compiled, for
    /// `init` and `exec` to load as it is (compiled programs are kept
    /// under `ROOT/seccomp/`).
    #[cfg(feature = "seccomp")]
    pub fn compiled(self, root: &std::path::Path) -> Result<Profile, Error> {
        let seccomp = super::seccomp::Seccomp::compile(
            self.seccomp.filter.clone(),
            &self.capabilities,
            &root.join("seccomp"),
        )?;
        Ok(Profile { seccomp, ..self })
    }
}

/// A kernel newer than the `caps` crate may know capabilities it has no
/// name for; none of them may pass to the container, so they are dropped
/// from the bounding set by number.
fn drop_newer_than_known() -> Result<(), Error> {
    let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .map_err(|e| Error::LastCap(e.to_string()))?
        .trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| Error::LastCap(e.to_string()))?;
    let known = caps::all().iter().map(Capability::index).max().unwrap_or(0);
    for n in known.saturating_add(1)..=last.min(63) {
        drop_bounding_by_number(n)?;
    }
    Ok(())
}

#[allow(unsafe_code)]
fn drop_bounding_by_number(n: u8) -> Result<(), Error> {
    // SAFETY: PR_CAPBSET_DROP takes a capability number and touches no
    // memory of this process.
    let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(n), 0, 0, 0) };
    if r != 0 {
        return Err(Error::Sys {
            what: format!("drop capability {n} from the bounding set"),
            source: nix::Error::last(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_default_is_its_mask() {
        assert_eq!(Profile::default().mask().unwrap(), 0xa804_25fb);
        assert_eq!(Profile::default().capabilities.len(), 14);
    }

    #[test]
    fn names_are_read_as_docker_reads_them() {
        let chown = CapName::One(Capability::CAP_CHOWN);
        assert_eq!(parse_name("chown"), Ok(chown));
        assert_eq!(parse_name("CAP_CHOWN"), Ok(chown));
        assert_eq!(parse_name("Cap_Chown"), Ok(chown));
        assert_eq!(parse_name("all"), Ok(CapName::All));
        assert_eq!(parse_name("ALL"), Ok(CapName::All));
        let err = parse_name("FLY").unwrap_err();
        assert!(err.contains("\"FLY\""), "{err}");
        assert!(parse_name("").is_err());
    }

    #[test]
    fn add_and_drop_follow_dockers_rules() {
        let one = |c| CapName::One(c);
        let admin = one(Capability::CAP_NET_ADMIN);
        let chown = one(Capability::CAP_CHOWN);
        let p = Profile::for_run(&[admin], &[chown], false, &[]).unwrap();
        let want =
            0xa804_25fb_u64 - Capability::CAP_CHOWN.bitmask() + Capability::CAP_NET_ADMIN.bitmask();
        assert_eq!(p.mask().unwrap(), want);
        let p = Profile::for_run(&[admin], &[CapName::All], false, &[]).unwrap();
        assert_eq!(p.capabilities, ["CAP_NET_ADMIN"]);
        let p = Profile::for_run(&[], &[CapName::All], false, &[]).unwrap();
        assert!(p.capabilities.is_empty());
    }

    #[test]
    fn security_options() {
        assert_eq!(
            parse_security_opt("no-new-privileges"),
            Ok(SecurityOpt::NoNewPrivileges(true))
        );
        assert_eq!(
            parse_security_opt("no-new-privileges:false"),
            Ok(SecurityOpt::NoNewPrivileges(false))
        );
        assert_eq!(
            parse_security_opt("no-new-privileges=true"),
            Ok(SecurityOpt::NoNewPrivileges(true))
        );
        assert!(parse_security_opt("no-new-privileges:maybe").is_err());
        assert!(parse_security_opt("apparmor=unconfined").is_err());
        let p = Profile::for_run(&[], &[], false, &[SecurityOpt::NoNewPrivileges(true)]).unwrap();
        assert!(p.no_new_privs);
    }
}
