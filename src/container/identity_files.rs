//! Who and where a container is (step 24): its hostname, `HOME`, and the
//! three files in `/etc` a program reads to learn its own name and how to
//! find others: `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`.
//!
//! An image cannot ship those files: they depend on the container (its
//! hostname, its address) and on the host (its nameservers). So, as Docker
//! does, each container gets its own copies in its directory
//! (`<root>/containers/<name>/hostname`, `hosts`, `resolv.conf`), and each
//! is bind-mounted over the image's file in the container's root (made
//! empty first when the image has none) before `pivot_root`. A bind mount
//! of a file is that file seen at a second place (`man 8 mount`,
//! `--bind`): `cp` and the host see the same contents, and the image layer
//! is never written. The mounts lie below the container's layers, so
//! removing the layers unmounts them like the volumes of step 13.
//!
//! - `hostname`: the container's hostname, its ID unless `--hostname`.
//! - `hosts`: `localhost` for 127.0.0.1 and ::1, Docker's IPv6 names, every
//!   `--add-host HOST:IP`, and the container's own name: on its address
//!   once a bridge network gives it one (step 28), else on 127.0.0.1 so
//!   that it resolves anyway.
//! - `resolv.conf`: the host's, without loopback nameservers (127.x, ::1:
//!   the host's local resolver is not reachable from another network
//!   namespace), or with `--dns` instead of all nameservers; Docker's
//!   defaults 8.8.8.8 and 8.8.4.4 when none remain.
//!
//! The network mode (step 27) changes the picture: `--net host` takes the
//! host's hostname, hosts and resolv.conf as they are; `--net
//! container:NAME` shares NAME's three files and hostname (and refuses
//! `--hostname`, `--dns` and `--add-host`, as Docker does).
//!
//! `HOME` is the home directory of uid 0 in the image's `/etc/passwd`, else
//! `/root`; `-e HOME=...` overrides it.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, Result};
use nix::mount::MsFlags;

use super::spec::Config;
use crate::fs::scoped;
use crate::fs::volume::Volume;
use crate::syscall::Syscall;

/// The files kept per container, each mounted at `/etc/<file>`.
pub const FILES: [&str; 3] = ["hostname", "hosts", "resolv.conf"];

/// The nameservers used when the host's are all loopback (Docker's).
const DEFAULT_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// A container's hostname and where its `/etc` files come from.
#[derive(Debug)]
pub struct Identity {
    pub hostname: String,
    files: Files,
}

#[derive(Debug)]
enum Files {
    /// Its own, with these contents of `hosts` and `resolv.conf`.
    Own { hosts: String, resolv: String },
    /// Another container's, in that container's directory (step 27).
    #[cfg(feature = "net-modes")]
    Shared(std::path::PathBuf),
}

/// How the network mode shapes the identity (see the module comment).
#[cfg(feature = "net-modes")]
enum View {
    Own,
    Host,
    Shared {
        hostname: String,
        dir: std::path::PathBuf,
    },
}

impl Identity {
    /// Decide the hostname and the files' contents, before anything is
    /// created: a conflicting option is refused here. Before step 27 a
    /// container always has its own.
    #[cfg(not(feature = "net-modes"))]
    pub fn plan(_root: &Path, config: &Config, id: &str) -> Result<Identity> {
        Ok(own(config, id))
    }

    /// Decide the hostname and the files' contents, before anything is
    /// created: a conflicting option is refused here.
    #[cfg(feature = "net-modes")]
    pub fn plan(root: &Path, config: &Config, id: &str) -> Result<Identity> {
        let extra = hosts_lines(&config.add_host);
        Ok(match view(root, config)? {
            View::Own => own(config, id),
            View::Host => {
                let hostname = match &config.hostname {
                    Some(h) => h.clone(),
                    None => nix::unistd::gethostname()
                        .context("read the host's hostname")?
                        .to_string_lossy()
                        .into_owned(),
                };
                Identity {
                    files: Files::Own {
                        hosts: host_file("/etc/hosts") + &extra,
                        resolv: resolv_text(&host_file("/etc/resolv.conf"), &config.dns, false),
                    },
                    hostname,
                }
            }
            View::Shared { hostname, dir } => Identity {
                hostname,
                files: Files::Shared(dir),
            },
        })
    }

    /// Write the files into the container's directory `dir` (unless they
    /// are shared) and bind-mount each over `/etc/<file>` in `rootfs`. A
    /// file a volume already covers is left to the volume.
    pub fn install(
        &self,
        sys: &dyn Syscall,
        dir: &Path,
        rootfs: &Path,
        config: &Config,
    ) -> Result<()> {
        let source_dir = match &self.files {
            Files::Own { hosts, resolv } => {
                for (file, text) in [
                    ("hostname", format!("{}\n", self.hostname)),
                    ("hosts", hosts.clone()),
                    ("resolv.conf", resolv.clone()),
                ] {
                    let path = dir.join(file);
                    std::fs::write(&path, text)
                        .with_context(|| format!("write {}", path.display()))?;
                }
                dir
            }
            #[cfg(feature = "net-modes")]
            Files::Shared(other) => other.as_path(),
        };
        bind_files(sys, source_dir, rootfs, &config.volumes)
    }
}

