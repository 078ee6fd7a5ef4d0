//! Step 40: a bundle's namespaces beyond the usual ones, driven through
//! `mydocker-runtime` directly. A user namespace (`linux.namespaces` type
//! `user` with `linux.uidMappings`/`gidMappings`): inside, the maps as
//! given and root; from the host, init is the mapped user. A mapping the
//! kernel would refuse, or a new user namespace without one, fails
//! `create` with one line naming the field, before anything is made. No
//! namespace listed: the caller's, the mount namespace included.

use rstest::rstest;
use serde_json::{Value, json};

use crate::harness::ok;
use crate::harness::{Env, env, stdout_of, wait_for};
use crate::step40_oci_runtime::{bundle, create, rt, state, status_field, try_create};

/// Host ids no account of the test machine uses.
const HOST_UID: u32 = 231_072;
const HOST_GID: u32 = 296_608;

fn with_user_ns(c: &mut Value, uid: Value, gid: Value) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    c["linux"]["uidMappings"] = uid;
    c["linux"]["gidMappings"] = gid;
}

#[rstest]
fn a_container_in_its_own_user_namespace_is_root_inside_and_the_mapped_user_outside(env: Env) {
    let id = "oci-userns";
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; ls -n /dev/null";
    let b = bundle(&env, id, &["sh", "-c", script], |c| {
        with_user_ns(
            c,
            json!([{"containerID": 0, "hostID": HOST_UID, "size": 65536}]),
            json!([{"containerID": 0, "hostID": HOST_GID, "size": 1000},
                   {"containerID": 1000, "hostID": HOST_GID + 2000, "size": 10}]),
        );
    });
    // The root belongs to the namespace's root, as a caller prepares it
    // (podman chowns its copy): the host's root is nobody inside.
    let rootfs = b.join("rootfs");
    let chown = std::process::Command::new("chown")
        .args(["-R", &format!("{HOST_UID}:{HOST_GID}")])
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(chown.success());
    let pid_file = env.scratch("pid").join("init.pid");
    let output = create(&env, &b, id, &["--pid-file", pid_file.to_str().unwrap()]);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    // Init waits for start as the namespace's root: the mapped ids here.
    let field = |name: &str| status_field(&pid.to_string(), name);
    assert_eq!(field("Uid:"), vec![HOST_UID.to_string(); 4].join(" "));
    assert_eq!(field("Gid:"), vec![HOST_GID.to_string(); 4].join(" "));
    assert_ne!(
        std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap(),
        std::fs::read_link("/proc/self/ns/user").unwrap()
    );

    ok(&rt(&env).args(["start", id]).output().unwrap());
    wait_for("status stopped", || {
        (state(&env, id)["status"] == "stopped").then_some(())
    });
    let text = std::fs::read_to_string(&output).unwrap();
    let words: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(words[0], ["0", &HOST_UID.to_string(), "65536"], "{text}");
    assert_eq!(words[1], ["0", &HOST_GID.to_string(), "1000"], "{text}");
    assert_eq!(
        words[2],
        ["1000", &(HOST_GID + 2000).to_string(), "10"],
        "{text}"
    );
    assert_eq!(words[3], ["0"], "uid inside: {text}");
    assert_eq!(words[4], ["0"], "gid inside: {text}");
    // /dev/null, which the namespace may not mknod, is the host's bound.
    assert!(words[5][0].starts_with('c'), "{text}");
    ok(&rt(&env).args(["delete", id]).output().unwrap());
    // `features` says so.
    let features: Value =
        serde_json::from_str(&ok(&rt(&env).arg("features").output().unwrap())).unwrap();
    let listed = features["linux"]["namespaces"].as_array().unwrap();
    assert!(listed.contains(&json!("user")), "{features}");
}

#[rstest]
#[case::overlapping(
    json!([{"containerID": 0, "hostID": HOST_UID, "size": 100},
           {"containerID": 50, "hostID": HOST_UID + 1000, "size": 100}]),
    json!([{"containerID": 0, "hostID": HOST_GID, "size": 100}]),
    "linux.uidMappings: the ranges at containerID 0 and 50 overlap"
)]
#[case::no_mapping(
    json!([{"containerID": 0, "hostID": HOST_UID, "size": 100}]),
    json!([]),
    "linux.gidMappings: a new user namespace needs a mapping of id 0"
)]
fn a_bad_mapping_fails_create_with_one_line_naming_the_field(
    env: Env,
    #[case] uid: Value,
    #[case] gid: Value,
    #[case] expected: &str,
) {
    let id = "oci-userns-bad";
    let b = bundle(&env, id, &["true"], |c| with_user_ns(c, uid, gid));
    let out = try_create(&env, &b, id);
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
    assert_eq!(
        std::fs::read_dir(env.scratch("runtime-root"))
            .unwrap()
            .count(),
        0,
        "nothing made"
    );
}

