//! The cgroup v2 device filter (step 35): a [`Policy`] compiled to eBPF
//! bytecode for a `BPF_PROG_TYPE_CGROUP_DEVICE` program.
//!
//! cgroup v2 has no `devices.allow` file. Instead, since Linux 4.15, a
//! program attached to a cgroup is run by the kernel on every `open(2)`
//! and `mknod(2)` of a device node by a process in it (and in the cgroups
//! below). The program gets a pointer (`r1`) to `struct
//! bpf_cgroup_dev_ctx` (`include/uapi/linux/bpf.h`), three 32-bit words:
//!
//! | offset | field         | holds                                          |
//! |--------|---------------|------------------------------------------------|
//! | 0      | `access_type` | low 16 bits: type (1 block, 2 char); high 16: access (1 mknod, 2 read, 4 write) |
//! | 4      | `major`       | the device's major number                      |
//! | 8      | `minor`       | the device's minor number                      |
//!
//! and returns in `r0`: 1 to allow, 0 to refuse (the caller gets `EPERM`).
//!
//! The program built here is what runc's and crun's device filters build,
//! written afresh: load the four values into `r2`..`r5`, then one block
//! per rule, **last rule first**, each a few "if this differs, jump to the
//! next block" tests ending in `r0 = allow; exit`; after the last block the
//! default. For `c 1:3 rwm`:
//!
//! ```text
//!   if r2 != 2 goto next     ; a character device?
//!   if r4 != 1 goto next     ; major 1?
//!   if r5 != 3 goto next     ; minor 3?
//!   r0 = 1; exit             ; allow
//! next:
//! ```
//!
//! A rule that allows only some accesses (`c *:* m`) checks that the
//! requested bits are a subset: `r1 = r3; r1 &= 1; if r1 != r3 goto next`.
//!
//! The encoding is written out here rather than taken from a crate: the
//! program needs eight opcodes, and the crates that encode eBPF either
//! target user-space interpreters (`rbpf`) or bring a whole loader and
//! object-file toolchain (`aya`, `libbpf-rs` over the C libbpf). Each
//! instruction is 8 bytes (`Documentation/bpf/standardization/instruction-set.rst`):
//! opcode, destination and source register (4 bits each), a 16-bit
//! signed offset (for jumps: instructions to skip), a 32-bit immediate.

use super::{Kind, Policy, Rule};

// Opcodes: class | operation | source. Only what the filter uses.
/// `dst = *(u32 *)(src + off)` (BPF_LDX | BPF_MEM | BPF_W).
const LDX_W: u8 = 0x61;
/// `dst &= imm` (BPF_ALU64 | BPF_AND | BPF_K).
const AND_K: u8 = 0x57;
/// `dst >>= imm` (BPF_ALU64 | BPF_RSH | BPF_K).
const RSH_K: u8 = 0x77;
/// `dst = imm` (BPF_ALU64 | BPF_MOV | BPF_K).
const MOV_K: u8 = 0xb7;
/// `dst = src` (BPF_ALU64 | BPF_MOV | BPF_X).
const MOV_X: u8 = 0xbf;
/// `if dst != imm goto +off` (BPF_JMP | BPF_JNE | BPF_K).
const JNE_K: u8 = 0x55;
/// `if dst != src goto +off` (BPF_JMP | BPF_JNE | BPF_X).
const JNE_X: u8 = 0x5d;
/// `return r0` (BPF_JMP | BPF_EXIT).
const EXIT: u8 = 0x95;

