//! Step 40: mydocker as an OCI runtime. The binary is run under the name
//! `mydocker-runtime` (a symlink in the test's directory) with runc's
//! command line over a bundle made here from the busybox image: first
//! directly (create, state, start, kill, delete, run), then by containerd,
//! started by the test with its root, state and sockets in the test's
//! directory and stopped by PID, through `ctr run --runc-binary`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rstest::rstest;
use serde_json::{Value, json};

use crate::containerd::Containerd;
use crate::harness::{Env, env, ok, stdout_of, wait_for};

/// The busybox image as `mydocker save` writes it (a Docker archive),
/// for containerd and podman to import.
pub(crate) fn saved_busybox(env: &Env) -> PathBuf {
    let archive = env.scratch("image").join("busybox.tar");
    env.md()
        .args(["save", "-o"])
        .arg(&archive)
        .arg("busybox")
        .assert()
        .success();
    archive
}

/// `mydocker-runtime`: a symlink to the binary under test (not to the
/// explaining wrapper, whose own name would hide this one).
pub(crate) fn runtime(env: &Env) -> PathBuf {
    let link = env.scratch("bin").join("mydocker-runtime");
    if !link.exists() {
        std::os::unix::fs::symlink(crate::harness::real_bin(), &link).unwrap();
    }
    link
}

/// The runtime with this test's own `--root` and a JSON `--log`.
pub(crate) fn rt(env: &Env) -> Command {
    let mut c = Command::new(runtime(env));
    c.arg("--root")
        .arg(env.scratch("runtime-root"))
        .arg("--log")
        .arg(env.scratch("runtime-log").join("log.json"))
        .arg("--log-format")
        .arg("json");
    c
}

/// A bundle: the busybox tree as `rootfs` and a `config.json` running
/// `args`, in a cgroup of this test's root (so the harness's leak check
/// sees it). `edit` changes the configuration before it is written.
pub(crate) fn bundle(env: &Env, id: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> PathBuf {
    let dir = env.scratch(&format!("bundle-{id}"));
    let rootfs = env.busybox_tree(&format!("bundle-{id}/rootfs"));
    std::fs::set_permissions(&rootfs, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let caps = json!(["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"]);
    let mut config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs"},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}, {"type": "network"}
            ],
            "cgroupsPath": format!("mydocker-{}-{id}", env.tag),
            "maskedPaths": ["/proc/kcore", "/proc/keys"],
            "readonlyPaths": ["/proc/sys"]
        }
    });
    edit(&mut config);
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    dir
}

/// A field of `/proc/PID/status` (`Uid:`, `CapBnd:`...), its words joined
/// by one space; empty when the process has no such line.
pub(crate) fn status_field(pid: &str, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{}/status", pid.trim()))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_default()
}

/// `spec --bundle DIR` in a scratch directory named `name`: the
/// configuration it wrote.
fn spec_config(env: &Env, name: &str) -> Value {
    let dir = env.scratch(name);
    ok(&rt(env)
        .args(["spec", "--bundle"])
        .arg(&dir)
        .output()
        .unwrap());
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
}

/// `create --bundle B ID` whose outcome the test examines (a create
/// expected to fail, say): its output, stdio captured.
pub(crate) fn try_create(env: &Env, bundle: &Path, id: &str) -> std::process::Output {
    rt(env)
        .args(["create", "--bundle"])
        .arg(bundle)
        .arg(id)
        .output()
        .unwrap()
}

/// `create --bundle B [OPTS] ID`, its stdout and stderr files (which the
/// container keeps: they are its stdio); returns the stdout file.
pub(crate) fn create(env: &Env, bundle: &Path, id: &str, opts: &[&str]) -> PathBuf {
    let dir = env.scratch(&format!("stdio-{id}"));
    let (stdout, stderr) = (dir.join("stdout"), dir.join("stderr"));
    let status = rt(env)
        .args(["create", "--bundle"])
        .arg(bundle)
        .args(opts)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "create: {status}: {}",
        std::fs::read_to_string(&stderr).unwrap()
    );
    stdout
}

/// `state ID`, parsed.
pub(crate) fn state(env: &Env, id: &str) -> Value {
    let out = rt(env).args(["state", id]).output().unwrap();
    serde_json::from_str(&ok(&out)).unwrap()
}

#[rstest]
fn create_waits_until_start_and_state_follows_each_verb(env: Env) {
    let id = "oci-life";
    let b = bundle(
        &env,
        id,
        &["sh", "-c", "echo started as $(hostname); exec sleep 60"],
        |_| {},
    );
    let pid_file = env.scratch("pid").join("init.pid");
    // create: returns with init waiting, stdio being create's own.
    let output = create(&env, &b, id, &["--pid-file", pid_file.to_str().unwrap()]);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let s = state(&env, id);
    assert_eq!(s["status"], "created", "{s}");
    assert_eq!(s["pid"], pid, "{s}");
    assert_eq!(s["id"], id);
    assert_eq!(s["bundle"], b.display().to_string());
    // Nothing of mydocker's is left between the caller and the container.
    let parent = mydocker::proc_stat::parent_pid(pid).unwrap();
    let parent_exe = std::fs::read_link(format!("/proc/{parent}/exe")).unwrap_or_default();
    assert!(
        !parent_exe.to_string_lossy().contains("mydocker"),
        "init's parent {parent} is {}",
        parent_exe.display()
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "",
        "ran before start"
    );

    ok(&rt(&env).args(["start", id]).output().unwrap());
    wait_for("the program's output", || {
        let text = std::fs::read_to_string(&output).unwrap();
        text.contains("started as oci-test").then_some(())
    });
    assert_eq!(state(&env, id)["status"], "running");
    // A second start is refused; delete of a running one without --force too.
    let again = rt(&env).args(["start", id]).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    let refused = rt(&env).args(["delete", id]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("running"));

    // kill with a number (as containerd's shim sends it).
    ok(&rt(&env).args(["kill", id, "9"]).output().unwrap());
    wait_for("status stopped", || {
        (state(&env, id)["status"] == "stopped").then_some(())
    });
    assert_eq!(state(&env, id)["pid"], 0);
    ok(&rt(&env).args(["delete", id]).output().unwrap());
    let gone = rt(&env).args(["state", id]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("does not exist"));
}

