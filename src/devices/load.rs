//! Handing the device filter to the kernel (step 35, `man 2 bpf`): load it
//! with `BPF_PROG_LOAD`, attach it to a cgroup2 directory with
//! `BPF_PROG_ATTACH`.
//!
//! Loading runs the kernel's verifier over the program (every path ends in
//! `exit`, only the 12 bytes of the context are read, no instruction is
//! unreachable) and returns a file descriptor for it. Attaching takes an
//! open descriptor of the cgroup's directory, and the attach type
//! `BPF_CGROUP_DEVICE`. With `BPF_F_ALLOW_MULTI` (as runc attaches) the
//! program runs alongside any a parent cgroup has, and an access must pass
//! them all: a container can never get more than its runtime's cgroup.
//! The cgroup keeps the program once attached; closing the descriptor is
//! fine, and removing the cgroup directory releases it.
//!
//! Only two commands of `bpf(2)` are needed, so this calls the system call
//! directly (the `libc` crate has its number but not `union bpf_attr`)
//! with the two parts of the union it uses, laid out as in
//! `include/uapi/linux/bpf.h`. The kernel accepts a shorter `bpf_attr`
//! than its own and treats the rest as zero.
//!
//! Before Linux 5.11 a loaded program was charged to the caller's
//! `RLIMIT_MEMLOCK`; the filter is a few hundred bytes, well inside the
//! usual 64 KiB (since 5.11 it is charged to the memory cgroup instead).

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::Error;
use super::Policy;
use super::bpf::{Insn, bytecode, program};

/// `enum bpf_cmd`.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
/// `enum bpf_prog_type`.
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `enum bpf_attach_type`.
const BPF_CGROUP_DEVICE: u32 = 6;
/// Let other programs (a parent's) run too.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr` (72 bytes, the layout
/// since Linux 4.15).
#[repr(C)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// `bpf(cmd, attr, sizeof attr)`; the result (a descriptor or 0) or the
/// errno.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, exclusively borrowed `#[repr(C)]` struct of
    // the size passed; the kernel reads (and for the load's log, writes
    // through the pointers inside, which the callers keep alive) no more.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Load `insns` as a cgroup device program. A refusal carries the
/// verifier's log (asked for only then: the first try runs without one).
pub fn load(insns: &[Insn]) -> io::Result<OwnedFd> {
    let code = bytecode(insns);
    let license = c"MIT";
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"mydocker_dev");
    let mut log = vec![0u8; 0];
    let attempt = |log: &mut Vec<u8>| {
        let mut attr = ProgLoadAttr {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: code.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: u32::from(!log.is_empty()),
            log_size: log.len() as u32,
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            kern_version: 0,
            prog_flags: 0,
            prog_name: name,
            prog_ifindex: 0,
            expected_attach_type: BPF_CGROUP_DEVICE,
        };
        bpf(BPF_PROG_LOAD, &mut attr)
    };
    let fd = match attempt(&mut log) {
        Ok(fd) => fd,
        Err(first) => {
            log = vec![0u8; 64 * 1024];
            let _ = attempt(&mut log);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            return Err(if text.is_empty() {
                first
            } else {
                io::Error::new(first.kind(), format!("{first}; verifier: {text}"))
            });
        }
    };
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach the loaded program `prog` to the cgroup2 directory `dir`.
pub fn attach(dir: &Path, prog: &OwnedFd) -> io::Result<()> {
    let cgroup = std::fs::File::open(dir)?;
    let mut attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(|_| ())
}

/// Build the filter for `policy`, load it and attach it to the cgroup2
/// directory `dir`. From then on every process in `dir` (and below)
/// opens and makes only the devices `policy` allows.
pub fn apply(dir: &Path, policy: &Policy) -> Result<(), Error> {
    let prog = load(&program(policy)).map_err(|err| Error {
        op: "load the device filter (BPF_PROG_LOAD) for",
        path: dir.to_path_buf(),
        err,
    })?;
    attach(dir, &prog).map_err(|err| Error {
        op: "attach the device filter (BPF_PROG_ATTACH) to",
        path: dir.to_path_buf(),
        err,
    })
}