/// Mount the files kept in `dir` over `/etc/<file>` in `rootfs` again, for
/// a container that has exited (its mounts went with it) and whose root
/// filesystem is put together once more (`cp`, `commit`). A container
/// sharing another's files keeps none in its own `dir`: those are skipped.
pub fn remount(sys: &dyn Syscall, dir: &Path, rootfs: &Path, volumes: &[Volume]) -> Result<()> {
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        bind_files(sys, dir, rootfs, volumes)?;
    }
    Ok(())
}

/// Bind-mount each of [`FILES`] in `source_dir` over `/etc/<file>` in
/// `rootfs`; a file a volume already covers is left to the volume.
fn bind_files(
    sys: &dyn Syscall,
    source_dir: &Path,
    rootfs: &Path,
    volumes: &[Volume],
) -> Result<()> {
    for file in FILES {
        let in_container = Path::new("/etc").join(file);
        if volumes.iter().any(|v| v.target == in_container) {
            continue;
        }
        bind_file(sys, &source_dir.join(file), rootfs, &in_container)?;
    }
    Ok(())
}

/// Bind-mount the host file `source` over `target` inside `rootfs`,
/// creating an empty file there first when the image has none.
fn bind_file(sys: &dyn Syscall, source: &Path, rootfs: &Path, target: &Path) -> Result<()> {
    let at = scoped::resolve(rootfs, target)?;
    if std::fs::symlink_metadata(&at).is_err() {
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        std::fs::File::create(&at).with_context(|| format!("create {}", at.display()))?;
    }
    sys.mount(Some(source), &at, None, MsFlags::MS_BIND, None)
        .with_context(|| {
            format!(
                "bind-mount {} onto {} in the container",
                source.display(),
                target.display()
            )
        })
}

/// A host file's contents; a missing one reads as empty.
fn host_file(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A hostname and files of its own: its ID (or `--hostname`), `hosts`
/// naming it, the host's name servers.
fn own(config: &Config, id: &str) -> Identity {
    let extra = hosts_lines(&config.add_host);
    let hostname = config.hostname.clone().unwrap_or_else(|| id.to_string());
    let own = if has_address_later(config) {
        None
    } else {
        Some(IpAddr::from([127, 0, 0, 1]))
    };
    Identity {
        files: Files::Own {
            hosts: hosts_text(&hostname, own, &extra),
            resolv: resolv_text(&host_file("/etc/resolv.conf"), &config.dns, true),
        },
        hostname,
    }
}

/// From step 27: `--net host` and `--net container:NAME` change it.
#[cfg(feature = "net-modes")]
fn view(root: &Path, config: &Config) -> Result<View> {
    use crate::network::mode::Mode;
    match &config.net {
        Mode::Host => Ok(View::Host),
        Mode::Container(key) => {
            for (flag, given) in [
                ("--hostname", config.hostname.is_some()),
                ("--dns", !config.dns.is_empty()),
                ("--add-host", !config.add_host.is_empty()),
            ] {
                anyhow::ensure!(
                    !given,
                    "conflicting options: {flag} and --net {} (the container shares that container's)",
                    config.net
                );
            }
            let store = super::state::Store::new(root);
            let other = store.find(key)?;
            let dir = store.container_dir(&other.name);
            if other.hostname.is_empty() || !FILES.iter().all(|f| dir.join(f).is_file()) {
                // Started before its files existed: give this one its own.
                return Ok(View::Own);
            }
            Ok(View::Shared {
                hostname: other.hostname,
                dir,
            })
        }
        _ => Ok(View::Own),
    }
}

/// Before step 28 no container gets an address of its own.
#[cfg(not(feature = "net-bridge"))]
fn has_address_later(_config: &Config) -> bool {
    false
}

/// From step 28 a container on a bridge network gets its address when it
/// is attached; its name is added then ([`add_address`]).
#[cfg(feature = "net-bridge")]
fn has_address_later(config: &Config) -> bool {
    matches!(config.net, crate::network::mode::Mode::Bridge(_))
}

/// Add the container's own address and hostname to its `hosts` in `dir`
/// (appended in place: the bind mount holds the file, not its name).
#[cfg(feature = "net-bridge")]
pub fn add_address(dir: &Path, ip: IpAddr, hostname: &str) -> Result<()> {
    use std::io::Write;
    let path = dir.join("hosts");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{ip}\t{hostname}\n").as_bytes()))
        .with_context(|| format!("add the container's address to {}", path.display()))
}

/// The `--add-host` entries as lines of a hosts file.
fn hosts_lines(entries: &[(String, IpAddr)]) -> String {
    entries.iter().fold(String::new(), |mut s, (host, ip)| {
        let _ = writeln!(s, "{ip}\t{host}");
        s
    })
}

/// A container's hosts file: Docker's defaults, the extra lines, and the
/// container's name on `own` when it has that address now.
pub fn hosts_text(hostname: &str, own: Option<IpAddr>, extra: &str) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n\
         ::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::\tip6-localnet\n\
         ff00::\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    s.push_str(extra);
    if let Some(ip) = own {
        let _ = writeln!(s, "{ip}\t{hostname}");
    }
    s
}

