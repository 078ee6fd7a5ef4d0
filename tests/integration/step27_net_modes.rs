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

/// A veth pair of the test's own on the host (`NAME` and `NAMEp`; a veth
/// is used as every kernel that runs containers has it), deleted on drop.
struct HostLink(String);

impl HostLink {
    fn add(name: &str) -> HostLink {
        let peer = format!("{name}p");
        let status = std::process::Command::new("ip")
            .args(["link", "add", name, "type", "veth", "peer", "name", &peer])
            .status()
            .expect("run ip link add");
        assert!(status.success(), "could not add the veth pair {name}");
        HostLink(name.to_string())
    }
}

impl Drop for HostLink {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.0])
            .status();
    }
}

#[rstest]
fn host_sees_the_hosts_interfaces(env: Env) {
    // A link this test made on the host must show inside; so must
    // every other host interface present both before and after the run
    // (other tests add and remove theirs meanwhile).
    let link = HostLink::add(&format!("mdh{}", &env.tag[..8]));
    let before = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    let out = env
        .run(&["--net", "host"], &["cat", "/proc/net/dev"])
        .output()
        .unwrap();
    let after = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    let inside = interfaces(&stdout_of(&out));
    let stable: Vec<&String> = before.iter().filter(|i| after.contains(i)).collect();
    assert!(stable.contains(&&link.0), "{} is not on the host", link.0);
    for i in stable {
        assert!(inside.contains(i), "{i} is missing inside: {inside:?}");
    }
    drop(link);
}

#[rstest]
fn a_bad_mode_exits_125(env: Env) {
    let out = env
        .run(&["--net", "container:"], &["true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
}
