//! A bundle's `config.json` turned into what the engine runs (step 40).
//!
//! An OCI bundle is a directory holding `config.json` (the runtime-spec's
//! configuration: the process, the root filesystem, mounts, namespaces,
//! cgroups) and, usually, the root filesystem itself (`root.path`,
//! relative to the bundle). [`plan`] reads it with the `oci-spec` crate and
//! maps each field onto the engine's [`Spec`] and the cgroup it needs. A
//! field the engine cannot honour yet is refused, naming the field, rather
//! than ignored: a container that silently lacks a limit or a mask is worse
//! than one that does not start.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec as Config};

use crate::cgroups::Resources;
use crate::container::rlimits::Rlimit;
use crate::container::spec::Spec;
use crate::devices::{Access, Kind, Policy, Rule};
use crate::fs::bundle_view::{BundleView, Mount as BundleMount, Node};
use crate::namespaces::{IdRange, UserMaps};
use crate::security::Profile;
use crate::security::user::User;

/// The container's network namespace, as `linux.namespaces` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Net {
    /// A new one (listed without a path).
    New,
    /// The caller's (not listed).
    Host,
    /// An existing one, joined (listed with a path: a pod's).
    Join(PathBuf),
}

/// `linux.namespaces` kind by kind: the kinds to make new, and the
/// namespaces to join (a `/proc/PID/ns/KIND` path, or a bind mount of
/// one) with their kind, user first; a kind in neither is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespaces {
    pub new: CloneFlags,
    pub join: Vec<(PathBuf, CloneFlags)>,
    /// A new user namespace's mappings (`linux.uidMappings`,
    /// `linux.gidMappings`); empty otherwise.
    pub maps: UserMaps,
}

/// What `create` needs from a bundle.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What init runs and how.
    pub spec: Spec,
    pub net: Net,
    pub namespaces: Namespaces,
    /// `linux.cgroupsPath`: absolute from the hierarchy's root, or relative
    /// to the runtime's own cgroup; `None`: a cgroup named after the ID.
    pub cgroups_path: Option<String>,
    pub resources: Resources,
    pub devices: Policy,
    /// `process.oomScoreAdj`, written to `/proc/PID/oom_score_adj`.
    pub oom_score_adj: Option<i32>,
    /// The configuration's `ociVersion`, which `state` repeats.
    pub oci_version: String,
    pub hooks: super::hooks::Hooks,
    /// The configuration's `annotations`, which `state` (and so every
    /// hook) reports.
    pub annotations: std::collections::HashMap<String, String>,
}

/// Read `BUNDLE/config.json` and map it, refusing what cannot be honoured.
pub fn plan(bundle: &Path) -> Result<Plan> {
    let file = bundle.join("config.json");
    let config = Config::load(&file).with_context(|| format!("read {}", file.display()))?;
    map(&config, bundle)
}

/// The mapping itself (unit-tested with configurations built in memory).
pub fn map(config: &Config, bundle: &Path) -> Result<Plan> {
    let process = config
        .process()
        .as_ref()
        .context("config.json has no process")?;
    let argv = process.args().clone().unwrap_or_default();
    ensure!(!argv.is_empty(), "process.args: empty, nothing to run");
    ensure!(
        process.cwd().is_absolute(),
        "process.cwd {:?}: must be an absolute path",
        process.cwd().display().to_string()
    );
    refuse_set(
        "process.apparmorProfile",
        process.apparmor_profile().is_some(),
    )?;
    refuse_set("process.selinuxLabel", process.selinux_label().is_some())?;
    let user = User {
        uid: process.user().uid(),
        gid: process.user().gid(),
        groups: process.user().additional_gids().clone().unwrap_or_default(),
        home: "/".into(),
        umask: process.user().umask(),
    };
    let root = config.root().as_ref().context("config.json has no root")?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    ensure!(
        rootfs.exists(),
        "root.path {}: the root filesystem's directory does not exist",
        rootfs.display()
    );
    ensure!(
        rootfs.is_dir(),
        "root.path {}: not a directory",
        rootfs.display()
    );
    let linux = config.linux().clone().unwrap_or_default();
    let list = linux.namespaces().clone().unwrap_or_default();
    let mut namespaces = namespaces(&list)?;
    namespaces.maps = user_maps(&linux, &namespaces)?;
    let net = network(&list);
    let spec = Spec {
        argv,
        hostname: config.hostname().clone().unwrap_or_default(),
        rootfs: Some(rootfs),
        env: Some(process.env().clone().unwrap_or_default()),
        security: profile(process, linux.seccomp().as_ref())?,
        user: Some(user),
        view: view(root.readonly().unwrap_or(false)),
        devices: Vec::new(),
        cgroup_tasks: Vec::new(),
        terminal: terminal(process),
        workdir: Some(process.cwd().display().to_string()),
        exec_fifo: None,
        hooks: None,
        bundle_view: Some(bundle_view(
            config,
            bundle,
            &net,
            !list.iter().any(|n| n.typ() == LinuxNamespaceType::Mount),
        )?),
        rlimits: rlimits(process)?,
        cgroup_ns: namespaces.new.contains(CloneFlags::CLONE_NEWCGROUP),
    };
    refuse_set("linux.intelRdt", linux.intel_rdt().is_some())?;
    refuse_set("linux.personality", linux.personality().is_some())?;
    refuse_set("linux.mountLabel", linux.mount_label().is_some())?;
    let (resources, mut devices) = resources(linux.resources().as_ref())?;
    allow_nodes(&mut devices, spec.bundle_view.as_ref());
    ensure!(
        namespaces.new.contains(CloneFlags::CLONE_NEWUTS)
            || namespaces
                .join
                .iter()
                .any(|(_, k)| *k == CloneFlags::CLONE_NEWUTS)
            || spec.hostname.is_empty(),
        "hostname: setting it needs a UTS namespace of the container's own (linux.namespaces), as runc says"
    );
    Ok(Plan {
        spec,
        net,
        namespaces,
        cgroups_path: linux
            .cgroups_path()
            .as_ref()
            .map(|p| p.display().to_string()),
        resources,
        devices,
        oom_score_adj: process.oom_score_adj(),
        oci_version: config.version().clone(),
        hooks: super::hooks::Hooks::from_config(config.hooks().as_ref())?,
        annotations: config.annotations().clone().unwrap_or_default(),
    })
}

