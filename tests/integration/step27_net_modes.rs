//! Step 27: `--net none` (only `lo`, up) and `--net host` (the host's
//! interfaces).

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

fn interfaces(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|s| s.trim().to_string())
        .collect();
    v.sort();
    v
}

#[rstest]
#[case::explicit(&["--net", "none"])]
#[case::tutorial(&["-net", "none"])]
#[case::default(&[])]
fn none_has_only_loopback_and_it_is_up(env: Env, #[case] opts: &[&str]) {
    let dev = stdout_of(&env.run(opts, &["cat", "/proc/net/dev"]).output().unwrap());
    assert_eq!(interfaces(&dev), vec!["lo"]);
    let flags = stdout_of(
        &env.run(opts, &["cat", "/sys/class/net/lo/flags"])
            .output()
            .unwrap(),
    );
    let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap();
    assert!(flags & 1 == 1, "lo is down (flags {flags:#x})");
}

#[rstest]
fn host_sees_the_hosts_interfaces(env: Env) {
    // Other tests add and remove interfaces meanwhile: those present both
    // before and after the run are the host's stable ones.
    let before = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    let out = env
        .run(&["--net", "host"], &["cat", "/proc/net/dev"])
        .output()
        .unwrap();
    let after = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    let inside = interfaces(&stdout_of(&out));
    let stable: Vec<&String> = before.iter().filter(|i| after.contains(i)).collect();
    assert!(stable.len() > 1, "the host has only {stable:?}");
    for i in stable {
        assert!(inside.contains(i), "{i} is missing inside: {inside:?}");
    }
}

#[rstest]
fn a_bad_mode_exits_125(env: Env) {
    let out = env
        .run(&["--net", "container:"], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
}