#[rstest]
fn kill_takes_names_with_and_without_sig_and_delete_force_ends_it(env: Env) {
    // A shell that says which signal reached it.
    let id = "oci-signals";
    let script = "trap 'echo got TERM' TERM; trap 'echo got HUP' HUP; echo ready; \
                  while :; do sleep 0.05; done";
    let b = bundle(&env, id, &["sh", "-c", script], |_| {});
    let output = create(&env, &b, id, &[]);
    ok(&rt(&env).args(["start", id]).output().unwrap());
    let said = |text: &str| {
        let text = text.to_string();
        let output = output.clone();
        wait_for(&text.clone(), move || {
            std::fs::read_to_string(&output)
                .unwrap()
                .contains(&text)
                .then_some(())
        })
    };
    said("ready");
    ok(&rt(&env).args(["kill", id, "SIGHUP"]).output().unwrap());
    said("got HUP");
    ok(&rt(&env).args(["kill", id]).output().unwrap());
    said("got TERM");
    let bad = rt(&env).args(["kill", id, "NOPE"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
    let gone = rt(&env).args(["state", id]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
}

#[rstest]
fn run_exits_with_the_programs_code(env: Env) {
    let b = bundle(&env, "oci-run", &["sh", "-c", "echo out; exit 3"], |_| {});
    let out = rt(&env)
        .current_dir(&b)
        .args(["run", "oci-run"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_of(&out), "out\n");
    // run deletes the container it made.
    assert_eq!(
        std::fs::read_dir(env.scratch("runtime-root"))
            .unwrap()
            .count(),
        0
    );
}

#[rstest]
fn a_field_it_cannot_honour_is_one_json_line_in_the_log_and_nothing_is_made(env: Env) {
    let b = bundle(&env, "oci-refused", &["true"], |c| {
        // Not namespaced: it would change the host (runc refuses it too).
        c["linux"]["sysctl"] = json!({"vm.swappiness": "10"});
    });
    let out = rt(&env)
        .args(["create", "--bundle"])
        .arg(&b)
        .arg("oci-refused")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("linux.sysctl: vm.swappiness"), "{stderr}");
    let log = std::fs::read_to_string(env.scratch("runtime-log").join("log.json")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    let line: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["level"], "error");
    assert!(
        line["msg"].as_str().unwrap().contains("linux.sysctl"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_dir(env.scratch("runtime-root"))
            .unwrap()
            .count(),
        0
    );
}

/// `run ID` in bundle `b`: the program's stdout, which must exit 0.
pub(crate) fn run_ok(env: &Env, b: &Path, id: &str) -> String {
    let out = rt(env).current_dir(b).args(["run", id]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout_of(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_of(&out)
}

/// A `cgroup` mount in a new cgroup namespace shows the container's own
/// cgroup (its `pids.max` is the configured limit), not the runtime's nor
/// a path that only exists relative to the namespace's root.
#[rstest]
fn a_cgroup_mount_in_a_cgroup_namespace_shows_the_containers_cgroup(env: Env) {
    let id = "oci-cgroupns";
    let script = "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max";
    let b = bundle(&env, id, &["sh", "-c", script], |c| {
        c["mounts"] = json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ]);
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
            {"type": "mount"}, {"type": "network"}, {"type": "cgroup"}
        ]);
        c["linux"]["resources"] = json!({"pids": {"limit": 77}});
    });
    let out = run_ok(&env, &b, id);
    assert_eq!(out.trim(), "77", "the container's pids.max: {out}");
}

#[rstest]
fn mounts_are_made_as_listed_with_their_options_and_the_view_as_configured(env: Env) {
    let id = "oci-mounts";
    // A host directory and a host file to bind.
    let shared = env.scratch("shared");
    std::fs::write(shared.join("hello"), "hello from the host\n").unwrap();
    let file = env.scratch("files").join("greeting");
    std::fs::write(&file, "a bound file\n").unwrap();
    // Lines "what: value" (tested one by one below).
    let script = r#"
        m() { grep " $1 " /proc/self/mountinfo | head -n1 | cut -d' ' -f6; }
        echo "data: $(cat /data/hello)"
        touch /data/new 2>/dev/null && echo "data-write: yes" || echo "data-write: no"
        echo "file: $(cat /etc/greeting)"
        echo "scratch: $(m /scratch)"
        echo "linked: $(m /var/real)"
        echo "pts: $(test -c /dev/pts/ptmx && echo yes)"
        echo "mqueue: $(grep -c ' /dev/mqueue .* - mqueue ' /proc/self/mountinfo)"
        # Its own cgroup: the one tree (v2) or one directory per hierarchy (v1).
        procs=$(ls /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs 2>/dev/null)
        echo "cgroup: $(test -n "$procs" && echo yes)"
        touch /sys/fs/cgroup/x /sys/fs/cgroup/pids/x 2>/dev/null && echo "cgroup-write: yes" || echo "cgroup-write: no"
        echo "sys: $(m /sys)"
        echo "cpuinfo: $(wc -c < /proc/cpuinfo)"
        echo "kcore-mounts: $(grep -c ' /proc/kcore ' /proc/self/mountinfo)"
        echo "sys-kernel: $(m /proc/sys/kernel)"
        echo "proc-sys-mounts: $(grep -c ' /proc/sys ' /proc/self/mountinfo)"
        touch /rootfile 2>/dev/null && echo "root-write: yes" || echo "root-write: no"
        echo "shmmax: $(cat /proc/sys/kernel/shmmax)"
        echo "ip_forward: $(cat /proc/sys/net/ipv4/ip_forward)"
        echo "device: $(ls -ln /dev/mine | tr -s ' ' | cut -d' ' -f1,3,4,5,6)"
        echo "null: $(test -c /dev/null && echo yes)"
        echo "fd: $(readlink /dev/fd)"
    "#;
    let b = bundle(&env, id, &["sh", "-c", script], |c| {
        let tmpfs = |dest: &str, opts: &[&str]| json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts});
        c["mounts"] = json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            tmpfs("/dev", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/data", "type": "bind", "source": shared,
             "options": ["rbind", "ro", "rprivate"]},
            {"destination": "/etc/greeting", "type": "bind", "source": file,
             "options": ["bind"]},
            tmpfs("/scratch", &["nosuid", "noexec", "nodev", "size=1m"]),
            // A symlink to an absolute path: followed inside the root.
            tmpfs("/linked", &["size=1m"])
        ]);
        c["root"]["readonly"] = json!(true);
        c["linux"]["maskedPaths"] = json!(["/proc/cpuinfo"]);
        c["linux"]["readonlyPaths"] = json!(["/proc/sys/kernel"]);
        c["linux"]["sysctl"] = json!({"kernel.shmmax": "12345678", "net.ipv4.ip_forward": "1"});
        c["linux"]["devices"] = json!([{"path": "/dev/mine", "type": "c", "major": 1,
            "minor": 5, "fileMode": 0o640, "uid": 1000, "gid": 1001}]);
        c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
    });
    let rootfs = b.join("rootfs");
    std::fs::create_dir_all(rootfs.join("var/real")).unwrap();
    std::os::unix::fs::symlink("/var/real", rootfs.join("linked")).unwrap();
    let out = run_ok(&env, &b, id);
    let said = |what: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{what}: ")))
            .unwrap_or_else(|| panic!("no {what:?} in:\n{out}"))
            .to_string()
    };
    assert_eq!(said("data"), "hello from the host");
    assert_eq!(said("data-write"), "no", "/data is bound ro");
    assert_eq!(said("file"), "a bound file");
    assert!(said("scratch").contains("noexec"), "{out}");
    assert!(
        !said("linked").is_empty(),
        "the tmpfs is on /var/real: {out}"
    );
    let link = std::fs::symlink_metadata(rootfs.join("linked")).unwrap();
    assert!(link.is_symlink(), "the link is left as it is");
    assert_eq!(said("pts"), "yes");
    assert_eq!(said("mqueue"), "1");
    assert_eq!(said("cgroup"), "yes", "{out}");
    assert_eq!(said("cgroup-write"), "no", "mounted ro");
    assert!(said("sys").starts_with("ro"), "{out}");
    assert_eq!(said("cpuinfo"), "0", "masked as listed");
    assert_eq!(said("kcore-mounts"), "0", "Docker's list is not used");
    assert!(said("sys-kernel").starts_with("ro"), "{out}");
    assert_eq!(said("proc-sys-mounts"), "0", "Docker's list is not used");
    assert_eq!(said("root-write"), "no", "root.readonly");
    assert_eq!(said("shmmax"), "12345678");
    assert_eq!(said("ip_forward"), "1");
    assert_eq!(said("device"), "crw-r----- 1000 1001 1, 5");
    assert_eq!(said("null"), "yes");
    assert_eq!(said("fd"), "/proc/self/fd");
    // Nothing reached the host's directories.
    assert!(!shared.join("new").exists());
    assert!(
        !Path::new("/var/real").exists(),
        "the link led out of the root"
    );
}

