//! Step 35, devices: a container may `mknod` any device but open only
//! Docker's standard character devices; `--privileged` opens everything;
//! `--device` brings one host device in (node and rule); `exec` is held to
//! the same list; a `--device` that is not a device is refused with 125;
//! and the cgroup v2 device filter, attached to a directory of this host's
//! cgroup2 mount, refuses what it should.

use std::path::{Path, PathBuf};

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

/// A block device the host itself can open, and its major and minor: a
/// loop device when there is one (it opens with no medium read), else the
/// first disk of `/proc/partitions`. (Some sandboxes refuse the disk even
/// to root, which would make every test below pass for the wrong reason.)
/// A machine with neither (the v2 VM: its root is the host's filesystem,
/// it has no disk and no loop device yet) gets a loop device over a small
/// file, made once for this test run and detached when it ends.
fn host_block() -> (PathBuf, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    static DEVICE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let p = DEVICE.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/partitions").expect("read /proc/partitions");
        let disks: Vec<PathBuf> = text
            .lines()
            .skip(2)
            .filter_map(|l| l.split_whitespace().nth(3))
            .map(|name| PathBuf::from("/dev").join(name))
            .collect();
        std::iter::once(PathBuf::from("/dev/loop0"))
            .chain(disks)
            .find(|p| std::fs::File::open(p).is_ok())
            .unwrap_or_else(made_loop_device)
    });
    let rdev = std::fs::metadata(p).unwrap().rdev();
    let (major, minor) = (nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    (p.clone(), major as u32, minor as u32)
}

/// A loop device over a 1 MiB file of this test run, detached when the
/// test binary exits.
fn made_loop_device() -> PathBuf {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    extern "C" fn detach() {
        if let Some(dev) = MADE.get() {
            let _ = std::process::Command::new("losetup")
                .arg("-d")
                .arg(dev)
                .status();
        }
    }
    let _ = std::process::Command::new("modprobe").arg("loop").status();
    let file = std::env::temp_dir().join(format!("mydocker-loop-{}", std::process::id()));
    std::fs::write(&file, vec![0u8; 1 << 20]).expect("write the loop device's file");
    let out = std::process::Command::new("losetup")
        .args(["--find", "--show"])
        .arg(&file)
        .output()
        .expect("run losetup");
    // The device keeps the file open: its name can go now.
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "no block device that the host can open, and losetup could not make one: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    MADE.set(dev.clone()).expect("one loop device");
    // SAFETY: registers a plain function with no captured state.
    #[allow(unsafe_code)]
    unsafe {
        libc::atexit(detach)
    };
    dev
}

/// A script that makes a node for that device in `/tmp`, says `made`, and
/// reads from it.
fn mknod_and_read() -> String {
    let (_, major, minor) = host_block();
    format!(
        "mknod /tmp/disk b {major} {minor} && echo made && head -c1 /tmp/disk >/dev/null && echo read"
    )
}

#[rstest]
fn a_made_disk_node_cannot_be_opened_but_the_standard_devices_can(env: Env) {
    let script = format!(
        "head -c1 /dev/zero >/dev/null && head -c1 /dev/urandom >/dev/null && \
         echo x >/dev/null && echo x >/dev/full; echo standard; {}",
        mknod_and_read()
    );
    let out = env.run(&[], &["sh", "-c", &script]).output().unwrap();
    let stdout = stdout_of(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("standard"), "{stdout}{stderr}");
    assert!(stdout.contains("made"), "mknod was refused: {stderr}");
    assert!(!stdout.contains("read"), "the host's disk could be read");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    assert!(
        !stderr.contains("/dev/null") && !stderr.contains("/dev/zero"),
        "a standard device was refused: {stderr}"
    );
}

