//! Which devices a container may use (step 35, `man 7 cgroups`, the kernel's
//! `Documentation/admin-guide/cgroup-v1/devices.rst`).
//!
//! A device node is only a name for a number. `ls -l /dev/null` shows
//! `c 1, 3`: a character device (`c`; `b` for block devices such as disks),
//! major 1 (the driver: "memory devices"), minor 3 (which one of the
//! driver's: null). Whoever may call `mknod(2)` (root with `CAP_MKNOD`,
//! which Docker's default keeps) can make a node with any number anywhere,
//! for instance `mknod /tmp/disk b 254 0` for the host's first virtio
//! disk, and then read or write the host's disk through it. Mount
//! namespaces and `pivot_root` do not help: the node is a number, not a
//! path to the host's `/dev`.
//!
//! The kernel's answer is the **devices controller**: for every `open(2)`
//! and `mknod(2)` of a device node it asks the cgroup of the calling
//! process whether this type, major, minor and access (read, write, mknod)
//! is allowed. Docker's default ([`default_rules`]) allows `mknod` of
//! anything (so images that ship device nodes unpack), but opening only
//! the harmless character devices: null, zero, full, random, urandom, tty,
//! console, the pty master and slaves, and tun.
//!
//! The two cgroup designs ask differently:
//! - **v1** has a `devices` hierarchy with files: writing `a` to
//!   `devices.deny` forbids everything, each line written to
//!   `devices.allow` (`c 1:3 rwm`) opens one hole ([`v1`]);
//! - **v2** has no devices files at all: a small eBPF program of type
//!   `BPF_PROG_TYPE_CGROUP_DEVICE`, attached to the cgroup, is run for each
//!   access and returns 1 (allow) or 0 (deny) ([`bpf`] builds it, [`load`]
//!   hands it to the kernel).
//!
//! `--device HOST[:CONTAINER][:PERMS]` ([`flag`]) makes a node for one host
//! device in the container and adds a rule for it; `--privileged` allows
//! every device.

pub mod bpf;
pub mod flag;
pub mod load;
pub mod v1;

pub use flag::Device;

/// Writing the allowlist into a cgroup failed: what was done, where, why.
/// (The cgroup backends report it as one of their own errors.)
#[derive(Debug, thiserror::Error)]
#[error("{op} {path}: {err}")]
pub struct Error {
    pub op: &'static str,
    pub path: std::path::PathBuf,
    pub err: std::io::Error,
}

use serde::{Deserialize, Serialize};

/// The type of a device, as the devices controller names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `c`: a character device (a stream: terminals, null, random).
    Char,
    /// `b`: a block device (addressable blocks: disks, loop devices).
    Block,
    /// `a`: both types (only in rules).
    All,
}

impl Kind {
    /// The letter of the devices controller (`c`, `b`, `a`).
    pub fn letter(self) -> char {
        match self {
            Kind::Char => 'c',
            Kind::Block => 'b',
            Kind::All => 'a',
        }
    }
}

/// Read, write and mknod, as a set of bits. Bit values are the kernel's for
/// the eBPF context (`BPF_DEVCG_ACC_MKNOD` 1, `_READ` 2, `_WRITE` 4, in
/// `include/uapi/linux/bpf.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access(u8);

impl Access {
    pub const MKNOD: Access = Access(1);
    pub const READ: Access = Access(2);
    pub const WRITE: Access = Access(4);
    pub const ALL: Access = Access(7);

    /// The bits, for the eBPF program.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Parse a permission string such as `rwm`, `r` or `mr`: a non-empty
    /// subset of `r`, `w`, `m`, each at most once (Docker's rule for
    /// `--device`).
    pub fn parse(s: &str) -> Option<Access> {
        let mut bits = 0u8;
        for ch in s.chars() {
            let bit = match ch {
                'r' => Self::READ.0,
                'w' => Self::WRITE.0,
                'm' => Self::MKNOD.0,
                _ => return None,
            };
            if bits & bit != 0 {
                return None;
            }
            bits |= bit;
        }
        (bits != 0).then_some(Access(bits))
    }
}

impl std::fmt::Display for Access {
    /// As the devices controller writes it: `rwm`, `r`, `m`, ...
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (bit, ch) in [(Self::READ, 'r'), (Self::WRITE, 'w'), (Self::MKNOD, 'm')] {
            if self.0 & bit.0 != 0 {
                write!(f, "{ch}")?;
            }
        }
        Ok(())
    }
}

/// One line of an allowlist: devices of `kind` with this major and minor
/// (`None`: any), for `access`. The shape of the runtime-spec's
/// `linux.resources.devices` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Allow (`true`) or deny (`false`) what it matches.
    pub allow: bool,
    pub kind: Kind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

impl Rule {
    /// An allow rule for character devices `major:minor`, read, write and
    /// mknod.
    const fn char_rwm(major: u32, minor: Option<u32>) -> Rule {
        Rule {
            allow: true,
            kind: Kind::Char,
            major: Some(major),
            minor,
            access: Access::ALL,
        }
    }
}

/// Everything the container may do with devices: `default_allow` for what
/// no rule matches, then the rules, the **last** matching one deciding (as
/// runc's device filter reads them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub default_allow: bool,
    pub rules: Vec<Rule>,
}

/// Docker's default allowlist (the same as runc's `AllowedDevices`): mknod
/// of any character or block device, and read/write/mknod of null (1:3),
/// zero (1:5), full (1:7), random (1:8), urandom (1:9), tty (5:0),
/// console (5:1), ptmx (5:2), the pty slaves (136:*) and tun (10:200).
/// Every other device is denied.
pub fn default_rules() -> Vec<Rule> {
    let mknod_any = |kind| Rule {
        allow: true,
        kind,
        major: None,
        minor: None,
        access: Access::MKNOD,
    };
    vec![
        mknod_any(Kind::Char),
        mknod_any(Kind::Block),
        Rule::char_rwm(1, Some(3)),
        Rule::char_rwm(1, Some(5)),
        Rule::char_rwm(1, Some(7)),
        Rule::char_rwm(1, Some(8)),
        Rule::char_rwm(1, Some(9)),
        Rule::char_rwm(5, Some(0)),
        Rule::char_rwm(5, Some(1)),
        Rule::char_rwm(5, Some(2)),
        Rule::char_rwm(136, None),
        Rule::char_rwm(10, Some(200)),
    ]
}

/// The policy of a container: with `privileged` every device is allowed;
/// otherwise everything is denied but [`default_rules`] and one rule per
/// `--device`.
pub fn policy(privileged: bool, devices: &[Device]) -> Policy {
    if privileged {
        return Policy {
            default_allow: true,
            rules: Vec::new(),
        };
    }
    let mut rules = default_rules();
    rules.extend(devices.iter().map(Device::rule));
    Policy {
        default_allow: false,
        rules,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_as_docker_reads_them() {
        assert_eq!(Access::parse("rwm"), Some(Access::ALL));
        assert_eq!(Access::parse("mr"), Some(Access(3)));
        assert_eq!(Access::parse("w"), Some(Access::WRITE));
        for bad in ["", "rr", "x", "rwmx", "R"] {
            assert_eq!(Access::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Access(3).to_string(), "rm");
        assert_eq!(Access::ALL.to_string(), "rwm");
    }

    #[test]
    fn privileged_allows_everything_and_default_denies_the_rest() {
        let p = policy(true, &[]);
        assert!(p.default_allow && p.rules.is_empty());
        let p = policy(false, &[]);
        assert!(!p.default_allow);
        assert_eq!(p.rules, default_rules());
        assert_eq!(p.rules.len(), 12);
    }
}