#[rstest]
#[case::not_namespaced("vm.swappiness", json!({}), "not namespaced")]
#[case::net_without_its_own_namespace(
    "net.ipv4.ip_forward",
    json!([{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]),
    "network namespace"
)]
fn a_sysctl_that_would_change_the_host_is_refused_by_name(
    env: Env,
    #[case] key: &str,
    #[case] namespaces: Value,
    #[case] cause: &str,
) {
    let b = bundle(&env, "oci-sysctl", &["true"], |c| {
        c["linux"]["sysctl"] = json!({key: "1"});
        if namespaces.is_array() {
            c["linux"]["namespaces"] = namespaces;
        }
    });
    let out = rt(&env)
        .args(["create", "--bundle"])
        .arg(&b)
        .arg("oci-sysctl")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("linux.sysctl: {key}")) && stderr.contains(cause),
        "{stderr}"
    );
}

/// Init is confined before it waits for `start`, as runc's is: once
/// `create` returns, its user and capabilities are already the
/// configuration's, so a refusal is `create`'s error and `start` leaves only
/// the seccomp filter and `execve` (a signal sent once the state says
/// `running` then meets the program sooner).
#[rstest]
fn init_waits_for_start_already_as_the_configured_user_and_capabilities(env: Env) {
    let id = "oci-confined-early";
    let b = bundle(&env, id, &["true"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]
        });
    });
    let pid_file = env.scratch("confined-early-pid").join("pid");
    create(&env, &b, id, &["--pid-file", pid_file.to_str().unwrap()]);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let field = |name: &str| status_field(&pid, name);
    let (created, uid, bounding) = (
        state(&env, id)["status"].clone(),
        field("Uid:"),
        field("CapBnd:"),
    );
    // Deleted before asserting: a failure leaves no waiting init behind.
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
    assert_eq!(created, "created");
    assert_eq!(uid, "1000 1000 1000 1000");
    assert_eq!(bounding, "0000000000000020");
}

#[rstest]
fn the_user_its_umask_each_capability_set_and_the_seccomp_filter_are_the_configurations(env: Env) {
    let script = "id -u; id -G; umask; grep -E '^Cap' /proc/self/status; \
                  mkdir /tmp/made 2>&1 || true";
    let b = bundle(&env, "oci-user", &["sh", "-c", script], |c| {
        c["process"]["user"] =
            json!({"uid": 1000, "gid": 1000, "additionalGids": [2000], "umask": 23});
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"]
        });
        c["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]
        });
    });
    let out = run_ok(&env, &b, "oci-user");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..3], ["1000", "1000 2000", "0027"], "{out}");
    // A program run by a user other than root keeps only the ambient set
    // (CAP_KILL, bit 5); the bounding set is the configuration's (CHOWN,
    // KILL, SETGID, SETUID: bits 0, 5, 6, 7).
    for (set, mask) in [
        ("CapInh", "0000000000000020"),
        ("CapPrm", "0000000000000020"),
        ("CapEff", "0000000000000020"),
        ("CapBnd", "00000000000000e1"),
        ("CapAmb", "0000000000000020"),
    ] {
        assert!(out.contains(&format!("{set}:\t{mask}")), "{set}: {out}");
    }
    assert!(out.contains("Function not implemented"), "{out}");
}

