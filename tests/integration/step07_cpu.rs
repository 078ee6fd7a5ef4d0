//! Step 07: `--cpu-shares` and `--cpuset-cpus` (and the tutorial's
//! `-cpushare`, `-cpuset`) reach the kernel.

use rstest::rstest;

use crate::harness::{Env, env};

/// The CPUs the container's process may use, read from the host while it
/// runs: true at every step, since it does not depend on how early the
/// process was placed in its cgroups.
#[rstest]
#[case::docker("--cpuset-cpus")]
#[case::tutorial("-cpuset")]
fn the_containers_process_is_pinned(env: Env, #[case] flag: &str) {
    let allowed = env.while_running(&[flag, "1"], || {
        let procs = env.cgroup_value(&["cpuset.cpus"]);
        assert_eq!(procs, "1");
        let dir = env
            .cgroup_dirs()
            .into_iter()
            .find(|d| d.join("cpuset.cpus").exists())
            .unwrap();
        // Before step 08 the process may still be on its way in: poll.
        let pid = crate::harness::wait_for("a process in the cgroup", || {
            let procs = std::fs::read_to_string(dir.join("cgroup.procs")).ok()?;
            procs.lines().next().map(str::to_string)
        });
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("Cpus_allowed_list"))
            .unwrap()
            .to_string()
    });
    assert_eq!(allowed, "Cpus_allowed_list:\t1");
}

/// Seen from inside, by the command's very first instruction. Before step 08
/// the command can run before `run` has moved it into its cgroups (the race
/// chapter 08 removes), so this holds from step 08 on.
#[cfg(feature = "pipe")]
#[rstest]
#[case::docker("--cpuset-cpus")]
#[case::tutorial("-cpuset")]
fn cpuset_limits_the_cpus_inside(env: Env, #[case] flag: &str) {
    env.run(
        &["-i", flag, "0"],
        &["sh", "-c", "grep Cpus_allowed_list /proc/self/status"],
    )
    .assert()
    .success()
    .stdout("Cpus_allowed_list:\t0\n");
}

#[rstest]
#[case::docker("--cpu-shares")]
#[case::tutorial("-cpushare")]
fn cpu_shares_are_written(env: Env, #[case] flag: &str) {
    let value = env.while_running(&[flag, "512"], || {
        env.cgroup_value(&["cpu.shares", "cpu.weight"])
    });
    // v1 keeps the shares; v2 converts them to a weight.
    assert!(value == "512" || value == "20", "{value}");
}

#[cfg(feature = "pipe")]
#[rstest]
fn the_issue_example_prints_cpu_0_and_pid_1(env: Env) {
    let script = "grep Cpus_allowed_list /proc/self/status; echo $$";
    env.run(
        &["-i", "-m", "100m", "-cpuset", "0"],
        &["/bin/sh", "-c", script],
    )
    .assert()
    .success()
    .stdout("Cpus_allowed_list:\t0\n1\n");
}

#[rstest]
#[case::offline_cpu("--cpuset-cpus", "99")]
#[case::not_a_list("--cpuset-cpus", "x")]
#[case::negative_shares("--cpu-shares", "-5")]
#[case::zero_shares("--cpu-shares", "0")]
fn bad_cpu_values_exit_125_naming_the_flag(env: Env, #[case] flag: &str, #[case] value: &str) {
    let out = env.run(&[flag, value], &["true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(flag) && err.contains(value), "{err}");
}
