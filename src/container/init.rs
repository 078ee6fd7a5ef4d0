//! The first process inside the container (`mydocker init`, step 05). It is
//! already in the new namespaces but still sees the host's mounts. Before
//! the user's program may run it:
//!
//! 1. makes every mount private (`MS_REC | MS_PRIVATE` on `/`). On hosts
//!    where `/` is a shared mount (systemd makes it so), a mount made in the
//!    new namespace would otherwise propagate back to the host: the classic
//!    "host /proc is broken after running a container" bug
//!    ([`crate::fs::mount_ns`]);
//! 2. mounts a fresh `proc` on `/proc`, so `ps` and `/proc/self` show the
//!    container's PID namespace; from step 10 it first pivots into the
//!    container's own root filesystem and adds `/dev` and `/sys`
//!    (`rootfs_host.rs` before step 10, `rootfs_pivot.rs` from then on);
//! 3. sets the hostname in its UTS namespace;
//! 4. restores the signal mask and dispositions it inherited from `run`;
//! 5. from step 36, with `-t`, makes the program's terminal in the
//!    container's `/dev/pts` and hands its master to `run`
//!    (`container::stdio`, `crate::terminal`);
//! 6. from step 33, confines itself to the container's capabilities and
//!    no_new_privs (`security::capabilities`); from step 35 it also becomes
//!    the container's user (`-u`, `security::user`);
//! 7. `execve`s the program: the program takes over PID 1.
//!
//! From step 40, under the OCI front end, init makes the bundle's new
//! cgroup namespace once it is in its cgroups (before step 1), sets the
//! bundle's rlimits and, between steps 6 and 7, checks that the program
//! can be run and waits on the start FIFO until `start`
//! (`container::exec_fifo`).
//!
//! From step 35, step 2 ends with the container's view of the kernel:
//! masked and read-only paths in `/proc` and `/sys`, `--tmpfs` and
//! `--read-only` (`fs::kernel_view`).
//!
//! Every system call of steps 1 to 3 goes through the [`Syscall`] seam
//! (`crate::syscall`), so their order is unit-tested without root.
//!
//! When the program cannot be started init exits 127 (not found) or 126
//! (found but not executable), as Docker does.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
#[cfg(test)]
use nix::mount::MsFlags;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};

use super::channel;
use super::spec::Spec;
use crate::exit_code::{EXIT_CANNOT_RUN, EXIT_NOT_FOUND};
use crate::syscall::{Linux, Syscall};

/// The search path for a command given without a `/` (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Run as the container's init: set up, then become the user's program.
/// Returns only on failure, with the exit code to use.
pub fn main(inbox: &channel::Inbox) -> Result<i32> {
    let spec = channel::receive(inbox)?;
    crate::trace::start();
    let set_up = (|| {
        join_cgroups(&spec)?;
        enter_cgroup_namespace(&spec)?;
        prepare(&Linux, &spec, Path::new("/"))?;
        crate::trace::mark("init mounts");
        take_terminal(&Linux, &spec)?;
        enter_workdir(&spec)?;
        set_rlimits(&spec)?;
        confine(&spec)?;
        await_start(&spec)
    })();
    let heard = set_up.is_err() && caller_reports_set_up_failures(&spec);
    if let Err(e) = set_up {
        // Said on stderr by `main` (exit 125); `run` hears it too.
        channel::report_failure(&super::ExecFailure {
            code: crate::exit_code::EXIT_MYDOCKER,
            message: format!("{e:#}"),
        });
        if heard {
            return Ok(crate::exit_code::EXIT_MYDOCKER);
        }
        return Err(e);
    }
    Ok(exec(
        &spec.argv,
        spec.env.as_deref(),
        channel::report_failure,
    ))
}

/// Move this (single-threaded) process into the container's cgroups, when
/// `run` left that to it (`Spec::cgroup_tasks`), before anything else:
/// what init does is charged to the container, and a failure stops it
/// before the program runs.
fn join_cgroups(spec: &Spec) -> Result<()> {
    for tasks in &spec.cgroup_tasks {
        std::fs::write(tasks, "0")
            .with_context(|| format!("move init into its cgroup ({})", tasks.display()))?;
    }
    if !spec.cgroup_tasks.is_empty() {
        crate::trace::mark("init cgroup placement");
    }
    Ok(())
}