#[rstest]
fn each_namespace_is_new_joined_by_its_path_or_the_callers(env: Env) {
    // An IPC namespace to join: that of a process of the test's own.
    let mut holder = Command::new("unshare")
        .args(["--ipc", "sleep", "60"])
        .spawn()
        .unwrap();
    let ns = |pid: &str, kind: &str| {
        std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
            .unwrap()
            .display()
            .to_string()
    };
    let holder_pid = holder.id().to_string();
    wait_for("the holder's own IPC namespace", || {
        (ns(&holder_pid, "ipc") != ns("self", "ipc")).then_some(())
    });
    let script = "for k in ipc net cgroup; do readlink /proc/self/ns/$k; done";
    let b = bundle(&env, "oci-ns", &["sh", "-c", script], |c| {
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"},
            {"type": "ipc", "path": format!("/proc/{holder_pid}/ns/ipc")}
        ]);
    });
    let out = run_ok(&env, &b, "oci-ns");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], ns(&holder_pid, "ipc"), "joined: {out}");
    assert_eq!(
        lines[1],
        ns("self", "net"),
        "not listed, the caller's: {out}"
    );
    assert_ne!(lines[2], ns("self", "cgroup"), "new: {out}");
    // A path of another kind than the one listed is refused.
    let wrong = bundle(&env, "oci-ns-wrong", &["true"], |c| {
        c["linux"]["namespaces"] = json!([
            {"type": "pid"}, {"type": "uts"}, {"type": "mount"},
            {"type": "ipc", "path": format!("/proc/{holder_pid}/ns/net")}
        ]);
    });
    let out = rt(&env)
        .current_dir(&wrong)
        .args(["run", "oci-ns-wrong"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a namespace of the kind"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = holder.kill();
    let _ = holder.wait();
}

#[rstest]
fn hooks_get_the_state_on_stdin_and_a_failing_create_runtime_hook_fails_create(env: Env) {
    let dir = env.scratch("hooks");
    let hook = |name: &str| {
        let file = dir.join(name);
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", file.display())],
               "timeout": 5})
    };
    let b = bundle(&env, "oci-hooks", &["true"], |c| {
        c["annotations"] = json!({"org.example.hooks": "read by the hooks"});
        c["hooks"] = json!({
            "createRuntime": [hook("createRuntime")],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")]
        });
    });
    run_ok(&env, &b, "oci-hooks");
    for name in ["createRuntime", "poststart", "poststop"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let state: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text:?}"));
        assert_eq!(state["id"], "oci-hooks", "{name}: {state}");
        assert_eq!(state["bundle"], b.display().to_string(), "{name}: {state}");
        assert_eq!(
            state["annotations"]["org.example.hooks"], "read by the hooks",
            "{name}: the configuration's annotations: {state}"
        );
    }
    // One that fails (or outlives its timeout) fails create; nothing is left.
    for (id, script, timeout) in [
        ("oci-hook-fails", "exit 2", 5),
        ("oci-hook-slow", "sleep 30", 1),
    ] {
        let b = bundle(&env, id, &["true"], |c| {
            c["hooks"] = json!({"createRuntime": [
                {"path": "/bin/sh", "args": ["sh", "-c", script], "timeout": timeout}
            ]});
        });
        let out = try_create(&env, &b, id);
        assert_eq!(out.status.code(), Some(1), "{id}");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(stderr.contains("hooks.createRuntime"), "{stderr}");
    }
    assert_eq!(
        std::fs::read_dir(env.scratch("runtime-root"))
            .unwrap()
            .count(),
        0
    );
}

/// `createContainer` runs during `create` in the container's namespaces
/// before the pivot (the host's `/`, from the root's directory), and
/// `startContainer` during `start` in the container's root, before the
/// program: each writes what it saw into a host directory the container
/// also binds at `/hooks`.
#[rstest]
fn hooks_inside_the_container_run_in_its_namespaces_at_their_points(env: Env) {
    let id = "oci-hooks-inside";
    let dir = env.scratch("inside-hooks");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    // What a hook saw, written to OUT.state/.mnt/.pwd/.root.
    let saw = |out: &str| {
        format!(
            "cat > {out}.state; readlink /proc/self/ns/mnt > {out}.mnt; pwd > {out}.pwd; \
             ls / > {out}.root"
        )
    };
    let created = saw(&format!("{}/createContainer", dir.display()));
    let started = saw("/hooks/startContainer");
    let b = bundle(
        &env,
        id,
        &[
            "sh",
            "-c",
            "cat /hooks/startContainer.mnt > /hooks/program.saw",
        ],
        |c| {
            c["mounts"].as_array_mut().unwrap().push(json!(
                {"destination": "/hooks", "type": "bind", "source": dir, "options": ["rbind"]}
            ));
            c["hooks"] = json!({
                "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", created], "timeout": 5}],
                "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", started], "timeout": 5}]
            });
        },
    );
    let rootfs = b.join("rootfs");
    let pid_file = env.scratch("inside-hooks-pid").join("pid");
    create(&env, &b, id, &["--pid-file", pid_file.to_str().unwrap()]);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let container_mnt = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).unwrap();
    let own_mnt = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert_ne!(container_mnt, own_mnt);

    // createContainer: ran during create, in the container's mount
    // namespace, from the root's directory, with the host's `/`.
    let seen: Value = serde_json::from_str(&read("createContainer.state")).unwrap();
    assert_eq!(seen["id"], id, "{seen}");
    assert_eq!(seen["status"], "creating", "{seen}");
    assert_eq!(seen["pid"], pid, "{seen}");
    assert_eq!(
        read("createContainer.mnt").trim(),
        container_mnt.to_str().unwrap()
    );
    assert_eq!(read("createContainer.pwd").trim(), rootfs.to_str().unwrap());
    assert!(
        !read("createContainer.root").lines().any(|l| l == "hooks"),
        "the host's /"
    );
    assert!(
        read("startContainer.state").is_empty(),
        "startContainer ran at create"
    );

    // startContainer: ran at start, in the container's root, before the
    // program (which read what it wrote).
    ok(&rt(&env).args(["start", id]).output().unwrap());
    wait_for("the program to end", || {
        (!read("program.saw").is_empty()).then_some(())
    });
    let seen: Value = serde_json::from_str(&read("startContainer.state")).unwrap();
    assert_eq!(seen["status"], "created", "{seen}");
    assert_eq!(seen["pid"], pid, "{seen}");
    assert_eq!(
        read("startContainer.mnt").trim(),
        container_mnt.to_str().unwrap()
    );
    assert_eq!(read("startContainer.pwd").trim(), "/");
    assert!(
        read("startContainer.root").lines().any(|l| l == "hooks"),
        "the container's /"
    );
    assert_eq!(read("program.saw"), read("startContainer.mnt"));
    wait_for("the container to stop", || {
        (state(&env, id)["status"] == "stopped").then_some(())
    });
    ok(&rt(&env).args(["delete", id]).output().unwrap());
}