/// A container's resolv.conf from the host's `host`: every line but the
/// nameservers as it is; the nameservers replaced by `dns` when given,
/// else the host's, without loopback ones when `drop_loopback`; Docker's
/// defaults when none remain.
pub fn resolv_text(host: &str, dns: &[IpAddr], drop_loopback: bool) -> String {
    let mut out = String::new();
    let mut servers = 0;
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let ip = words.next().and_then(|w| w.parse::<IpAddr>().ok());
            let keep = dns.is_empty() && ip.is_some_and(|ip| !(drop_loopback && ip.is_loopback()));
            if !keep {
                continue;
            }
            servers += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    for ip in dns {
        let _ = writeln!(out, "nameserver {ip}");
        servers += 1;
    }
    if servers == 0 {
        for ip in DEFAULT_NAMESERVERS {
            let _ = writeln!(out, "nameserver {ip}");
        }
    }
    out
}

/// The home directory of uid 0 in the image whose root is `image_root`
/// (its `/etc/passwd`, read inside that root), else `/root`.
pub fn home(image: &(impl crate::fs::layers::LowerDirs + ?Sized)) -> String {
    let text =
        scoped::read_in_layers(&image.lower_dirs(), Path::new("/etc/passwd")).unwrap_or_default();
    home_in_passwd(&text).unwrap_or_else(|| "/root".to_string())
}

/// The home directory field of the first entry with uid 0.
fn home_in_passwd(text: &str) -> Option<String> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2] == "0")
        .map(|f| f[5].to_string())
        .filter(|h| h.starts_with('/'))
}

/// Parse a `--hostname`: at most 64 bytes of dot-separated labels of
/// letters, digits and `-` (RFC 1123), as `sethostname` and resolvers take.
pub fn parse_hostname(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 64 {
        return Err("a hostname has 1 to 64 characters".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !s.split('.').all(label_ok) {
        return Err(format!(
            "{s:?} is not a hostname: use letters, digits, '-' and '.'"
        ));
    }
    Ok(s.to_string())
}

/// Parse an `--add-host HOST:IP` (the IP may be IPv6: the first `:`
/// separates).
pub fn parse_add_host(s: &str) -> Result<(String, IpAddr), String> {
    let Some((host, ip)) = s.split_once(':') else {
        return Err("expected HOST:IP".into());
    };
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '#') {
        return Err(format!("{host:?} is not a host name"));
    }
    let ip = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map_err(|_| format!("{ip:?} is not an IP address"))?;
    Ok((host.to_string(), ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_nameservers_are_dropped_and_defaults_fill_in() {
        let host = "# comment\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\nsearch lan\n";
        assert_eq!(
            resolv_text(host, &[], true),
            "# comment\noptions edns0\nsearch lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let host = "nameserver 127.0.0.1\nnameserver 192.168.1.1\n";
        assert_eq!(resolv_text(host, &[], true), "nameserver 192.168.1.1\n");
        assert_eq!(resolv_text(host, &[], false), host);
        let dns = ["1.1.1.1".parse().unwrap()];
        assert_eq!(resolv_text(host, &dns, true), "nameserver 1.1.1.1\n");
    }

    #[test]
    fn hosts_lists_localhost_extras_and_own_name() {
        let text = hosts_text("web", Some([127, 0, 0, 1].into()), "10.0.0.5\tdb\n");
        assert!(text.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost"));
        assert!(text.ends_with("10.0.0.5\tdb\n127.0.0.1\tweb\n"));
        assert!(!hosts_text("web", None, "").contains("web"));
    }

    #[test]
    fn home_is_uid_0s_or_root() {
        let passwd = "daemon:x:1:1::/usr/sbin:/bin/false\ntoor:x:0:0::/home/boss:/bin/sh\n";
        assert_eq!(home_in_passwd(passwd).as_deref(), Some("/home/boss"));
        assert_eq!(home_in_passwd("garbage\n"), None);
        let t = tempfile::tempdir().unwrap();
        assert_eq!(home(t.path()), "/root");
    }

    #[test]
    fn options_parse_like_dockers() {
        assert!(parse_hostname("web-1.local").is_ok());
        for bad in ["", "-a", "a_b", "a..b", &"x".repeat(65)] {
            assert!(parse_hostname(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_add_host("v6:fd00::1"),
            Ok(("v6".to_string(), "fd00::1".parse().unwrap()))
        );
        for bad in ["db", ":1.2.3.4", "db:10.0.0", "a b:1.2.3.4"] {
            assert!(parse_add_host(bad).is_err(), "{bad}");
        }
    }
}
