//! Step 02: the command line. Help texts are snapshots (one set per step,
//! since each chapter adds flags); the tutorial's spellings parse like
//! Docker's; bad input exits 125 naming the flag.

use std::ffi::OsString;

use mydocker::cli;

use crate::expect::Expect;
use crate::harness::{ROOTFS_WORDS, STEP, bin};

/// Parse `run OPTS... [ROOTFS] CMD...`: the last word of `opts` ends the
/// options.
fn parse_run(opts: &[&str], cmd: &[&str]) -> String {
    let mut args = vec!["run"];
    args.extend(opts);
    args.extend(ROOTFS_WORDS);
    args.extend(cmd);
    parse(&args)
}

fn parse(args: &[&str]) -> String {
    let v: Vec<OsString> = std::iter::once("mydocker")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    format!("{:?}", cli::parse(v).expect("parses").command)
}

fn help(args: &[&str]) -> String {
    let out = assert_cmd::Command::new(bin()).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} --help failed");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn help_texts() {
    crate::snapshot!(format!("help_step{STEP:02}"), help(&["--help"]));
    crate::snapshot!(format!("run_help_step{STEP:02}"), help(&["run", "--help"]));
}

#[test]
fn tutorial_spellings_parse_like_dockers() {
    assert_eq!(
        parse_run(&["-ti", "-name", "c1"], &["sh"]),
        parse_run(&["-it", "--name", "c1"], &["sh"])
    );
    assert_eq!(
        parse_run(&["-ti", "-name=c1"], &["sh"]),
        parse_run(&["-i", "-t", "--name=c1"], &["sh"])
    );
}

#[test]
fn command_words_that_look_like_flags_are_kept() {
    let p = parse_run(&["-it"], &["sh", "-c", "echo -name -ti"]);
    assert!(p.contains("\"echo -name -ti\""), "{p}");
}

#[test]
fn root_comes_from_flag_or_environment() {
    let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
    let mut args = vec!["mydocker", "--root", "/x", "run"];
    args.extend(ROOTFS_WORDS);
    args.push("sh");
    let c = cli::parse(v(&args)).unwrap();
    assert_eq!(c.root, std::path::PathBuf::from("/x"));
    // clap shows the value it took from the environment.
    let out = assert_cmd::Command::new(bin())
        .env("MYDOCKER_ROOT", "/tmp/mydocker-env-root-test")
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("MYDOCKER_ROOT=/tmp/mydocker-env-root-test"),
        "{help}"
    );
}

#[test]
fn unknown_flag_exits_125_with_usage() {
    let mut cmd = assert_cmd::Command::new(bin());
    cmd.args(["run", "--bogus", "sh"]);
    Expect::new(cmd)
        .status(125)
        .stderr_has("--bogus")
        .stderr_has("Usage:")
        .run();
}

#[test]
fn missing_command_exits_125() {
    let mut cmd = assert_cmd::Command::new(bin());
    cmd.args(["run", "-it"]);
    Expect::new(cmd).status(125).stderr_has("COMMAND").run();
}

#[test]
fn version_and_help_exit_0() {
    let out = assert_cmd::Command::new(bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.starts_with(b"mydocker "),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_cmd::Command::new(bin())
        .arg("--help")
        .assert()
        .success();
}
