//! System call filtering (step 34, `man 2 seccomp`). Capabilities decide
//! whether a thread may do a privileged thing; the rest of the kernel is
//! still open to it: about 450 system calls, some of them rarely used and
//! rarely audited (`keyctl`, `userfaultfd`, `kexec_load`, old `personality`
//! modes), and every kernel bug in them is a way out of the container.
//! seccomp shrinks that surface.
//!
//! A thread installs a **filter**: a small classic-BPF program that the
//! kernel runs at every system call the thread makes from then on. It reads
//! the call's number, the architecture (a 32-bit `int 0x80` call has other
//! numbers than a 64-bit one) and the six arguments as plain integers (never
//! memory they point to), and answers with an action: allow, fail with an
//! errno, kill the thread or the process, trap, log. Filters are inherited
//! across `fork` and `execve` and can never be removed, only added to; when
//! several apply, the strictest answer wins. Installing one needs
//! `CAP_SYS_ADMIN` or no_new_privs, so a filtered process cannot make a
//! set-uid program run under a filter it did not expect.
//!
//! Docker describes a filter in JSON: a default action, then rules that
//! name system calls, an action, and optionally conditions on arguments
//! (`clone` without namespace flags) and on the container (a rule that
//! applies only with `CAP_SYS_ADMIN`, or only on x86). Its default profile
//! is an allowlist: about 350 calls ordinary programs use; the others fail
//! with `EPERM`. [`Filter::Default`] is ours, written in the same format
//! (`seccomp/default.json` beside this file) with the same effect; `run
//! --security-opt seccomp=FILE.json` takes any profile in Docker's format,
//! `seccomp=unconfined` none; `--privileged` turns it off, as Docker does.
//!
//! libseccomp (the library runc and crun use, through the `libseccomp`
//! crate) turns a profile into BPF: it resolves names per architecture,
//! orders the comparisons and handles the 32-bit ABIs. That takes it 10 to
//! 30 ms for Docker's profile, so `run` compiles once ([`Seccomp::compile`],
//! kept under `ROOT/seccomp/` by a hash of its inputs) and records the
//! program with the container; `init` (and `exec`'s child) only load it
//! ([`Program::load`], about 0.3 ms). They load it before dropping
//! capabilities (they still hold `CAP_SYS_ADMIN` then, so no_new_privs is
//! not forced on), and the calls they make after that, `capset`, `prctl`
//! and `execve`, must pass the filter: a profile that refuses them refuses
//! to start, as with runc.

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::OnceLock;

use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext};
use serde::{Deserialize, Serialize};

/// The default profile, in Docker's format.
const DEFAULT_JSON: &str = include_str!("seccomp/default.json");

/// Names how [`Profile::compile`] builds a filter, for the cache's key:
/// change it with anything that changes the program made.
const COMPILER: &str = "mydocker-seccomp-1 (binary tree)";

/// The errno of an `SCMP_ACT_ERRNO` that names none: `EPERM`, as Docker.
const EPERM: u32 = 1;

/// Which filter a container's processes run under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    /// mydocker's default profile (`seccomp/default.json`).
    #[default]
    Default,
    /// No filter (`seccomp=unconfined`, or `--privileged`).
    Unconfined,
    /// A profile from `seccomp=FILE.json`, recorded whole, so `exec` gets
    /// the same even if the file changes.
    Profile(Box<Profile>),
}

/// A container's filter as recorded at `run`: the choice, and the program
/// compiled from it then (absent in a state recorded before step 34, and
/// for `unconfined`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seccomp {
    pub filter: Filter,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<Program>,
}

/// A compiled filter: classic BPF as the kernel takes it (`struct
/// sock_filter`, 8 bytes an instruction), recorded in hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Program(Vec<u8>);

impl From<Program> for String {
    fn from(p: Program) -> String {
        p.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl TryFrom<String> for Program {
    type Error = String;
    fn try_from(hex: String) -> Result<Program, String> {
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
                    .ok_or_else(|| format!("a seccomp program is hex, not {hex:.16}..."))
            })
            .collect::<Result<Vec<u8>, String>>()?;
        Program::new(bytes)
    }
}

