//! Step 06: `-m` writes the memory limit, the kernel enforces it, and the
//! cgroup is gone once the container has exited.

use rstest::rstest;

use crate::expect::Expect;
use crate::harness::{Env, env};

#[rstest]
fn the_limit_file_holds_the_value(env: Env) {
    let value = env.while_running(&["-m", "100m"], || {
        env.cgroup_value(&["memory.limit_in_bytes", "memory.max"])
    });
    assert_eq!(value, (100u64 << 20).to_string());
}

#[rstest]
fn exceeding_the_limit_kills_the_container(env: Env) {
    let script =
        "x=$(head -c 200000000 /dev/zero 2>/dev/null | tr '\\0' a 2>/dev/null); echo survived";
    let cmd = env.limited_sh(script);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    env.run(&["-m", "32m"], &cmd).assert().code(137).stdout("");
}

#[rstest]
fn within_the_limit_the_container_runs(env: Env) {
    let script = "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo ${#x}";
    let cmd = env.limited_sh(script);
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    Expect::new(env.run(&["-m", "64m"], &cmd))
        .stdout("1000000\n")
        .run();
}

#[rstest]
#[case::unit("10q")]
#[case::negative("-5m")]
#[case::tiny("1k")]
fn a_bad_memory_value_exits_125_naming_the_flag(env: Env, #[case] value: &str) {
    Expect::new(env.run(&["-m", value], &["true"]))
        .status(125)
        .stderr_has("--memory")
        .stderr_has(value)
        .run();
}