/// Before step 40 a container keeps the caller's cgroup namespace.
#[cfg(not(feature = "oci_runtime"))]
fn enter_cgroup_namespace(_spec: &Spec) -> Result<()> {
    Ok(())
}

/// From step 40, for a bundle that asks for a new cgroup namespace
/// (`man 7 cgroup_namespaces`): made now, with init in every one of its
/// cgroups (by itself just before, or by the runtime before it sent the
/// spec), so the namespace's root is the container's cgroup in each
/// hierarchy: `/proc/self/cgroup` shows `/` inside, and the host's layout
/// stays hidden. Before any mount, as runc does it.
#[cfg(feature = "oci_runtime")]
fn enter_cgroup_namespace(spec: &Spec) -> Result<()> {
    if spec.cgroup_ns {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .context("make the container's cgroup namespace (unshare)")?;
    }
    Ok(())
}

/// Before step 36 the program keeps the stdio `run` gave init.
#[cfg(not(feature = "terminal"))]
fn take_terminal(_sys: &dyn Syscall, _spec: &Spec) -> Result<()> {
    Ok(())
}

/// From step 36, with `-t`: make a pseudo-terminal in the container's own
/// devpts, at the caller's size; send its master to `run` over the console
/// socket init has as its stdin; take the slave as controlling terminal and
/// stdio (in a new session); and bind it over `/dev/console`, as runc does.
/// Done before the capabilities are dropped (the bind mount needs
/// CAP_SYS_ADMIN).
#[cfg(feature = "terminal")]
fn take_terminal(sys: &dyn Syscall, spec: &Spec) -> Result<()> {
    use std::os::fd::AsFd;

    use crate::terminal::{console_socket, pty};
    let Some(size) = spec.terminal else {
        return Ok(());
    };
    let pty = pty::open(Path::new("/dev/pts")).context("make the container's terminal")?;
    pty::set_size(pty.master.as_fd(), size)?;
    console_socket::send(std::io::stdin().as_fd(), pty.master.as_fd())?;
    pty::take_as_controlling(&pty.slave)?;
    let console = Path::new("/dev/console");
    if std::fs::symlink_metadata(console).is_err() {
        std::fs::File::create(console).context("create /dev/console")?;
    }
    sys.mount(
        Some(&pty.slave_path),
        console,
        None,
        nix::mount::MsFlags::MS_BIND,
        None,
    )
    .with_context(|| format!("bind {} over /dev/console", pty.slave_path.display()))?;
    Ok(())
}

/// Until step 37 the program starts in `/`, where the pivot left init.
#[cfg(not(feature = "oci_image"))]
fn enter_workdir(_spec: &Spec) -> Result<()> {
    Ok(())
}

/// From step 38: the working directory (`-w`, the image's WorkingDir),
/// made first when missing, as Docker does; relative paths are refused.
#[cfg(feature = "oci_image")]
fn enter_workdir(spec: &Spec) -> Result<()> {
    let Some(dir) = &spec.workdir else {
        return Ok(());
    };
    anyhow::ensure!(
        dir.starts_with('/'),
        "working directory {dir:?}: not an absolute path"
    );
    std::fs::create_dir_all(dir).with_context(|| format!("create the working directory {dir}"))?;
    std::env::set_current_dir(dir).with_context(|| format!("enter the working directory {dir}"))
}

/// Before step 40 the program keeps the limits init inherited.
#[cfg(not(feature = "oci_runtime"))]
fn set_rlimits(_spec: &Spec) -> Result<()> {
    Ok(())
}

/// From step 40: a bundle's `process.rlimits`, set while init still has
/// its capabilities (`container::rlimits`).
#[cfg(feature = "oci_runtime")]
fn set_rlimits(spec: &Spec) -> Result<()> {
    super::rlimits::apply(&spec.rlimits)
}

/// Before step 40 a container is started as soon as it is created.
#[cfg(not(feature = "oci_runtime"))]
fn await_start(_spec: &Spec) -> Result<()> {
    Ok(())
}