impl Program {
    fn new(bytes: Vec<u8>) -> Result<Program, String> {
        if bytes.is_empty()
            || !bytes.len().is_multiple_of(8)
            || bytes.len() / 8 > usize::from(u16::MAX)
        {
            return Err(format!(
                "a seccomp program of {} bytes is not whole 8-byte instructions",
                bytes.len()
            ));
        }
        Ok(Program(bytes))
    }

    /// Its length in instructions.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Install it on the calling thread (`seccomp(SECCOMP_SET_MODE_FILTER)`):
    /// the caller holds `CAP_SYS_ADMIN` or has set no_new_privs.
    #[allow(unsafe_code)]
    pub fn load(&self) -> Result<(), Error> {
        let insns: Vec<libc::sock_filter> = self
            .0
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        let prog = libc::sock_fprog {
            // (`new` bounds the length by u16::MAX.)
            len: u16::try_from(insns.len()).unwrap_or(u16::MAX),
            filter: insns.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points at `insns`, which outlive the call; the
        // kernel copies the program and keeps no pointer to it.
        let r = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &raw const prog,
            )
        };
        if r != 0 {
            return Err(Error::Load(std::io::Error::last_os_error()));
        }
        crate::trace::mark("seccomp filter");
        Ok(())
    }
}

/// A seccomp profile in Docker's JSON format (the fields Docker's
/// `profiles/seccomp` reads; others, such as `comment`, are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// What a call no rule matches gets, e.g. `SCMP_ACT_ERRNO`.
    pub default_action: String,
    /// The errno of an `SCMP_ACT_ERRNO` default (`EPERM` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// Architectures the filter accepts calls of, e.g. `SCMP_ARCH_X86_64`;
    /// a call of any other fails the filter and kills the thread.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// The newer spelling: per native architecture, the others it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMap>,
    /// The rules, applied in order.
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

/// One entry of `archMap`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default)]
    pub sub_architectures: Vec<String>,
}

/// One entry of `syscalls`: these calls get this action, when the
/// arguments and the container match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// The older spelling of a one-name rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// All must hold (libseccomp compares each argument once per rule).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
    #[serde(default, skip_serializing_if = "Condition::is_empty")]
    pub includes: Condition,
    #[serde(default, skip_serializing_if = "Condition::is_empty")]
    pub excludes: Condition,
}

/// A comparison of argument `index` (0 to 5): `op` is `SCMP_CMP_EQ`,
/// `_NE`, `_LT`, `_LE`, `_GT`, `_GE` against `value`, or
/// `SCMP_CMP_MASKED_EQ`: `(arg & value) == value_two`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// When a rule applies: `includes` needs every capability named, one of
/// the architectures (Go's names: `amd64`, `x86`, `arm64`, ...) and a
/// kernel at least `minKernel` (`4.8`); `excludes` drops the rule when the
/// container has any capability or the architecture named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Condition {
    fn is_empty(&self) -> bool {
        self.caps.is_empty() && self.arches.is_empty() && self.min_kernel.is_none()
    }
}

