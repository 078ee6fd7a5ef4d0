//! The verbs that only look or describe (step 40): `ps`, `list`, `spec`
//! and `features`, in runc's output formats, which tools parse: containerd
//! reads `ps --format json` (a JSON list of host PIDs) for `ctr task ps`,
//! and `features` (the runtime-spec's features document, features.md) to
//! learn what a runtime can do before it asks.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::commands;
use super::state::{Record, Root, Status};

/// `ps [--format table|json] ID [PS_OPTIONS...]`: the container's
/// processes. `json` prints their host PIDs; `table` runs the host's
/// `ps` (with `PS_OPTIONS`, `-ef` without) and keeps its header and the
/// container's lines, as runc does.
pub fn ps(root: &Root, args: &liboci_cli::Ps) -> Result<()> {
    let record = root.load(&args.container_id)?;
    let pids = commands::pids(&record);
    match args.format.as_str() {
        "json" => {
            println!("{}", serde_json::to_string(&pids)?);
            Ok(())
        }
        "table" => {
            let options: Vec<String> = if args.ps_options.is_empty() {
                vec!["-ef".into()]
            } else {
                args.ps_options.clone()
            };
            let out = std::process::Command::new("ps")
                .args(&options)
                .output()
                .context("run ps")?;
            if !out.status.success() {
                bail!(
                    "ps {}: {}",
                    options.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            let column = header
                .split_whitespace()
                .position(|c| c == "PID")
                .context("ps printed no PID column")?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{header}")?;
            for line in lines {
                let pid = line
                    .split_whitespace()
                    .nth(column)
                    .and_then(|p| p.parse().ok());
                if pid.is_some_and(|p: i32| pids.contains(&p)) {
                    writeln!(stdout, "{line}")?;
                }
            }
            Ok(())
        }
        f => bail!("--format {f:?}: expected table or json"),
    }
}

/// One line of `list --format json`: runc's fields.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    oci_version: &'a str,
    id: &'a str,
    pid: i32,
    status: &'a str,
    bundle: &'a Path,
    rootfs: &'a Path,
    created: &'a str,
    annotations: &'a std::collections::HashMap<String, String>,
    owner: &'a str,
}

/// `list [--format table|json] [--quiet]`: every container under `--root`.
pub fn list(root: &Root, args: &liboci_cli::List) -> Result<()> {
    let records = root.all()?;
    let status = |r: &Record| root.status(r);
    let pid = |r: &Record| match status(r) {
        Status::Stopped | Status::Creating => 0,
        _ => r.pid.unwrap_or(0),
    };
    let mut stdout = std::io::stdout().lock();
    if args.quiet {
        for r in &records {
            writeln!(stdout, "{}", r.id)?;
        }
        return Ok(());
    }
    match args.format.as_str() {
        "json" => {
            let listed: Vec<Listed> = records
                .iter()
                .map(|r| Listed {
                    oci_version: &r.oci_version,
                    id: &r.id,
                    pid: pid(r),
                    status: status(r).as_str(),
                    bundle: &r.bundle,
                    rootfs: &r.rootfs,
                    created: &r.created,
                    annotations: &r.annotations,
                    owner: "root",
                })
                .collect();
            writeln!(stdout, "{}", serde_json::to_string(&listed)?)?;
        }
        "table" => {
            let mut rows =
                vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
            for r in &records {
                rows.push([
                    r.id.clone(),
                    pid(r).to_string(),
                    status(r).as_str().to_string(),
                    r.bundle.display().to_string(),
                    r.created.clone(),
                    "root".to_string(),
                ]);
            }
            write!(stdout, "{}", crate::format::table(&rows))?;
        }
        f => bail!("--format {f:?}: expected table or json"),
    }
    Ok(())
}

/// `spec [--bundle DIR]`: write a default `config.json` (busybox's `sh`
/// in `rootfs`, a terminal, the usual namespaces (the cgroup one too)
/// and mounts, Docker's default capabilities, runc's device rule "deny
/// every device", which the default allowlist follows), refusing to overwrite
/// one. `--rootless` (a user-namespaced configuration) is refused:
/// rootless containers are not supported.
pub fn spec(args: &liboci_cli::Spec) -> Result<()> {
    if args.rootless {
        bail!("--rootless: rootless containers are not supported by mydocker");
    }
    let dir = args.bundle.clone().unwrap_or_else(|| ".".into());
    let file = dir.join("config.json");
    if file.exists() {
        bail!("{} exists: remove it first", file.display());
    }
    let mut config = oci_spec::runtime::Spec::default();
    config.set_hostname(Some("mydocker".into()));
    if let Some(process) = config.process_mut() {
        process.set_terminal(Some(true));
        // Only the sets this runtime can give (ambient and inheritable are
        // refused by `create`).
        if let Some(mut caps) = process.capabilities().clone() {
            caps.set_ambient(None);
            caps.set_inheritable(None);
            process.set_capabilities(Some(caps));
        }
    }
    // runc's: every device denied, then the runtime's default allowlist
    // (an empty list would mean the same here, but says less).
    let deny_all = oci_spec::runtime::LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()?;
    if let Some(linux) = config.linux_mut() {
        let mut resources = linux.resources().clone().unwrap_or_default();
        resources.set_devices(Some(vec![deny_all]));
        linux.set_resources(Some(resources));
    }
    let text = serde_json::to_string_pretty(&config)?;
    crate::atomic_file::write_atomic(&file, text.as_bytes())
        .with_context(|| format!("write {}", file.display()))
}

/// Every capability this runtime knows, by name in order (`caps::all` is
/// a hash set: its order changes from run to run).
fn capabilities() -> Vec<String> {
    let mut names: Vec<String> = caps::all().iter().map(|c| c.to_string()).collect();
    names.sort_unstable();
    names
}

/// `features`: the runtime-spec's features document (features.md), saying
/// what this runtime honours, not what config.json can name.
pub fn features() -> Result<()> {
    let doc = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": "1.2.1",
        "hooks": [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ],
        "mountOptions": MOUNT_OPTIONS,
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
            "capabilities": capabilities(),
            "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false },
            "seccomp": {
                "enabled": true,
                "actions": SECCOMP_ACTIONS,
                "operators": SECCOMP_OPERATORS,
                "archs": SECCOMP_ARCHS,
                "knownFlags": [],
                "supportedFlags": [],
            },
            "apparmor": { "enabled": false },
            "selinux": { "enabled": false },
            "intelRdt": { "enabled": false },
            "mountExtensions": { "idmap": { "enabled": false } },
        },
        "annotations": {
            "org.opencontainers.runtime-spec.features.name": "mydocker",
            "org.opencontainers.runtime-spec.features.version": env!("CARGO_PKG_VERSION"),
        },
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// The mount options `mounts[].options` may hold (mount(8)'s names).
const MOUNT_OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "noatime",
    "atime",
    "nodiratime",
    "diratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "mand",
    "nomand",
    "bind",
    "rbind",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "unbindable",
    "runbindable",
];

/// The actions `linux.seccomp` may name (libseccomp's; `SCMP_ACT_NOTIFY`
/// is refused: it needs a listener, and `flags` and `listenerPath` are
/// refused with it).
const SECCOMP_ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// The comparisons of a rule's `args`.
const SECCOMP_OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

/// The architectures a filter may list (those libseccomp knows that the
/// runtime-spec names).
const SECCOMP_ARCHS: &[&str] = &[
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];
