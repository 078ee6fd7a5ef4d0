//! The shared test harness: a fresh `--root` per test, a command builder over
//! the `mydocker` binary, background processes, snapshot filters, and a leak
//! check when each test's environment is dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mydocker::cgroups::detect::{Hierarchy, Mode};
use rstest::fixture;

/// The highest implemented step this test binary was built for.
pub const STEP: u32 = {
    let mut s = 0;
    if cfg!(feature = "step-01") {
        s = 1;
    }
    if cfg!(feature = "step-02") {
        s = 2;
    }
    if cfg!(feature = "step-03") {
        s = 3;
    }
    if cfg!(feature = "step-04") {
        s = 4;
    }
    if cfg!(feature = "step-05") {
        s = 5;
    }
    if cfg!(feature = "step-06") {
        s = 6;
    }
    if cfg!(feature = "step-07") {
        s = 7;
    }
    if cfg!(feature = "step-08") {
        s = 8;
    }
    if cfg!(feature = "step-09") {
        s = 9;
    }
    if cfg!(feature = "step-10") {
        s = 10;
    }
    if cfg!(feature = "step-11") {
        s = 11;
    }
    if cfg!(feature = "step-12") {
        s = 12;
    }
    if cfg!(feature = "step-13") {
        s = 13;
    }
    if cfg!(feature = "step-14") {
        s = 14;
    }
    if cfg!(feature = "step-15") {
        s = 15;
    }
    if cfg!(feature = "step-16") {
        s = 16;
    }
    if cfg!(feature = "step-17") {
        s = 17;
    }
    if cfg!(feature = "step-18") {
        s = 18;
    }
    if cfg!(feature = "step-19") {
        s = 19;
    }
    if cfg!(feature = "step-20") {
        s = 20;
    }
    if cfg!(feature = "step-21") {
        s = 21;
    }
    if cfg!(feature = "step-22") {
        s = 22;
    }
    if cfg!(feature = "step-23") {
        s = 23;
    }
    if cfg!(feature = "step-24") {
        s = 24;
    }
    if cfg!(feature = "step-25") {
        s = 25;
    }
    if cfg!(feature = "step-26") {
        s = 26;
    }
    if cfg!(feature = "step-27") {
        s = 27;
    }
    if cfg!(feature = "step-28") {
        s = 28;
    }
    if cfg!(feature = "step-29") {
        s = 29;
    }
    if cfg!(feature = "step-30") {
        s = 30;
    }
    if cfg!(feature = "step-31") {
        s = 31;
    }
    if cfg!(feature = "step-32") {
        s = 32;
    }
    if cfg!(feature = "step-33") {
        s = 33;
    }
    if cfg!(feature = "step-34") {
        s = 34;
    }
    if cfg!(feature = "step-35") {
        s = 35;
    }
    if cfg!(feature = "step-36") {
        s = 36;
    }
    if cfg!(feature = "step-37") {
        s = 37;
    }
    if cfg!(feature = "step-38") {
        s = 38;
    }
    if cfg!(feature = "step-39") {
        s = 39;
    }
    if cfg!(feature = "step-40") {
        s = 40;
    }
    s
};

/// The words of `run` that name the root filesystem, for parsing tests.
#[cfg(not(feature = "pivot"))]
pub const ROOTFS_WORDS: &[&str] = &[];
#[cfg(all(feature = "pivot", not(feature = "image")))]
pub const ROOTFS_WORDS: &[&str] = &["--rootfs", "/"];
#[cfg(feature = "image")]
pub const ROOTFS_WORDS: &[&str] = &["busybox"];

/// The busybox image, built once per test run from the system's
/// busybox-static by `scripts/mkimage-busybox.sh`, or the ready-made one
/// named by `MYDOCKER_TEST_IMAGE` (the VM run builds it once on the host).
pub fn busybox_tar() -> &'static Path {
    static TAR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TAR.get_or_init(|| {
        if let Some(made) = std::env::var_os("MYDOCKER_TEST_IMAGE") {
            return PathBuf::from(made);
        }
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("busybox-{}.tar", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mkimage-busybox.sh");
        let status = std::process::Command::new("bash")
            .arg(&script)
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run scripts/mkimage-busybox.sh");
        assert!(
            status.success(),
            "building the busybox image failed (is busybox-static installed?)"
        );
        out
    })
}

