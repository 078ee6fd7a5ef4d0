//! Step 03: a process cloned with the container's namespace flags has its
//! own hostname, PID numbering, mounts, network and IPC. Each test clones a
//! host shell with one set of flags and reads what it prints.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::AsRawFd;

use mydocker::namespaces::{self, own_namespace};
use nix::sched::CloneFlags;

use crate::harness::require_root;

/// Run `sh -c SCRIPT` in new namespaces `flags`; its stdout and exit code.
fn sh_in(flags: CloneFlags, script: &str) -> (String, i32) {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let argv: Vec<CString> = ["/bin/sh", "-c", script]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
    let pid = namespaces::spawn(&argv, flags, &[(write.as_raw_fd(), 1)]).expect("clone");
    drop(write);
    let mut out = String::new();
    std::fs::File::from(read).read_to_string(&mut out).unwrap();
    let code = namespaces::wait_exit_code(pid).unwrap();
    (out, code)
}

#[test]
fn uts_namespace_has_its_own_hostname() {
    require_root();
    let before = nix::unistd::gethostname().unwrap();
    let (out, code) = sh_in(
        CloneFlags::CLONE_NEWUTS,
        "hostname mydocker-ns-test && hostname",
    );
    assert_eq!((out.trim(), code), ("mydocker-ns-test", 0));
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        before,
        "the host's hostname changed"
    );
}

#[test]
fn pid_namespace_starts_at_one() {
    require_root();
    let (out, _) = sh_in(CloneFlags::CLONE_NEWPID, "echo $$");
    assert_eq!(out.trim(), "1");
}

#[test]
fn private_mounts_stay_inside_the_mount_namespace() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().display().to_string();
    let script = format!(
        "mount --make-rprivate / && mount -t tmpfs mydocker-ns-test {target} && grep -c ' {target} ' /proc/self/mountinfo"
    );
    let (out, code) = sh_in(CloneFlags::CLONE_NEWNS, &script);
    assert_eq!(
        (out.trim(), code),
        ("1", 0),
        "the mount was not made inside"
    );
    assert!(
        !mydocker::fs::mountinfo::is_mount_point(&crate::harness::mounts(), dir.path()),
        "the mount leaked to the host"
    );
}

#[test]
fn network_namespace_has_only_loopback() {
    require_root();
    let (out, _) = sh_in(
        CloneFlags::CLONE_NEWNET,
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
    );
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), vec!["lo"]);
}

#[test]
fn ipc_namespace_is_separate() {
    require_root();
    let (out, _) = sh_in(CloneFlags::CLONE_NEWIPC, "readlink /proc/self/ns/ipc");
    let host = own_namespace("ipc").unwrap();
    assert!(out.trim().starts_with("ipc:["), "{out}");
    assert_ne!(out.trim(), host);
}

#[test]
fn container_flags_give_every_namespace_at_once() {
    require_root();
    let script = "for n in uts pid mnt ipc net; do readlink /proc/self/ns/$n; done";
    let (out, _) = sh_in(namespaces::container_flags(), script);
    for (line, kind) in out.lines().zip(["uts", "pid", "mnt", "ipc", "net"]) {
        assert_ne!(
            line,
            own_namespace(kind).unwrap(),
            "{kind} namespace is the host's"
        );
    }
    assert_eq!(out.lines().count(), 5);
}