/// A failing `createContainer` hook fails `create` with one line naming
/// it, and leaves nothing; a failing `startContainer` hook fails `start`,
/// and the container is stopped.
#[rstest]
fn a_failing_inside_hook_fails_create_or_start(env: Env) {
    let b = bundle(&env, "oci-cc-fails", &["true"], |c| {
        c["hooks"] = json!({"createContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}
        ]});
    });
    let out = rt(&env)
        .args(["create", "--bundle"])
        .arg(&b)
        .arg("oci-cc-fails")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("hooks.createContainer[0] /bin/sh"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(env.scratch("runtime-root"))
            .unwrap()
            .count(),
        0
    );

    let id = "oci-sc-fails";
    let b = bundle(&env, id, &["true"], |c| {
        c["hooks"] = json!({"startContainer": [
            {"path": "/bin/sh", "args": ["sh", "-c", "exit 4"]}
        ]});
    });
    create(&env, &b, id, &[]);
    assert_eq!(state(&env, id)["status"], "created");
    let out = rt(&env).args(["start", id]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("hooks.startContainer[0] /bin/sh"),
        "{stderr}"
    );
    assert_eq!(state(&env, id)["status"], "stopped");
    ok(&rt(&env).args(["delete", id]).output().unwrap());
}

/// A containerd of this test's own (`tests/support/containerd.rs`), its
/// files in the test's directory, its containers in a namespace named
/// after the test.
fn containerd(env: &Env) -> Containerd {
    Containerd::start(&env.scratch("containerd"), &format!("mydocker-{}", env.tag))
}

