//! Step 09: a real union mount shows the lower layer, copies up on write,
//! hides deleted files with a whiteout, and never changes the lower layer.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use mydocker::fs::overlay::{self, Layers};
use rstest::rstest;

use crate::harness::{Env, env};

#[rstest]
fn union_mount_copies_up_and_whites_out(env: Env) {
    let base = env.scratch("union");
    let lower = base.join("lower");
    fs::create_dir_all(&lower).unwrap();
    fs::write(lower.join("keep.txt"), "from lower\n").unwrap();
    fs::write(lower.join("edit.txt"), "original\n").unwrap();
    fs::write(lower.join("gone.txt"), "delete me\n").unwrap();
    let layers = Layers {
        lower: vec![lower.clone()],
        upper: base.join("upper"),
        work: base.join("work"),
        merged: base.join("merged"),
        volatile: false,
    };
    overlay::mount_union(&layers).unwrap();
    let m = &layers.merged;
    let result = std::panic::catch_unwind(|| {
        assert_eq!(
            fs::read_to_string(m.join("keep.txt")).unwrap(),
            "from lower\n"
        );
        fs::write(m.join("new.txt"), "new\n").unwrap();
        fs::write(m.join("edit.txt"), "changed\n").unwrap();
        fs::remove_file(m.join("gone.txt")).unwrap();
        assert!(!m.join("gone.txt").exists());
    });
    overlay::unmount(m).unwrap();
    result.unwrap();

    // Writes landed in the upper layer...
    assert_eq!(
        fs::read_to_string(layers.upper.join("new.txt")).unwrap(),
        "new\n"
    );
    assert_eq!(
        fs::read_to_string(layers.upper.join("edit.txt")).unwrap(),
        "changed\n"
    );
    // ...the delete is a whiteout: a character device 0:0...
    let wh = fs::symlink_metadata(layers.upper.join("gone.txt")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "no whiteout"
    );
    // ...and the lower layer is exactly as it was.
    assert_eq!(
        fs::read_to_string(lower.join("edit.txt")).unwrap(),
        "original\n"
    );
    assert_eq!(
        fs::read_to_string(lower.join("gone.txt")).unwrap(),
        "delete me\n"
    );
    assert!(!lower.join("new.txt").exists());
    assert!(
        !layers.upper.join("keep.txt").exists(),
        "an unchanged file was copied up"
    );
}

#[rstest]
fn two_lower_layers_stack_topmost_first(env: Env) {
    let base = env.scratch("stack");
    let (top, bottom) = (base.join("top"), base.join("bottom"));
    fs::create_dir_all(&top).unwrap();
    fs::create_dir_all(&bottom).unwrap();
    fs::write(top.join("f"), "top\n").unwrap();
    fs::write(bottom.join("f"), "bottom\n").unwrap();
    fs::write(bottom.join("only-bottom"), "b\n").unwrap();
    let layers = Layers {
        lower: vec![top, bottom],
        upper: base.join("upper"),
        work: base.join("work"),
        merged: base.join("merged"),
        volatile: false,
    };
    overlay::mount_union(&layers).unwrap();
    let f = fs::read_to_string(layers.merged.join("f"));
    let b = fs::read_to_string(layers.merged.join("only-bottom"));
    overlay::unmount(&layers.merged).unwrap();
    assert_eq!(f.unwrap(), "top\n");
    assert_eq!(b.unwrap(), "b\n");
}