#[rstest]
fn privileged_opens_what_the_default_refuses(env: Env) {
    let refused = env
        .run(&[], &["sh", "-c", &mknod_and_read()])
        .output()
        .unwrap();
    assert!(
        !stdout_of(&refused).contains("read"),
        "the default opened it"
    );
    let out = env
        .run(&["--privileged"], &["sh", "-c", &mknod_and_read()])
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert!(
        stdout.contains("made") && stdout.contains("read"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[rstest]
fn exec_is_held_to_the_containers_list(env: Env) {
    let (_, major, minor) = host_block();
    let mknod = format!("mknod /tmp/disk b {major} {minor} && sleep 30");
    env.run_d(&["--name", "devs"], &["sh", "-c", &mknod]);
    let out = env
        .md()
        .args(["exec", "devs", "sh", "-c"])
        .arg("until [ -b /tmp/disk ]; do sleep 0.05; done; head -c1 /dev/zero >/dev/null && echo zero; head -c1 /tmp/disk")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout_of(&out).contains("zero"), "{stderr}");
    assert!(!out.status.success());
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    env.md().args(["rm", "-f", "devs"]).assert().success();
}

#[rstest]
fn device_flag_makes_the_node_and_allows_it(env: Env) {
    let (host, major, minor) = host_block();
    let flag = format!("{}:/dev/xdisk", host.display());
    let out = env
        .run(
            &["--device", &flag],
            &[
                "sh",
                "-c",
                "ls -l /dev/xdisk && head -c1 /dev/xdisk >/dev/null && echo opened",
            ],
        )
        .output()
        .unwrap();
    let stdout = stdout_of(&out);
    assert!(
        stdout.contains("opened"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with('b'), "not a block device: {stdout}");
    assert!(
        stdout.contains(&format!("{major}, {minor:>3}"))
            || stdout.contains(&format!("{major}, {minor}")),
        "not {major}:{minor}: {stdout}"
    );
}

#[rstest]
fn device_permissions_limit_the_access(env: Env) {
    let flag = format!("{}:/dev/xdisk:r", host_block().0.display());
    let out = env
        .run(
            &["--device", &flag],
            &[
                "sh",
                "-c",
                "head -c1 /dev/xdisk >/dev/null && echo read; echo >/dev/xdisk",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout_of(&out).contains("read"), "{stderr}");
    assert!(!out.status.success(), "opened for writing");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
}

#[rstest]
#[case::regular_file("/etc/hostname")]
#[case::directory("/dev")]
#[case::missing("/dev/no-such-device")]
#[case::bad_permissions("/dev/null:/dev/null:rwx")]
fn a_device_flag_that_is_not_a_device_exits_125(env: Env, #[case] value: &str) {
    let out = env.run(&["--device", value], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--device") && err.contains(value), "{err}");
    assert!(
        mydocker::container::state::Store::new(&env.root)
            .list()
            .is_empty(),
        "a refused run left a container"
    );
}

/// A cgroup2 directory of this test, removed (with its program) on drop.
struct Cgroup2Dir(PathBuf);

impl Drop for Cgroup2Dir {
    fn drop(&mut self) {
        let _ = mydocker::cgroups::remove_paths(std::slice::from_ref(&self.0));
    }
}

/// The cgroup2 mount, on a v2 or hybrid machine.
fn cgroup2_mount() -> Option<PathBuf> {
    let h = mydocker::cgroups::detect::Hierarchy::read(Path::new("/proc")).unwrap();
    h.v2.map(|(mount, _)| mount)
}

/// The v2 design on its own, whatever this machine's containers use: the
/// default filter attached to a fresh cgroup2 directory lets a process in
/// it make a disk node and open /dev/null, but not open the disk.
#[rstest]
fn the_v2_filter_refuses_a_disk_but_not_dev_null(env: Env) {
    let Some(mount) = cgroup2_mount() else {
        eprintln!("skipped: no cgroup2 mount on this machine");
        return;
    };
    let dir = Cgroup2Dir(mount.join(format!("mydocker-{}-devtest", env.tag)));
    std::fs::create_dir(&dir.0).expect("create a cgroup2 directory");
    let policy = mydocker::devices::policy(false, &[]);
    mydocker::devices::load::apply(&dir.0, &policy).expect("load and attach the filter");

    let (_, major, minor) = host_block();
    let node = env.scratch("nodes").join("disk");
    let script = format!(
        "echo $$ > {procs} && mknod {node} b {major} {minor} && echo made && \
         head -c1 /dev/null && echo null && head -c1 {node} >/dev/null && echo read",
        procs = dir.0.join("cgroup.procs").display(),
        node = node.display(),
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("made") && stdout.contains("null"),
        "{stdout}{stderr}"
    );
    assert!(!stdout.contains("read"), "the filter let the disk open");
    assert!(stderr.contains("Operation not permitted"), "{stderr}");
    // Outside that cgroup the same node opens: it was the filter.
    std::process::Command::new("head")
        .args(["-c1"])
        .arg(&node)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
        .then_some(())
        .expect("the node opens outside the cgroup");
}

/// A program the kernel's verifier refuses (it returns r0 without setting
/// it) comes back as an error carrying the verifier's own words.
#[test]
fn a_refused_program_reports_the_verifiers_log() {
    crate::harness::require_root();
    let exit_only = mydocker::devices::bpf::Insn {
        code: 0x95,
        dst: 0,
        src: 0,
        off: 0,
        imm: 0,
    };
    let err = mydocker::devices::load::load(&[exit_only]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("verifier:") && text.contains("R0"), "{text}");
}
