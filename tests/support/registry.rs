//! A registry of a test's (or the benchmark's) own: Debian's
//! `docker-registry` on a free port of 127.0.0.1, its configuration,
//! storage and log in a given directory, stopped by its PID when dropped.
//! Shared by step 39's tests and the benchmarks (`#[path]`).

// Each target that includes this file uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// The including crate has `tools.rs` as its `crate::tools` (a second
// `#[path]` of the same file here would be a second module).
use crate::tools;

/// A running `docker-registry`.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`
    pub host: String,
    /// Where it keeps blobs and manifests (`docker/registry/v2/...`).
    pub storage: PathBuf,
}

impl Registry {
    /// Start one with its files in `dir` (made if missing). With
    /// `htpasswd` (the lines of an htpasswd file, bcrypt hashes) it asks
    /// for Basic auth checked against them. Waits until it listens (at most
    /// 60 s: a cold start in an emulated VM is slow).
    pub fn serve(dir: &Path, htpasswd: Option<&str>) -> Registry {
        tools::require_tool("docker-registry");
        std::fs::create_dir_all(dir).unwrap();
        let storage = dir.join("storage");
        // A free port (never 5000, where a system registry may listen).
        let port = loop {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let p = l.local_addr().unwrap().port();
            if p != 5000 {
                break p;
            }
        };
        let host = format!("127.0.0.1:{port}");
        let mut yml = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
            storage.display()
        );
        if let Some(lines) = htpasswd {
            let file = dir.join("htpasswd");
            std::fs::write(&file, lines).unwrap();
            yml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: mydocker-test\n    path: {}\n",
                file.display()
            ));
        }
        let config = dir.join("config.yml");
        std::fs::write(&config, yml).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            host,
            storage,
        };
        let addr = registry.host.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the registry never listened: {}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
