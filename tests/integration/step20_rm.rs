//! Step 20: `rm` removes a container and everything it made; running ones
//! need `-f`; volume sources are never touched.

use rstest::rstest;

use crate::harness::{AWKWARD_NAME, Env, env, stdout_of};

#[rstest]
fn a_running_container_needs_force(env: Env) {
    env.run_d(&["--name", "busy"], &["sleep", "60"]);
    let out = env.md().args(["rm", "busy"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"));
    assert!(
        env.state("busy").is_alive(),
        "rm without -f touched a running container"
    );
    env.md()
        .args(["rm", "-f", "busy"])
        .assert()
        .success()
        .stdout("busy\n");
    assert!(!env.root.join("containers/busy").exists());
}

#[rstest]
fn everything_the_container_made_is_gone(env: Env) {
    let vol = env.scratch("vol");
    std::fs::write(vol.join("precious"), "keep me\n").unwrap();
    let spec = format!("{}:/data", vol.display());
    env.run_d(
        &["--name", "full", "-v", &spec],
        &["sh", "-c", "echo x > /x; echo ready; sleep 60"],
    );
    env.wait_log("full", "ready");
    assert!(!env.cgroup_dirs().is_empty());
    env.md()
        .args(["stop", "-t", "0", "full"])
        .assert()
        .success();
    env.md().args(["rm", "full"]).assert().success();
    assert!(!env.root.join("containers/full").exists(), "state left");
    assert!(
        env.layer_dirs().is_empty(),
        "layers left: {:?}",
        env.layer_dirs()
    );
    assert!(env.leaks().is_empty(), "{:?}", env.leaks());
    // The volume's source is untouched.
    assert_eq!(
        std::fs::read_to_string(vol.join("precious")).unwrap(),
        "keep me\n"
    );
    let ps = stdout_of(&env.md().args(["ps", "-a"]).output().unwrap());
    assert!(!ps.contains("full"));
}

#[rstest]
fn a_broken_state_file_is_removed_with_force(env: Env) {
    env.run_d(&["--name", "broken"], &["true"]);
    env.wait_exited("broken");
    std::fs::write(env.root.join("containers/broken/config.json"), "garbage").unwrap();
    let out = env.md().args(["rm", "broken"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    env.md().args(["rm", "-f", "broken"]).assert().success();
    assert!(!env.root.join("containers/broken").exists());
}

#[rstest]
fn concurrent_removals_leave_one_winner(env: Env) {
    env.run_d(&["--name", "contested"], &["sleep", "60"]);
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let args = [
                "--root",
                env.root.to_str().unwrap(),
                "rm",
                "-f",
                "contested",
            ];
            duct::cmd(crate::harness::bin(), args)
                .unchecked()
                .stdout_null()
                .stderr_capture()
                .start()
                .unwrap()
        })
        .collect();
    let results: Vec<_> = handles.iter().map(|h| h.wait().unwrap().clone()).collect();
    let winners = results.iter().filter(|o| o.status.success()).count();
    assert_eq!(winners, 1, "{results:?}");
    for loser in results.iter().filter(|o| !o.status.success()) {
        assert_eq!(loser.status.code(), Some(125));
        assert!(
            String::from_utf8_lossy(&loser.stderr).contains("no such container"),
            "{loser:?}"
        );
    }
    assert!(!env.root.join("containers/contested").exists());
}

#[rstest]
fn rm_of_an_unknown_container_exits_125(env: Env) {
    let out = env.md().args(["rm", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
}

#[rstest]
fn rm_f_converges_after_the_monitor_was_killed(env: Env) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    env.run_d(&["--name", "orphan"], &["sleep", "60"]);
    let pid = env.state("orphan").pid.unwrap();
    let monitor = mydocker::proc_stat::parent_pid(pid).unwrap();
    // mydocker's side dies mid-life (SIGKILL), then the container.
    kill(Pid::from_raw(monitor), Signal::SIGKILL).unwrap();
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    crate::harness::wait_for("the container to die", || {
        (!env.state("orphan").is_alive()).then_some(())
    });
    // Nothing recorded the end; the cgroups and layers are still there.
    assert!(!env.cgroup_dirs().is_empty());
    let ps = stdout_of(&env.md().args(["ps", "-a"]).output().unwrap());
    assert!(
        ps.lines()
            .any(|l| l.contains("orphan") && l.contains("exited")),
        "{ps}"
    );
    env.md().args(["rm", "-f", "orphan"]).assert().success();
    assert!(env.leaks().is_empty(), "{:?}", env.leaks());
    assert!(env.layer_dirs().is_empty());
}

/// The container directories of `env`'s root.
fn container_dirs(env: &Env) -> Vec<String> {
    std::fs::read_dir(env.root.join("containers"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `run -d` killed with SIGKILL at any instant leaves either nothing or a
/// container that `ps -a` lists and `rm -f` removes, with nothing behind:
/// no mount, cgroup, state directory or process of the root.
#[rstest]
fn a_run_killed_at_any_instant_is_listed_and_removable(env: Env) {
    use std::time::Duration;
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for n in 0..30u64 {
        let name = format!("k{n}");
        // From at once to well past the point where the monitor runs it,
        // in steps of 0.4 ms.
        env.spawn_and_kill_after(
            &env.run_args(&["-d", "--name", &name], &["sleep", "1000"]),
            Duration::from_micros(n * 400),
        );
        // Whatever the kill left, ps lists it (broken or not)...
        let out = env
            .md()
            .args(["ps", "-a", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "try {n}: ps -a failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let dirs = container_dirs(&env);
        for dir in &dirs {
            assert!(
                listed.iter().any(|c| c["name"] == dir.as_str()),
                "try {n}: {dir} is on disk but ps -a does not list it: {listed:?}"
            );
        }
        // ...and rm -f removes it.
        for c in &listed {
            let status = c["status"].as_str().unwrap_or("?").to_string();
            *outcomes.entry(status.clone()).or_default() += 1;
            let cname = c["name"].as_str().unwrap();
            let out = env.md().args(["rm", "-f", cname]).output().unwrap();
            assert!(
                out.status.success(),
                "try {n}: rm -f of a {status} container {cname} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let left = container_dirs(&env);
        assert!(left.is_empty(), "try {n}: left after rm -f: {left:?}");
        env.assert_no_leaks();
    }
    eprintln!("outcomes of the killed runs: {outcomes:?}");
}

/// The state a `run` killed between making its directory and renaming its
/// state file into place leaves: a directory holding only the temporary
/// file. `ps -a` lists it as broken and `rm -f` removes it.
#[rstest]
fn a_container_directory_without_its_state_file_is_removable(env: Env) {
    let dir = env.root.join("containers/halfmade");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".tmpXyZ123"), "{\"id\":").unwrap();
    let out = env.md().args(["ps", "-a"]).output().unwrap();
    assert!(out.status.success());
    let listed = stdout_of(&out);
    let line = listed.lines().find(|l| l.contains("halfmade")).unwrap();
    assert!(line.contains("broken"), "{line}");
    env.md()
        .args(["rm", "-f", "halfmade"])
        .assert()
        .success()
        .stdout("halfmade\n");
    assert!(!dir.exists());
}

/// A root and a volume source whose names hold what the kernel escapes in
/// /proc/self/mountinfo (space, tab, newline, backslash) and non-ASCII: the
/// whole run -d / stop / rm cycle works, the mounts are found (decoded)
/// while the container lives, none is left afterwards, and `rm` never
/// deletes through the volume.
#[test]
fn awkward_characters_in_the_root_and_a_volume_leave_nothing_behind() {
    let env = Env::with_root_named(AWKWARD_NAME);
    let vol = env.scratch(&format!("vol {AWKWARD_NAME}"));
    std::fs::write(vol.join("precious"), "keep me\n").unwrap();
    let spec = format!("{}:/data", vol.display());
    env.run_d(
        &["--name", "odd", "-v", &spec],
        &["sh", "-c", "echo new > /data/new; echo ready; sleep 60"],
    );
    env.wait_log("odd", "ready");
    let merged = env
        .state("odd")
        .layers
        .expect("the container's layers")
        .join("merged");
    let mounts = env.leaks();
    for want in [merged.clone(), merged.join("data")] {
        let want = format!("mount {}", want.display());
        assert!(mounts.contains(&want), "{want:?} not in {mounts:#?}");
    }
    env.md().args(["stop", "-t", "0", "odd"]).assert().success();
    env.md().args(["rm", "odd"]).assert().success();
    assert!(env.leaks().is_empty(), "{:#?}", env.leaks());
    assert!(
        env.layer_dirs().is_empty(),
        "layers left: {:?}",
        env.layer_dirs()
    );
    assert_eq!(
        std::fs::read_to_string(vol.join("precious")).unwrap(),
        "keep me\n"
    );
    assert_eq!(std::fs::read_to_string(vol.join("new")).unwrap(), "new\n");
}

/// Start `run -d --name NAME busybox sleep 1000` and return as soon as a
/// cgroup of the root exists (spinning, to catch the moment): the state is
/// recorded, the container's process not yet started.
fn run_d_until_its_cgroup_exists(env: &Env, name: &str) -> std::process::Child {
    let child = std::process::Command::new(crate::harness::bin())
        .args(env.run_args(&["-d", "--name", name], &["sleep", "1000"]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while env.cgroup_dirs().is_empty() && std::time::Instant::now() < deadline {
        std::hint::spin_loop();
    }
    child
}

/// A run killed after its cgroup is made but before its state would be
/// complete leaves nothing that `rm -f` cannot find: the state is written
/// first, naming every directory the cgroup may get. Killed here the
/// moment a cgroup of the root appears.
#[rstest]
fn a_run_killed_once_its_cgroup_exists_leaves_no_cgroup_after_rm(env: Env) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    for n in 0..5 {
        let child = run_d_until_its_cgroup_exists(&env, &format!("cg{n}"));
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
        let mut child = child;
        let _ = child.wait();
        for dir in container_dirs(&env) {
            env.md().args(["rm", "-f", &dir]).assert().success();
        }
        env.assert_no_leaks();
    }
}

/// `rm -f` while `run -d` is still making the container (its cgroup exists,
/// its process not yet) removes the container `run` makes: nothing of it
/// stays running, mounted or in a cgroup. Until `rm` waited for the
/// creation, it removed the state under the monitor, which then started the
/// container anyway, with no record: its cgroup could never be removed
/// (CI caught this as EBUSY).
#[rstest]
fn rm_f_while_run_is_making_the_container_removes_what_it_makes(env: Env) {
    for n in 0..5 {
        let name = format!("mk{n}");
        let child = run_d_until_its_cgroup_exists(&env, &name);
        env.md().args(["rm", "-f", &name]).assert().success();
        let mut child = child;
        let _ = child.wait();
        assert!(
            container_dirs(&env).is_empty(),
            "left: {:?}",
            container_dirs(&env)
        );
        env.assert_no_leaks();
    }
}

/// `rm -f` killed with SIGKILL at any instant leaves the container either
/// gone or listed by `ps -a` and removed by a second `rm -f`, with nothing
/// behind: no mount, cgroup, rule, state directory or process of the root.
#[rstest]
fn an_rm_killed_at_any_instant_leaves_what_a_second_rm_removes(env: Env) {
    use std::time::Duration;
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    for n in 0..20u64 {
        let name = format!("r{n}");
        env.run_d(&["--name", &name], &["sleep", "1000"]);
        // From at once to past the end of an rm (0, 0.25, 1, ... 90 ms).
        env.spawn_and_kill_after(
            &env.root_args(&["rm", "-f", &name]),
            Duration::from_micros(n * n * 250),
        );
        let out = env
            .md()
            .args(["ps", "-a", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "try {n}: ps -a failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        // A directory renamed to `.removing-...` is no container: the next
        // removal finishes deleting it (checked below).
        for dir in container_dirs(&env).iter().filter(|d| !d.starts_with('.')) {
            assert!(
                listed.iter().any(|c| c["name"] == dir.as_str()),
                "try {n}: {dir} is on disk but ps -a does not list it: {listed:?}"
            );
        }
        let status = listed
            .first()
            .and_then(|c| c["status"].as_str())
            .unwrap_or("gone")
            .to_string();
        *outcomes.entry(status.clone()).or_default() += 1;
        if !listed.is_empty() {
            let out = env.md().args(["rm", "-f", &name]).output().unwrap();
            assert!(
                out.status.success(),
                "try {n}: a second rm -f of a {status} container failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let left = container_dirs(&env);
        assert!(
            left.iter().all(|d| d.starts_with(".removing-")),
            "try {n}: {left:?}"
        );
        env.assert_no_leaks();
    }
    // One more removal finishes what the killed ones left half deleted.
    env.run_d(&["--name", "last"], &["true"]);
    env.md().args(["rm", "-f", "last"]).assert().success();
    let left = container_dirs(&env);
    assert!(left.is_empty(), "left after a last rm: {left:?}");
    eprintln!("what the killed rm -f left: {outcomes:?}");
}

/// A process in a container's cgroup that its record does not know (the
/// first process of a container whose monitor was killed before recording
/// it, say) does not make `rm` fail on a busy cgroup: what is left in the
/// container's cgroups is killed, then they are removed.
#[rstest]
fn rm_kills_what_is_left_in_the_containers_cgroups(env: Env) {
    env.run_d(&["--name", "orphaned"], &["true"]);
    let info = env.wait_exited("orphaned");
    // Put a host process in one of the cgroups the container recorded.
    let dir = info
        .cgroups
        .iter()
        .find(|d| d.parent().is_some_and(|p| p.is_dir()))
        .expect("a recorded cgroup whose parent exists")
        .clone();
    std::fs::create_dir_all(&dir).unwrap();
    let mut stray = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    std::fs::write(dir.join("cgroup.procs"), stray.id().to_string()).unwrap();
    let out = env.md().args(["rm", "orphaned"]).output().unwrap();
    let waited = stray.try_wait().unwrap();
    if waited.is_none() {
        let _ = stray.kill();
        let _ = stray.wait();
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!dir.exists(), "{} left", dir.display());
}
