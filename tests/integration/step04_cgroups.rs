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
    let cg = new_manager(&h, &format!("mydocker-{}-memtest", env.tag)).unwrap();
    cg.create().unwrap();
    cg.apply(&Resources {
        memory: Some(32 << 20),
        ..Resources::default()
    })
    .unwrap();
    // The shell waits on stdin until it has been placed in the cgroup.
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let script = "read go; x=$(head -c 200000000 /dev/zero 2>/dev/null | tr '\\0' a 2>/dev/null); echo survived";
    let argv: Vec<CString> = ["/bin/sh", "-c", script]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
    let pid = namespaces::spawn(&argv, CloneFlags::empty(), &[(read.as_raw_fd(), 0)]).unwrap();
    drop(read);
    cg.add_task(pid.as_raw()).unwrap();
    std::fs::File::from(write).write_all(b"go\n").unwrap();
    let code = namespaces::wait_exit_code(pid).unwrap();
    cg.destroy().unwrap();
    assert_eq!(code, 137, "expected the OOM killer's SIGKILL");
}

#[rstest]
fn cgroup_directories_exist_until_destroyed(env: Env) {
    let h = Hierarchy::read(Path::new("/proc")).unwrap();
    let cg = new_manager(&h, &format!("mydocker-{}-dirtest", env.tag)).unwrap();
    cg.create().unwrap();
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
    let cg = new_manager(&h, &format!("mydocker-{}-where", env.tag)).unwrap();
    cg.create().unwrap();
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
