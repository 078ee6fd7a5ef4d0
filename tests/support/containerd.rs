//! A containerd of a test's (or the benchmark's) own: root, state and
//! sockets in a given directory, the CRI plugin off, its containers in a
//! namespace of the caller's; stopped by its PID when dropped, and the
//! cgroup directories named after the namespace (which a runtime leaves,
//! as runc does) removed then. Dropping it fails (unless already
//! panicking) when its containers left a cgroup or a shim behind. Shared
//! by step 40's tests and the benchmarks (`#[path]`).

// Each target that includes this file uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

// The including crate has `tools.rs` as its `crate::tools` (a second
// `#[path]` of the same file here would be a second module).
use crate::tools;

/// A running `containerd`.
pub struct Containerd {
    child: Child,
    socket: PathBuf,
    /// containerd's namespace for the caller's containers.
    pub namespace: String,
    /// containerd's state directory (its shims' command lines name it).
    state: PathBuf,
}

impl Containerd {
    /// Start one with its files in `dir` (made if missing), for containers
    /// in `namespace`. Fails in one line when containerd or ctr is not
    /// installed; waits until it answers (at most 60 s: a cold start in an
    /// emulated VM is slow).
    pub fn start(dir: &Path, namespace: &str) -> Containerd {
        tools::require_tool("containerd");
        tools::require_tool("ctr");
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("c.sock");
        let state = dir.join("state");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{sock}\"\n[ttrpc]\n  address = \"{sock}.ttrpc\"\n\
                 [debug]\n  address = \"{dir}/debug.sock\"\n[metrics]\n  address = \"\"\n",
                root = dir.join("root").display(),
                state = state.display(),
                sock = socket.display(),
                dir = dir.display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let c = Containerd {
            child,
            socket,
            namespace: namespace.to_string(),
            state,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !c.ctr(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for containerd's socket: {}",
                std::fs::read_to_string(dir.join("containerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        c
    }

    /// `ctr` talking to this containerd, in its namespace, stdin closed.
    pub fn ctr_command(&self) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(&self.socket)
            .arg("--namespace")
            .arg(&self.namespace)
            .stdin(Stdio::null());
        c
    }

    /// `ctr ARGS`, run to its end.
    pub fn ctr(&self, args: &[&str]) -> Output {
        self.ctr_command().args(args).output().expect("run ctr")
    }

    /// The cgroup directories named after the namespace, in every
    /// hierarchy (cgroup v1) or at the top (v2).
    pub fn namespace_cgroups(&self) -> Vec<PathBuf> {
        let top = Path::new("/sys/fs/cgroup");
        let mut found: Vec<PathBuf> = std::fs::read_dir(top)
            .unwrap()
            .flatten()
            .map(|e| e.path().join(&self.namespace))
            .filter(|p| p.is_dir())
            .collect();
        if top.join(&self.namespace).is_dir() {
            found.push(top.join(&self.namespace));
        }
        found
    }

    /// What this containerd's containers left behind: cgroups below the
    /// namespace's, and processes (shims) naming its state directory.
    fn left_behind(&self) -> Vec<PathBuf> {
        let mut left = Vec::new();
        for dir in self.namespace_cgroups() {
            left.extend(
                std::fs::read_dir(&dir)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir()),
            );
        }
        let state = self.state.display().to_string();
        for p in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(p.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&state) {
                left.push(p.path());
            }
        }
        left
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let left = self.left_behind();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for dir in self.namespace_cgroups() {
            let _ = std::fs::remove_dir(dir);
        }
        if !std::thread::panicking() {
            assert!(left.is_empty(), "left behind: {left:#?}");
        }
    }
}
