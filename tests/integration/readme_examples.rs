//! Every `console` block of the step READMEs and of the top README, run as
//! written and compared with what the README shows. `steps/README.md`
//! ("Examples") describes the conventions this module implements:
//!
//! - a line starting `# ` is a command (a line ending in `\` continues on
//!   the next); the lines after it, up to the next command, are what it
//!   prints (stdout and stderr together);
//! - the commands of a block run in order in one `bash`; the blocks of a
//!   README run in order, in one fresh directory, with the built `mydocker` first in `PATH`, `ROOT` and
//!   `MYDOCKER_ROOT` set to the test's own root (the busybox image in it
//!   from step 11, as `just image` makes it) and `TMPDIR` inside the test's
//!   directory;
//! - a line `...` stands for any number of lines, and `...` inside a line
//!   for any text; IDs, times, PIDs (other than 1) and sizes are replaced by
//!   placeholders on both sides, and runs of blanks count as one;
//! - `<!-- readme-test: steps A-B -->` on the line before a block runs it
//!   only in the builds of steps A to B (default: the README's own step to
//!   the last); `<!-- readme-test: skip REASON -->` never runs it, and the
//!   README says why in its text.
//!
//! One test per README, named `stepNN_readme_examples`, compiled with
//! chapter NN; `top_readme_examples` for the top README, with the full build.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::harness::{Env, STEP};

/// The last chapter: the top README describes the full build.
const LAST_STEP: u32 = u32::MAX;

/// One example block of a README.
#[derive(Debug)]
struct Block {
    /// The line of the opening fence (1-based).
    line: usize,
    /// Run in the builds of these steps only.
    steps: (u32, u32),
    /// Why it is never run, if so.
    skip: Option<String>,
    commands: Vec<Example>,
}