/// `process.rlimits`, each checked: a soft limit above its hard one is
/// refused by name (setrlimit(2) would only say EINVAL).
fn rlimits(process: &oci_spec::runtime::Process) -> Result<Vec<Rlimit>> {
    let mut out = Vec::new();
    for r in process.rlimits().iter().flatten() {
        let resource = r.typ().to_string();
        ensure!(
            r.soft() <= r.hard(),
            "process.rlimits: {resource}: the soft limit {} is above the hard limit {}",
            r.soft(),
            r.hard()
        );
        out.push(Rlimit {
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

/// `process.terminal`: init makes a pseudo-terminal of this size
/// (`process.consoleSize`, else the kernel's 0x0 until the caller sets
/// one) and sends its master over `--console-socket`.
fn terminal(process: &oci_spec::runtime::Process) -> Option<crate::terminal::Size> {
    process.terminal().unwrap_or(false).then(|| {
        let size = process.console_size();
        crate::terminal::Size {
            rows: size.map_or(0, |s| s.height() as u16),
            cols: size.map_or(0, |s| s.width() as u16),
        }
    })
}

fn refuse_set(field: &str, set: bool) -> Result<()> {
    if set {
        bail!("{field}: not supported by mydocker yet");
    }
    Ok(())
}

/// The capabilities, each of the five sets as the configuration lists it
/// (none listed: none at all, as the runtime-spec says), and
/// `noNewPrivileges`. The bounding set also stands for the container's
/// capabilities where one set is asked for (`exec`).
fn profile(
    process: &oci_spec::runtime::Process,
    seccomp: Option<&oci_spec::runtime::LinuxSeccomp>,
) -> Result<Profile> {
    let names = |set: &Option<oci_spec::runtime::Capabilities>| -> Vec<String> {
        let mut v: Vec<String> = set.iter().flatten().map(|c| format!("CAP_{c}")).collect();
        v.sort();
        v
    };
    let sets = match process.capabilities() {
        None => crate::security::capabilities::Sets::default(),
        Some(caps) => crate::security::capabilities::Sets {
            bounding: names(caps.bounding()),
            effective: names(caps.effective()),
            permitted: names(caps.permitted()),
            inheritable: names(caps.inheritable()),
            ambient: names(caps.ambient()),
        },
    };
    let mut profile = Profile::for_run(&[], &[], false, &[])?;
    profile.capabilities = sets.bounding.clone();
    profile.sets = Some(sets);
    profile.no_new_privs = process.no_new_privileges().unwrap_or(false);
    profile.seccomp = crate::security::seccomp::Seccomp {
        filter: seccomp_filter(seccomp)?,
        program: None,
    };
    Ok(profile)
}

/// `linux.seccomp`, the runtime-spec's form of a filter, which is Docker's
/// profile format less its conditions (`includes`, `excludes`): read into
/// the engine's [`crate::security::seccomp::Profile`], compiled by init
/// with libseccomp as step 34's profiles are. None: no filter (runc).
fn seccomp_filter(
    seccomp: Option<&oci_spec::runtime::LinuxSeccomp>,
) -> Result<crate::security::seccomp::Filter> {
    use crate::security::seccomp::Filter;
    let Some(seccomp) = seccomp else {
        return Ok(Filter::Unconfined);
    };
    refuse_set(
        "linux.seccomp.flags",
        seccomp.flags().as_ref().is_some_and(|f| !f.is_empty()),
    )?;
    refuse_set(
        "linux.seccomp.listenerPath",
        seccomp.listener_path().is_some(),
    )?;
    let json = serde_json::to_value(seccomp).context("linux.seccomp")?;
    let profile: crate::security::seccomp::Profile =
        serde_json::from_value(json).context("linux.seccomp")?;
    // Compiling checks every name, action and architecture now rather
    // than in init.
    profile
        .compile(&[], &crate::security::seccomp::Host::this())
        .context("linux.seccomp")?;
    Ok(Filter::Profile(Box::new(profile)))
}

/// The filesystem view: a read-only root (`root.readonly`) remounted
/// last by the engine's view; the rest is the bundle's own
/// ([`bundle_view`]).
fn view(read_only: bool) -> crate::fs::kernel_view::View {
    crate::fs::kernel_view::View {
        mask: false,
        read_only,
        tmpfs: Vec::new(),
        read_only_files: Vec::new(),
    }
}

/// `mounts` in order, `linux.devices`, `linux.sysctl`, the masked and
/// read-only paths as listed, `linux.rootfsPropagation`.
/// `callers_mounts`: `linux.namespaces` lists no mount namespace.
fn bundle_view(
    config: &Config,
    bundle: &Path,
    net: &Net,
    callers_mounts: bool,
) -> Result<BundleView> {
    let linux = config.linux().clone().unwrap_or_default();
    let mut mounts = Vec::new();
    for m in config.mounts().iter().flatten() {
        let dest = m.destination().display().to_string();
        mounts.push(mount(m, bundle).with_context(|| format!("mounts: {dest}"))?);
    }
    let root_propagation = match linux.rootfs_propagation().as_deref() {
        None | Some("") => 0,
        Some(p) => match propagation(p) {
            Some(flags) => (flags | nix::mount::MsFlags::MS_REC).bits(),
            None => bail!(
                "linux.rootfsPropagation {p:?}: not a propagation (private, shared, slave, unbindable)"
            ),
        },
    };
    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    sysctl.sort();
    for (key, _) in &sysctl {
        check_sysctl(key, net)?;
    }
    Ok(BundleView {
        mounts,
        devices: nodes(linux.devices().as_deref().unwrap_or_default())?,
        sysctl,
        masked: linux.masked_paths().clone().unwrap_or_default(),
        read_only: linux.readonly_paths().clone().unwrap_or_default(),
        root_propagation,
        cgroups: None,
        callers_mounts,
    })
}

/// One `mounts` entry: `bind`/`rbind` and the propagation options taken
/// out of the rest ([`mount_options`]); a bind's relative source is
/// relative to the bundle.
fn mount(m: &oci_spec::runtime::Mount, bundle: &Path) -> Result<BundleMount> {
    use nix::mount::MsFlags as F;
    let typ = m.typ().clone().unwrap_or_default();
    let mut bind = F::empty();
    let mut prop = F::empty();
    let mut rest = Vec::new();
    for o in m.options().iter().flatten() {
        match o.as_str() {
            "bind" => bind |= F::MS_BIND,
            "rbind" => bind |= F::MS_BIND | F::MS_REC,
            other => match propagation(other.trim_start_matches('r')) {
                Some(p) if other.starts_with('r') && other != "ro" && other != "rw" => {
                    prop = p | F::MS_REC;
                }
                Some(p) => prop = p,
                None => rest.push(o.clone()),
            },
        }
    }
    if typ == "bind" || typ == "rbind" {
        bind |= F::MS_BIND;
        if typ == "rbind" {
            bind |= F::MS_REC;
        }
    }
    let (flags, data) = mount_options(&rest)?;
    let source = m.source().as_ref().map(|s| {
        if s.is_relative() && bind.contains(F::MS_BIND) {
            bundle.join(s)
        } else {
            s.clone()
        }
    });
    if bind.contains(F::MS_BIND) {
        let src = source.as_ref().context("a bind mount needs a source")?;
        ensure!(
            src.exists(),
            "bind source {}: no such file or directory",
            src.display()
        );
    } else {
        ensure!(
            !typ.is_empty() && typ != "none",
            "no type and neither bind nor rbind among its options"
        );
    }
    Ok(BundleMount {
        destination: m.destination().clone(),
        fstype: typ,
        source,
        flags: (flags | bind).bits(),
        propagation: prop.bits(),
        data,
    })
}

/// A propagation option without its `r` (recursive) prefix.
fn propagation(option: &str) -> Option<nix::mount::MsFlags> {
    use nix::mount::MsFlags as F;
    match option {
        "private" => Some(F::MS_PRIVATE),
        "shared" => Some(F::MS_SHARED),
        "slave" => Some(F::MS_SLAVE),
        "unbindable" => Some(F::MS_UNBINDABLE),
        _ => None,
    }
}

/// A sysctl is set only when the container has its own copy of it, as
/// runc checks (`validateSysctl`): the IPC ones (`kernel.msg*`,
/// `kernel.sem`, `kernel.shm*`, `fs.mqueue.*`: the IPC namespace is
/// always new), `net.*` with a network namespace of its own, and the UTS
/// ones (`kernel.hostname`, `kernel.domainname`). Anything else would
/// change the host.
fn check_sysctl(key: &str, net: &Net) -> Result<()> {
    const IPC: [&str; 7] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
    ];
    if IPC.contains(&key)
        || key == "kernel.shm_rmid_forced"
        || key.starts_with("fs.mqueue.")
        || key == "kernel.hostname"
        || key == "kernel.domainname"
    {
        return Ok(());
    }
    if key.starts_with("net.") {
        ensure!(
            *net != Net::Host,
            "linux.sysctl: {key} needs a network namespace of the container's own; this one shares the host's"
        );
        return Ok(());
    }
    bail!("linux.sysctl: {key} is not namespaced: setting it would change the host")
}

/// `linux.devices`: the nodes to make, each checked.
fn nodes(list: &[oci_spec::runtime::LinuxDevice]) -> Result<Vec<Node>> {
    use oci_spec::runtime::LinuxDeviceType as T;
    list.iter()
        .map(|d| {
            let path = d.path().clone();
            ensure!(
                path.is_absolute() && path.starts_with("/dev"),
                "linux.devices: {}: not a path under /dev",
                path.display()
            );
            let kind = match d.typ() {
                T::C | T::U => 'c',
                T::B => 'b',
                T::P => 'p',
                T::A => bail!("linux.devices: {}: type a is not a node", path.display()),
            };
            Ok(Node {
                path,
                kind,
                major: d.major() as u64,
                minor: d.minor() as u64,
                mode: d.file_mode().unwrap_or(0o666),
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            })
        })
        .collect()
}

/// A mount's options as `mount(8)` takes them: those that are flags
/// (`nosuid`, `strictatime`, ...) and the rest, the filesystem's own
/// (`mode=755,size=65536k`, `newinstance`), passed on as its data, as
/// runc does.
pub fn mount_options(options: &[String]) -> Result<(nix::mount::MsFlags, String)> {
    use nix::mount::MsFlags as F;
    let mut flags = F::empty();
    let mut data = Vec::new();
    for o in options {
        let (set, clear) = match o.as_str() {
            "ro" => (F::MS_RDONLY, F::empty()),
            "rw" => (F::empty(), F::MS_RDONLY),
            "nosuid" => (F::MS_NOSUID, F::empty()),
            "suid" => (F::empty(), F::MS_NOSUID),
            "nodev" => (F::MS_NODEV, F::empty()),
            "dev" => (F::empty(), F::MS_NODEV),
            "noexec" => (F::MS_NOEXEC, F::empty()),
            "exec" => (F::empty(), F::MS_NOEXEC),
            "sync" => (F::MS_SYNCHRONOUS, F::empty()),
            "async" => (F::empty(), F::MS_SYNCHRONOUS),
            "noatime" => (F::MS_NOATIME, F::empty()),
            "atime" => (F::empty(), F::MS_NOATIME),
            "nodiratime" => (F::MS_NODIRATIME, F::empty()),
            "diratime" => (F::empty(), F::MS_NODIRATIME),
            "relatime" => (F::MS_RELATIME, F::empty()),
            "norelatime" => (F::empty(), F::MS_RELATIME),
            "strictatime" => (F::MS_STRICTATIME, F::empty()),
            "nostrictatime" => (F::empty(), F::MS_STRICTATIME),
            "mand" => (F::MS_MANDLOCK, F::empty()),
            "nomand" => (F::empty(), F::MS_MANDLOCK),
            // Taken out before (`mount`); a remount is not a mount to make.
            "bind" | "rbind" | "private" | "rprivate" | "shared" | "rshared" | "slave"
            | "rslave" | "remount" => bail!("option {o:?}: not a flag of the mount itself"),
            // The filesystem's own (`mode=755`, `newinstance`), which its
            // kernel code accepts or refuses at the mount.
            other => {
                data.push(other.to_string());
                continue;
            }
        };
        flags = (flags | set) - clear;
    }
    Ok((flags, data.join(",")))
}

/// The network namespace alone, as the network setup needs it.
fn network(list: &[oci_spec::runtime::LinuxNamespace]) -> Net {
    match list.iter().find(|n| n.typ() == LinuxNamespaceType::Network) {
        None => Net::Host,
        Some(n) => match n.path() {
            None => Net::New,
            Some(path) => Net::Join(path.clone()),
        },
    }
}

/// Each kind of `linux.namespaces`: listed without a path, new; with
/// one, joined; not listed, the caller's (the runtime-spec's rules: the
/// caller's mount namespace too, where init chroots rather than pivots,
/// as runc does). Refused (not supported yet): a time namespace, a user
/// namespace joined by path (the namespaces `clone` makes would belong to
/// the caller's user namespace, where init, once in the joined one, has
/// no rights: runc unshares them after joining), a new user namespace
/// with others joined (the same the other way round); and a kind listed
/// twice.
fn namespaces(list: &[oci_spec::runtime::LinuxNamespace]) -> Result<Namespaces> {
    let mut out = Namespaces {
        new: CloneFlags::empty(),
        join: Vec::new(),
        maps: UserMaps::default(),
    };
    let mut seen = HashSet::new();
    for ns in list {
        let typ = ns.typ();
        ensure!(
            seen.insert(typ),
            "linux.namespaces: the {typ} namespace is listed twice"
        );
        let kind = match typ {
            LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
            LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
            LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
            LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
            LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
            LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
            LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
            t => bail!("linux.namespaces: a {t} namespace is not supported by mydocker yet"),
        };
        match ns.path() {
            None => out.new |= kind,
            Some(_) if kind == CloneFlags::CLONE_NEWUSER => {
                bail!(
                    "linux.namespaces: joining a user namespace by path is not supported by mydocker yet"
                )
            }
            Some(path) => out.join.push((path.clone(), kind)),
        }
    }
    ensure!(
        !out.new.contains(CloneFlags::CLONE_NEWUSER) || out.join.is_empty(),
        "linux.namespaces: joining a namespace by path together with a new user namespace is not supported by mydocker yet"
    );
    Ok(out)
}

/// `linux.uidMappings` and `linux.gidMappings`, which a new user
/// namespace needs and nothing else takes.
/// Each list as the kernel takes it (`man 7 user_namespaces`): at most
/// 340 lines, no empty range, no two ranges overlapping inside or
/// outside; and uid and gid 0 mapped, since init becomes root in the
/// namespace to set the container up (runc asks the same).
fn user_maps(linux: &oci_spec::runtime::Linux, ns: &Namespaces) -> Result<UserMaps> {
    let list = |field: &str, got: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        let ranges: Vec<IdRange> = got
            .iter()
            .flatten()
            .map(|m| IdRange {
                inside: m.container_id(),
                outside: m.host_id(),
                count: m.size(),
            })
            .collect();
        check_ranges(field, &ranges).map(|()| ranges)
    };
    let maps = UserMaps {
        uid: list("linux.uidMappings", linux.uid_mappings())?,
        gid: list("linux.gidMappings", linux.gid_mappings())?,
    };
    if !ns.new.contains(CloneFlags::CLONE_NEWUSER) {
        for (field, ranges) in [
            ("linux.uidMappings", &maps.uid),
            ("linux.gidMappings", &maps.gid),
        ] {
            ensure!(
                ranges.is_empty(),
                "{field}: only for a new user namespace (linux.namespaces lists none without a path)"
            );
        }
        return Ok(maps);
    }
    for (field, ranges) in [
        ("linux.uidMappings", &maps.uid),
        ("linux.gidMappings", &maps.gid),
    ] {
        ensure!(
            ranges.iter().any(|r| r.inside == 0),
            "{field}: a new user namespace needs a mapping of id 0 (its root, which sets the container up)"
        );
    }
    Ok(maps)
}

/// One map's ranges: what the kernel would refuse, named.
fn check_ranges(field: &str, ranges: &[IdRange]) -> Result<()> {
    ensure!(
        ranges.len() <= 340,
        "{field}: {} ranges, the kernel takes at most 340",
        ranges.len()
    );
    let end = |start: u32, count: u32| u64::from(start) + u64::from(count);
    for (i, a) in ranges.iter().enumerate() {
        ensure!(
            a.count > 0,
            "{field}: the range at containerID {} has size 0",
            a.inside
        );
        ensure!(
            end(a.inside, a.count) <= 1 << 32 && end(a.outside, a.count) <= 1 << 32,
            "{field}: the range at containerID {} runs past the last id",
            a.inside
        );
        for b in &ranges[..i] {
            let overlap =
                |x: u32, y: u32| u64::from(x) < end(y, b.count) && u64::from(y) < end(x, a.count);
            ensure!(
                !overlap(a.inside, b.inside) && !overlap(a.outside, b.outside),
                "{field}: the ranges at containerID {} and {} overlap",
                b.inside,
                a.inside
            );
        }
    }
    Ok(())
}

/// After the configuration's device rules come the ones every container
/// needs, as runc appends them: the default nodes ([`crate::devices::default_rules`])
/// and each `linux.devices` node (read, write, mknod; the last matching
/// rule decides).
fn allow_nodes(policy: &mut Policy, view: Option<&BundleView>) {
    if policy.default_allow && policy.rules.is_empty() {
        return;
    }
    policy.rules.extend(crate::devices::default_rules());
    for node in view.iter().flat_map(|v| &v.devices) {
        let kind = match node.kind {
            'b' => Kind::Block,
            'c' => Kind::Char,
            _ => continue,
        };
        policy.rules.push(Rule {
            allow: true,
            kind,
            major: Some(node.major as u32),
            minor: Some(node.minor as u32),
            access: Access::ALL,
        });
    }
}

/// The cgroup limits and the device rules. As runc's, the device policy
/// starts from "deny every device" whatever the configuration says (an
/// empty or absent `linux.resources.devices` too); only a first rule
/// allowing `a *:* rwm` opens it.
fn resources(r: Option<&oci_spec::runtime::LinuxResources>) -> Result<(Resources, Policy)> {
    let mut out = Resources::default();
    let mut policy = Policy {
        default_allow: false,
        rules: Vec::new(),
    };
    let Some(r) = r else {
        return Ok((out, policy));
    };
    refuse_set("linux.resources.blockIO", r.block_io().is_some())?;
    refuse_set(
        "linux.resources.hugepageLimits",
        r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()),
    )?;
    refuse_set("linux.resources.network", r.network().is_some())?;
    refuse_set("linux.resources.rdma", r.rdma().is_some())?;
    refuse_set(
        "linux.resources.unified",
        r.unified().as_ref().is_some_and(|u| !u.is_empty()),
    )?;
    if let Some(m) = r.memory() {
        out.memory = m.limit().filter(|l| *l > 0).map(|l| l as u64);
        out.more.memory_reservation = m.reservation();
        out.more.memory_swap = m.swap();
        refuse_set(
            "linux.resources.memory (other than limit, reservation and swap)",
            m.kernel().is_some() || m.kernel_tcp().is_some() || m.swappiness().is_some(),
        )?;
    }
    if let Some(c) = r.cpu() {
        out.cpu_shares = c.shares().filter(|s| *s > 0);
        out.cpuset_cpus = c.cpus().clone().filter(|s| !s.is_empty());
        out.more.cpu_quota = c.quota();
        out.more.cpu_period = c.period();
        out.more.cpu_realtime_runtime = c.realtime_runtime();
        out.more.cpu_realtime_period = c.realtime_period();
        out.more.cpuset_mems = c.mems().clone().filter(|s| !s.is_empty());
    }
    if let Some(p) = r.pids() {
        out.pids_limit = Some(p.limit());
    }
    let rules = r.devices().clone().unwrap_or_default();
    for (i, d) in rules.iter().enumerate() {
        let kind = match d.typ().unwrap_or_default() {
            oci_spec::runtime::LinuxDeviceType::A => Kind::All,
            oci_spec::runtime::LinuxDeviceType::B => Kind::Block,
            oci_spec::runtime::LinuxDeviceType::C | oci_spec::runtime::LinuxDeviceType::U => {
                Kind::Char
            }
            oci_spec::runtime::LinuxDeviceType::P => {
                bail!("linux.resources.devices: FIFO rules are not supported")
            }
        };
        let access_text = d.access().clone().unwrap_or_else(|| "rwm".into());
        let access = Access::parse(&access_text)
            .with_context(|| format!("linux.resources.devices: access {access_text:?}"))?;
        let whole = kind == Kind::All && d.major().is_none() && d.minor().is_none();
        // The first rule "deny (or allow) everything" sets the default.
        if i == 0 && whole && access == Access::ALL {
            policy.default_allow = d.allow();
            continue;
        }
        policy.rules.push(Rule {
            allow: d.allow(),
            kind,
            major: d.major().map(|m| m as u32),
            minor: d.minor().map(|m| m as u32),
            access,
        });
    }
    Ok((out, policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn mount_options_split_into_flags_and_the_filesystems_data() {
        use nix::mount::MsFlags as F;
        let (flags, data) = mount_options(&strings(&[
            "nosuid",
            "strictatime",
            "mode=755",
            "size=65536k",
        ]))
        .unwrap();
        assert_eq!(flags, F::MS_NOSUID | F::MS_STRICTATIME);
        assert_eq!(data, "mode=755,size=65536k");
        let (flags, _) = mount_options(&strings(&["ro", "rw", "noexec", "exec"])).unwrap();
        assert_eq!(flags, F::empty(), "a later option undoes an earlier one");
        let err = mount_options(&strings(&["rbind"])).unwrap_err();
        assert!(err.to_string().contains("rbind"), "{err}");
        let (_, data) = mount_options(&strings(&["newinstance", "ptmxmode=0666"])).unwrap();
        assert_eq!(data, "newinstance,ptmxmode=0666");
    }

    /// A bundle directory with an empty root and `config` as its
    /// configuration, mapped.
    fn mapped(config: serde_json::Value) -> Result<Plan> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        let config: Config = serde_json::from_value(config).unwrap();
        map(&config, dir.path())
    }

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {"user": {"uid": 0, "gid": 0}, "args": ["true"], "cwd": "/"},
            "root": {"path": "rootfs"},
            "linux": {"namespaces": [
                {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
            ]}
        })
    }

    #[test]
    fn a_process_without_capabilities_gets_none() {
        let plan = mapped(minimal()).unwrap();
        assert!(
            plan.spec.security.capabilities.is_empty(),
            "{:?}",
            plan.spec.security
        );
        assert_eq!(plan.spec.security.sets, Some(Default::default()));
        assert_eq!(plan.net, Net::Host);
    }

    #[test]
    fn each_capability_set_is_kept_as_the_configuration_gives_it() {
        let mut c = minimal();
        let caps = serde_json::json!(["CAP_KILL", "CAP_CHOWN"]);
        c["process"]["capabilities"] = serde_json::json!({
            "bounding": caps, "effective": ["CAP_KILL"], "permitted": caps,
            "ambient": ["CAP_CHOWN"]
        });
        let plan = mapped(c).unwrap();
        assert_eq!(plan.spec.security.capabilities, ["CAP_CHOWN", "CAP_KILL"]);
        let sets = plan.spec.security.sets.unwrap();
        assert_eq!(sets.effective, ["CAP_KILL"]);
        assert_eq!(sets.ambient, ["CAP_CHOWN"]);
        assert!(sets.inheritable.is_empty());
    }

    #[test]
    fn mounts_keep_their_order_binds_and_propagation_taken_out_of_the_options() {
        use nix::mount::MsFlags as F;
        let mut c = minimal();
        c["mounts"] = serde_json::json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/data", "source": "rootfs", "options": ["rbind", "ro", "rslave"]},
            {"destination": "/etc/f", "type": "none", "source": "/etc/passwd",
             "options": ["bind", "nosuid"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "newinstance", "mode=0620"]}
        ]);
        c["linux"]["rootfsPropagation"] = serde_json::json!("shared");
        let view = mapped(c).unwrap().spec.bundle_view.unwrap();
        let dests: Vec<_> = view.mounts.iter().map(|m| m.destination.clone()).collect();
        assert_eq!(
            dests,
            [
                Path::new("/proc"),
                Path::new("/data"),
                Path::new("/etc/f"),
                Path::new("/dev/pts")
            ]
        );
        let data = &view.mounts[1];
        assert_eq!(
            F::from_bits_truncate(data.flags),
            F::MS_BIND | F::MS_REC | F::MS_RDONLY
        );
        assert_eq!(
            F::from_bits_truncate(data.propagation),
            F::MS_SLAVE | F::MS_REC
        );
        assert!(
            data.source.as_ref().unwrap().is_absolute(),
            "relative to the bundle"
        );
        assert_eq!(
            F::from_bits_truncate(view.mounts[2].flags),
            F::MS_BIND | F::MS_NOSUID
        );
        assert_eq!(view.mounts[3].data, "newinstance,mode=0620");
        assert_eq!(
            F::from_bits_truncate(view.root_propagation),
            F::MS_SHARED | F::MS_REC
        );
    }

    #[test]
    fn sysctls_are_set_only_in_the_containers_own_namespaces() {
        for key in [
            "kernel.shmmax",
            "fs.mqueue.msg_max",
            "kernel.domainname",
            "net.ipv4.ip_forward",
        ] {
            check_sysctl(key, &Net::New).unwrap();
        }
        let err = check_sysctl("net.ipv4.ip_forward", &Net::Host).unwrap_err();
        assert!(err.to_string().contains("network namespace"), "{err}");
        let err = check_sysctl("kernel.panic", &Net::New).unwrap_err();
        assert!(
            err.to_string().contains("linux.sysctl: kernel.panic"),
            "{err}"
        );
    }

    #[test]
    fn devices_are_nodes_and_allowed_after_the_configurations_rules() {
        let mut c = minimal();
        c["linux"]["devices"] = serde_json::json!([
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600, "uid": 7}
        ]);
        c["linux"]["resources"] =
            serde_json::json!({"devices": [{"allow": false, "access": "rwm"}]});
        let plan = mapped(c).unwrap();
        let node = &plan.spec.bundle_view.as_ref().unwrap().devices[0];
        assert_eq!(
            (
                node.kind, node.major, node.minor, node.mode, node.uid, node.gid
            ),
            ('c', 10, 229, 0o600, 7, 0)
        );
        assert!(!plan.devices.default_allow);
        let last = plan.devices.rules.last().unwrap();
        assert!(
            last.allow && last.major == Some(10) && last.minor == Some(229),
            "{last:?}"
        );
        let mut c = minimal();
        c["linux"]["devices"] =
            serde_json::json!([{"path": "/tmp/x", "type": "c", "major": 1, "minor": 3}]);
        assert!(mapped(c).unwrap_err().to_string().contains("/tmp/x"));
    }

    /// runc's cgroup always starts from "deny every device" and appends
    /// its default allowlist, whether `linux.resources.devices` is empty,
    /// absent, or `resources` itself is.
    #[test]
    fn without_a_device_rule_every_device_but_the_defaults_is_denied() {
        let mut empty = minimal();
        empty["linux"]["resources"] = serde_json::json!({"devices": []});
        let mut no_list = minimal();
        no_list["linux"]["resources"] = serde_json::json!({"pids": {"limit": 10}});
        for c in [empty, no_list, minimal()] {
            let plan = mapped(c.clone()).unwrap();
            assert!(!plan.devices.default_allow, "{c}");
            assert_eq!(plan.devices.rules, crate::devices::default_rules(), "{c}");
        }
        // An explicit "allow everything" first rule is kept as it is.
        let mut all = minimal();
        all["linux"]["resources"] =
            serde_json::json!({"devices": [{"allow": true, "access": "rwm"}]});
        assert!(mapped(all).unwrap().devices.default_allow);
    }

    #[test]
    fn a_soft_rlimit_above_its_hard_one_is_refused_by_name() {
        let mut c = minimal();
        c["process"]["rlimits"] =
            serde_json::json!([{"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]);
        let err = format!("{:#}", mapped(c).unwrap_err());
        assert!(
            err.contains("RLIMIT_NOFILE")
                && err.contains("soft limit 2048 is above the hard limit 1024"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_root_path_is_named_as_missing() {
        let mut c = minimal();
        c["root"]["path"] = serde_json::json!("no-such-rootfs");
        let err = format!("{:#}", mapped(c).unwrap_err());
        assert!(
            err.contains("no-such-rootfs") && err.contains("does not exist"),
            "{err}"
        );
    }

    /// runc: "Cwd must be an absolute path", before anything is made.
    #[test]
    fn a_relative_process_cwd_is_refused() {
        let mut c = minimal();
        c["process"]["cwd"] = serde_json::json!("relative");
        let err = format!("{:#}", mapped(c).unwrap_err());
        assert!(
            err.contains("process.cwd") && err.contains("must be an absolute path"),
            "{err}"
        );
    }

    fn ns(json: &str) -> Result<Namespaces> {
        let list: Vec<oci_spec::runtime::LinuxNamespace> = serde_json::from_str(json).unwrap();
        namespaces(&list)
    }

    #[test]
    fn each_namespace_is_new_joined_or_the_callers() {
        use CloneFlags as F;
        let n = ns(r#"[{"type":"mount"},{"type":"pid"},{"type":"cgroup"}]"#).unwrap();
        assert_eq!(n.new, F::CLONE_NEWNS | F::CLONE_NEWPID | F::CLONE_NEWCGROUP);
        assert!(n.join.is_empty());
        let n = ns(r#"[{"type":"mount"},{"type":"ipc","path":"/proc/7/ns/ipc"}]"#).unwrap();
        assert_eq!(n.new, F::CLONE_NEWNS);
        assert_eq!(n.join, [("/proc/7/ns/ipc".into(), F::CLONE_NEWIPC)]);
        assert_eq!(ns(r#"[{"type":"pid"}]"#).unwrap().new, F::CLONE_NEWPID);
        let err = ns(r#"[{"type":"mount"},{"type":"user","path":"/u"}]"#).unwrap_err();
        assert!(err.to_string().contains("user namespace by path"), "{err}");
        let err =
            ns(r#"[{"type":"mount"},{"type":"user"},{"type":"ipc","path":"/i"}]"#).unwrap_err();
        assert!(err.to_string().contains("new user namespace"), "{err}");
        let err = ns(r#"[{"type":"mount"},{"type":"time"}]"#).unwrap_err();
        assert!(err.to_string().contains("time"), "{err}");
        let err = ns(r#"[{"type":"mount"},{"type":"pid"},{"type":"pid"}]"#).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn user_namespace_mappings_are_checked_field_by_field() {
        let with = |uid: serde_json::Value, gid: serde_json::Value| {
            let mut c = minimal();
            c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, {"type": "user"}]);
            c["linux"]["uidMappings"] = uid;
            c["linux"]["gidMappings"] = gid;
            mapped(c)
        };
        let m =
            |c: u32, h: u32, n: u32| serde_json::json!({"containerID": c, "hostID": h, "size": n});
        let ok = with(
            serde_json::json!([m(0, 1000, 10)]),
            serde_json::json!([m(0, 2000, 5)]),
        )
        .unwrap();
        assert_eq!(
            ok.namespaces.maps.uid,
            [IdRange {
                inside: 0,
                outside: 1000,
                count: 10
            }]
        );
        assert_eq!(ok.namespaces.maps.gid[0].outside, 2000);
        let err = with(serde_json::json!([]), serde_json::json!([m(0, 2000, 5)])).unwrap_err();
        assert!(err.to_string().starts_with("linux.uidMappings:"), "{err}");
        let err = with(
            serde_json::json!([m(0, 1000, 10)]),
            serde_json::json!([m(0, 2000, 5), m(3, 3000, 5)]),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("linux.gidMappings:")
                && err.to_string().contains("overlap"),
            "{err}"
        );
        let err = with(
            serde_json::json!([m(0, 1000, 10), m(10, 1005, 2)]),
            serde_json::json!([m(0, 2000, 5)]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");
        let mut c = minimal();
        c["linux"]["uidMappings"] = serde_json::json!([m(0, 1000, 10)]);
        let err = mapped(c).unwrap_err();
        assert!(err.to_string().starts_with("linux.uidMappings:"), "{err}");
    }

    #[test]
    fn a_hostname_needs_the_containers_own_uts_namespace() {
        let mut c = minimal();
        c["hostname"] = serde_json::json!("box");
        c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}]);
        let err = mapped(c).unwrap_err();
        assert!(err.to_string().contains("hostname"), "{err}");
    }
}