/// A bundle that lists no namespace shares each of the caller's, the
/// mount namespace too: init mounts there and chroots into the root. The
/// whole run is in a mount namespace of the test's own (`unshare -m`),
/// which shows that `delete` took those mounts away again.
#[rstest]
fn a_bundle_listing_no_namespace_shares_the_callers_and_delete_takes_its_mounts_away(env: Env) {
    let id = "oci-no-ns";
    let script = "for k in mnt pid net ipc uts; do readlink /proc/self/ns/$k; done";
    let b = bundle(&env, id, &["sh", "-c", script], |c| {
        c["linux"]["namespaces"] = json!([]);
        c.as_object_mut().unwrap().remove("hostname");
    });
    let runtime = rt(&env);
    let mut argv = vec![runtime.get_program().to_os_string()];
    argv.extend(runtime.get_args().map(|a| a.to_os_string()));
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let inner = format!(
        "cd '{}' && {} run {id} && for k in mnt pid net ipc uts; do readlink /proc/self/ns/$k; done \
         && echo mounts: && grep -c ' {}' /proc/self/mountinfo || true",
        b.display(),
        quoted.join(" "),
        b.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &inner])
        .output()
        .unwrap();
    let text = ok(&out);
    let (namespaces, mounts) = text.split_once("mounts:\n").unwrap_or((&text, ""));
    let lines: Vec<&str> = namespaces.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    assert_eq!(
        lines[..5],
        lines[5..],
        "the container's, then the caller's: {text}"
    );
    assert_eq!(mounts.trim(), "0", "mounts left under the bundle: {text}");
}

/// A new cgroup namespace (`{"type": "cgroup"}`) is rooted at the
/// container's own cgroups, as runc makes it once init is in them:
/// inside, every line of `/proc/self/cgroup` ends in `:/` (each v1
/// hierarchy and the v2 one), for the program and for a process `exec`
/// adds, and in a user namespace of its own too (where the runtime, not
/// init, places init). Made with the clone, it would be rooted at the
/// caller's cgroups: the container's path would show below them
/// (`pids:/mydocker-...`), or the host's layout where the caller's cgroup
/// is nested (`memory:/../../...`).
#[rstest]
fn a_new_cgroup_namespace_is_rooted_at_the_containers_cgroups(env: Env) {
    let rooted = |who: &str, text: &str| {
        assert!(text.lines().count() > 0, "{who}: nothing read");
        for line in text.lines() {
            assert!(line.ends_with(":/"), "{who}: {line:?} in\n{text}");
        }
    };
    let with_cgroup_ns = |c: &mut Value| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "cgroup"}));
    };
    let script = "cat /proc/self/cgroup; echo end; exec sleep 1000";
    let id = "oci-cgroupns-root";
    let b = bundle(&env, id, &["sh", "-c", script], with_cgroup_ns);
    let output = create(&env, &b, id, &[]);
    ok(&rt(&env).args(["start", id]).output().unwrap());
    let text = wait_for("the program's /proc/self/cgroup", || {
        let text = std::fs::read_to_string(&output).ok()?;
        text.strip_suffix("end\n").map(str::to_string)
    });
    let exec = rt(&env)
        .args(["exec", id, "cat", "/proc/self/cgroup"])
        .output()
        .unwrap();
    ok(&rt(&env).args(["delete", "--force", id]).output().unwrap());
    rooted("the program", &text);
    rooted("exec", &ok(&exec));

    let id = "oci-cgroupns-userns";
    let b = bundle(&env, id, &["cat", "/proc/self/cgroup"], |c| {
        with_cgroup_ns(c);
        with_user_ns(
            c,
            json!([{"containerID": 0, "hostID": HOST_UID, "size": 65536}]),
            json!([{"containerID": 0, "hostID": HOST_GID, "size": 65536}]),
        );
    });
    let chown = std::process::Command::new("chown")
        .args(["-R", &format!("{HOST_UID}:{HOST_GID}")])
        .arg(b.join("rootfs"))
        .status()
        .unwrap();
    assert!(chown.success());
    let output = create(&env, &b, id, &[]);
    ok(&rt(&env).args(["start", id]).output().unwrap());
    wait_for("status stopped", || {
        (state(&env, id)["status"] == "stopped").then_some(())
    });
    rooted(
        "in a user namespace",
        &std::fs::read_to_string(&output).unwrap(),
    );
    ok(&rt(&env).args(["delete", id]).output().unwrap());
}
