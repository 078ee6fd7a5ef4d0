//! Step 35: what of the host's kernel a container sees and may change
//! (masked and read-only paths in `/proc` and `/sys`, all back with
//! `--privileged`), who it runs as (`-u`, resolved in the image), where it
//! may write (`--read-only`, `--tmpfs`) and how many tasks it may have
//! (`--pids-limit`).

use std::os::unix::fs::MetadataExt;

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

/// Run `script` with `sh -c` under `opts`; its exit code and output.
#[track_caller]
fn sh(env: &Env, opts: &[&str], script: &str) -> (Option<i32>, String, String) {
    let out = env.run(opts, &["sh", "-c", script]).output().unwrap();
    (
        out.status.code(),
        stdout_of(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[rstest]
fn host_kernel_files_read_empty_unless_privileged(env: Env) {
    // timer_list exists on every kernel with /proc and lists the host's
    // timers; kcore (the host's memory) only where the kernel has it.
    let script = "wc -c < /proc/timer_list; head -c 64 /proc/kcore 2>/dev/null | wc -c";
    let (code, out, err) = sh(&env, &[], script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.split_whitespace().collect::<Vec<_>>(), ["0", "0"]);
    let (code, out, err) = sh(&env, &["--privileged"], "wc -c < /proc/timer_list");
    assert_eq!(code, Some(0), "{err}");
    let n: u64 = out.trim().parse().unwrap();
    assert!(n > 0, "--privileged still masks /proc/timer_list");
}

#[rstest]
fn firmware_is_an_empty_read_only_directory(env: Env) {
    let host_has_it = std::fs::read_dir("/sys/firmware").is_ok_and(|mut d| d.next().is_some());
    let (code, out, err) = sh(&env, &[], "ls -A /sys/firmware | wc -l");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "0");
    if host_has_it {
        let (_, out, _) = sh(&env, &["--privileged"], "ls -A /sys/firmware | wc -l");
        assert_ne!(out.trim(), "0", "--privileged still masks /sys/firmware");
    }
}

#[rstest]
fn proc_sys_is_read_only_unless_privileged(env: Env) {
    // The container's own UTS namespace's domain name: writing it changes
    // nothing of the host's even when it works.
    let script =
        "echo mydocker-test > /proc/sys/kernel/domainname && cat /proc/sys/kernel/domainname";
    let (code, _, err) = sh(&env, &[], script);
    assert_ne!(code, Some(0), "wrote /proc/sys");
    assert!(err.contains("Read-only file system"), "{err}");
    let (code, out, err) = sh(&env, &["--privileged"], script);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "mydocker-test");
}

#[rstest]
fn a_numeric_user_owns_what_it_writes_in_a_volume(env: Env) {
    let vol = env.scratch("vol");
    std::fs::set_permissions(&vol, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let volume = format!("{}:/data", vol.display());
    let (code, out, err) = sh(
        &env,
        &["-u", "1000:1000", "-v", &volume],
        "id -u; id -g; touch /data/mine; echo $HOME",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out, "1000\n1000\n/\n",
        "a uid the image does not know: home /"
    );
    let meta = std::fs::metadata(vol.join("mine")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1000, 1000));
}

#[rstest]
fn a_name_is_resolved_in_the_images_passwd(env: Env) {
    // The test image's /etc/passwd: nobody is 65534 with home /home.
    let (code, out, err) = sh(
        &env,
        &["-u", "nobody"],
        "id -un; id -gn; echo $HOME; grep -E 'Cap(Eff|Bnd)' /proc/self/status",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out,
        "nobody\nnogroup\n/home\n\
         CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n"
    );
    let (_, out, _) = sh(&env, &["-u", "nobody", "-e", "HOME=/x"], "echo $HOME");
    assert_eq!(out, "/x\n", "-e HOME wins over the passwd entry");
}

#[rstest]
fn exec_runs_as_the_containers_user_unless_told(env: Env) {
    env.run_d(
        &["--name", "u", "-u", "nobody"],
        &["sh", "-c", "echo ready; exec sleep 60"],
    );
    env.wait_log("u", "ready");
    let id = |extra: &[&str]| {
        let mut args = vec!["exec"];
        args.extend(extra);
        args.extend(["u", "id", "-u"]);
        let out = env.md().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout_of(&out).trim().to_string()
    };
    assert_eq!(id(&[]), "65534");
    assert_eq!(id(&["-u", "root"]), "0");
    assert_eq!(id(&["--user", "42:42"]), "42");
}

#[rstest]
fn root_does_not_keep_the_callers_supplementary_groups(env: Env) {
    // mydocker started by a root that is also in group 4242 (setpriv,
    // util-linux): the container's root is in no supplementary group.
    let mut run = std::process::Command::new("setpriv");
    run.args(["--groups", "4242", "--"])
        .arg(crate::harness::bin())
        .args(env.run_args(&[], &["grep", "Groups", "/proc/self/status"]));
    let out = run.output().expect("run setpriv (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_of(&out).trim_end(), "Groups:");
}

#[rstest]
#[case::user("bob")]
#[case::group("nobody:staff")]
fn an_unknown_user_exits_125_and_makes_nothing(env: Env, #[case] user: &str) {
    let out = env.run(&["-u", user], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--user") && err.contains(&format!("{user:?}")),
        "{err}"
    );
    assert!(
        mydocker::container::state::Store::new(&env.root)
            .list()
            .is_empty(),
        "a refused run left a container"
    );
    env.assert_no_leaks();
}

#[rstest]
fn read_only_root_but_volumes_and_tmpfs_are_writable(env: Env) {
    let vol = env.scratch("vol");
    let volume = format!("{}:/data", vol.display());
    let script = "touch /x; echo x >> /etc/hosts; \
                  touch /data/ok && touch /run/ok && echo writable";
    let (code, out, err) = sh(
        &env,
        &["--read-only", "-v", &volume, "--tmpfs", "/run"],
        script,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, "writable\n");
    assert_eq!(
        err,
        "touch: /x: Read-only file system\n\
         sh: can't create /etc/hosts: Read-only file system\n"
    );
    assert!(vol.join("ok").exists());
    let (code, _, err) = sh(&env, &[], "touch /x");
    assert_eq!(code, Some(0), "without --read-only: {err}");
}

#[rstest]
fn tmpfs_has_dockers_default_options_and_the_given_ones(env: Env) {
    let script = "grep -E ' /(run|scratch) ' /proc/self/mountinfo | cut -d' ' -f5,6,8,10";
    let (code, out, err) = sh(
        &env,
        &[
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/scratch:exec,size=1m,mode=700",
        ],
        script,
    );
    assert_eq!(code, Some(0), "{err}");
    // (Kernels before 6.6 or so also show tmpfs's own `inode64`.)
    assert_eq!(
        out.replace(",inode64", ""),
        "/run rw,nosuid,nodev,noexec,relatime tmpfs rw\n\
         /scratch rw,nosuid,nodev,relatime tmpfs rw,size=1024k,mode=700\n"
    );
    let out = env.run(&["--tmpfs", "run"], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tmpfs"));
}

#[rstest]
fn pids_limit_stops_forks_and_is_in_pids_max(env: Env) {
    // Twenty background sleeps: busybox's shell gives up at the first
    // fork the kernel refuses. When it exits, the rest go with its PID
    // namespace.
    let script = "for i in $(seq 20); do sleep 30 & done; echo started all";
    let (code, out, err) = sh(&env, &["--pids-limit", "10"], script);
    assert_ne!(code, Some(0));
    assert!(!out.contains("started all"), "{out}");
    assert!(err.contains("can't fork"), "{err}");
    let (code, out, err) = sh(&env, &[], script);
    assert_eq!(code, Some(0), "without a limit: {err}");
    assert!(out.contains("started all"));

    env.run_d(&["--pids-limit", "10"], &["sleep", "60"]);
    let max = env.wait_cgroup_file("pids.max");
    assert_eq!(std::fs::read_to_string(max).unwrap().trim(), "10");
}

/// A `--tmpfs` that cannot work is refused before anything is made, naming
/// the flag and what is wrong, never by the kernel's bare EINVAL at mount
/// time: a bad option value, the runtime's own /proc, /sys or /dev, the
/// same mount point twice (as Docker's "duplicate mount point").
#[rstest]
#[case::size(&["--tmpfs", "/x:size=abc"], "size")]
#[case::mode(&["--tmpfs", "/x:mode=999"], "mode")]
#[case::uid(&["--tmpfs", "/x:uid=abc"], "numeric ID")]
#[case::proc(&["--tmpfs", "/proc"], "runtime")]
#[case::dev(&["--tmpfs", "/dev/x"], "runtime")]
#[case::twice(&["--tmpfs", "/x", "--tmpfs", "/x"], "duplicate mount point")]
#[case::volume(&["--tmpfs", "/data", "-v", "/tmp:/data"], "duplicate mount point")]
#[case::over_a_volume(&["--tmpfs", "/data", "-v", "/tmp:/data/sub"], "would hide the volume")]
#[case::over_etc(&["--tmpfs", "/etc"], "would hide the container's own /etc/")]
fn a_tmpfs_that_cannot_work_exits_125_and_makes_nothing(
    env: Env,
    #[case] opts: &[&str],
    #[case] message: &str,
) {
    let out = env.run(opts, &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(message), "{err}");
    assert!(!err.contains("EINVAL"), "{err}");
    assert!(
        mydocker::container::state::Store::new(&env.root)
            .list()
            .is_empty(),
        "a refused run left a container"
    );
    env.assert_no_leaks();
}