/// A profile that cannot be read or turned into a filter, or a filter the
/// kernel refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("read the seccomp profile {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the seccomp profile {path} is not a profile in Docker's format: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("seccomp profile: {0}")]
    Invalid(String),
    #[error("seccomp: load the filter: {0}")]
    Load(#[source] std::io::Error),
    #[error("seccomp: the compiled filter in {path}: {source}")]
    Cache {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("seccomp: {what}: {source}")]
    Library {
        what: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
}

fn lib_err(what: impl Into<String>) -> impl FnOnce(libseccomp::error::SeccompError) -> Error {
    let what = what.into();
    move |source| Error::Library { what, source }
}

/// Parse the value of `--security-opt seccomp=VALUE`: `unconfined`, or the
/// path of a profile, read and checked now (a bad one is refused before
/// anything is made, with exit 125).
pub fn parse_opt(value: &str) -> Result<Filter, String> {
    match value {
        "" => Err("seccomp takes unconfined or the path of a profile (seccomp=FILE.json)".into()),
        "unconfined" => Ok(Filter::Unconfined),
        path => Profile::read(Path::new(path))
            .map(|p| Filter::Profile(Box::new(p)))
            .map_err(|e| e.to_string()),
    }
}

impl Seccomp {
    /// The filter, compiled for a container with `caps` (`run` does this
    /// once; the program is recorded with the container and reaches `init`
    /// and `exec`). libseccomp takes several milliseconds for Docker's
    /// profile, so programs are kept in `cache` (`ROOT/seccomp/`), named
    /// by a hash of everything that goes into them.
    pub fn compile(filter: Filter, caps: &[String], cache: &Path) -> Result<Seccomp, Error> {
        let profile = match &filter {
            Filter::Unconfined => return Ok(Seccomp::default_with(filter)),
            Filter::Default => default_profile()?,
            Filter::Profile(p) => p,
        };
        let host = Host::this();
        let mut key = std::hash::DefaultHasher::new();
        let text = serde_json::to_string(profile).map_err(|e| Error::Invalid(e.to_string()))?;
        (text, caps, format!("{:?}", host.arch), host.kernel).hash(&mut key);
        // What makes the program besides: libseccomp, and how we call it.
        let lib =
            libseccomp::ScmpVersion::current().map_err(lib_err("read libseccomp's version"))?;
        (lib.major, lib.minor, lib.micro, COMPILER).hash(&mut key);
        let path = cache.join(format!("{:016x}.bpf", key.finish()));
        let cache_err = |source| Error::Cache {
            path: path.display().to_string(),
            source,
        };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let ctx = profile.compile(caps, &host)?;
                let mut tmp = tempfile::tempfile().map_err(cache_err)?;
                ctx.export_bpf(&tmp)
                    .map_err(lib_err("compile the filter"))?;
                let mut bytes = Vec::new();
                std::io::Seek::rewind(&mut tmp).map_err(cache_err)?;
                std::io::Read::read_to_end(&mut tmp, &mut bytes).map_err(cache_err)?;
                std::fs::create_dir_all(cache).map_err(cache_err)?;
                crate::atomic_file::write_replacing(&path, &bytes, false).map_err(cache_err)?;
                bytes
            }
            Err(e) => return Err(cache_err(e)),
        };
        let program = Program::new(bytes).map_err(Error::Invalid)?;
        crate::trace::mark("seccomp compile");
        Ok(Seccomp {
            filter,
            program: Some(program),
        })
    }

    fn default_with(filter: Filter) -> Seccomp {
        Seccomp {
            filter,
            program: None,
        }
    }

    /// Install the container's filter on the calling thread: the program
    /// recorded at `run`, or (for a state recorded before step 34) the
    /// filter compiled now.
    pub fn load(&self, caps: &[String], no_new_privs: bool) -> Result<(), Error> {
        match &self.program {
            Some(program) => program.load(),
            None => self.filter.load(caps, no_new_privs),
        }
    }
}

impl Filter {
    /// Install the filter on the calling thread (and so on everything it
    /// runs). `caps` are the container's capabilities (`CAP_SYS_ADMIN`,
    /// ...), which rules may depend on; with `no_new_privs` false the
    /// caller must hold `CAP_SYS_ADMIN`.
    pub fn load(&self, caps: &[String], no_new_privs: bool) -> Result<(), Error> {
        let profile = match self {
            Filter::Unconfined => return Ok(()),
            Filter::Default => default_profile()?,
            Filter::Profile(p) => p,
        };
        let mut ctx = profile.compile(caps, &Host::this())?;
        ctx.set_ctl_nnp(no_new_privs)
            .map_err(lib_err("leave no_new_privs as the container has it"))?;
        ctx.load().map_err(lib_err("load the filter"))?;
        crate::trace::mark("seccomp filter");
        Ok(())
    }
}

/// The default profile, parsed once.
pub fn default_profile() -> Result<&'static Profile, Error> {
    static PARSED: OnceLock<Result<Profile, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| serde_json::from_str(DEFAULT_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Invalid(format!("the built-in default: {e}")))
}

/// What rules' conditions are compared with: the native architecture (as
/// libseccomp and as Go name it) and the kernel's version.
#[derive(Debug, Clone)]
pub struct Host {
    pub arch: ScmpArch,
    pub kernel: (u32, u32),
}

impl Host {
    pub fn this() -> Host {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        Host {
            arch: ScmpArch::native(),
            kernel: kernel_version(&release).unwrap_or((0, 0)),
        }
    }