/// From step 40, under the OCI front end: set up and confined (its
/// capabilities and user already the container's, so a refusal is
/// `create`'s error, and `start` leaves only the `execve` to do, as in
/// runc), init tells `create` it is done and waits on the start FIFO
/// until `start` (`container::exec_fifo`), then runs the bundle's
/// `startContainer` hooks, as the container's user, before answering
/// `start`.
#[cfg(feature = "oci_runtime")]
fn await_start(spec: &Spec) -> Result<()> {
    let started = || match &spec.hooks {
        Some(hooks) => hooks.start_container(),
        None => Ok(()),
    };
    match spec.exec_fifo {
        Some(fd) => {
            check_runnable(&spec.argv, spec.env.as_deref())?;
            super::exec_fifo::wait_for_start(fd, channel::announce_ready, &started)
        }
        None => Ok(()),
    }
}

/// From step 40, before init waits for `start`: the program must be one
/// it can run, found with the process's `PATH` as `execve` will be given
/// it, a file with an execute bit, so a missing or non-executable one is
/// `create`'s error, in the words `exec` would use (runc checks it there
/// too, with Go's `LookPath`).
#[cfg(feature = "oci_runtime")]
fn check_runnable(argv: &[String], env: Option<&[String]>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let resolved = locate(argv, env).map_err(|e| anyhow::anyhow!(e.message))?;
    let program = argv.first().map_or("", String::as_str);
    let meta = std::fs::metadata(&resolved).map_err(|e| {
        let errno = nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0));
        anyhow::anyhow!("exec: {program:?}: {}", errno.desc())
    })?;
    anyhow::ensure!(
        meta.permissions().mode() & 0o111 != 0,
        "exec: {program:?}: permission denied"
    );
    Ok(())
}

/// Before step 40 init says on stderr why it could not set up (`run`
/// hears it too, and does not repeat it).
#[cfg(not(feature = "oci_runtime"))]
fn caller_reports_set_up_failures(_spec: &Spec) -> bool {
    false
}

/// From step 40, under the OCI front end the runtime says it, in its
/// `--log` format (`create` hears it on the ready pipe, `start` on the
/// start FIFO), and init's stderr is the caller's or the container's: init
/// ends without a word.
#[cfg(feature = "oci_runtime")]
fn caller_reports_set_up_failures(spec: &Spec) -> bool {
    spec.exec_fifo.is_some()
}

/// Before step 33 the program keeps every capability of root.
#[cfg(not(feature = "capabilities"))]
fn confine(_spec: &Spec) -> Result<()> {
    Ok(())
}

/// From step 33: only the container's capabilities pass `execve`.
#[cfg(all(feature = "capabilities", not(feature = "hardening")))]
fn confine(spec: &Spec) -> Result<()> {
    spec.security
        .apply()
        .context("confine the container to its capabilities")
}

/// From step 35: the container's capabilities, and its user (`-u`)
/// switched to between the bounding set and the other sets, as runc does.
#[cfg(feature = "hardening")]
fn confine(spec: &Spec) -> Result<()> {
    crate::security::user::confine(&spec.security, spec.user.as_ref())
        .context("confine the container to its user and capabilities")
}

/// Everything init does to the system before the program runs, in order:
/// the filesystem (private mounts, `/proc`, from step 10 the pivot), then
/// the hostname. `inside` is where the container's root is seen once it is
/// set up: `/` (a temporary directory in unit tests, whose fake makes no
/// mount and no pivot).
fn prepare(sys: &dyn Syscall, spec: &Spec, inside: &Path) -> Result<()> {
    super::rootfs_inside::setup(sys, spec, inside)?;
    if !spec.hostname.is_empty() {
        sys.sethostname(&spec.hostname)
            .with_context(|| format!("set the hostname to {:?}", spec.hostname))?;
    }
    Ok(())
}

/// Find `program` as `execvp` would: as given when it holds a `/`, else in
/// each directory of `path`.
pub fn resolve(program: &str, path: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())
}

/// Replace this process with `argv`, with the environment `env` when given
/// (else this process's own). When that fails: says why on stderr, tells
/// `tell` (init tells `run` over its ready pipe), and returns the exit code.
pub fn exec(argv: &[String], env: Option<&[String]>, tell: fn(&super::ExecFailure)) -> i32 {
    match try_exec(argv, env) {
        Ok(never) => match never {},
        Err(ExecError { code, message }) => {
            eprintln!("mydocker: {message}");
            tell(&super::ExecFailure { code, message });
            code
        }
    }
}

