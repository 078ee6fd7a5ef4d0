//! Step 40: podman drives mydocker. podman keeps its storage (the vfs
//! driver: nothing mounted), run root and temporary files in the test's
//! directory and reads a `containers.conf` of the test's own that
//! registers `mydocker-runtime` as its runtime, with the cgroupfs manager,
//! events in a file, no network and ulimits no higher than this machine's
//! hard limits. The image comes from `mydocker save` through `podman load`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use rstest::rstest;

use crate::harness::{Env, env, ok, stdout_of};
use crate::step40_oci_runtime::{runtime, saved_busybox};
use crate::tools::require_tool;

/// This process's hard limit named `name` in /proc/self/limits
/// ("Max open files", "Max processes").
fn hard_limit(name: &str) -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
    line[name.len()..]
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}

/// podman with everything of its own under the test's directory, its
/// containers' cgroups under `parent` (removed by the test).
struct Podman {
    dir: PathBuf,
    conf: PathBuf,
    parent: String,
}

impl Podman {
    fn new(env: &Env) -> Podman {
        require_tool("podman");
        let dir = env.scratch("podman");
        let runtime = runtime(env);
        let nofile = hard_limit("Max open files").min(4096);
        let nproc = hard_limit("Max processes").min(4096);
        let conf = dir.join("containers.conf");
        std::fs::write(
            &conf,
            format!(
                "[containers]\nnetns = \"none\"\n\
                 default_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{events}\"\nruntime = \"mydocker\"\n\
                 runtime_supports_json = [\"mydocker\"]\n\
                 [engine.runtimes]\nmydocker = [\"{runtime}\"]\n",
                events = dir.join("events.log").display(),
                runtime = runtime.display(),
            ),
        )
        .unwrap();
        Podman {
            dir,
            conf,
            parent: format!("/mydocker-{}-podman", env.tag),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("podman")
            .env("CONTAINERS_CONF", &self.conf)
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run podman")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-a", "-f"]);
        // podman's cgroups (conmon's and the containers', nested on cgroup
        // v2) under the parent, in each hierarchy.
        for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            remove_cgroup_tree(&e.path().join(self.parent.trim_start_matches('/')));
        }
        remove_cgroup_tree(
            &PathBuf::from("/sys/fs/cgroup").join(self.parent.trim_start_matches('/')),
        );
    }
}

/// Removes the cgroup `dir` and those below it, deepest first; a cgroup
/// whose last process (conmon) is still exiting refuses rmdir (EBUSY) for
/// a moment, so each is retried for up to 5 s. A missing `dir` is fine.
fn remove_cgroup_tree(dir: &std::path::Path) {
    let Ok(children) = std::fs::read_dir(dir) else {
        return;
    };
    for c in children.flatten().filter(|c| c.path().is_dir()) {
        remove_cgroup_tree(&c.path());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::remove_dir(dir).is_err() && dir.exists() && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[rstest]
fn podman_runs_execs_logs_stops_and_removes_with_mydocker_as_its_runtime(env: Env) {
    let archive = saved_busybox(&env);
    let podman = Podman::new(&env);
    let loaded = ok(&podman.run(&["load", "-q", "-i", archive.to_str().unwrap()]));
    assert!(loaded.contains("busybox"), "{loaded}");
    let parent = podman.parent.clone();

    let out = podman.run(&[
        "run",
        "--rm",
        "--cgroup-parent",
        &parent,
        "busybox",
        "echo",
        "hi",
    ]);
    assert_eq!(ok(&out), "hi\n");

    let name = format!("{}-podman", env.tag);
    ok(&podman.run(&[
        "run",
        "-d",
        "--name",
        &name,
        "--cgroup-parent",
        &parent,
        "busybox",
        "sh",
        "-c",
        "echo up; trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ]));
    crate::harness::wait_for("the container's output", || {
        let out = podman.run(&["logs", &name]);
        (out.status.success() && stdout_of(&out) == "up\n").then_some(())
    });
    assert_eq!(
        ok(&podman.run(&["exec", &name, "echo", "from exec"])),
        "from exec\n"
    );
    ok(&podman.run(&["stop", "-t", "10", &name]));
    let status = ok(&podman.run(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &name,
    ]));
    assert_eq!(status.trim(), "exited 0");
    ok(&podman.run(&["rm", &name]));
    assert_eq!(ok(&podman.run(&["ps", "-a", "-q"])), "");
}
