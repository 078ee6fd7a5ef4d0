//! Step 33: a container holds Docker's 14 default capabilities, in every
//! set but ambient; `--cap-add`, `--cap-drop`, `--privileged` and
//! `--security-opt no-new-privileges` change exactly what they name;
//! `exec` gets the same, never more; and the host's binary cannot be
//! written through `/proc/PID/exe` from inside (CVE-2019-5736).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rstest::rstest;

use crate::harness::{Env, env, stdout_of, wait_for};

/// Docker's default capabilities as `/proc/PID/status` shows them.
const DEFAULT: u64 = 0xa804_25fb;

/// The `Cap*:` and `NoNewPrivs:` lines of a `/proc/PID/status`.
fn status_fields(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| k.starts_with("Cap") || *k == "NoNewPrivs")
        .map(|(k, v)| {
            let v = v.trim();
            let n = if k == "NoNewPrivs" {
                v.parse().expect("NoNewPrivs is a number")
            } else {
                u64::from_str_radix(v, 16).expect("a capability mask is hex")
            };
            (k.to_string(), n)
        })
        .collect()
}

/// The fields of the container's own `/proc/self/status` under `opts`.
#[track_caller]
fn container_fields(env: &Env, opts: &[&str]) -> BTreeMap<String, u64> {
    let out = env
        .run(opts, &["cat", "/proc/self/status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run {opts:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    status_fields(&stdout_of(&out))
}

#[track_caller]
fn assert_sets(fields: &BTreeMap<String, u64>, mask: u64) {
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd"] {
        assert_eq!(
            fields.get(set),
            Some(&mask),
            "{set} is {:#x?}, not {mask:#x}: {fields:x?}",
            fields.get(set)
        );
    }
    assert_eq!(fields.get("CapAmb"), Some(&0), "{fields:x?}");
}

#[rstest]
fn the_default_is_dockers_fourteen(env: Env) {
    let fields = container_fields(&env, &[]);
    assert_sets(&fields, DEFAULT);
    assert_eq!(fields.get("NoNewPrivs"), Some(&0));
}

#[rstest]
fn mount_is_refused_by_default_and_allowed_when_privileged(env: Env) {
    let script = &["sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt"];
    let out = env.run(&[], script).output().unwrap();
    assert!(!out.status.success(), "mount worked without CAP_SYS_ADMIN");
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("permission denied"), "{err}");
    env.run(&["--privileged"], script).assert().success();
}

#[rstest]
#[case::add_net_admin("--cap-add", "NET_ADMIN", 12)]
#[case::add_sys_admin_lower_case("--cap-add", "cap_sys_admin", 21)]
#[case::add_one_already_there("--cap-add", "CHOWN", 0)]
#[case::drop_chown("--cap-drop", "CHOWN", 0)]
#[case::drop_net_raw_with_prefix("--cap-drop", "CAP_NET_RAW", 13)]
#[case::drop_one_not_there("--cap-drop", "sys_ptrace", 19)]
fn each_flag_changes_exactly_its_bit(
    env: Env,
    #[case] flag: &str,
    #[case] name: &str,
    #[case] bit: u32,
) {
    let want = if flag == "--cap-add" {
        DEFAULT | 1 << bit
    } else {
        DEFAULT & !(1 << bit)
    };
    assert_sets(&container_fields(&env, &[flag, name]), want);
}

#[rstest]
fn cap_drop_all_leaves_nothing_and_cap_add_puts_back_one(env: Env) {
    assert_sets(&container_fields(&env, &["--cap-drop", "ALL"]), 0);
    assert_sets(
        &container_fields(&env, &["--cap-drop", "all", "--cap-add", "KILL"]),
        1 << 5,
    );
}

#[rstest]
fn privileged_has_every_capability_of_the_hosts_bounding_set(env: Env) {
    let host = status_fields(&std::fs::read_to_string("/proc/self/status").unwrap());
    let bounding = host["CapBnd"];
    assert_sets(&container_fields(&env, &["--privileged"]), bounding);
}

#[rstest]
fn no_new_privileges_is_set_when_asked(env: Env) {
    let fields = container_fields(&env, &["--security-opt", "no-new-privileges"]);
    assert_eq!(fields.get("NoNewPrivs"), Some(&1), "{fields:?}");
    assert_sets(&fields, DEFAULT);
}

