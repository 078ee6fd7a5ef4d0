//! Step 22: `commit CONTAINER IMAGE`, and containers from committed images:
//! the seed's section 3, transcript for transcript (our --root and scratch
//! directories in place of /nicktming).

use rstest::rstest;

use crate::harness::{Env, env, stdout_of};

#[rstest]
fn seed_section_3_image_from_a_container(env: Env) {
    let base = env.scratch("nicktming");
    let (from1, from2, from5) = (base.join("from1"), base.join("from2"), base.join("from5"));
    let md = |args: &[&str]| env.md().args(args).output().unwrap();

    // ./mydocker run -d -name container01 -v /nicktming/from1:/to1 busybox /bin/top
    env.run_d(
        &[
            "-name",
            "container01",
            "-v",
            &format!("{}:/to1", from1.display()),
        ],
        &["/bin/top"],
    );
    // ./mydocker run -d -name container02 -v /nicktming/from2:/to2 busybox /bin/top
    env.run_d(
        &[
            "-name",
            "container02",
            "-v",
            &format!("{}:/to2", from2.display()),
        ],
        &["/bin/top"],
    );
    let ps = stdout_of(&md(&["ps"]));
    assert!(
        ps.contains("container01") && ps.contains("container02"),
        "{ps}"
    );

    // ./mydocker exec container01 /bin/sh
    let script = "echo -e \"hello container1\" >> /to1/test1.txt && mkdir to1-1 && echo -e \"hello cotainer1,to-1,test1\" >> /to1-1/test1.txt";
    let out = md(&["exec", "container01", "/bin/sh", "-c", script]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // ./mydocker commit container01 image1
    let out = md(&["commit", "container01", "image1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if crate::harness::STEP < 38 {
        assert!(env.root.join("images/image1.tar").is_file());
    } else {
        // From step 38 the image is a layer in the OCI store, by name.
        let images = stdout_of(&md(&["images"]));
        assert!(images.lines().any(|l| l.starts_with("image1 ")), "{images}");
    }
    // On the host: the container's merged tree and the volume hold the files.
    let merged = env.state("container01").layers.unwrap().join("merged");
    assert_eq!(
        std::fs::read_to_string(merged.join("to1-1/test1.txt")).unwrap(),
        "hello cotainer1,to-1,test1\n"
    );
    assert_eq!(
        std::fs::read_to_string(from1.join("test1.txt")).unwrap(),
        "hello container1\n"
    );

    // ./mydocker stop container01 ; ./mydocker rm container01
    assert!(md(&["stop", "container01"]).status.success());
    assert!(md(&["rm", "container01"]).status.success());
    let ps = stdout_of(&md(&["ps"]));
    assert!(
        !ps.contains("container01") && ps.contains("container02"),
        "{ps}"
    );

    // ./mydocker run -d -name container03 image1 /bin/top
    let mut run03 = env.run_image("image1", &["-d", "-name", "container03"], &["/bin/top"]);
    assert!(run03.output().unwrap().status.success());
    // ./mydocker exec container03 /bin/sh: ls -l shows to1 and to1-1, with their files
    let ls = stdout_of(&md(&["exec", "container03", "ls"]));
    assert!(
        ls.lines().any(|l| l == "to1") && ls.lines().any(|l| l == "to1-1"),
        "{ls}"
    );
    assert_eq!(
        stdout_of(&md(&["exec", "container03", "cat", "to1/test1.txt"])),
        "hello container1\n"
    );
    assert_eq!(
        stdout_of(&md(&["exec", "container03", "cat", "to1-1/test1.txt"])),
        "hello cotainer1,to-1,test1\n"
    );

    // mkdir -p /nicktming/from5 && echo "hello container05" > /nicktming/from5/test1.txt
    std::fs::create_dir_all(&from5).unwrap();
    std::fs::write(from5.join("test1.txt"), "hello container05\n").unwrap();
    // ./mydocker run -it -name container05 -v /nicktming/from5:/to1 image1 /bin/sh
    let vol5 = format!("{}:/to1", from5.display());
    let mut run05 = env.run_image(
        "image1",
        &["-i", "-name", "container05", "-v", &vol5],
        &["/bin/sh", "-c", "ls; cat to1/test1.txt"],
    );
    let out = run05.output().unwrap();
    let text = stdout_of(&out);
    // The volume's file is seen over the image's; to1-1 still comes from the image.
    assert!(text.lines().any(|l| l == "to1-1"), "{text}");
    assert!(text.ends_with("hello container05\n"), "{text}");
}

#[rstest]
fn a_stopped_container_can_be_committed(env: Env) {
    env.run_d(
        &["--name", "finished"],
        &["sh", "-c", "echo saved > /saved"],
    );
    env.wait_exited("finished");
    env.md()
        .args(["commit", "finished", "snap"])
        .assert()
        .success();
    env.run_image("snap", &[], &["cat", "/saved"])
        .assert()
        .success()
        .stdout("saved\n");
}

#[rstest]
#[case::unknown_container(&["commit", "ghost", "img"], "no such container: ghost")]
#[case::bad_image_name(&["commit", "x", "../evil"], "invalid image name")]
#[case::missing_image(&["commit", "x"], "IMAGE")]
fn bad_commits_exit_125(env: Env, #[case] args: &[&str], #[case] message: &str) {
    let out = env.md().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(message), "{err}");
}

/// `commit` of a stopped container killed with SIGKILL at any instant
/// leaves the image whole or absent, and nothing else: no temporary
/// archive or half-extracted layer in the images directory once the next
/// commit has run, and no mount once the container is removed.
#[rstest]
fn a_commit_killed_at_any_instant_leaves_the_image_whole_or_absent(env: Env) {
    use std::time::Duration;
    env.run_d(&["--name", "src"], &["sh", "-c", "echo saved > /saved"]);
    env.wait_exited("src");
    let images = env.root.join("images");
    let mut whole = 0;
    for n in 0..16u64 {
        let image = format!("snap{n}");
        // From at once to past the end of a commit (0, 1, 4, ... 225 ms).
        env.spawn_and_kill_after(
            &env.root_args(&["commit", "src", &image]),
            Duration::from_millis(n * n),
        );
        if images.join(format!("{image}.tar")).is_file() {
            whole += 1;
            env.run_image(&image, &[], &["cat", "/saved"])
                .assert()
                .success()
                .stdout("saved\n");
        }
    }
    // A commit that is not killed sweeps what the killed ones left.
    env.md().args(["commit", "src", "last"]).assert().success();
    let mut left: Vec<String> = std::fs::read_dir(&images)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.starts_with('.') && !f.ends_with(".lock"))
        .collect();
    left.sort();
    assert!(left.is_empty(), "left in {}: {left:?}", images.display());
    env.md().args(["rm", "-f", "src"]).assert().success();
    env.assert_no_leaks();
    eprintln!("{whole} of 16 killed commits left a whole image");
}
