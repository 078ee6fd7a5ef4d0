//! Step 04: the cgroup manager on this machine's real hierarchy (v1 and
//! hybrid here, v2 in the VM; v2's file writes are also unit-tested on a
//! fake tree in `src/cgroups/v2.rs`).

use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;

use mydocker::cgroups::{Resources, detect::Hierarchy, new_manager};
use mydocker::namespaces;
use nix::sched::CloneFlags;
use rstest::rstest;

use crate::harness::{Env, env};

#[rstest]
fn a_process_over_its_memory_limit_is_killed(env: Env) {
    let h = Hierarchy::read(Path::new("/proc")).unwrap();
    let cg = new_manager(&h, &format!("mydocker-{}-memtest", env.tag))
        .unwrap()
        .create()
        .unwrap();
    cg.apply(&Resources {
        memory: Some(32 << 20),
        ..Resources::default()
    })
    .unwrap();
    // The programs run from a copy of busybox in the test's own directory,
    // not from the host's root: with no swap, a cgroup at its limit evicts
    // the file pages of its programs and reads them again and again before
    // the OOM killer acts, which on a slow root (the VM's 9p share) takes
    // minutes instead of milliseconds.
    let bb = env.local_busybox().display().to_string();
    // The shell waits on stdin until it has been placed in the cgroup.
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let script = format!(
        "read go; x=$({bb} head -c 200000000 /dev/zero 2>/dev/null | {bb} tr '\\0' a 2>/dev/null); echo survived"
    );
    let argv: Vec<CString> = [bb.as_str(), "sh", "-c", &script]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
    let pid = namespaces::spawn(&argv, CloneFlags::empty(), &[(read.as_raw_fd(), 0)]).unwrap();
    drop(read);
    cg.add_task(pid.as_raw()).unwrap();
    std::fs::File::from(write).write_all(b"go\n").unwrap();
    let code = namespaces::wait_exit_code(pid).unwrap();
    // The shell's pipeline (`head`, `tr`) may outlive it for a moment: there
    // is no PID namespace here to end them with it. End them, then remove.
    empty(&cg.paths());
    cg.destroy().unwrap();
    assert_eq!(code, 137, "expected the OOM killer's SIGKILL");
}

/// Kill what is left in the cgroups `dirs` and wait (10 s at most) until
/// they are empty.
fn empty(dirs: &[std::path::PathBuf]) {
    for _ in 0..200 {
        let pids: Vec<i32> = dirs
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|t| t.lines().filter_map(|l| l.parse().ok()).collect::<Vec<_>>())
            .collect();
        if pids.is_empty() {
            return;
        }
        for p in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the test's cgroups did not empty in 10 s");
}

#[rstest]
fn cgroup_directories_exist_until_destroyed(env: Env) {
    let h = Hierarchy::read(Path::new("/proc")).unwrap();
    let cg = new_manager(&h, &format!("mydocker-{}-dirtest", env.tag))
        .unwrap()
        .create()
        .unwrap();
    assert!(!cg.paths().is_empty());
    for p in cg.paths() {
        assert!(
            p.join("cgroup.procs").exists(),
            "{} is not a cgroup",
            p.display()
        );
    }
    assert_eq!(env.cgroup_dirs().len(), cg.paths().len());
    cg.destroy().unwrap();
    assert!(env.cgroup_dirs().is_empty());
}

#[rstest]
fn cgroups_are_made_below_our_own(env: Env) {
    let h = Hierarchy::read(Path::new("/proc")).unwrap();
    let cg = new_manager(&h, &format!("mydocker-{}-where", env.tag))
        .unwrap()
        .create()
        .unwrap();
    let own: Vec<_> = match h.v1.get("memory") {
        Some((mount, own)) => vec![mount.join(own.strip_prefix("/").unwrap())],
        None => {
            let (mount, own) = h.v2.clone().unwrap();
            vec![mount.join(own.strip_prefix("/").unwrap()), mount]
        }
    };
    let paths = cg.paths();
    cg.destroy().unwrap();
    assert!(
        paths
            .iter()
            .any(|p| own.iter().any(|o| p.parent() == Some(o.as_path()))),
        "{paths:?} vs {own:?}"
    );
}
