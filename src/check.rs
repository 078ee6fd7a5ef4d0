//! Step 01, the environment: before building containers, find out whether
//! this machine can run them. Each item names one kernel feature or tool the
//! later chapters depend on: root, the namespace types (`/proc/self/ns`), the
//! cgroup design and its controllers, the overlay filesystem, a root that
//! `pivot_root` can leave (not the initramfs `rootfs`), `iptables` and the
//! static busybox that the image is built from.
//!
//! Everything is read below one proc directory, so tests can point the check
//! at a fake `/proc` and see a missing item named.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::cgroups::detect::Hierarchy;

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub name: String,
    pub ok: bool,
    /// An optional item never makes the check fail.
    pub required: bool,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
}

impl Report {
    /// The names of the required items that are missing.
    pub fn missing(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| i.required && !i.ok)
            .map(|i| i.name.as_str())
            .collect()
    }
}

fn item(name: &str, ok: bool, required: bool, detail: impl Into<String>) -> Item {
    Item {
        name: name.to_string(),
        ok,
        required,
        detail: detail.into(),
    }
}

/// The namespace types a container uses, and whether each is required.
const NAMESPACES: [(&str, bool); 7] = [
    ("uts", true),
    ("pid", true),
    ("mnt", true),
    ("ipc", true),
    ("net", true),
    ("user", false),
    ("cgroup", false),
];

/// The cgroup controllers the resource limits need.
const CONTROLLERS: [&str; 3] = ["memory", "cpu", "cpuset"];

/// Run every check, reading kernel facts below `proc_root`.
pub fn run(proc_root: &Path) -> Report {
    let mut items = Vec::new();

    let euid = nix::unistd::geteuid();
    items.push(item("root", euid.is_root(), true, format!("euid {euid}")));

    let release =
        fs::read_to_string(proc_root.join("sys/kernel/osrelease")).map(|s| s.trim().to_string());
    items.push(match release {
        Ok(r) => item("kernel", true, true, r),
        Err(e) => item(
            "kernel",
            false,
            true,
            format!("cannot read the release: {e}"),
        ),
    });

    for (ns, required) in NAMESPACES {
        let ok = proc_root.join("self/ns").join(ns).exists();
        let detail = if ok {
            "supported"
        } else {
            "not in /proc/self/ns"
        };
        items.push(item(&format!("namespace {ns}"), ok, required, detail));
    }

    match Hierarchy::read(proc_root) {
        Ok(h) => {
            let have = h.controllers();
            items.push(item(
                "cgroups",
                true,
                true,
                format!("{} ({})", h.mode, have.join(" ")),
            ));
            for c in CONTROLLERS {
                let ok = have.iter().any(|h| h == c);
                let detail = if ok { "available" } else { "not available" };
                items.push(item(&format!("cgroup {c}"), ok, true, detail));
            }
        }
        Err(e) => items.push(item("cgroups", false, true, format!("cannot read: {e}"))),
    }

    let filesystems = fs::read_to_string(proc_root.join("filesystems")).unwrap_or_default();
    let has_fs = |name: &str| {
        filesystems
            .lines()
            .any(|l| l.split_whitespace().last() == Some(name))
    };
    items.push(item(
        "overlay",
        has_fs("overlay"),
        true,
        "union filesystem (step 09)",
    ));
    items.push(item(
        "aufs",
        has_fs("aufs"),
        false,
        "optional; overlay is used when absent",
    ));

    // The last mount on / is the one processes see.
    let root_fs = crate::fs::mountinfo::read_from(proc_root)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.mount_point == Path::new("/"))
        .map(|m| m.fs_type)
        .next_back()
        .unwrap_or_else(|| "unknown".to_string());
    items.push(item(
        "pivot_root",
        root_fs != "rootfs" && root_fs != "unknown",
        true,
        format!("root filesystem is {root_fs}"),
    ));

    // Bridges (steps 26-32): built in, loaded, or loadable as a module.
    let release_dir =
        fs::read_to_string(proc_root.join("sys/kernel/osrelease")).unwrap_or_default();
    let modules = Path::new("/lib/modules")
        .join(release_dir.trim())
        .join("kernel/net/bridge");
    let bridge = Path::new("/sys/module/bridge").exists() || modules.is_dir();
    items.push(item(
        "bridge",
        bridge,
        false,
        if bridge {
            "available (networks, steps 26-32)"
        } else {
            "no bridge support: networks will fail"
        },
    ));

    for (name, program) in [("iptables", "iptables"), ("busybox-static", "busybox")] {
        items.push(match crate::programs::find(program) {
            Some(p) => item(name, true, true, p.display().to_string()),
            None => item(
                name,
                false,
                true,
                format!("{program} not found (apt-get install {name})"),
            ),
        });
    }

    Report { items }
}

/// The report as aligned text, one item per line.
pub fn render(report: &Report) -> String {
    let width = report.items.iter().map(|i| i.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for i in &report.items {
        let mark = match (i.ok, i.required) {
            (true, _) => "ok",
            (false, true) => "MISSING",
            (false, false) => "-",
        };
        out.push_str(&format!("{:<width$}  {:<7}  {}\n", i.name, mark, i.detail));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_proc(filesystems: &str, namespaces: &[&str]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let p = t.path();
        fs::create_dir_all(p.join("self/ns")).unwrap();
        fs::create_dir_all(p.join("sys/kernel")).unwrap();
        fs::write(p.join("sys/kernel/osrelease"), "6.1.0-test\n").unwrap();
        for ns in namespaces {
            fs::write(p.join("self/ns").join(ns), "").unwrap();
        }
        fs::write(p.join("filesystems"), filesystems).unwrap();
        fs::write(
            p.join("self/mountinfo"),
            "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\
             27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
        )
        .unwrap();
        fs::write(p.join("self/cgroup"), "4:memory:/\n").unwrap();
        t
    }

    #[test]
    fn a_missing_namespace_and_controller_are_named() {
        let t = fake_proc("nodev\toverlay\n", &["uts", "pid", "mnt", "ipc"]);
        let report = run(t.path());
        let missing = report.missing();
        assert!(missing.contains(&"namespace net"), "{missing:?}");
        assert!(missing.contains(&"cgroup cpu"), "{missing:?}");
        assert!(missing.contains(&"cgroup cpuset"), "{missing:?}");
        assert!(!missing.contains(&"cgroup memory"), "{missing:?}");
        assert!(!missing.contains(&"overlay"), "{missing:?}");
        assert!(!missing.contains(&"aufs"), "aufs is optional");
    }

    #[test]
    fn missing_overlay_is_named() {
        let t = fake_proc("nodev\tproc\n", &["uts"]);
        assert!(run(t.path()).missing().contains(&"overlay"));
    }

    #[test]
    fn an_initramfs_root_cannot_pivot() {
        let t = fake_proc("", &[]);
        fs::write(
            t.path().join("self/mountinfo"),
            "1 0 0:1 / / rw - rootfs rootfs rw\n",
        )
        .unwrap();
        assert!(run(t.path()).missing().contains(&"pivot_root"));
    }
}
