//! Step 01: `mydocker check` reports what this machine offers.

use std::fs;
use std::path::Path;

use mydocker::cgroups::detect::Hierarchy;

use crate::harness::{bin, require_root, stdout_of};

#[test]
fn check_reports_this_machine_and_passes() {
    require_root();
    let out = assert_cmd::Command::new(bin())
        .args(["check", "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("check --json prints JSON");
    let items = report["items"].as_array().unwrap();
    let get = |name: &str| {
        items
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("no item {name}"))
    };
    for name in [
        "root",
        "namespace pid",
        "namespace mnt",
        "namespace net",
        "overlay",
        "cgroup memory",
    ] {
        assert_eq!(get(name)["ok"], true, "{name}: {}", get(name));
    }
    let mode = Hierarchy::read(Path::new("/proc"))
        .unwrap()
        .mode
        .to_string();
    let cg = get("cgroups")["detail"].as_str().unwrap();
    assert!(
        cg.starts_with(&mode),
        "cgroups item {cg:?} should start with {mode}"
    );
    assert!(
        out.status.success(),
        "check failed on a provisioned machine: {}",
        stdout_of(&out)
    );
}

#[test]
fn text_report_lists_every_item() {
    require_root();
    let out = assert_cmd::Command::new(bin())
        .arg("check")
        .output()
        .unwrap();
    let text = stdout_of(&out);
    for name in [
        "root",
        "kernel",
        "namespace uts",
        "cgroups",
        "overlay",
        "aufs",
        "pivot_root",
        "bridge",
        "iptables",
        "busybox-static",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing from:\n{text}"
        );
    }
}

#[test]
fn missing_items_are_named_and_fail_the_check() {
    let fake = tempfile::tempdir().unwrap();
    let p = fake.path();
    fs::create_dir_all(p.join("self/ns")).unwrap();
    fs::create_dir_all(p.join("sys/kernel")).unwrap();
    fs::write(p.join("sys/kernel/osrelease"), "6.1.0\n").unwrap();
    for ns in ["uts", "pid", "mnt", "ipc"] {
        fs::write(p.join("self/ns").join(ns), "").unwrap();
    }
    fs::write(p.join("filesystems"), "nodev\tproc\n").unwrap();
    fs::write(
        p.join("self/mountinfo"),
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n",
    )
    .unwrap();
    fs::write(p.join("self/cgroup"), "0::/\n").unwrap();
    let out = assert_cmd::Command::new(bin())
        .args(["check", "--proc"])
        .arg(p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("namespace net"), "{err}");
    assert!(err.contains("overlay"), "{err}");
    assert!(err.contains("cgroup memory"), "{err}");
    assert!(!err.contains("namespace uts"), "{err}");
}