#[rstest]
fn containerd_runs_a_container_with_mydocker_as_its_runtime(env: Env) {
    let archive = saved_busybox(&env);
    let ctd = containerd(&env);
    ok(&ctd.ctr(&[
        "image",
        "import",
        "--base-name",
        "localhost/busybox",
        archive.to_str().unwrap(),
    ]));
    let image = ok(&ctd.ctr(&["image", "ls", "-q"]));
    let image = image.lines().next().expect("an image imported").to_string();
    let runtime = runtime(&env);
    let runc_root = env.scratch("ctr-runtime-root");
    let run = |id: &str, cmd: &[&str]| {
        let mut args = vec![
            "run",
            "--rm",
            "--runc-binary",
            runtime.to_str().unwrap(),
            "--runc-root",
            runc_root.to_str().unwrap(),
            &image,
            id,
        ];
        args.extend_from_slice(cmd);
        ctd.ctr(&args)
    };
    let out = run("oci-ctr-echo", &["echo", "hi"]);
    assert_eq!(ok(&out), "hi\n");
    // The program's exit code reaches ctr through the shim.
    let out = run("oci-ctr-code", &["sh", "-c", "exit 7"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ok(&ctd.ctr(&["container", "ls", "-q"])), "");
}

/// A created and started container running `sleep 60`.
fn running(env: &Env, id: &str) -> PathBuf {
    let b = bundle(env, id, &["sleep", "1000"], |_| {});
    create(env, &b, id, &[]);
    ok(&rt(env).args(["start", id]).output().unwrap());
    b
}

#[rstest]
fn exec_joins_the_container_inline_and_from_a_process_file(env: Env) {
    let id = "oci-exec";
    running(&env, id);
    let exec = |args: &[&str]| rt(&env).arg("exec").args(args).output().unwrap();
    // Its UTS and mount namespaces: the container's hostname and root.
    assert_eq!(ok(&exec(&[id, "hostname"])), "oci-test\n");
    assert_eq!(ok(&exec(&[id, "ls", "/bin/busybox"])), "/bin/busybox\n");
    // Its PID namespace: init (sleep) is PID 1 there.
    assert_eq!(ok(&exec(&[id, "cat", "/proc/1/comm"])), "sleep\n");
    // --env adds to the configuration's environment, --cwd, --user.
    let out = exec(&[
        "--env",
        "GREETING=hi there",
        "--cwd",
        "/proc",
        id,
        "sh",
        "-c",
        "echo $GREETING; pwd; echo $PATH",
    ]);
    assert_eq!(ok(&out), "hi there\n/proc\n/usr/sbin:/usr/bin:/sbin:/bin\n");
    let ids = ok(&exec(&[
        "--user",
        "1000:1001",
        id,
        "sh",
        "-c",
        "id -u; id -g",
    ]));
    assert_eq!(ids, "1000\n1001\n");
    // The configuration's capabilities, never more (CAP_NET_ADMIN is not
    // among them: bit 12 is clear in the bounding set).
    let status = ok(&exec(&[id, "grep", "CapBnd", "/proc/self/status"]));
    let bnd = u64::from_str_radix(status.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(bnd & (1 << 12), 0, "{status}");
    assert_ne!(bnd & (1 << 5), 0, "CAP_KILL kept: {status}");
    // In the foreground, exec exits with the process's code, as runc.
    assert_eq!(exec(&[id, "sh", "-c", "exit 3"]).status.code(), Some(3));

    // --process FILE --detach --pid-file: the process keeps running after
    // exec returns, in the container's cgroup (ps lists it).
    let file = env.scratch("exec").join("process.json");
    std::fs::write(
        &file,
        json!({
            "args": ["sh", "-c", "echo from the file > /run/mark; exec sleep 60"],
            "env": ["PATH=/bin"],
            "cwd": "/",
            "user": {"uid": 0, "gid": 0}
        })
        .to_string(),
    )
    .unwrap();
    let pid_file = env.scratch("exec").join("exec.pid");
    // Its stdio is a file: the process keeps what it inherits open, so a
    // pipe would not end while it runs (as with runc).
    let out = rt(&env)
        .args([
            "exec",
            "--process",
            file.to_str().unwrap(),
            "--detach",
            "--pid-file",
        ])
        .arg(&pid_file)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(env.scratch("exec").join("out")).unwrap())
        .stderr(std::fs::File::create(env.scratch("exec").join("err")).unwrap())
        .status()
        .unwrap();
    assert!(
        out.success(),
        "{}",
        std::fs::read_to_string(env.scratch("exec").join("err")).unwrap()
    );
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    wait_for("the detached process's mark", || {
        (ok(&exec(&[id, "cat", "/run/mark"])) == "from the file\n").then_some(())
    });
    let listed: Vec<i32> = serde_json::from_str(&ok(&rt(&env)
        .args(["ps", "--format", "json", id])
        .output()
        .unwrap()))
    .unwrap();
    let init = state(&env, id)["pid"].as_i64().unwrap() as i32;
    assert!(
        listed.contains(&pid) && listed.contains(&init),
        "{listed:?}"
    );
    let table = ok(&rt(&env).args(["ps", id]).output().unwrap());
    assert!(
        table.starts_with("UID") && table.contains("sleep 60"),
        "{table}"
    );

    // Flags it cannot honour are refused by name.
    let refused = exec(&["--apparmor", "x", id, "true"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--apparmor"));
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
    // Not in a stopped (here: gone) container.
    assert_eq!(exec(&[id, "true"]).status.code(), Some(1));
}

#[rstest]
fn pause_freezes_and_resume_thaws_list_shows_each_status(env: Env) {
    let id = "oci-pause";
    running(&env, id);
    let verb = |v: &str| ok(&rt(&env).args([v, id]).output().unwrap());
    verb("pause");
    assert_eq!(state(&env, id)["status"], "paused");
    let init = state(&env, id)["pid"].as_i64().unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let listed: Value = serde_json::from_str(&ok(&rt(&env)
        .args(["list", "--format", "json"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(listed[0]["id"], id, "{listed}");
    assert_eq!(listed[0]["status"], "paused", "{listed}");
    // A second pause, and exec into a paused container, are refused.
    assert_eq!(
        rt(&env).args(["pause", id]).output().unwrap().status.code(),
        Some(1)
    );
    assert_eq!(
        rt(&env)
            .args(["exec", id, "true"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    verb("resume");
    assert_eq!(state(&env, id)["status"], "running", "was frozen: {stat}");
    let table = ok(&rt(&env).arg("list").output().unwrap());
    let mut lines = table.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "{table}");
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(&row[..3], &[id, &init.to_string(), "running"], "{table}");
    assert_eq!(
        ok(&rt(&env).args(["list", "-q"]).output().unwrap()),
        format!("{id}\n")
    );
    // A paused container is deleted with --force too.
    verb("pause");
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
    assert_eq!(ok(&rt(&env).args(["list", "-q"]).output().unwrap()), "");
}

#[rstest]
fn spec_writes_a_default_config_and_features_says_what_is_supported(env: Env) {
    let config = spec_config(&env, "spec");
    let dir = env.scratch("spec");
    assert_eq!(config["root"]["path"], "rootfs");
    assert_eq!(config["process"]["args"], json!(["sh"]));
    assert_eq!(config["process"]["terminal"], true);
    // Not overwritten; --rootless refused.
    let again = rt(&env)
        .args(["spec", "--bundle"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    let rootless = rt(&env).args(["spec", "--rootless"]).output().unwrap();
    assert!(String::from_utf8_lossy(&rootless.stderr).contains("--rootless"));
    // The default configuration creates with this runtime (the program
    // and terminal changed so that it runs unattended).
    let b = bundle(&env, "oci-spec", &["true"], |_| {});
    std::fs::remove_file(b.join("config.json")).unwrap();
    ok(&rt(&env)
        .args(["spec", "--bundle"])
        .arg(&b)
        .output()
        .unwrap());
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(b.join("config.json")).unwrap()).unwrap();
    assert!(
        config["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!({"type": "cgroup"})),
        "runc's default namespaces, the cgroup one too: {config}"
    );
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["true"]);
    config["linux"]["cgroupsPath"] = json!(format!("mydocker-{}-oci-spec", env.tag));
    std::fs::write(b.join("config.json"), config.to_string()).unwrap();
    run_ok(&env, &b, "oci-spec");
    let features: Value =
        serde_json::from_str(&ok(&rt(&env).arg("features").output().unwrap())).unwrap();
    assert_eq!(features["ociVersionMin"], "1.0.0");
    assert_eq!(features["linux"]["cgroup"]["systemd"], false);
    assert_eq!(features["linux"]["seccomp"]["enabled"], true);
    for hook in ["createRuntime", "createContainer", "startContainer"] {
        assert!(
            features["hooks"].as_array().unwrap().contains(&json!(hook)),
            "{features}"
        );
    }
    assert!(
        features["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .contains(&json!("cgroup")),
        "{features}"
    );
    assert!(
        features["linux"]["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("CAP_KILL")),
        "{features}"
    );
}

/// A `--console-socket` of the test's: the runtime connects and sends one
/// descriptor, the terminal's master, which this returns.
struct ConsoleSocket {
    path: PathBuf,
    master: std::sync::mpsc::Receiver<std::os::fd::OwnedFd>,
}

impl ConsoleSocket {
    fn new(env: &Env, name: &str) -> ConsoleSocket {
        let path = env.scratch("console").join(format!("{name}.sock"));
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            if let Ok((conn, _)) = listener.accept()
                && let Ok(Some(fd)) =
                    mydocker::terminal::console_socket::receive(std::os::fd::AsFd::as_fd(&conn))
            {
                let _ = tx.send(fd);
            }
        });
        ConsoleSocket { path, master: rx }
    }

    /// The master, once sent.
    fn master(&self) -> std::fs::File {
        self.master
            .recv_timeout(Duration::from_secs(10))
            .expect("a terminal over the console socket")
            .into()
    }
}

/// The output of a terminal's master, read by one thread (two readers
/// would take turns at the bytes).
struct TtyOutput {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl TtyOutput {
    fn new(master: &std::fs::File) -> TtyOutput {
        use std::io::Read;
        let (tx, rx) = std::sync::mpsc::channel();
        let mut reader = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        TtyOutput {
            rx,
            seen: String::new(),
        }
    }

    /// Wait (at most 10 s) until `text` has appeared since the last wait;
    /// returns what came, `text` included.
    fn until(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.seen.contains(text) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => panic!("{text:?} never came; read {:?}", self.seen),
            }
        }
        let at = self.seen.find(text).unwrap() + text.len();
        self.seen.drain(..at).collect()
    }
}

#[rstest]
fn a_terminal_goes_to_the_console_socket_for_create_and_exec(env: Env) {
    use std::io::Write;
    let id = "oci-tty";
    let b = bundle(
        &env,
        id,
        &["sh", "-c", "tty; read line; echo got $line; exec sleep 60"],
        |c| {
            c["process"]["terminal"] = json!(true);
            // The mounts are the configuration's: a terminal needs its
            // devpts, as runc's default configuration lists it.
            c["mounts"].as_array_mut().unwrap().push(json!({
                "destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
            }));
        },
    );
    // A terminal without a socket is refused, and leaves nothing.
    let refused = try_create(&env, &b, id);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--console-socket"));
    let console = ConsoleSocket::new(&env, "create");
    create(
        &env,
        &b,
        id,
        &["--console-socket", console.path.to_str().unwrap()],
    );
    let mut master = console.master();
    let mut output = TtyOutput::new(&master);
    ok(&rt(&env).args(["start", id]).output().unwrap());
    output.until("/dev/pts/0");
    master.write_all(b"typed\n").unwrap();
    output.until("got typed");

    let console = ConsoleSocket::new(&env, "exec");
    let exec = rt(&env)
        .args(["exec", "--tty", "--detach", "--console-socket"])
        .arg(&console.path)
        .args([id, "sh", "-c", "tty; read line; echo exec got $line"])
        .output()
        .unwrap();
    ok(&exec);
    let mut master = console.master();
    let mut output = TtyOutput::new(&master);
    output.until("/dev/pts/1");
    master.write_all(b"more\n").unwrap();
    output.until("exec got more");
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
}

/// `exec --process` with a terminal gets `process.consoleSize` as its
/// size, as `create` does (runc sets it on the terminal it makes, for
/// either); before that a program saw a 0x0 terminal.
#[rstest]
fn exec_gives_its_terminal_the_processs_console_size(env: Env) {
    let id = "oci-exec-size";
    let b = bundle(&env, id, &["sleep", "1000"], |c| {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/dev/pts", "type": "devpts", "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
        }));
    });
    create(&env, &b, id, &[]);
    ok(&rt(&env).args(["start", id]).output().unwrap());
    let process = env.scratch("process").join("process.json");
    let p = json!({
        "terminal": true,
        "consoleSize": {"height": 40, "width": 120},
        "user": {"uid": 0, "gid": 0},
        "args": ["sh", "-c", "echo \"size [$(stty size 2>&1)]\"; sleep 1"],
        "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
        "cwd": "/"
    });
    std::fs::write(&process, serde_json::to_vec(&p).unwrap()).unwrap();
    let console = ConsoleSocket::new(&env, "exec-size");
    ok(&rt(&env)
        .args(["exec", "--detach", "--process"])
        .arg(&process)
        .arg("--console-socket")
        .arg(&console.path)
        .arg(id)
        .output()
        .unwrap());
    let master = console.master();
    let mut output = TtyOutput::new(&master);
    let said = output.until("]");
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
    assert!(said.ends_with("size [40 120]"), "{said:?}");
}

/// A program that cannot be run fails `create`, as runc checks it in init
/// (with the process's `PATH`) before waiting for `start`: exit 1, one
/// line saying why, nothing left; before, `create` and `start` succeeded
/// and the container exited 127 or 126.
#[rstest]
#[case::not_found(
    "nosuchcmd",
    r#"exec: "nosuchcmd": executable file not found in $PATH"#
)]
#[case::not_executable("/etc/passwd", r#"exec: "/etc/passwd": permission denied"#)]
fn a_program_that_cannot_be_run_fails_create(
    env: Env,
    #[case] program: &str,
    #[case] expected: &str,
) {
    let id = "oci-cannot-run";
    let b = bundle(&env, id, &[program], |_| {});
    // Files, not pipes: a container that was made keeps them as its stdio.
    let stderr = env.scratch("stdio").join("stderr");
    let status = rt(&env)
        .args(["create", "--bundle"])
        .arg(&b)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .status()
        .unwrap();
    let made = std::fs::read_dir(env.scratch("runtime-root"))
        .unwrap()
        .count();
    if made > 0 {
        let _ = rt(&env).args(["delete", "--force", id]).output();
    }
    let stderr = std::fs::read_to_string(&stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert_eq!(made, 0, "nothing left");
}

impl Containerd {
    /// `ctr ARGS` on a terminal of the test's (ctr's `-t` needs one): its
    /// output until it exits.
    fn ctr_on_terminal(&self, args: &[&str]) -> (Option<i32>, String) {
        use std::io::Read;
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let io = |fd: &std::os::fd::OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let mut child = self
            .ctr_command()
            .args(args)
            .stdin(io(&pty.slave))
            .stdout(io(&pty.slave))
            .stderr(io(&pty.slave))
            .spawn()
            .unwrap();
        drop(pty.slave);
        let mut master = std::fs::File::from(pty.master);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut all = Vec::new();
            // EIO once ctr and the container's side have closed it.
            let _ = master.read_to_end(&mut all);
            let _ = tx.send(all);
        });
        let code = child.wait().unwrap().code();
        let out = rx.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        (code, String::from_utf8_lossy(&out).into_owned())
    }

    /// `ctr task ls`'s status of `id`.
    fn task_status(&self, id: &str) -> String {
        let out = ok(&self.ctr(&["task", "ls"]));
        out.lines()
            .find(|l| l.starts_with(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_string()
    }
}

#[rstest]
fn containerd_execs_pauses_and_gives_terminals_through_mydocker(env: Env) {
    let archive = saved_busybox(&env);
    let ctd = containerd(&env);
    ok(&ctd.ctr(&[
        "image",
        "import",
        "--base-name",
        "localhost/busybox",
        archive.to_str().unwrap(),
    ]));
    let image = ok(&ctd.ctr(&["image", "ls", "-q"]));
    let image = image.lines().next().expect("an image imported").to_string();
    let runtime = runtime(&env);
    let runtime = runtime.to_str().unwrap();
    let runc_root = env.scratch("ctr-runtime-root");
    let runc_root = runc_root.to_str().unwrap();

    // ctr run -t: the program's terminal is the one made in the container.
    let (code, out) = ctd.ctr_on_terminal(&[
        "run",
        "-t",
        "--rm",
        "--runc-binary",
        runtime,
        "--runc-root",
        runc_root,
        &image,
        "oci-ctr-tty",
        "sh",
        "-c",
        "tty; echo on a terminal",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("/dev/pts/0") && out.contains("on a terminal"),
        "{out}"
    );

    let id = "oci-ctr-exec";
    ok(&ctd.ctr(&[
        "run",
        "-d",
        "--runc-binary",
        runtime,
        "--runc-root",
        runc_root,
        &image,
        id,
        "sleep",
        "1000",
    ]));
    assert_eq!(ctd.task_status(id), "RUNNING");
    let out = ctd.ctr(&["task", "exec", "--exec-id", "e1", id, "echo", "hi"]);
    assert_eq!(ok(&out), "hi\n");
    let out = ctd.ctr(&["task", "exec", "--exec-id", "e2", id, "sh", "-c", "exit 5"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, out) = ctd.ctr_on_terminal(&[
        "task",
        "exec",
        "-t",
        "--exec-id",
        "e3",
        id,
        "sh",
        "-c",
        "tty; echo exec on a terminal",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("/dev/pts/") && out.contains("exec on a terminal"),
        "{out}"
    );

    ok(&ctd.ctr(&["task", "pause", id]));
    assert_eq!(ctd.task_status(id), "PAUSED");
    ok(&ctd.ctr(&["task", "resume", id]));
    assert_eq!(ctd.task_status(id), "RUNNING");

    // sleep is PID 1 of its namespace: only SIGKILL ends it.
    ok(&ctd.ctr(&["task", "kill", "-s", "SIGKILL", id]));
    wait_for("the task to stop", || {
        (ctd.task_status(id) == "STOPPED").then_some(())
    });
    ok(&ctd.ctr(&["task", "delete", id]));
    ok(&ctd.ctr(&["container", "delete", id]));
    assert_eq!(ok(&ctd.ctr(&["container", "ls", "-q"])), "");
}

/// runc's `spec` denies every device before its default allowlist, and
/// `features` is a stable document (its capabilities sorted); the help
/// names this runtime's log, not youki's.
#[rstest]
fn spec_denies_every_device_features_are_sorted_and_help_names_this_runtime(env: Env) {
    let config = spec_config(&env, "spec-devices");
    assert_eq!(
        config["linux"]["resources"]["devices"],
        json!([{"allow": false, "access": "rwm"}]),
        "{config}"
    );
    let features: Value =
        serde_json::from_str(&ok(&rt(&env).arg("features").output().unwrap())).unwrap();
    let caps: Vec<&str> = features["linux"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let mut sorted = caps.clone();
    sorted.sort_unstable();
    assert_eq!(caps, sorted);
    let help = ok(&Command::new(runtime(&env)).arg("--help").output().unwrap());
    assert!(!help.contains("youki"), "{help}");
    assert!(help.contains("mydocker-runtime's"), "{help}");
}

/// Signal 0 (runc's liveness probe) sends nothing: it succeeds while the
/// container's process exists, and fails once it is gone.
#[rstest]
fn kill_with_signal_0_only_says_whether_the_process_is_there(env: Env) {
    let id = "oci-kill-0";
    let b = bundle(&env, id, &["sleep", "30"], |_| {});
    create(&env, &b, id, &[]);
    ok(&rt(&env).args(["kill", id, "0"]).output().unwrap());
    assert_eq!(state(&env, id)["status"], "created");
    ok(&rt(&env).args(["kill", id, "KILL"]).output().unwrap());
    wait_for("the container stopped", || {
        (state(&env, id)["status"] == "stopped").then_some(())
    });
    let gone = rt(&env).args(["kill", id, "0"]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    ok(&rt(&env).args(["delete", id]).output().unwrap());
}

/// As runc's: the hooks the runtime runs itself run in the bundle
/// directory (whatever the caller's), `prestart` and `createRuntime` read
/// status `creating` with init's PID, and a failing hook is named by the
/// field it came from.
#[rstest]
fn hooks_run_in_the_bundle_see_creating_and_are_named_by_their_field(env: Env) {
    let id = "oci-hooks-cwd";
    let dir = env.scratch("hooks-cwd");
    let hook = |name: &str| {
        let f = dir.join(name);
        let f = f.display();
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {f}.state; pwd > {f}.pwd")],
               "timeout": 5})
    };
    let b = bundle(&env, id, &["true"], |c| {
        c["hooks"] = json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
            "poststart": [hook("poststart")],
            "poststop": [hook("poststop")]
        });
    });
    let elsewhere = env.scratch("hooks-caller");
    let out = rt(&env)
        .current_dir(&elsewhere)
        .args(["run", "--bundle"])
        .arg(&b)
        .arg(id)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle_dir = b.canonicalize().unwrap().display().to_string();
    for name in ["prestart", "createRuntime", "poststart", "poststop"] {
        let pwd = std::fs::read_to_string(dir.join(format!("{name}.pwd"))).unwrap_or_default();
        assert_eq!(pwd.trim_end(), bundle_dir, "{name}'s working directory");
    }
    for name in ["prestart", "createRuntime"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.state"))).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(state["status"], "creating", "{name}: {state}");
        assert!(state["pid"].as_i64().unwrap() > 0, "{name}: {state}");
    }
    let id = "oci-prestart-fails";
    let b = bundle(&env, id, &["true"], |c| {
        c["hooks"] = json!({"prestart": [{"path": "/bin/false", "args": ["false"]}]});
    });
    let out = try_create(&env, &b, id);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(stderr.contains("hooks.prestart[0]"), "{stderr}");
}

/// runc refuses a relative `process.cwd` before anything runs ("Cwd must
/// be an absolute path"), for `exec --process` as for `create`.
#[rstest]
fn exec_refuses_a_relative_cwd_before_running_anything(env: Env) {
    let id = "oci-exec-cwd";
    running(&env, id);
    let file = env.scratch("exec-cwd").join("process.json");
    let process = json!({
        "user": {"uid": 0, "gid": 0},
        "args": ["true"],
        "env": ["PATH=/bin"],
        "cwd": "relative"
    });
    std::fs::write(&file, process.to_string()).unwrap();
    let out = rt(&env)
        .args(["exec", "--process"])
        .arg(&file)
        .arg(id)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("process.cwd \"relative\": must be an absolute path"),
        "{stderr}"
    );
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
}
