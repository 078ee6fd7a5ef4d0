//! Step 14: `commit IMAGE` packs the running container's filesystem into
//! ROOT/images/IMAGE.tar, in-process; `images` lists it.

// (From step 38 none of this file's tests is in the build: the images
// listing is step 38's.)
#[cfg(not(feature = "oci_image"))]
use rstest::rstest;

#[cfg(not(feature = "oci_image"))]
use crate::harness::{Env, env, stdout_of};

#[cfg(not(feature = "isolation"))]
fn tar_entries(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = std::collections::BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.insert(name.trim_start_matches("./").to_string(), data);
    }
    out
}

/// The step-14 form, `commit IMAGE`, of the one shared container; step 22
/// names the container instead (its tests are in step22_commit.rs).
#[cfg(not(feature = "isolation"))]
#[rstest]
fn commit_saves_the_running_containers_files(env: Env) {
    let vol = env.scratch("vol");
    std::fs::write(vol.join("from-volume"), "v\n").unwrap();
    let spec = format!("{}:/vol", vol.display());
    let out = env.while_running(&["-v", &spec], || {
        // The container's first command ran; add a file from outside too.
        std::fs::write(env.root.join("shared/merged/root/added"), "added\n").unwrap();
        env.md().args(["commit", "image1"]).output().unwrap()
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tar = env.root.join("images/image1.tar");
    assert_eq!(stdout_of(&out).trim(), tar.display().to_string());
    let entries = tar_entries(&tar);
    assert_eq!(
        entries.get("root/added").map(Vec::as_slice),
        Some(&b"added\n"[..])
    );
    assert_eq!(
        entries.get("vol/from-volume").map(Vec::as_slice),
        Some(&b"v\n"[..])
    );
    assert!(entries.contains_key("bin/busybox"));
    // The new image runs.
    env.run_image("image1", &[], &["cat", "/root/added"])
        .assert()
        .success()
        .stdout("added\n");
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(env.root.join("images"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// Until step 37 (step 38 lists Docker's columns: its own test).
#[cfg(not(feature = "oci_image"))]
#[rstest]
fn images_lists_name_size_and_time(env: Env) {
    let out = env.md().arg("images").output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    let filtered = regex_lite_size(&text);
    crate::snapshot!("images_busybox", filtered);
}

/// The size of the busybox image depends on the Debian package: filter it.
#[cfg(not(feature = "oci_image"))]
fn regex_lite_size(text: &str) -> String {
    text.lines()
        .map(|l| {
            let cols: Vec<&str> = l
                .split("   ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect();
            if cols.first() == Some(&"busybox") && cols.len() == 3 {
                assert!(cols[1].ends_with("MB"), "{l}");
                format!("busybox   [SIZE]   {}", cols[2])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(not(feature = "commit-container"))]
#[rstest]
fn commit_without_a_running_container_exits_125(env: Env) {
    let out = env.md().args(["commit", "image1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no running container"));
    assert!(!env.root.join("images/image1.tar").exists());
}

#[cfg(not(feature = "commit-container"))]
#[rstest]
#[case("../evil")]
#[case("a/b")]
#[case("")]
fn commit_refuses_bad_image_names(env: Env, #[case] name: &str) {
    let out = env.md().args(["commit", name]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
}