#[rstest]
#[case::default(&[], DEFAULT, 0)]
#[case::dropped_and_added(
    &["--cap-drop", "CHOWN", "--cap-add", "NET_ADMIN", "--security-opt", "no-new-privileges"],
    (DEFAULT & !1) | 1 << 12,
    1
)]
#[case::drop_all(&["--cap-drop", "ALL"], 0, 0)]
fn exec_gets_the_containers_sets_never_more(
    env: Env,
    #[case] opts: &[&str],
    #[case] mask: u64,
    #[case] nnp: u64,
) {
    let mut all = vec!["--name", "c"];
    all.extend(opts);
    env.run_d(&all, &["sh", "-c", "echo ready; exec sleep 60"]);
    env.wait_log("c", "ready");
    let out = env
        .md()
        .args(["exec", "c", "cat", "/proc/self/status"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fields = status_fields(&stdout_of(&out));
    assert_sets(&fields, mask);
    assert_eq!(fields.get("NoNewPrivs"), Some(&nnp));
    let pid = env.state("c").pid.expect("a running container has a PID");
    let first = status_fields(&std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap());
    assert_eq!(fields, first, "exec differs from the container's process");
}

#[rstest]
#[case::cap_add(&["--cap-add", "FLY"], "FLY")]
#[case::cap_drop(&["--cap-drop", "CAP_TELEPORT"], "CAP_TELEPORT")]
#[case::security_opt(&["--security-opt", "seccomp=magic"], "seccomp=magic")]
fn bad_names_exit_125_naming_them(env: Env, #[case] opts: &[&str], #[case] named: &str) {
    let out = env.run(opts, &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(named), "{err}");
    assert!(
        mydocker::container::state::Store::new(&env.root)
            .list()
            .is_empty(),
        "a refused run left a container"
    );
}

/// A fingerprint of a file's content.
fn fingerprint(path: &Path) -> (u64, u64) {
    use std::hash::{Hash, Hasher};
    let bytes = std::fs::read(path).expect("read the binary");
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    (bytes.len() as u64, h.finish())
}

/// A copy of mydocker in the test's directory, ready to run (the attack
/// below must never reach the binary the other tests use).
fn own_mydocker(env: &Env) -> PathBuf {
    let copy = env.scratch("bin").join("mydocker");
    std::fs::copy(crate::harness::bin(), &copy).expect("copy mydocker");
    for _ in 0..100 {
        match std::process::Command::new(&copy).arg("--version").output() {
            Ok(o) if o.status.success() => return copy,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => panic!("{} does not run: {other:?}", copy.display()),
        }
    }
    panic!("{} stayed busy (ETXTBSY)", copy.display());
}

/// A pipe whose buffer is full: a process writing to it blocks.
fn full_pipe() -> (std::fs::File, std::fs::File) {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    use std::io::Write;
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    fcntl(&w, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).unwrap();
    let mut w = std::fs::File::from(w);
    while w.write(&[b'.'; 4096]).is_ok() {}
    fcntl(&w, FcntlArg::F_SETFL(OFlag::empty())).unwrap();
    (std::fs::File::from(r), w)
}

/// The attack of CVE-2019-5736, made deterministic. The container's
/// `/evil` is a script run by `#!/proc/self/exe`: `exec c /evil` makes
/// mydocker's child run mydocker's binary *inside* the container, which
/// then blocks writing its usage error to a full pipe. The container's
/// first process finds it in /proc, tries to write through
/// `/proc/PID/exe`, and keeps the file open. Then every process running
/// the binary goes away (the monitor is killed, the pipe closed) and it
/// writes through the descriptor it kept, as the real exploit did once
/// runc had exited. The binary must be unchanged, and what the container
/// reached must have been the sealed copy.
#[rstest]
#[case::default(&[])]
#[case::privileged(&["--privileged"])]
fn the_host_binary_cannot_be_rewritten_from_inside(env: Env, #[case] opts: &[&str]) {
    // Its output goes to a file on a volume: once the monitor is killed,
    // nothing would copy it into the container's log (step 37's pipes).
    const ATTACK: &str = r#"
exec >>/out/log 2>&1
printf '#!/proc/self/exe\n' > /evil && chmod +x /evil
echo ready
while :; do
  for d in /proc/[0-9]*; do
    l=$(readlink $d/exe 2>/dev/null) || continue
    case "$l" in ''|/bin/busybox) continue;; esac
    echo "found $l"
    echo pwned >> $d/exe 2>/dev/null && echo wrote-while-running
    printf x 1<> $d/exe 2>/dev/null && echo wrote-read-write
    exec 3< $d/exe
    echo held
    while [ -d $d ]; do sleep 0.05; done
    i=0
    while [ $i -lt 30 ]; do
      echo pwned >> /proc/self/fd/3 2>/dev/null && echo wrote-after-exit && break
      i=$((i + 1)); sleep 0.1
    done
    echo attack-done
    exec sleep 60
  done
done
"#;
    let md = own_mydocker(&env);
    let before = fingerprint(&md);
    let out = env.scratch("attack");
    let volume = format!("{}:/out", out.display());
    let log_holding = |text: &str| {
        wait_for(&format!("{text:?} in the attack's output"), || {
            let log = std::fs::read_to_string(out.join("log")).ok()?;
            log.contains(text).then_some(log)
        })
    };
    let mut all = vec!["--name", "c", "-v", &volume];
    all.extend(opts);
    let mut run = std::process::Command::new(&md);
    run.arg("--root").arg(&env.root).arg("run").arg("-d");
    run.args(&all).args(["busybox", "sh", "-c", ATTACK]);
    let out = run.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    log_holding("ready");

    let (read, write) = full_pipe();
    let mut exec = std::process::Command::new(&md)
        .arg("--root")
        .arg(&env.root)
        .args(["exec", "c", "/evil"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(write)
        .spawn()
        .unwrap();
    log_holding("held");

    // Nothing may run the host's binary any more: kill the monitor (the
    // container's parent), let the blocked process and `exec` end.
    let pid = env.state("c").pid.expect("the container's PID");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let monitor: i32 = after_comm.split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{monitor}/exe")).unwrap(),
        md,
        "the container's parent is not its monitor"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    drop(read);
    exec.wait().unwrap();

    let log = wait_for("the attack to finish", || {
        let log = log_holding("held");
        log.contains("attack-done").then_some(log)
    });
    assert!(!log.contains("wrote-"), "a write went through:\n{log}");
    assert_eq!(fingerprint(&md), before, "the host's binary changed");
    let found = log.lines().find(|l| l.starts_with("found ")).unwrap_or("");
    assert!(
        found.contains("memfd:mydocker"),
        "the process inside ran the host's file: {log}"
    );
}
