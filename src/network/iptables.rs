//! iptables (step 26), driven through the `iptables` program with an
//! argument vector (never a string split on spaces). Every rule mydocker
//! adds carries a comment, `mydocker:<root tag>:<owner>`, so it only ever
//! deletes its own rules and never touches anyone else's.
//!
//! - `-t nat -A POSTROUTING -s SUBNET ! -o BRIDGE -j MASQUERADE`: traffic
//!   from a network's containers to the outside leaves with the host's
//!   address (step 31);
//! - `-t nat -A PREROUTING/OUTPUT ... -j DNAT --to-destination IP:PORT`:
//!   a published port (`-p HOST:CONTAINER`), from other machines
//!   (PREROUTING) and from this host itself (OUTPUT);
//! - `-t nat -A POSTROUTING -s 127.0.0.0/8 -o BRIDGE -j MASQUERADE`: a
//!   connection to a published port on `127.0.0.1` reaches the container
//!   from the gateway's address, so the reply comes back to the host (with
//!   the bridge's `route_localnet`, see [`super::sysctl`]);
//! - `-t nat -A POSTROUTING -s SUBNET -o BRIDGE -m conntrack --ctstate DNAT
//!   -j MASQUERADE`: hairpin. A container reaching a published port of its
//!   own network through the host is DNATed back onto the bridge; without
//!   this the server would answer it directly, from an address it never
//!   called, and the connection would fail.
//!
//! A rule is added by another program, so mydocker can be killed while
//! that `iptables` is still running: it goes on and adds its rule. If
//! `network rm` (or `rm` of a container) looked for the rule in between, it
//! found nothing and the rule would stay for ever. So every call holds a
//! host-wide lock, and the `iptables` it starts inherits the lock's open
//! file: the lock lasts until that `iptables` ends, even when mydocker died
//! first, and a remover's own `iptables` calls wait for it.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The lock every `iptables` call holds (see the module's comment).
const LOCK: &str = "/run/lock/mydocker-iptables.lock";

/// A failed iptables call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("iptables is not installed (apt-get install iptables)")]
    Missing,
    #[error("iptables {args}: {message}")]
    Failed { args: String, message: String },
}