    /// Go's name of the architecture, as `includes.arches` spells it.
    fn go_arch(&self) -> &'static str {
        match self.arch {
            ScmpArch::X8664 => "amd64",
            ScmpArch::X86 => "x86",
            ScmpArch::X32 => "x32",
            ScmpArch::Aarch64 => "arm64",
            ScmpArch::Arm => "arm",
            ScmpArch::Riscv64 => "riscv64",
            ScmpArch::Ppc64Le => "ppc64le",
            ScmpArch::S390X => "s390x",
            ScmpArch::S390 => "s390",
            ScmpArch::Loongarch64 => "loong64",
            _ => "",
        }
    }
}

/// `6.1.0-13-amd64` -> (6, 1).
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

fn action(name: &str, errno: Option<u32>) -> Result<ScmpAction, Error> {
    if name == "SCMP_ACT_NOTIFY" {
        return Err(Error::Invalid(
            "SCMP_ACT_NOTIFY needs a listener, which mydocker does not run".into(),
        ));
    }
    let value = match name {
        "SCMP_ACT_ERRNO" => Some(errno.unwrap_or(EPERM)),
        "SCMP_ACT_TRACE" => Some(errno.unwrap_or(0)),
        _ => None,
    };
    let value = value
        .map(i32::try_from)
        .transpose()
        .map_err(|_| Error::Invalid(format!("{name}: the value is too large")))?;
    ScmpAction::from_str(name, value)
        .map_err(|_| Error::Invalid(format!("unknown action {name:?}")))
}

fn arch(name: &str) -> Result<ScmpArch, Error> {
    name.parse()
        .map_err(|_| Error::Invalid(format!("unknown architecture {name:?}")))
}

fn compare(arg: &Arg) -> Result<ScmpArgCompare, Error> {
    if arg.index > 5 {
        return Err(Error::Invalid(format!(
            "argument index {} (a system call has arguments 0 to 5)",
            arg.index
        )));
    }
    let (op, datum) = match arg.op.as_str() {
        "SCMP_CMP_MASKED_EQ" => (ScmpCompareOp::MaskedEqual(arg.value), arg.value_two),
        other => (
            other
                .parse()
                .map_err(|_| Error::Invalid(format!("unknown comparison {other:?}")))?,
            arg.value,
        ),
    };
    Ok(ScmpArgCompare::new(arg.index, op, datum))
}