/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`: the type half of
/// `access_type`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

// The registers the prologue fills.
const CTX: u8 = 1;
const TYPE: u8 = 2;
const ACCESS: u8 = 3;
const MAJOR: u8 = 4;
const MINOR: u8 = 5;
/// Scratch, once the context has been read.
const TMP: u8 = 1;

/// One eBPF instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// The 8 bytes the kernel reads (`struct bpf_insn`, little-endian
    /// fields on this machine's byte order; `dst_reg` is the low nibble).
    pub fn encode(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.src << 4) | (self.dst & 0x0f);
        b[2..4].copy_from_slice(&self.off.to_ne_bytes());
        b[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        b
    }
}

/// Read the context: type, access, major, minor into `r2`..`r5`.
const PROLOGUE: [Insn; 6] = [
    Insn::new(LDX_W, TYPE, CTX, 0, 0),
    Insn::new(AND_K, TYPE, 0, 0, 0xffff),
    Insn::new(LDX_W, ACCESS, CTX, 0, 0),
    Insn::new(RSH_K, ACCESS, 0, 0, 16),
    Insn::new(LDX_W, MAJOR, CTX, 4, 0),
    Insn::new(LDX_W, MINOR, CTX, 8, 0),
];

/// The tests of one rule, each "if this does not match, leave the block"
/// (the jump offsets are filled in by [`block`]).
fn tests(rule: &Rule) -> Vec<Insn> {
    let mut t = Vec::new();
    match rule.kind {
        Kind::Char => t.push(Insn::new(JNE_K, TYPE, 0, 0, DEV_CHAR)),
        Kind::Block => t.push(Insn::new(JNE_K, TYPE, 0, 0, DEV_BLOCK)),
        Kind::All => {}
    }
    if rule.access != super::Access::ALL {
        // The requested bits must all be among the rule's.
        t.push(Insn::new(MOV_X, TMP, ACCESS, 0, 0));
        t.push(Insn::new(AND_K, TMP, 0, 0, i32::from(rule.access.bits())));
        t.push(Insn::new(JNE_X, TMP, ACCESS, 0, 0));
    }
    if let Some(major) = rule.major {
        t.push(Insn::new(JNE_K, MAJOR, 0, 0, major as i32));
    }
    if let Some(minor) = rule.minor {
        t.push(Insn::new(JNE_K, MINOR, 0, 0, minor as i32));
    }
    t
}

/// `r0 = verdict; exit`.
fn verdict(allow: bool) -> [Insn; 2] {
    [
        Insn::new(MOV_K, 0, 0, 0, i32::from(allow)),
        Insn::new(EXIT, 0, 0, 0, 0),
    ]
}

/// One rule's block: its tests, each jumping past the block when it does
/// not match, then its verdict.
fn block(rule: &Rule) -> Vec<Insn> {
    let mut insns = tests(rule);
    let len = insns.len() + 2;
    for (i, insn) in insns.iter_mut().enumerate() {
        if insn.code == JNE_K || insn.code == JNE_X {
            // Jumps count from the next instruction.
            insn.off = (len - i - 1) as i16;
        }
    }
    insns.extend(verdict(rule.allow));
    insns
}

/// The whole program for `policy`. Rules are tried last first, so a later
/// rule overrides an earlier one. A rule that matches every access ends
/// the program there: the kernel's verifier refuses instructions that can
/// never run, so nothing (no earlier rule, no default) follows it.
pub fn program(policy: &Policy) -> Vec<Insn> {
    let mut insns = PROLOGUE.to_vec();
    for rule in policy.rules.iter().rev() {
        let b = block(rule);
        let unconditional = b.len() == 2;
        insns.extend(b);
        if unconditional {
            return insns;
        }
    }
    insns.extend(verdict(policy.default_allow));
    insns
}

/// The program as the bytes `BPF_PROG_LOAD` takes.
pub fn bytecode(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{Access, default_rules, policy};

    /// Run `insns` on one access, as the kernel would: a small interpreter
    /// of exactly the opcodes above. Returns r0.
    fn run(insns: &[Insn], kind: i32, access: Access, major: u32, minor: u32) -> u64 {
        let ctx = [((access.bits() as u32) << 16) | kind as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = insns[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            pc += 1;
            match i.code {
                LDX_W => {
                    assert_eq!(s, CTX as usize, "only the context is read");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                AND_K => r[d] &= i.imm as u64,
                RSH_K => r[d] >>= i.imm,
                MOV_K => r[d] = i.imm as u64,
                MOV_X => r[d] = r[s],
                JNE_K if r[d] != i.imm as u64 => pc += i.off as usize,
                JNE_X if r[d] != r[s] => pc += i.off as usize,
                JNE_K | JNE_X => {}
                EXIT => return r[0],
                other => panic!("unknown opcode {other:#x}"),
            }
        }
    }

    fn allowed(p: &Policy, kind: i32, access: &str, major: u32, minor: u32) -> bool {
        run(
            &program(p),
            kind,
            Access::parse(access).unwrap(),
            major,
            minor,
        ) == 1
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn a_one_rule_allowlist_encodes_to_these_bytes() {
        let p = Policy {
            default_allow: false,
            rules: vec![default_rules()[2]], // c 1:3 rwm
        };
        let hex: Vec<String> = program(&p)
            .iter()
            .map(|i| {
                i.encode()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            })
            .collect();
        assert_eq!(
            hex,
            [
                "6112000000000000", // r2 = *(u32 *)(r1 + 0)
                "57020000ffff0000", // r2 &= 0xffff
                "6113000000000000", // r3 = *(u32 *)(r1 + 0)
                "7703000010000000", // r3 >>= 16
                "6114040000000000", // r4 = *(u32 *)(r1 + 4)
                "6115080000000000", // r5 = *(u32 *)(r1 + 8)
                "5502040002000000", // if r2 != 2 goto +4
                "5504030001000000", // if r4 != 1 goto +3
                "5505020003000000", // if r5 != 3 goto +2
                "b700000001000000", // r0 = 1
                "9500000000000000", // exit
                "b700000000000000", // r0 = 0
                "9500000000000000", // exit
            ]
        );
    }

    #[test]
    fn partial_access_checks_the_requested_bits_are_a_subset() {
        let p = Policy {
            default_allow: false,
            rules: vec![default_rules()[1]], // b *:* m
        };
        let insns = program(&p);
        assert_eq!(
            &insns[6..10],
            [
                Insn::new(JNE_K, TYPE, 0, 5, DEV_BLOCK),
                Insn::new(MOV_X, TMP, ACCESS, 0, 0),
                Insn::new(AND_K, TMP, 0, 0, 1),
                Insn::new(JNE_X, TMP, ACCESS, 2, 0),
            ]
        );
    }

    #[test]
    fn the_default_program_allows_the_standard_devices_and_mknod_only() {
        let p = policy(false, &[]);
        for (major, minor) in [
            (1, 3),
            (1, 5),
            (1, 7),
            (1, 8),
            (1, 9),
            (5, 0),
            (5, 1),
            (5, 2),
        ] {
            assert!(
                allowed(&p, DEV_CHAR, "rw", major, minor),
                "c {major}:{minor}"
            );
        }
        assert!(allowed(&p, DEV_CHAR, "rw", 136, 7), "a pty");
        assert!(allowed(&p, DEV_CHAR, "rwm", 10, 200), "tun");
        assert!(allowed(&p, DEV_BLOCK, "m", 8, 0), "mknod of a disk");
        assert!(!allowed(&p, DEV_BLOCK, "r", 8, 0), "reading a disk");
        assert!(!allowed(&p, DEV_BLOCK, "rm", 7, 0), "r with m");
        assert!(!allowed(&p, DEV_CHAR, "w", 1, 1), "/dev/mem");
        assert!(!allowed(&p, DEV_CHAR, "r", 10, 237), "loop-control");
        assert!(!allowed(&p, DEV_BLOCK, "r", 1, 3), "block 1:3 is not null");
    }

    #[test]
    fn later_rules_win_and_an_unconditional_rule_ends_the_program() {
        let deny_null = Rule {
            allow: false,
            ..default_rules()[2]
        };
        let mut p = policy(false, &[]);
        p.rules.push(deny_null);
        assert!(!allowed(&p, DEV_CHAR, "r", 1, 3));
        assert!(allowed(&p, DEV_CHAR, "r", 1, 5));

        let all = Rule {
            allow: true,
            kind: Kind::All,
            major: None,
            minor: None,
            access: Access::ALL,
        };
        p.rules.push(all);
        let insns = program(&p);
        assert_eq!(insns.len(), PROLOGUE.len() + 2, "nothing after it");
        assert!(allowed(&p, DEV_BLOCK, "rw", 8, 0));
    }

    #[test]
    fn privileged_is_allow_everything() {
        let p = policy(true, &[]);
        assert_eq!(&program(&p)[6..], verdict(true));
        assert!(allowed(&p, DEV_BLOCK, "rwm", 254, 0));
    }
}
