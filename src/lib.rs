//! mydocker: a small, real Linux container runtime, built one chapter at a
//! time. Each chapter of the tutorial is a Cargo feature (`step-NN`); the
//! modules below are switched on by the chapter that introduces them.
//!
//! The library holds all the logic; `main.rs` only calls [`main_with_args`].

pub mod atomic_file;
pub mod exit_code;
pub mod format;
pub mod ids;
pub mod names;
pub mod proc_stat;
pub mod programs;
pub mod trace;

pub mod cgroups;
#[cfg(feature = "check")]
pub mod check;
pub mod cli;
pub mod commands;
#[cfg(feature = "run")]
pub mod container;
#[cfg(feature = "hardening")]
pub mod devices;
pub mod fs;
#[cfg(feature = "namespaces")]
pub mod namespaces;
#[cfg(feature = "net-ip")]
pub mod network;
#[cfg(feature = "oci_runtime")]
pub mod oci;
#[cfg(feature = "capabilities")]
pub mod security;
#[cfg(feature = "run")]
pub mod signals;
#[cfg(feature = "run")]
pub mod syscall;
#[cfg(feature = "terminal")]
pub mod terminal;

use std::ffi::OsString;

/// The binary's entry: before step 40 there is one front end.
#[cfg(not(feature = "oci_runtime"))]
pub fn entry(args: Vec<OsString>) -> i32 {
    main_with_args(args)
}

/// The binary's entry from step 40: called as `mydocker-runtime` (a
/// symlink), it is an OCI runtime with runc's command line ([`oci`]);
/// otherwise `mydocker`.
#[cfg(feature = "oci_runtime")]
pub fn entry(args: Vec<OsString>) -> i32 {
    match args.first() {
        Some(argv0) if oci::is_runtime(argv0) => oci::main(args),
        _ => main_with_args(args),
    }
}

/// Parse `args` (including the program name), run the command, and return the
/// process exit code: 0 on success, 125 for mydocker's own errors, otherwise
/// the container's code (126 cannot run, 127 not found, 128+N killed by N).
pub fn main_with_args(args: Vec<OsString>) -> i32 {
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            let code = match err.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => 0,
                _ => exit_code::EXIT_MYDOCKER,
            };
            let _ = err.print();
            return if code == 0 && err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            {
                exit_code::EXIT_MYDOCKER
            } else {
                code
            };
        }
    };
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mydocker: {err:#}");
            exit_code::EXIT_MYDOCKER
        }
    }
}