/// One command of a block and what the README says it prints.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The `console` blocks of `text`, a README of chapter `step`.
fn parse(text: &str, step: u32) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```console" {
            i += 1;
            continue;
        }
        let mut block = Block {
            line: i + 1,
            steps: (step, LAST_STEP),
            skip: None,
            commands: Vec::new(),
        };
        if i > 0 {
            apply_marker(&mut block, lines[i - 1]);
        }
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            let line = lines[i];
            if let Some(cmd) = line.strip_prefix("# ") {
                let mut command = cmd.to_string();
                let first = i + 1;
                while command.ends_with('\\') && i + 1 < lines.len() {
                    i += 1;
                    command.pop();
                    command.push(' ');
                    command.push_str(lines[i].trim_start());
                }
                block.commands.push(Example {
                    line: first,
                    command,
                    expected: Vec::new(),
                });
            } else if let Some(last) = block.commands.last_mut() {
                last.expected.push(line.to_string());
            } else {
                panic!("line {}: output before any command", i + 1);
            }
            i += 1;
        }
        blocks.push(block);
        i += 1;
    }
    blocks
}

/// `<!-- readme-test: steps A-B -->` or `<!-- readme-test: skip REASON -->`.
fn apply_marker(block: &mut Block, line: &str) {
    let Some(rest) = line
        .trim()
        .strip_prefix("<!-- readme-test:")
        .and_then(|r| r.strip_suffix("-->"))
    else {
        return;
    };
    let rest = rest.trim();
    if let Some(reason) = rest.strip_prefix("skip") {
        block.skip = Some(reason.trim().to_string());
    } else if let Some(range) = rest.strip_prefix("steps") {
        let (a, b) = range.trim().split_once('-').unwrap_or((range.trim(), ""));
        let a = a.trim().parse().expect("a step number");
        let b = if b.trim().is_empty() {
            LAST_STEP
        } else {
            b.trim().parse().expect("a step number")
        };
        block.steps = (a, b);
    } else {
        panic!("unknown readme-test marker: {line}");
    }
}

/// The filters applied to both what the README shows and what was printed.
fn normalize(line: &str) -> String {
    use regex::Regex;
    use std::sync::OnceLock;
    static FILTERS: OnceLock<Vec<(Regex, &str)>> = OnceLock::new();
    let filters = FILTERS.get_or_init(|| {
        [
            // runs of blanks (columns widen with their content)
            (r"[ \t]+", " "),
            (r"^ | $", ""),
            // container IDs, full and short
            (r"\b[0-9a-f]{64}\b", "<id>"),
            (r"\b[0-9a-f]{12}\b", "<id>"),
            // times
            (
                r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?",
                "<time>",
            ),
            // ps rows: the PID (other than 1) and the CPU time
            (r"^([02-9]|\d{2,}) ", "<pid> "),
            (r"^(\S+ root) \d+:\d\d ", "$1 <t> "),
            // mydocker ps rows: the PID column
            (r"^(<id> \S+) \d+ ", "$1 <pid> "),
            // the tag of a root in cgroup names, PIDs and times in the state
            (r"mydocker-[0-9a-f]{8}-", "mydocker-<tag>-"),
            (r#""(pid|pid_start|created|finished)": \d+"#, r#""$1": <n>"#),
            // round-trip times (ping)
            (r"\b\d+\.\d+ ms\b", "<t> ms"),
            // sizes
            (r"\b\d+(\.\d+)?(B|kB|KB|MB|GB)\b", "<size>"),
            // namespace inodes (each kernel numbers its own)
            (
                r"\b(cgroup|ipc|mnt|net|pid|time|user|uts):\[\d+\]",
                "$1:[<inode>]",
            ),
        ]
        .into_iter()
        .map(|(re, to)| (Regex::new(re).expect("a filter"), to))
        .collect()
    });
    let mut s = line.to_string();
    for (re, to) in filters {
        s = re.replace_all(&s, *to).into_owned();
    }
    s
}

/// Does `line` match the README's `pattern` (`...` matches any text)?
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let mut rest = line;
    for (n, part) in parts.iter().enumerate() {
        if n == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if n == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Do the printed `lines` match the README's `expected` ones (a line `...`
/// matches any number of lines)?
fn lines_match(expected: &[String], lines: &[String]) -> bool {
    match expected.split_first() {
        None => lines.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=lines.len()).any(|skip| lines_match(rest, &lines[skip..]))
        }
        Some((first, rest)) => {
            lines.first().is_some_and(|l| line_matches(first, l)) && lines_match(rest, &lines[1..])
        }
    }
}

/// Marks the start of command N in the block's output.
const MARK: char = '\u{1e}';

/// Run a block in `env`; returns what each command printed.
fn run_block(env: &Env, block: &Block) -> Vec<String> {
    let dir = env.scratch("readme-examples");
    let tmp = env.scratch("readme-tmp");
    let bin_dir = PathBuf::from(crate::harness::bin())
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let link_dir = env.scratch("readme-bin");
    let link = link_dir.join("mydocker");
    if !link.exists() {
        std::os::unix::fs::symlink(crate::harness::bin(), &link).expect("link mydocker");
    }
    let mut script = String::from("exec 2>&1\n");
    // `just image` makes ROOT/images/busybox.tar; the harness has one ready.
    script.push_str(&format!(
        "just() {{ if [ \"$*\" = image ]; then mkdir -p \"$ROOT/images\"; \
         [ -f \"$ROOT/images/busybox.tar\" ] || cp {} \"$ROOT/images/busybox.tar\"; \
         else command just \"$@\"; fi; }}\n",
        busybox_tar_path().display()
    ));
    for (n, ex) in block.commands.iter().enumerate() {
        script.push_str(&format!("printf '\\036{n}\\n'\n{}\n", ex.command));
    }
    let path = format!(
        "{}:{}:{}",
        link_dir.display(),
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = assert_cmd::Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .current_dir(&dir)
        .env("PATH", path)
        .env("ROOT", &env.root)
        .env("MYDOCKER_ROOT", &env.root)
        .env("TMPDIR", &tmp)
        .env_remove("MYDOCKER_EXPLAIN")
        .timeout(std::time::Duration::from_secs(120));
    let out = cmd.output().expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut outputs = vec![String::new(); block.commands.len()];
    let mut current: Option<usize> = None;
    let mut rest = text.as_str();
    loop {
        match rest.find(MARK) {
            Some(at) => {
                if let Some(c) = current {
                    outputs[c].push_str(&rest[..at]);
                }
                let after = &rest[at + MARK.len_utf8()..];
                let (num, tail) = after.split_once('\n').expect("a marker line");
                current = Some(num.parse().expect("a command number"));
                rest = tail;
            }
            None => {
                if let Some(c) = current {
                    outputs[c].push_str(rest);
                }
                break;
            }
        }
    }
    outputs
}

/// The busybox image the harness uses (built once per test run).
fn busybox_tar_path() -> &'static Path {
    crate::harness::busybox_tar()
}

/// Run every block of `readme` (relative to the crate) that belongs to this
/// build; fail listing every example whose output differs.
fn check_readme(readme: &str, step: u32) {
    // The examples create networks and containers with fixed names; one
    // README at a time.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(readme);
    let text = std::fs::read_to_string(&path).expect("read the README");
    let blocks = parse(&text, step);
    let explain = crate::harness::explaining();
    let mut failures = Vec::new();
    let (mut ran, mut skipped) = (0, 0);
    // The blocks of one README share a root and a directory, in order, as
    // a reader trying them one after another would.
    let mut guard = None;
    let mut env = None;
    for block in &blocks {
        if let Some(reason) = &block.skip {
            skipped += 1;
            eprintln!("{readme}:{}: not run: {reason}", block.line);
            continue;
        }
        if !(block.steps.0..=block.steps.1).contains(&STEP) {
            skipped += 1;
            eprintln!(
                "{readme}:{}: not run in this build (steps {}-{})",
                block.line, block.steps.0, block.steps.1
            );
            continue;
        }
        ran += 1;
        if env.is_none() {
            guard = Some(ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()));
            env = Some(Env::with_root_named("root"));
        }
        let outputs = run_block(env.as_ref().expect("the README's root"), block);
        for (ex, printed) in block.commands.iter().zip(&outputs) {
            let got: Vec<String> = printed.lines().map(normalize).collect();
            let want: Vec<String> = ex.expected.iter().map(|l| normalize(l)).collect();
            if explain {
                eprintln!("\n# {}\n{printed}", ex.command);
            }
            if !lines_match(&want, &got) {
                failures.push(format!(
                    "{readme}:{}: # {}\n--- the README shows:\n{}\n--- it printed:\n{}",
                    ex.line,
                    ex.command,
                    ex.expected.join("\n"),
                    printed.lines().take(40).collect::<Vec<_>>().join("\n")
                ));
            }
        }
    }
    drop(env);
    drop(guard);
    eprintln!("{readme}: {ran} blocks run, {skipped} not run");
    assert!(
        failures.is_empty(),
        "{} README example(s) differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[cfg(feature = "step-01")]
#[test]
fn step01_readme_examples() {
    check_readme("steps/01-environment/README.md", 1);
}
#[cfg(feature = "step-02")]
#[test]
fn step02_readme_examples() {
    check_readme("steps/02-cli/README.md", 2);
}
#[cfg(feature = "step-03")]
#[test]
fn step03_readme_examples() {
    check_readme("steps/03-namespaces/README.md", 3);
}
#[cfg(feature = "step-04")]
#[test]
fn step04_readme_examples() {
    check_readme("steps/04-cgroups/README.md", 4);
}
#[cfg(feature = "step-05")]
#[test]
fn step05_readme_examples() {
    check_readme("steps/05-run/README.md", 5);
}
#[cfg(feature = "step-06")]
#[test]
fn step06_readme_examples() {
    check_readme("steps/06-memory-limit/README.md", 6);
}
#[cfg(feature = "step-07")]
#[test]
fn step07_readme_examples() {
    check_readme("steps/07-cpu-limit/README.md", 7);
}
#[cfg(feature = "step-08")]
#[test]
fn step08_readme_examples() {
    check_readme("steps/08-pipe/README.md", 8);
}
#[cfg(feature = "step-09")]
#[test]
fn step09_readme_examples() {
    check_readme("steps/09-union/README.md", 9);
}
#[cfg(feature = "step-10")]
#[test]
fn step10_readme_examples() {
    check_readme("steps/10-pivot-root/README.md", 10);
}
#[cfg(feature = "step-11")]
#[test]
fn step11_readme_examples() {
    check_readme("steps/11-busybox/README.md", 11);
}
#[cfg(feature = "step-12")]
#[test]
fn step12_readme_examples() {
    check_readme("steps/12-layers/README.md", 12);
}
#[cfg(feature = "step-13")]
#[test]
fn step13_readme_examples() {
    check_readme("steps/13-volumes/README.md", 13);
}
#[cfg(feature = "step-14")]
#[test]
fn step14_readme_examples() {
    check_readme("steps/14-save-image/README.md", 14);
}
#[cfg(feature = "step-15")]
#[test]
fn step15_readme_examples() {
    check_readme("steps/15-detach/README.md", 15);
}
#[cfg(feature = "step-16")]
#[test]
fn step16_readme_examples() {
    check_readme("steps/16-ps/README.md", 16);
}
#[cfg(feature = "step-17")]
#[test]
fn step17_readme_examples() {
    check_readme("steps/17-logs/README.md", 17);
}
#[cfg(feature = "step-18")]
#[test]
fn step18_readme_examples() {
    check_readme("steps/18-exec/README.md", 18);
}
#[cfg(feature = "step-19")]
#[test]
fn step19_readme_examples() {
    check_readme("steps/19-stop/README.md", 19);
}
#[cfg(feature = "step-20")]
#[test]
fn step20_readme_examples() {
    check_readme("steps/20-rm/README.md", 20);
}
#[cfg(feature = "step-21")]
#[test]
fn step21_readme_examples() {
    check_readme("steps/21-isolation/README.md", 21);
}
#[cfg(feature = "step-22")]
#[test]
fn step22_readme_examples() {
    check_readme("steps/22-commit/README.md", 22);
}
#[cfg(feature = "step-23")]
#[test]
fn step23_readme_examples() {
    check_readme("steps/23-cp/README.md", 23);
}
#[cfg(feature = "step-24")]
#[test]
fn step24_readme_examples() {
    check_readme("steps/24-env/README.md", 24);
}
#[cfg(feature = "step-25")]
#[test]
fn step25_readme_examples() {
    check_readme("steps/25-ip/README.md", 25);
}
#[cfg(feature = "step-26")]
#[test]
fn step26_readme_examples() {
    check_readme("steps/26-veth-bridge-iptables/README.md", 26);
}
#[cfg(feature = "step-27")]
#[test]
fn step27_readme_examples() {
    check_readme("steps/27-net-modes-1/README.md", 27);
}
#[cfg(feature = "step-28")]
#[test]
fn step28_readme_examples() {
    check_readme("steps/28-net-modes-2/README.md", 28);
}
#[cfg(feature = "step-29")]
#[test]
fn step29_readme_examples() {
    check_readme("steps/29-ipam/README.md", 29);
}
#[cfg(feature = "step-30")]
#[test]
fn step30_readme_examples() {
    check_readme("steps/30-netlink/README.md", 30);
}
#[cfg(feature = "step-31")]
#[test]
fn step31_readme_examples() {
    check_readme("steps/31-network/README.md", 31);
}
#[cfg(feature = "step-32")]
#[test]
fn step32_readme_examples() {
    check_readme("steps/32-network-tests/README.md", 32);
}
#[cfg(feature = "step-33")]
#[test]
fn step33_readme_examples() {
    check_readme("steps/33-capabilities/README.md", 33);
}
#[cfg(feature = "step-34")]
#[test]
fn step34_readme_examples() {
    check_readme("steps/34-seccomp/README.md", 34);
}
#[cfg(feature = "step-35")]
#[test]
fn step35_readme_examples() {
    check_readme("steps/35-kernel-view/README.md", 35);
}
#[cfg(feature = "step-36")]
#[test]
fn step36_readme_examples() {
    check_readme("steps/36-terminals/README.md", 36);
}
#[cfg(feature = "step-37")]
#[test]
fn step37_readme_examples() {
    check_readme("steps/37-lifecycle/README.md", 37);
}
#[cfg(feature = "step-38")]
#[test]
fn step38_readme_examples() {
    check_readme("steps/38-image-store/README.md", 38);
}
#[cfg(feature = "step-39")]
#[test]
fn step39_readme_examples() {
    crate::tools::require_tool("docker-registry");
    crate::tools::require_tool("skopeo");
    check_readme("steps/39-pull/README.md", 39);
}
#[cfg(feature = "step-40")]
#[test]
fn step40_readme_examples() {
    check_readme("steps/40-oci-runtime/README.md", 40);
}
#[cfg(feature = "step-32")]
#[test]
fn top_readme_examples() {
    check_readme("README.md", 32);
}

/// The parser and the matcher, without root.
#[test]
fn readme_example_conventions() {
    let text =
        "<!-- readme-test: steps 5-10 -->\n```console\n# echo a \\\n    b\na b\n# true\n```\n";
    let blocks = parse(text, 5);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].steps, (5, 10));
    assert_eq!(blocks[0].commands[0].command, "echo a  b");
    assert_eq!(blocks[0].commands[0].expected, vec!["a b"]);
    assert!(blocks[0].commands[1].expected.is_empty());
    let n = |v: &[&str]| v.iter().map(|l| normalize(l)).collect::<Vec<_>>();
    assert!(lines_match(
        &n(&["a", "...", "z"]),
        &n(&["a", "b", "c", "z"])
    ));
    assert!(lines_match(&n(&["a", "...", "z"]), &n(&["a", "z"])));
    assert!(!lines_match(&n(&["a"]), &n(&["a", "b"])));
    assert!(lines_match(&n(&["x ... y"]), &n(&["x 1 2 y"])));
    assert!(lines_match(
        &n(&["    1 root      0:00 sh", "   12 root      0:00 ps"]),
        &n(&["    1 root      0:01 sh", "    7 root      0:00 ps"])
    ));
    assert!(!lines_match(
        &n(&["    1 root 0:00 sh"]),
        &n(&["    7 root 0:00 sh"])
    ));
    assert!(lines_match(
        &n(&["3f9c0a1b2d4e   web    21503   running   2026-11-27 20:45:14"]),
        &n(&["0123456789ab   web    7   running   2024-01-02 03:04:05"])
    ));
}
