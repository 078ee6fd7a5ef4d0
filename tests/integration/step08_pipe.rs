//! Step 08: the spec goes to init over a pipe, so any argument arrives
//! intact, and init waits until the parent has placed it in its cgroups.

use rstest::rstest;

use crate::expect::Expect;
use crate::harness::{Env, env, stdout_of};

#[rstest]
fn awkward_arguments_arrive_intact(env: Env) {
    let big = "x".repeat(100 * 1024);
    let args = [
        "a b",
        "it's",
        "\"quoted\"",
        "new\nline",
        "",
        "--flag",
        big.as_str(),
    ];
    let mut cmd = vec!["printf", "[%s]\\n"];
    cmd.extend(args);
    let out = env.run(&[], &cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: String = args.iter().map(|a| format!("[{a}]\n")).collect();
    assert_eq!(stdout_of(&out), expected);
}

#[rstest]
fn the_first_instruction_already_runs_in_the_cgroup(env: Env) {
    let out = env
        .run(&["-m", "64m"], &["cat", "/proc/self/cgroup"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    let tag = format!("/mydocker-{}-", env.tag);
    let memory = text
        .lines()
        .find(|l| l.contains(":memory:") || l.starts_with("0::"))
        .unwrap_or_else(|| panic!("no memory line in {text}"));
    assert!(memory.contains(&tag), "{text}");
}

#[rstest]
fn init_refuses_to_run_without_a_parent(env: Env) {
    let mut init = env.md();
    init.arg("init");
    Expect::new(init)
        .status(125)
        .stderr_has("mydocker run")
        .run();
}