impl Profile {
    /// Read a profile from a file.
    pub fn read(path: &Path) -> Result<Profile, Error> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: shown.clone(),
            source,
        })?;
        let profile: Profile = serde_json::from_str(&text).map_err(|source| Error::Parse {
            path: shown.clone(),
            source,
        })?;
        // Every name, action, comparison and architecture is checked now.
        profile
            .compile(&[], &Host::this())
            .map_err(|e| Error::Invalid(format!("{shown}: {e}")))?;
        Ok(profile)
    }

    /// Whether a rule applies to a container with `caps` on `host`.
    fn applies(rule: &Rule, caps: &[String], host: &Host) -> bool {
        let has = |c: &String| caps.contains(c);
        let inc = &rule.includes;
        let exc = &rule.excludes;
        inc.caps.iter().all(has)
            && (inc.arches.is_empty() || inc.arches.iter().any(|a| a == host.go_arch()))
            && inc
                .min_kernel
                .as_deref()
                .and_then(kernel_version)
                .is_none_or(|min| host.kernel >= min)
            && !exc.caps.iter().any(has)
            && !exc.arches.iter().any(|a| a == host.go_arch())
    }

    /// The architectures the filter accepts: those listed, or the native
    /// one's entry of `archMap`, or the native one alone.
    fn arches(&self, host: &Host) -> Result<Vec<ScmpArch>, Error> {
        let mut out = vec![host.arch];
        for name in &self.architectures {
            out.push(arch(name)?);
        }
        for entry in &self.arch_map {
            if arch(&entry.architecture)? == host.arch {
                for sub in &entry.sub_architectures {
                    out.push(arch(sub)?);
                }
            }
        }
        Ok(out)
    }

    /// This profile as it applies to a container with `caps` on `host`:
    /// the rules whose `includes` and `excludes` hold, without those
    /// conditions; `archMap` replaced by the architectures of the native
    /// one's entry; names libseccomp does not know and rules with the
    /// default action dropped. [`Profile::compile`] makes the same filter
    /// from either. Serialized, it is the runtime-spec's `linux.seccomp`
    /// (`config.md`: `defaultAction`, `defaultErrnoRet`, `architectures`,
    /// `syscalls` of `names`, `action`, `errnoRet`, `args`), which is how
    /// the benchmark gives crun and runc the filter a default container
    /// gets here.
    pub fn resolved(&self, caps: &[String], host: &Host) -> Result<Profile, Error> {
        let default = action(&self.default_action, self.default_errno_ret)?;
        let mut architectures = self.architectures.clone();
        for entry in &self.arch_map {
            if arch(&entry.architecture)? == host.arch {
                architectures.push(entry.architecture.clone());
                architectures.extend(entry.sub_architectures.iter().cloned());
            }
        }
        let mut syscalls = Vec::new();
        for rule in &self.syscalls {
            if action(&rule.action, rule.errno_ret)? == default
                || !Profile::applies(rule, caps, host)
            {
                continue;
            }
            let names: Vec<String> = rule
                .names
                .iter()
                .chain(&rule.name)
                .filter(|n| libseccomp::ScmpSyscall::from_name(n).is_ok())
                .cloned()
                .collect();
            if !names.is_empty() {
                syscalls.push(Rule {
                    names,
                    name: None,
                    includes: Condition::default(),
                    excludes: Condition::default(),
                    ..rule.clone()
                });
            }
        }
        Ok(Profile {
            default_action: self.default_action.clone(),
            default_errno_ret: self.default_errno_ret,
            architectures,
            arch_map: Vec::new(),
            syscalls,
        })
    }

    /// The filter of this profile for a container with `caps` on `host`,
    /// ready to load. A name libseccomp does not know is skipped, as
    /// Docker skips it (a profile may name calls of newer kernels).
    pub fn compile(&self, caps: &[String], host: &Host) -> Result<ScmpFilterContext, Error> {
        let default = action(&self.default_action, self.default_errno_ret)?;
        let mut ctx = ScmpFilterContext::new(default).map_err(lib_err("create a filter"))?;
        ctx.set_ctl_optimize(2)
            .map_err(lib_err("ask for a binary search of the calls"))?;
        for a in self.arches(host)? {
            if !ctx
                .is_arch_present(a)
                .map_err(lib_err("list architectures"))?
            {
                ctx.add_arch(a)
                    .map_err(lib_err(format!("add the architecture {a:?}")))?;
            }
        }
        for rule in &self.syscalls {
            let act = action(&rule.action, rule.errno_ret)?;
            let cmps = rule
                .args
                .iter()
                .map(compare)
                .collect::<Result<Vec<_>, _>>()?;
            if act == default || !Profile::applies(rule, caps, host) {
                continue;
            }
            for name in rule.names.iter().chain(&rule.name) {
                let Ok(call) = libseccomp::ScmpSyscall::from_name(name) else {
                    continue;
                };
                ctx.add_rule_conditional(act, call, &cmps)
                    .map_err(lib_err(format!("add the rule for {name}")))?;
            }
        }
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x86_64(kernel: (u32, u32)) -> Host {
        Host {
            arch: ScmpArch::X8664,
            kernel,
        }
    }

    fn rules_for<'a>(p: &'a Profile, name: &str) -> Vec<&'a Rule> {
        p.syscalls
            .iter()
            .filter(|r| r.names.iter().any(|n| n == name))
            .collect()
    }

    #[test]
    fn the_default_parses_and_compiles() {
        let p = default_profile().unwrap();
        assert_eq!(p.default_action, "SCMP_ACT_ERRNO");
        assert_eq!(p.default_errno_ret, Some(EPERM));
        let caps = crate::security::Profile::default().capabilities;
        p.compile(&caps, &Host::this()).unwrap();
    }

    #[test]
    fn the_default_refuses_what_docker_refuses() {
        let p = default_profile().unwrap();
        let sys_admin = ["CAP_SYS_ADMIN".to_string()];
        let host = x86_64((6, 1));
        for name in [
            "keyctl",
            "add_key",
            "request_key",
            "kexec_load",
            "userfaultfd",
            "pivot_root",
            "io_uring_setup",
            "swapon",
        ] {
            let any = rules_for(p, name)
                .iter()
                .any(|r| Profile::applies(r, &sys_admin, &host));
            assert!(!any, "{name} is allowed");
        }
        let admin_only = |name: &str| {
            let rules = rules_for(p, name);
            let default = crate::security::Profile::default().capabilities;
            !rules.iter().any(|r| Profile::applies(r, &default, &host))
                && rules.iter().any(|r| Profile::applies(r, &sys_admin, &host))
        };
        for name in ["mount", "umount2", "unshare", "setns", "sethostname"] {
            assert!(admin_only(name), "{name}");
        }
    }

    #[test]
    fn conditions_read_caps_arches_and_kernel() {
        let rule = |includes: Condition, excludes: Condition| Rule {
            names: vec!["x".into()],
            name: None,
            action: "SCMP_ACT_ALLOW".into(),
            errno_ret: None,
            args: vec![],
            includes,
            excludes,
        };
        let caps = |c: &[&str]| Condition {
            caps: c.iter().map(|s| s.to_string()).collect(),
            ..Condition::default()
        };
        let admin = vec!["CAP_SYS_ADMIN".to_string()];
        let host = x86_64((4, 19));
        let r = rule(caps(&["CAP_SYS_ADMIN"]), Condition::default());
        assert!(Profile::applies(&r, &admin, &host));
        assert!(!Profile::applies(&r, &[], &host));
        let r = rule(Condition::default(), caps(&["CAP_SYS_ADMIN"]));
        assert!(!Profile::applies(&r, &admin, &host));
        assert!(Profile::applies(&r, &[], &host));
        let arches = |a: &[&str]| Condition {
            arches: a.iter().map(|s| s.to_string()).collect(),
            ..Condition::default()
        };
        assert!(Profile::applies(
            &rule(arches(&["amd64", "x86"]), Condition::default()),
            &[],
            &host
        ));
        assert!(!Profile::applies(
            &rule(arches(&["s390x"]), Condition::default()),
            &[],
            &host
        ));
        assert!(!Profile::applies(
            &rule(Condition::default(), arches(&["amd64"])),
            &[],
            &host
        ));
        let min = |k: &str| Condition {
            min_kernel: Some(k.into()),
            ..Condition::default()
        };
        assert!(Profile::applies(
            &rule(min("4.8"), Condition::default()),
            &[],
            &host
        ));
        assert!(!Profile::applies(
            &rule(min("5.4"), Condition::default()),
            &[],
            &host
        ));
    }

    #[test]
    fn resolving_keeps_what_applies_and_compiles_to_the_same_filter() {
        let p = default_profile().unwrap();
        let host = x86_64((6, 1));
        let caps = crate::security::Profile::default().capabilities;
        let r = p.resolved(&caps, &host).unwrap();
        assert_eq!(
            r.architectures,
            ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
        );
        assert!(r.arch_map.is_empty());
        assert!(r.syscalls.iter().all(|rule| rule.includes.is_empty()
            && rule.excludes.is_empty()
            && rule.name.is_none()
            && (rule.action.as_str(), rule.errno_ret.unwrap_or(EPERM))
                != ("SCMP_ACT_ERRNO", EPERM)
            && !rule.names.is_empty()));
        let allowed = |r: &Profile, name: &str| {
            r.syscalls
                .iter()
                .any(|rule| rule.args.is_empty() && rule.names.iter().any(|n| n == name))
        };
        assert!(allowed(&r, "read"));
        assert!(!allowed(&r, "mount") && !allowed(&r, "keyctl"));
        let admin = [caps.clone(), vec!["CAP_SYS_ADMIN".to_string()]].concat();
        assert!(allowed(&p.resolved(&admin, &host).unwrap(), "mount"));
        // The runtime-spec's shape: no Docker-only keys.
        let json = serde_json::to_value(&r).unwrap();
        for key in ["archMap", "includes", "excludes", "name"] {
            assert!(!json.to_string().contains(&format!("\"{key}\"")), "{key}");
        }
        // The same program, resolved or not.
        let bpf = |p: &Profile, caps: &[String]| {
            let mut out = tempfile::tempfile().unwrap();
            p.compile(caps, &host).unwrap().export_bpf(&out).unwrap();
            let mut bytes = Vec::new();
            std::io::Seek::rewind(&mut out).unwrap();
            std::io::Read::read_to_end(&mut out, &mut bytes).unwrap();
            bytes
        };
        assert_eq!(bpf(&r, &caps), bpf(p, &caps));
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.1.0-13-amd64"), Some((6, 1)));
        assert_eq!(kernel_version("4.8"), Some((4, 8)));
        assert_eq!(kernel_version("5"), Some((5, 0)));
        assert_eq!(kernel_version("x"), None);
    }

    #[test]
    fn bad_profiles_are_named() {
        let bad = |json: &str| {
            let p: Profile = serde_json::from_str(json).unwrap();
            p.compile(&[], &x86_64((6, 1))).unwrap_err().to_string()
        };
        let e = bad(r#"{"defaultAction": "SCMP_ACT_MAYBE"}"#);
        assert!(e.contains("SCMP_ACT_MAYBE"), "{e}");
        let e = bad(r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}"#);
        assert!(e.contains("SCMP_ARCH_Z80"), "{e}");
        let e = bad(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
        );
        assert!(e.contains("index 6"), "{e}");
        let e = bad(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"],
                "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}"#,
        );
        assert!(e.contains("SCMP_CMP_ABOUT"), "{e}");
        let e = bad(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#);
        assert!(e.contains("listener"), "{e}");
    }

    #[test]
    fn unknown_names_are_skipped_as_docker_skips_them() {
        let p: Profile = serde_json::from_str(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["no_such_call", "mkdir"], "action": "SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        p.compile(&[], &x86_64((6, 1))).unwrap();
    }

    #[test]
    fn the_option_reads_unconfined_or_a_file() {
        assert_eq!(parse_opt("unconfined"), Ok(Filter::Unconfined));
        assert!(parse_opt("").unwrap_err().contains("unconfined"));
        let e = parse_opt("/nonexistent/profile.json").unwrap_err();
        assert!(e.contains("/nonexistent/profile.json"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.json");
        std::fs::write(&file, "{ not json").unwrap();
        let e = parse_opt(file.to_str().unwrap()).unwrap_err();
        assert!(e.contains("Docker's format"), "{e}");
        std::fs::write(
            &file,
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}"#,
        )
        .unwrap();
        let Ok(Filter::Profile(p)) = parse_opt(file.to_str().unwrap()) else {
            panic!("not a profile");
        };
        assert_eq!(p.syscalls[0].names, ["mkdir"]);
    }

    #[test]
    fn a_program_is_recorded_in_hex_and_read_back_whole() {
        let p = Program::new((0u8..16).collect()).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#""000102030405060708090a0b0c0d0e0f""#);
        assert_eq!(serde_json::from_str::<Program>(&json).unwrap(), p);
        assert_eq!(p.len(), 2);
        for bad in [r#""""#, r#""0001020304050607ff""#, r#""zz01020304050607""#] {
            assert!(serde_json::from_str::<Program>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compiling_keeps_one_program_per_set_of_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("seccomp");
        let caps = crate::security::Profile::default().capabilities;
        let a = Seccomp::compile(Filter::Default, &caps, &cache).unwrap();
        let b = Seccomp::compile(Filter::Default, &caps, &cache).unwrap();
        assert_eq!(a, b);
        assert!(a.program.as_ref().is_some_and(|p| p.len() > 100));
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
        let admin = [caps.clone(), vec!["CAP_SYS_ADMIN".to_string()]].concat();
        let c = Seccomp::compile(Filter::Default, &admin, &cache).unwrap();
        assert_ne!(c.program, a.program);
        assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 2);
        let none = Seccomp::compile(Filter::Unconfined, &caps, &cache).unwrap();
        assert_eq!(none.program, None);
    }

    #[test]
    fn the_filter_is_recorded_by_name_or_whole() {
        let json = serde_json::to_string(&Filter::Default).unwrap();
        assert_eq!(json, r#""default""#);
        let back: Filter = serde_json::from_str(r#""unconfined""#).unwrap();
        assert_eq!(back, Filter::Unconfined);
        let p = Filter::Profile(Box::new(default_profile().unwrap().clone()));
        let back: Filter = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