struct ExecError {
    code: i32,
    message: String,
}

enum Never {}

/// The program of `argv` as `execvp` finds it, with the `PATH` of `env`
/// (else this process's, else [`DEFAULT_PATH`]); not found, or a
/// directory, is the error `exec` reports.
fn locate(argv: &[String], env: Option<&[String]>) -> std::result::Result<PathBuf, ExecError> {
    let fail = |code, message: String| ExecError { code, message };
    let Some(program) = argv.first() else {
        return Err(fail(EXIT_NOT_FOUND, "no command given".into()));
    };
    let path_var = match env {
        Some(env) => env
            .iter()
            .find_map(|kv| kv.strip_prefix("PATH="))
            .map(str::to_string),
        None => std::env::var("PATH").ok(),
    }
    .unwrap_or_else(|| DEFAULT_PATH.to_string());
    let Some(resolved) = resolve(program, &path_var) else {
        return Err(fail(
            EXIT_NOT_FOUND,
            format!("exec: {program:?}: executable file not found in $PATH"),
        ));
    };
    if resolved.is_dir() {
        return Err(fail(
            EXIT_CANNOT_RUN,
            format!("exec: {program:?}: is a directory"),
        ));
    }
    Ok(resolved)
}

fn try_exec(argv: &[String], env: Option<&[String]>) -> std::result::Result<Never, ExecError> {
    let fail = |code, message: String| ExecError { code, message };
    let resolved = locate(argv, env)?;
    let program = argv.first().map_or("", String::as_str);
    let c_path = CString::new(resolved.as_os_str().as_bytes())
        .map_err(|_| fail(EXIT_CANNOT_RUN, "the command contains a NUL byte".into()))?;
    let c_argv: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| fail(EXIT_CANNOT_RUN, "an argument contains a NUL byte".into()))?;
    restore_signals().map_err(|e| fail(EXIT_CANNOT_RUN, format!("{e:#}")))?;
    close_inherited_descriptors();
    let err = match env {
        Some(env) => {
            let c_env: Vec<CString> = env
                .iter()
                .filter_map(|kv| CString::new(kv.as_bytes()).ok())
                .collect();
            nix::unistd::execve(&c_path, &c_argv, &c_env).unwrap_err()
        }
        None => nix::unistd::execv(&c_path, &c_argv).unwrap_err(),
    };
    let code = if err == nix::Error::ENOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_RUN
    };
    Err(fail(code, format!("exec: {program:?}: {}", err.desc())))
}

/// Mark every descriptor above stderr close-on-exec, so the program starts
/// with stdin, stdout and stderr only, whatever the caller of mydocker left
/// open (runc does the same).
fn close_inherited_descriptors() {
    // SAFETY: close_range only changes descriptor flags of this process.
    #[allow(unsafe_code)]
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
}

/// The program starts as Docker's do, with no signal blocked and every
/// signal at its default disposition. `execve` resets caught signals but
/// keeps ignored ones: Rust ignores SIGPIPE, and whoever started `run` may
/// have ignored others (a shell's background job ignores SIGINT and
/// SIGQUIT, `nohup` SIGHUP); `run` blocks the signals it forwards.
fn restore_signals() -> Result<()> {
    Signal::iterator()
        .filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP))
        .try_for_each(super::process::to_default)?;
    // The real-time signals. The C library keeps the first two or three
    // for itself and refuses to change them; those stay as they are.
    for n in libc::SIGRTMIN()..=libc::SIGRTMAX() {
        // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask.
        #[allow(unsafe_code)]
        unsafe {
            let dfl: libc::sigaction = std::mem::zeroed();
            libc::sigaction(n, &dfl, std::ptr::null_mut());
        }
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .context("unblock signals")?;
    Ok(())
}