/// A real distribution's root filesystem as a flat tar: Debian bookworm
/// minbase made by `scripts/mkimage-debian.sh` (debootstrap from
/// deb.debian.org). Built once per machine, not once per run: the tar is
/// kept in `$XDG_CACHE_HOME/mydocker-tests/` (else `~/.cache/...`), outside
/// the repository, and reused by every later run and worktree. The first
/// build downloads about 40 MiB and takes a few minutes.
///
/// The script holds a lock file beside the tar (`flock`) while it builds,
/// so concurrent tests and concurrent test runs build it once: the others
/// wait, then find it. It renames the tar into place only when complete,
/// so a build that was killed leaves nothing that is used (the next build
/// removes its leftovers). `MYDOCKER_TEST_DEBIAN` names a ready-made tar
/// instead.
pub fn debian_tar() -> &'static Path {
    static TAR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TAR.get_or_init(|| {
        if let Some(made) = std::env::var_os("MYDOCKER_TEST_DEBIAN") {
            return PathBuf::from(made);
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from("/var/cache"))
            .join("mydocker-tests");
        let out = cache.join("debian-bookworm-minbase.tar");
        if !out.exists() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mkimage-debian.sh");
            let status = std::process::Command::new("bash")
                .arg(&script)
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run scripts/mkimage-debian.sh");
            assert!(
                status.success(),
                "building the Debian image failed (is debootstrap installed and deb.debian.org reachable?)"
            );
        }
        out
    })
}

/// The path of the binary under test. With `MYDOCKER_EXPLAIN=1` (`just
/// explain N`) it is a small wrapper that prints each mydocker command a
/// test runs, and what it prints, on the test run's own stderr.
pub fn bin() -> &'static str {
    static EXPLAINED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    EXPLAINED
        .get_or_init(explain_wrapper)
        .as_deref()
        .unwrap_or_else(real_bin)
}

/// The mydocker binary itself: `MYDOCKER_TEST_BIN` when set (the VM run
/// copies the binary onto a tmpfs: executing it from the VM's 9p root, which
/// caches nothing, cost about a second per command under software
/// emulation), else the one cargo built.
pub fn real_bin() -> &'static str {
    static REAL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    REAL.get_or_init(|| {
        std::env::var("MYDOCKER_TEST_BIN")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_mydocker").to_string())
    })
}