/// Run `iptables ARGS...` (waiting for the xtables lock), holding
/// [`LOCK`] until that `iptables` ends, even if mydocker is killed first.
pub fn run(args: &[String]) -> Result<String, Error> {
    let program = crate::programs::find("iptables").ok_or(Error::Missing)?;
    let lock = lock().map_err(|e| Error::Failed {
        args: format!("lock {LOCK}"),
        message: e.to_string(),
    })?;
    let fd = lock.as_raw_fd();
    let mut command = Command::new(program);
    command.arg("-w").args(args);
    // SAFETY: between fork and exec the closure only calls fcntl(2),
    // which is async-signal-safe, on a descriptor this process owns.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || keep_across_exec(fd))
    };
    let out = command.output().map_err(|e| Error::Failed {
        args: args.join(" "),
        message: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(Error::Failed {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    drop(lock);
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Open and lock [`LOCK`] exclusively (waiting for the holder). std's
/// lock, not nix's `Flock`: closing ours must not unlock the file while a
/// killed call's `iptables` still holds it.
fn lock() -> std::io::Result<File> {
    let _ = std::fs::create_dir_all("/run/lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK)?;
    file.lock()?;
    Ok(file)
}

/// In the child: clear close-on-exec on `fd`, so the program it becomes
/// holds the lock too.
#[allow(unsafe_code)]
fn keep_across_exec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl(2) on a descriptor number; no memory is passed.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The comment that marks the rules of `owner` (a network or container).
pub fn comment(tag: &str, owner: &str) -> String {
    format!("mydocker:{tag}:{owner}")
}

/// A rule: table, chain, and the match and target arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub table: &'static str,
    pub chain: &'static str,
    pub spec: Vec<String>,
}

impl Rule {
    fn args(&self, action: &str, comment: &str) -> Vec<String> {
        let mut v = vec![
            "-t".into(),
            self.table.into(),
            action.into(),
            self.chain.into(),
        ];
        v.extend(self.spec.iter().cloned());
        v.extend([
            "-m".into(),
            "comment".into(),
            "--comment".into(),
            comment.into(),
        ]);
        v
    }

    /// Append the rule, marked with `comment`.
    pub fn add(&self, comment: &str) -> Result<(), Error> {
        run(&self.args("-A", comment)).map(drop)
    }

    /// Insert the rule first in its chain, marked with `comment`.
    pub fn insert(&self, comment: &str) -> Result<(), Error> {
        run(&self.args("-I", comment)).map(drop)
    }

    /// Whether the rule, marked with `comment`, is there.
    pub fn exists(&self, comment: &str) -> bool {
        run(&self.args("-C", comment)).is_ok()
    }

    /// Delete the rule (if present).
    pub fn delete(&self, comment: &str) -> Result<(), Error> {
        if self.exists(comment) {
            run(&self.args("-D", comment))?;
        }
        Ok(())
    }
}

/// Masquerade traffic from `subnet` leaving through anything but `bridge`.
pub fn masquerade(subnet: &str, bridge: &str) -> Rule {
    Rule {
        table: "nat",
        chain: "POSTROUTING",
        spec: vec![
            "-s".into(),
            subnet.into(),
            "!".into(),
            "-o".into(),
            bridge.into(),
            "-j".into(),
            "MASQUERADE".into(),
        ],
    }
}

/// Every rule a network needs, in the order they are added (step 31):
/// [`masquerade`] to the outside, loopback and hairpin masquerade.
pub fn network_rules(subnet: &str, bridge: &str) -> Vec<Rule> {
    let nat = |spec: &[&str]| Rule {
        table: "nat",
        chain: "POSTROUTING",
        spec: spec.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        masquerade(subnet, bridge),
        nat(&["-s", "127.0.0.0/8", "-o", bridge, "-j", "MASQUERADE"]),
        nat(&[
            "-s",
            subnet,
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            "-j",
            "MASQUERADE",
        ]),
    ]
}

/// The two rules that publish `host_port` on this host to `ip:port`
/// (step 31).
#[cfg(feature = "network")]
pub fn publish(host_port: u16, ip: std::net::Ipv4Addr, port: u16) -> [Rule; 2] {
    let spec = |extra: &[&str]| {
        let mut v: Vec<String> = ["-p", "tcp", "-m", "tcp", "--dport"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.push(host_port.to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend([
            "-j".into(),
            "DNAT".into(),
            "--to-destination".into(),
            format!("{ip}:{port}"),
        ]);
        v
    };
    [
        Rule {
            table: "nat",
            chain: "PREROUTING",
            spec: spec(&["-m", "addrtype", "--dst-type", "LOCAL"]),
        },
        Rule {
            table: "nat",
            chain: "OUTPUT",
            spec: spec(&["-m", "addrtype", "--dst-type", "LOCAL"]),
        },
    ]
}

/// The rules in `table` that carry exactly `comment`, as `iptables -S`
/// prints them.
pub fn rules_with(table: &str, comment: &str) -> Result<Vec<String>, Error> {
    let listing = run(&["-t".into(), table.into(), "-S".into()])?;
    let needle = format!("--comment {comment}");
    let quoted = format!("--comment \"{comment}\"");
    Ok(listing
        .lines()
        .filter(|l| {
            l.ends_with(&needle) || l.contains(&format!("{needle} ")) || l.contains(&quoted)
        })
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_argument_vectors_with_our_comment() {
        let r = masquerade("10.9.0.0/24", "br0");
        assert_eq!(
            r.args("-A", "mydocker:t:n"),
            [
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-s",
                "10.9.0.0/24",
                "!",
                "-o",
                "br0",
                "-j",
                "MASQUERADE",
                "-m",
                "comment",
                "--comment",
                "mydocker:t:n"
            ]
        );
    }

    #[cfg(feature = "network")]
    #[test]
    fn a_published_port_is_two_dnat_rules() {
        let [pre, out] = publish(8080, std::net::Ipv4Addr::new(10, 9, 0, 2), 80);
        assert_eq!(pre.chain, "PREROUTING");
        assert_eq!(out.chain, "OUTPUT");
        assert!(
            pre.spec
                .ends_with(&["--to-destination".to_string(), "10.9.0.2:80".to_string()])
        );
    }
}