/// Refuse to run `init` by hand: it only makes sense as `run`'s child.
pub fn ensure_pid_one() -> Result<()> {
    if std::process::id() != 1 {
        bail!("init is started by `mydocker run`; it is not meant to be run directly");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::recording::{Call, Recording};

    #[allow(clippy::needless_update)]
    fn spec(root: &Path) -> Spec {
        Spec {
            argv: vec!["true".into()],
            hostname: "c0ffee".into(),
            rootfs: Some(root.join("rootfs")),
            env: None,
            ..Spec::default()
        }
    }

    #[test]
    fn init_makes_root_private_before_mounting_proc_and_names_the_host_last() {
        let t = tempfile::tempdir().unwrap();
        let sys = Recording::new();
        prepare(&sys, &spec(t.path()), t.path()).unwrap();
        let private = sys.position("rprivate /", |c| {
            matches!(c, Call::Mount { target, flags, .. }
                if target == Path::new("/") && *flags == MsFlags::MS_REC | MsFlags::MS_PRIVATE)
        });
        let proc = sys.position(
            "mount proc",
            |c| matches!(c, Call::Mount { fstype: Some(t), .. } if t == "proc"),
        );
        let hostname = sys.position("sethostname", |c| *c == Call::Sethostname("c0ffee".into()));
        assert_eq!(private, 0, "{:#?}", sys.calls());
        assert!(private < proc && proc < hostname, "{:#?}", sys.calls());
        assert_eq!(hostname, sys.calls().len() - 1);
    }

    #[cfg(feature = "hardening")]
    #[test]
    fn the_kernel_view_is_masked_after_proc_is_mounted_and_before_the_hostname() {
        let t = tempfile::tempdir().unwrap();
        for dir in ["proc", "dev"] {
            std::fs::create_dir_all(t.path().join(dir)).unwrap();
        }
        std::fs::write(t.path().join("proc/kcore"), "").unwrap();
        let spec = Spec {
            view: crate::fs::kernel_view::View {
                mask: true,
                read_only: true,
                ..Default::default()
            },
            ..spec(t.path())
        };
        let sys = Recording::new();
        prepare(&sys, &spec, t.path()).unwrap();
        let proc = sys.position(
            "mount proc",
            |c| matches!(c, Call::Mount { fstype: Some(t), .. } if t == "proc"),
        );
        let sysfs = sys.position(
            "mount sysfs",
            |c| matches!(c, Call::Mount { fstype: Some(t), .. } if t == "sysfs"),
        );
        let kcore = t.path().join("proc/kcore");
        let mask = sys.position("mask kcore", |c| c.mount_target() == Some(&kcore));
        let ro_root = sys.position("read-only root", |c| {
            matches!(c, Call::Mount { target, flags, .. }
                if target == t.path() && flags.contains(MsFlags::MS_REMOUNT))
        });
        let hostname = sys.position("sethostname", |c| matches!(c, Call::Sethostname(_)));
        assert!(proc < mask && sysfs < mask, "{:#?}", sys.calls());
        assert!(mask < ro_root && ro_root < hostname, "{:#?}", sys.calls());
    }

    #[cfg(feature = "oci_runtime")]
    #[test]
    fn a_program_not_found_or_without_an_execute_bit_is_refused_before_start() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("prog");
        std::fs::write(&file, "#!/bin/sh\n").unwrap();
        let path = format!("PATH={}", t.path().display());
        let env = [path];
        let check = |program: &str| {
            check_runnable(&[program.to_string()], Some(&env)).map_err(|e| e.to_string())
        };
        assert_eq!(
            check("nosuchcmd").unwrap_err(),
            r#"exec: "nosuchcmd": executable file not found in $PATH"#
        );
        assert_eq!(
            check("prog").unwrap_err(),
            r#"exec: "prog": permission denied"#
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        check("prog").unwrap();
        let missing = t.path().join("gone").display().to_string();
        assert!(
            check(&missing)
                .unwrap_err()
                .contains("No such file or directory"),
            "{missing}"
        );
    }

    #[test]
    fn init_stops_at_the_first_refused_mount() {
        let t = tempfile::tempdir().unwrap();
        let sys = Recording::refusing(
            |c| c.mount_target() == Some(Path::new("/")),
            nix::Error::EPERM,
        );
        let err = prepare(&sys, &spec(t.path()), t.path()).unwrap_err();
        assert!(format!("{err:#}").contains("make-rprivate"), "{err:#}");
        assert_eq!(sys.calls().len(), 1, "{:#?}", sys.calls());
    }
}