/// Whether tests should show what they run (`MYDOCKER_EXPLAIN=1`).
pub fn explaining() -> bool {
    std::env::var_os("MYDOCKER_EXPLAIN").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Where explained commands are written: this test process's stderr, which
/// `cargo test` does not capture for child processes.
pub fn explain_sink() -> String {
    format!("/proc/{}/fd/2", std::process::id())
}

/// The explain wrapper: print `$ mydocker ARGS`, then run the real binary
/// in its place (`exec`: same PID, same exit code) with its stdout and
/// stderr copied to the sink as they pass through.
fn explain_wrapper() -> Option<String> {
    if !explaining() {
        return None;
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("mydocker-explain-{}", std::process::id()));
    let sink = explain_sink();
    let script = format!(
        "#!/bin/bash\n\
         {{ printf '\\n$ mydocker'; printf ' %q' \"$@\"; printf '\\n'; }} >>{sink}\n\
         exec {real} \"$@\" > >(tee -a {sink}) 2> >(tee -a {sink} >&2)\n",
        real = real_bin(),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(&path, script).expect("write the explain wrapper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("make the explain wrapper executable");
    Some(path.display().to_string())
}

/// Fail at once, in one line, when not root: these tests need real
/// namespaces, mounts and cgroups.
#[track_caller]
pub fn require_root() {
    if !nix::unistd::geteuid().is_root() {
        panic!(
            "this test needs root (namespaces, mounts, cgroups): run it as root, e.g. `sudo just test-step {STEP}`"
        );
    }
}

/// A test's own mydocker root, checked for leaks when dropped.
pub struct Env {
    dir: tempfile::TempDir,
    pub root: PathBuf,
    pub tag: String,
}

/// Where test roots are made; `MYDOCKER_TEST_TMP` overrides (a VM whose
/// root is a shared folder needs a tmpfs here, which overlayfs accepts).
fn test_tmp() -> PathBuf {
    std::env::var_os("MYDOCKER_TEST_TMP")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

#[fixture]
pub fn env() -> Env {
    Env::with_root_named("root")
}

/// A name holding every character the kernel escapes in
/// /proc/self/mountinfo (space, tab, newline, backslash) and non-ASCII, for
/// roots, volumes and `cp` paths. Commas and colons are left out: mount
/// options and `-v` cannot carry them.
pub const AWKWARD_NAME: &str = "a b\tc\\d\ne-\u{e9}\u{4e2d}";

impl Env {
    /// A test environment whose `--root` is `name` inside the test's own
    /// directory (any characters a file name may hold).
    pub fn with_root_named(name: &str) -> Env {
        require_root();
        let dir = tempfile::Builder::new()
            .prefix("mydocker-test-")
            .tempdir_in(test_tmp())
            .expect("create a test root");
        let root = dir.path().join(name);
        std::fs::create_dir(&root).expect("create the root directory");
        let tag = mydocker::ids::root_tag(&root);
        let env = Env { dir, root, tag };
        env.install_busybox();
        env
    }
}

/// The mount table, decoded by mydocker's own reader (the kernel escapes
/// some characters of the paths).
pub fn mounts() -> Vec<mydocker::fs::mountinfo::Mount> {
    mydocker::fs::mountinfo::read().expect("read /proc/self/mountinfo")
}

/// The host's mount points, leaving out those below any test's directory
/// (tests run in parallel and mount there).
pub fn host_mounts() -> Vec<String> {
    use std::os::unix::ffi::OsStrExt;
    let tmp = test_tmp();
    let mut v: Vec<String> = mounts()
        .into_iter()
        .filter(|m| {
            let below_a_test = m
                .mount_point
                .strip_prefix(&tmp)
                .is_ok_and(|rest| rest.as_os_str().as_bytes().starts_with(b"mydocker-test-"));
            !below_a_test
        })
        .map(|m| m.mount_point.display().to_string())
        .collect();
    v.sort();
    v
}

impl Env {
    /// A scratch directory beside the root, removed with the test.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("create a scratch directory");
        p
    }

    /// `mydocker --root ROOT`, ready for more arguments.
    pub fn md(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(bin());
        c.arg("--root").arg(&self.root);
        c.timeout(Duration::from_secs(60));
        c
    }

    /// The arguments of `run OPTS... [busybox] CMD...`: from step 10 the
    /// container needs a root filesystem, which the harness supplies.
    pub fn run_args(&self, opts: &[&str], cmd: &[&str]) -> Vec<String> {
        self.run_args_with(&self.rootfs_args(), opts, cmd)
    }

    /// The arguments of `run OPTS... ROOTFS_ARGS... CMD...`.
    pub fn run_args_with(&self, rootfs: &[String], opts: &[&str], cmd: &[&str]) -> Vec<String> {
        let mut v = vec![
            "--root".to_string(),
            self.root.display().to_string(),
            "run".into(),
        ];
        v.extend(opts.iter().map(|s| s.to_string()));
        v.extend(rootfs.iter().cloned());
        v.extend(cmd.iter().map(|s| s.to_string()));
        v
    }

    /// `run` with a root filesystem made from the directory `tree` (a
    /// `--rootfs` at step 10, an image `name` from step 11).
    pub fn run_tree(
        &self,
        tree: &Path,
        name: &str,
        opts: &[&str],
        cmd: &[&str],
    ) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(bin());
        c.args(self.run_args_with(&self.tree_args(tree, name), opts, cmd));
        c.timeout(Duration::from_secs(60));
        c
    }

    /// `run OPTS... IMAGE CMD...` for an image other than busybox.
    pub fn run_image(&self, image: &str, opts: &[&str], cmd: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(bin());
        c.args(self.run_args_with(&[image.to_string()], opts, cmd));
        c.timeout(Duration::from_secs(60));
        c
    }

    /// A copy of the busybox tree in a scratch directory, to modify.
    pub fn busybox_tree(&self, name: &str) -> PathBuf {
        let dir = self.scratch(name);
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(busybox_tar())
            .arg("-C")
            .arg(&dir)
            .status()
            .expect("run tar");
        assert!(status.success(), "extracting the busybox image failed");
        dir
    }

    /// `mydocker run OPTS... CMD...` as a command to assert on.
    pub fn run(&self, opts: &[&str], cmd: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(bin());
        c.args(self.run_args(opts, cmd));
        c.timeout(Duration::from_secs(60));
        c
    }

    /// `mydocker run OPTS... CMD...` as a duct expression, for the background.
    pub fn run_bg(&self, opts: &[&str], cmd: &[&str]) -> duct::Expression {
        duct::cmd(bin(), self.run_args(opts, cmd)).unchecked()
    }

    /// Before step 10 containers use the host's filesystem.
    #[cfg(not(feature = "pivot"))]
    fn install_busybox(&self) {}

    #[cfg(not(feature = "pivot"))]
    pub fn rootfs_args(&self) -> Vec<String> {
        Vec::new()
    }

    #[cfg(not(feature = "pivot"))]
    fn tree_args(&self, _tree: &Path, _name: &str) -> Vec<String> {
        Vec::new()
    }

    /// A copy of the host's busybox in the test's own directory, ready to
    /// run. A freshly written program can fail to start with ETXTBSY for a
    /// moment: another test thread's fork may still hold the descriptor it
    /// was written through until that child execs. So the copy is run
    /// (bounded retries) before it is handed out; after one success no
    /// writer remains.
    pub fn local_busybox(&self) -> PathBuf {
        let bb = self.scratch("busybox-bin").join("busybox");
        if !bb.exists() {
            std::fs::copy("/bin/busybox", &bb).expect("copy /bin/busybox (busybox-static)");
        }
        for _ in 0..100 {
            match std::process::Command::new(&bb).arg("true").status() {
                Ok(s) if s.success() => return bb,
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => panic!("{} does not run: {other:?}", bb.display()),
            }
        }
        panic!("{} stayed busy (ETXTBSY) for 2 s", bb.display());
    }

    /// `sh -c SCRIPT` for a container under a memory limit. Before step 10
    /// the container runs the host's programs; these come instead from a
    /// busybox copied into the test's own directory, so that a cgroup at its
    /// limit has no file pages of a slow root (the VM's 9p share) to evict
    /// and read again, which delays the OOM killer by minutes there.
    #[cfg(not(feature = "pivot"))]
    pub fn limited_sh(&self, script: &str) -> Vec<String> {
        let dir = self.scratch("limited-bin");
        let bb = self.local_busybox();
        for applet in ["sh", "head", "tr", "echo", "cat"] {
            std::os::unix::fs::symlink(&bb, dir.join(applet)).unwrap();
        }
        vec![
            bb.display().to_string(),
            "sh".into(),
            "-c".into(),
            format!("PATH={}; {script}", dir.display()),
        ]
    }

    /// From step 10 the container's programs are busybox's, on the test's
    /// own filesystem already.
    #[cfg(feature = "pivot")]
    pub fn limited_sh(&self, script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    /// Step 10: a busybox tree to pivot into, given with `--rootfs`.
    #[cfg(all(feature = "pivot", not(feature = "image")))]
    fn install_busybox(&self) {
        self.busybox_tree("busybox-rootfs");
    }

    #[cfg(all(feature = "pivot", not(feature = "image")))]
    pub fn rootfs_args(&self) -> Vec<String> {
        self.tree_args(&self.dir.path().join("busybox-rootfs"), "busybox")
    }

    #[cfg(all(feature = "pivot", not(feature = "image")))]
    fn tree_args(&self, tree: &Path, _name: &str) -> Vec<String> {
        vec!["--rootfs".into(), tree.display().to_string()]
    }

    /// From step 11: the busybox image in the root's image store.
    #[cfg(feature = "image")]
    fn install_busybox(&self) {
        let images = self.root.join("images");
        std::fs::create_dir_all(&images).expect("create the image store");
        let dest = images.join("busybox.tar");
        if std::fs::hard_link(busybox_tar(), &dest).is_err() {
            std::fs::copy(busybox_tar(), &dest).expect("copy the busybox image");
        }
    }

    #[cfg(feature = "image")]
    pub fn rootfs_args(&self) -> Vec<String> {
        vec!["busybox".into()]
    }

    /// Pack `tree` as the image `name`.
    #[cfg(feature = "image")]
    fn tree_args(&self, tree: &Path, name: &str) -> Vec<String> {
        let tar = self.root.join("images").join(format!("{name}.tar"));
        let status = std::process::Command::new("tar")
            .arg("-cf")
            .arg(&tar)
            .arg("-C")
            .arg(tree)
            .arg(".")
            .status()
            .expect("run tar");
        assert!(status.success(), "packing {} failed", tree.display());
        vec![name.to_string()]
    }

    /// The cgroup directories that containers of this root have now.
    pub fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let prefix = format!("mydocker-{}-", self.tag);
        let h = Hierarchy::read(Path::new("/proc")).expect("read the cgroup hierarchy");
        let mut parents: Vec<PathBuf> = Vec::new();
        match h.mode {
            Mode::V1 | Mode::Hybrid => {
                for (mount, own) in h.v1.values() {
                    parents.push(mount.join(own.strip_prefix("/").unwrap_or(own)));
                }
            }
            Mode::V2 => {
                if let Some((mount, own)) = &h.v2 {
                    parents.push(mount.join(own.strip_prefix("/").unwrap_or(own)));
                    parents.push(mount.clone());
                }
            }
        }
        parents.sort();
        parents.dedup();
        let mut found = Vec::new();
        for p in parents {
            if let Ok(rd) = std::fs::read_dir(&p) {
                for e in rd.flatten() {
                    if e.file_name().to_string_lossy().starts_with(&prefix) {
                        found.push(e.path());
                    }
                }
            }
        }
        found.sort();
        found
    }

    /// The one container cgroup directory holding `file` (polls until it
    /// appears: the container may still be starting).
    pub fn wait_cgroup_file(&self, file: &str) -> PathBuf {
        wait_for(&format!("a container cgroup with {file}"), || {
            self.cgroup_dirs()
                .into_iter()
                .map(|d| d.join(file))
                .find(|p| p.exists())
        })
    }

    /// What this test left behind: mounts below its directory, cgroups of
    /// its root.
    pub fn leaks(&self) -> Vec<String> {
        let mut leaks = Vec::new();
        for m in mounts() {
            if m.mount_point.starts_with(self.dir.path()) {
                leaks.push(format!("mount {}", m.mount_point.display()));
            }
        }
        for d in self.cgroup_dirs() {
            leaks.push(format!("cgroup {}", d.display()));
        }
        leaks.extend(self.rule_leaks());
        leaks
    }

    /// Assert nothing leaked (also done on drop).
    #[track_caller]
    pub fn assert_no_leaks(&self) {
        let leaks = wait_until_empty(|| self.leaks());
        assert!(leaks.is_empty(), "left behind: {leaks:#?}");
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Containers a test leaves (detached ones live until removed) are
        // killed and removed as `rm -f` would; the leak check then proves
        // that this left nothing behind.
        self.remove_containers();
        let networks = self.remove_networks();
        if std::thread::panicking() {
            return;
        }
        self.assert_no_leaks();
        assert_links_gone(&networks);
    }
}

/// Before step 28 there are no networks.
#[cfg(not(feature = "net-bridge"))]
impl Env {
    fn remove_networks(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(not(feature = "net-bridge"))]
fn assert_links_gone(_names: &[String]) {}

/// Remove the networks of this root (after its containers), as `network
/// rm` would; returns their names, whose bridges must then be gone.
#[cfg(feature = "net-bridge")]
impl Env {
    fn remove_networks(&self) -> Vec<String> {
        let nets = mydocker::network::store::list(&self.root).unwrap_or_default();
        for n in &nets {
            if let Err(e) = mydocker::network::store::remove(&self.root, &n.name) {
                eprintln!("teardown: network {}: {e:#}", n.name);
            }
        }
        nets.into_iter().map(|n| n.name).collect()
    }

    /// A network name and a /24 subnet that no other test uses.
    pub fn unique_network(&self) -> (String, String) {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let third = (std::process::id() * 7 + n) % 250;
        let second = 200 + (std::process::id() / 250 + n / 250) % 50;
        (
            format!("md{}{n}", &self.tag[..6]),
            format!("10.{second}.{third}.0/24"),
        )
    }
}

#[cfg(feature = "net-bridge")]
#[track_caller]
fn assert_links_gone(names: &[String]) {
    let links = std::fs::read_dir("/sys/class/net")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let left: Vec<&String> = names.iter().filter(|n| links.contains(n)).collect();
    assert!(left.is_empty(), "bridges left behind: {left:?}");
}

/// iptables rules carrying this root's tag (none before step 26).
#[cfg(not(feature = "net-veth"))]
impl Env {
    fn rule_leaks(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(feature = "net-veth")]
impl Env {
    fn rule_leaks(&self) -> Vec<String> {
        let tag = format!("mydocker:{}:", self.tag);
        let mut out = Vec::new();
        for table in ["nat", "filter"] {
            let listing = std::process::Command::new("iptables")
                .args(["-w", "-t", table, "-S"])
                .output();
            if let Ok(o) = listing {
                for line in String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .filter(|l| l.contains(&tag))
                {
                    out.push(format!("iptables -t {table}: {line}"));
                }
            }
        }
        out
    }
}

impl Env {
    /// Before step 15 nothing outlives `run`.
    #[cfg(not(feature = "detach"))]
    fn remove_containers(&self) {}

    /// Kill and remove every container of this root.
    #[cfg(feature = "detach")]
    fn remove_containers(&self) {
        use mydocker::container::{remove, state::Store, stop};
        let store = Store::new(&self.root);
        for (name, info) in store.list() {
            match info {
                Ok(info) => {
                    let _ = stop::stop(&store, &info, Duration::ZERO);
                    if let Ok(info) = store.load(&name)
                        && let Err(e) = remove::remove(&store, &info)
                    {
                        eprintln!("teardown: {name}: {e:#}");
                    }
                }
                Err(_) => {
                    let _ = remove::remove_broken(&store, &self.root, &name);
                }
            }
        }
    }

    /// The busybox image's extracted layer: `images/busybox` until step
    /// 37, its one layer under `layers/` from step 38.
    pub fn image_layer_dir(&self) -> PathBuf {
        if STEP < 38 {
            return self.root.join("images/busybox");
        }
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.root.join("layers"))
            .expect("read the layers")
            .flatten()
            .map(|e| e.path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        assert_eq!(dirs.len(), 1, "one layer: {dirs:?}");
        dirs.pop().unwrap()
    }

    /// Layer directories left under the root (the shared set before step
    /// 21, a container's own from then on).
    pub fn layer_dirs(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for base in [self.root.join("shared"), self.root.join("containers")] {
            for entry in walk(&base) {
                if ["upper", "work", "merged"]
                    .iter()
                    .any(|n| entry.ends_with(n))
                {
                    found.push(entry);
                }
            }
        }
        found
    }
}

/// Every directory below `dir`, two levels deep.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push(p.clone());
                if let Ok(rd2) = std::fs::read_dir(&p) {
                    out.extend(rd2.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
                }
            }
        }
    }
    out
}

impl Env {
    /// `--root ROOT ARGS...`: a command line of this root for
    /// [`Env::spawn_and_kill_after`].
    pub fn root_args(&self, args: &[&str]) -> Vec<String> {
        let mut v = vec!["--root".to_string(), self.root.display().to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    /// Start `mydocker ARGS` (a whole command line, `--root` included, as
    /// [`Env::run_args`] and [`Env::root_args`] give) with its output
    /// discarded, and kill it with SIGKILL after `delay`: the crash tests'
    /// "killed at any instant". Returns once it is reaped.
    pub fn spawn_and_kill_after(&self, args: &[String], delay: Duration) {
        self.spawn_and_kill_after_with(args, delay, |child| {
            let _ = child.kill();
        });
    }

    /// [`Env::spawn_and_kill_after`] with its own way of killing (say,
    /// the command and the processes it forked).
    pub fn spawn_and_kill_after_with(
        &self,
        args: &[String],
        delay: Duration,
        kill: impl FnOnce(&mut std::process::Child),
    ) {
        let mut child = std::process::Command::new(bin())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start mydocker");
        std::thread::sleep(delay);
        kill(&mut child);
        let _ = child.wait();
    }
}

/// Cleanup can trail a container's exit by a moment (a monitor finishing);
/// give it a bounded while.
fn wait_until_empty(f: impl Fn() -> Vec<String>) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let v = f();
        if v.is_empty() || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Poll `f` until it gives a value, for at most 10 seconds.
#[track_caller]
pub fn wait_for<T>(what: &str, f: impl Fn() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// stdout of a finished command as a string.
pub fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stdout of a command that must have succeeded (else a panic with
/// its exit code and stderr).
#[track_caller]
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_of(out)
}

/// Snapshot `text` with IDs, PIDs, roots and times filtered out.
#[macro_export]
macro_rules! snapshot {
    ($name:expr, $text:expr) => {
        insta::with_settings!({
            snapshot_path => "snapshots",
            prepend_module_to_snapshot => false,
            filters => vec![
                (r"\b[0-9a-f]{12}\b", "[ID]"),
                (r"\| \d+ \|", "| [PID] |"),
                (r"/tmp/mydocker-test-[A-Za-z0-9]+", "[TMP]"),
                (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d", "[TIME]"),
            ],
        }, {
            insta::assert_snapshot!($name, $text);
        });
    };
}

impl Env {
    /// Start `run OPTS sh -c 'echo ready; read x'`, call `f` while the
    /// container is running, then let it finish; returns `f`'s value.
    pub fn while_running<T>(&self, opts: &[&str], f: impl FnOnce() -> T) -> T {
        use std::io::{BufRead, BufReader, Read, Write};
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
        // `-i`: the container reads this pipe (from step 36 its stdin is
        // /dev/null without it, and `read` would end it at once).
        let mut with_stdin = vec!["-i"];
        with_stdin.extend(opts);
        let handle = self
            .run_bg(&with_stdin, &["sh", "-c", "echo ready; read x"])
            .stdin_file(std::fs::File::from(r))
            .reader()
            .expect("start the container");
        let mut reader = BufReader::new(&handle);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("read from the container");
        assert_eq!(line, "ready\n", "the container did not start");
        let value = f();
        let mut w = std::fs::File::from(w);
        w.write_all(b"done\n").expect("release the container");
        drop(w);
        let mut rest = String::new();
        reader
            .read_to_string(&mut rest)
            .expect("wait for the container");
        value
    }

    /// The content of the first of `files` found in this root's container
    /// cgroups (v1 and v2 name the same limit differently).
    pub fn cgroup_value(&self, files: &[&str]) -> String {
        let path = wait_for(&format!("a container cgroup with one of {files:?}"), || {
            self.cgroup_dirs()
                .into_iter()
                .flat_map(|d| files.iter().map(move |f| d.join(f)))
                .find(|p| p.exists())
        });
        std::fs::read_to_string(path)
            .expect("read a cgroup file")
            .trim()
            .to_string()
    }
}

#[cfg(feature = "detach")]
impl Env {
    /// `run -d OPTS... busybox CMD...`; returns the printed ID.
    #[track_caller]
    pub fn run_d(&self, opts: &[&str], cmd: &[&str]) -> String {
        let mut all = vec!["-d"];
        all.extend(opts);
        let out = self.run(&all, cmd).output().expect("run -d");
        assert!(
            out.status.success(),
            "run -d failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = stdout_of(&out).trim().to_string();
        assert!(
            id.len() >= 12 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "not an ID: {id:?}"
        );
        id
    }

    /// The recorded state of container `name`.
    pub fn state(&self, name: &str) -> mydocker::container::state::ContainerInfo {
        mydocker::container::state::Store::new(&self.root)
            .load(name)
            .expect("load the container's state")
    }

    /// Wait until container `name` is recorded as exited.
    pub fn wait_exited(&self, name: &str) -> mydocker::container::state::ContainerInfo {
        use mydocker::container::state::Status;
        wait_for(&format!("container {name} to exit"), || {
            let info = self.state(name);
            (info.status == Status::Exited).then_some(info)
        })
    }

    /// Wait until container `name`'s log holds `text`.
    /// The log's text, both streams: the file as it is before step 37, the
    /// `log` of each record from step 37 (Docker's json-file lines).
    pub fn wait_log(&self, name: &str, text: &str) -> String {
        let path = mydocker::container::state::Store::new(&self.root).log_path(name);
        wait_for(&format!("{text:?} in the log of {name}"), || {
            let raw = std::fs::read_to_string(&path).ok()?;
            let log: String = raw
                .split_inclusive('\n')
                .map(|line| {
                    serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|r| r["log"].as_str().map(str::to_string))
                        .unwrap_or_else(|| line.to_string())
                })
                .collect();
            log.contains(text).then_some(log)
        })
    }
}
