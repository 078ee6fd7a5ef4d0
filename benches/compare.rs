//! `just bench`: mydocker measured against the runtimes people use, side by
//! side in one run, and the scale of `ps`, `commit` and the IPAM. Writes
//! `benches/RESULTS.md`.
//!
//! Every comparison alternates its commands (A, B, A, B, ...) after a
//! warm-up, so a change in the machine's load touches both alike; each
//! figure is the median of the runs, with the min-max range beside it, and
//! the ratio of the medians is what the targets are about. Absolute times
//! on a shared machine are noise; ratios are not.
//!
//! Needs root, the release build of mydocker, busybox-static, crun, runc,
//! containerd, docker-registry and skopeo (all installed by `just bench`). `cargo bench
//! --bench compare -- start` runs the start-latency comparison alone and
//! prints it, `-- images` the pull and extraction comparisons, `--
//! containerd` `ctr run` with mydocker's runtime against runc (RESULTS.md
//! is written by the whole run only).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/support/containerd.rs"]
mod containerd;
#[path = "../tests/support/registry.rs"]
mod registry;
#[path = "../tests/support/tools.rs"]
mod tools;

use containerd::Containerd;
use registry::Registry;

const RUNS: usize = 30;
const WARMUP: usize = 3;

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn stats(mut v: Vec<Duration>) -> Stats {
    v.sort();
    Stats {
        median: v[v.len() / 2],
        min: v[0],
        max: v[v.len() - 1],
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Time one run of `cmd` (its output discarded); panics if it fails.
fn time(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start a benchmarked command");
    let d = t.elapsed();
    assert!(status.success(), "benchmarked command failed: {cmd:?}");
    d
}

/// Alternate the commands made by `make` (one per entry), `RUNS` times each.
fn alternate(names: &[&str], make: &dyn Fn(usize, usize) -> Command) -> Vec<Stats> {
    for i in 0..WARMUP {
        for k in 0..names.len() {
            time(&mut make(k, 1_000_000 + i));
        }
    }
    let mut samples = vec![Vec::new(); names.len()];
    for i in 0..RUNS {
        for (k, s) in samples.iter_mut().enumerate() {
            s.push(time(&mut make(k, i)));
        }
    }
    samples.into_iter().map(stats).collect()
}

fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("run sh");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn mydocker() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/mydocker");
    assert!(
        p.exists(),
        "build the release binary first (just bench does)"
    );
    p
}

/// Give this process (and so every benchmarked command) a private mount
/// namespace without the hybrid cgroup2 mount, which crun 1.8 refuses to
/// work with. mydocker then sees a pure v1 machine, as crun and runc do.
#[allow(unsafe_code)]
fn private_mounts() {
    let ok = unsafe { libc::unshare(libc::CLONE_NEWNS) } == 0;
    assert!(ok, "unshare(CLONE_NEWNS) needs root");
    let status = Command::new("mount")
        .args(["--make-rprivate", "/"])
        .status()
        .unwrap();
    assert!(status.success());
    if Path::new("/sys/fs/cgroup/unified").exists() {
        let _ = Command::new("umount")
            .arg("/sys/fs/cgroup/unified")
            .status();
    }
}

/// An OCI bundle for crun and runc running `args` in `rootfs`, confined as
/// a default mydocker container is: Docker's 14 capabilities in every set
/// but the ambient one, no_new_privs as ours, the masked and read-only
/// paths of `fs::kernel_view`, the device allowlist of `devices`, and the
/// seccomp filter resolved from our own profile for those capabilities
/// (built here from the same JSON, so the two cannot drift apart). No pids
/// limit: a default mydocker container has none.
fn bundle(dir: &Path, rootfs: &Path, args: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("runc")
        .arg("spec")
        .current_dir(dir)
        .status()
        .expect("runc spec");
    assert!(status.success());
    let path = dir.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    spec["process"]["args"] = serde_json::json!(args);
    spec["process"]["terminal"] = serde_json::json!(false);
    spec["root"]["path"] = serde_json::json!(rootfs);
    spec["root"]["readonly"] = serde_json::json!(true);

    let ours = mydocker::security::Profile::default();
    let caps = &ours.capabilities;
    spec["process"]["capabilities"] = serde_json::json!({
        "bounding": caps, "effective": caps, "permitted": caps,
        "inheritable": caps, "ambient": [],
    });
    spec["process"]["noNewPrivileges"] = serde_json::json!(ours.no_new_privs);
    spec["linux"]["maskedPaths"] = serde_json::json!(mydocker::fs::kernel_view::MASKED);
    spec["linux"]["readonlyPaths"] = serde_json::json!(mydocker::fs::kernel_view::READ_ONLY);
    let policy = mydocker::devices::policy(false, &[]);
    let mut devices = vec![serde_json::json!({"allow": policy.default_allow, "access": "rwm"})];
    for r in &policy.rules {
        devices.push(serde_json::json!({
            "allow": r.allow, "type": r.kind.letter().to_string(),
            "major": r.major, "minor": r.minor, "access": r.access.to_string(),
        }));
    }
    spec["linux"]["resources"] = serde_json::json!({ "devices": devices });
    use mydocker::security::seccomp;
    let seccomp = seccomp::default_profile()
        .and_then(|p| p.resolved(caps, &seccomp::Host::this()))
        .expect("resolve the default seccomp profile");
    spec["linux"]["seccomp"] = serde_json::to_value(seccomp).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
}

/// The confinement a process sees in `/proc/self/status`, as `grep` shows it.
const STATUS_ARGS: [&str; 4] = [
    "grep",
    "-E",
    "CapEff|Seccomp|NoNewPrivs",
    "/proc/self/status",
];

/// Run `STATUS_ARGS` in a default mydocker container and in the crun and
/// runc bundles; panics unless the three agree (else the comparison would
/// measure different work). Returns the lines, for the report.
fn same_confinement(md: &Path, root: &Path, oci: &Path) -> String {
    let out = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(
            o.status.success(),
            "{c:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let mine = out(Command::new(md)
        .arg("--root")
        .arg(root)
        .args(["run", "busybox"])
        .args(STATUS_ARGS));
    for rt in ["crun", "runc"] {
        let theirs = out(Command::new(rt)
            .arg("run")
            .arg("-b")
            .arg(oci)
            .arg(format!("bench-status-{rt}")));
        assert_eq!(
            mine, theirs,
            "{rt}'s bundle is confined otherwise than mydocker"
        );
    }
    mine
}

/// Where a start-latency target is missed: by how much, and what the
/// trace shows about where the time goes.
fn explain_start(
    report: &mut String,
    names: &[&str],
    s: &[Stats],
    targets: &[&str],
    medians: &[(String, f64)],
) {
    let mine = s[0].median.as_secs_f64() * 1e3;
    let mut missed = Vec::new();
    for k in 1..names.len() {
        let ratio = s[0].median.as_secs_f64() / s[k].median.as_secs_f64();
        let limit: f64 = targets[k][3..].parse().unwrap();
        if ratio > limit {
            missed.push(format!(
                "against {} by {:.0}% (ratio {ratio:.2}, target {})",
                names[k],
                (ratio / limit - 1.0) * 100.0,
                targets[k]
            ));
        }
    }
    if missed.is_empty() {
        writeln!(report, "Every start-latency target is met.\n").unwrap();
        return;
    }
    let total = medians
        .iter()
        .find(|(n, _)| n == "run total")
        .map_or(0.0, |(_, v)| *v);
    let mut phases: Vec<&(String, f64)> =
        medians.iter().filter(|(n, _)| n != "run total").collect();
    phases.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = phases
        .iter()
        .take(3)
        .map(|(n, v)| format!("{n} {v:.2} ms"))
        .collect();
    writeln!(
        report,
        "Missed {}. The trace spans {total:.2} ms of the {mine:.2} ms a run takes from \
         outside; the rest lies outside that span (starting and ending the mydocker \
         process itself), and the traced runs ran alone, not alternating with the other \
         runtimes. The largest traced phases: {}. `start` includes the container's init \
         (mydocker started again inside the new namespaces) up to the `execve` of the \
         program; crun runs the bundle's directory in place, while mydocker mounts an \
         overlay write layer for every container and unmounts and removes it before \
         `run` returns (`teardown: layers`), and keeps its state in a directory of \
         several files (`state`, `teardown: state`): each is metadata work on the \
         filesystem of `--root`, which on a disk other programs are writing to waits \
         for that filesystem's journal.\n",
        missed.join("; "),
        top.join(", ")
    )
    .unwrap();
}

/// A stream of pseudo-random bytes (xorshift64*): incompressible, and
/// cheap enough that making 100 MiB of it takes a fraction of a second.
struct Noise(u64);

impl Noise {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

/// Append a regular file (0644, root's) to a tar being built.
fn tar_file<W: std::io::Write>(b: &mut tar::Builder<W>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `docker save` archive at `out` of a two-layer image `name` of about
/// `mib` MiB: each layer one file of random bytes (so the gzip that skopeo
/// applies on the way to the registry cannot shrink it) and a few small
/// text files.
fn two_layer_archive(out: &Path, name: &str, mib: usize) {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut layers = Vec::new();
    for l in 0..2 {
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..20 {
            let text = format!("layer {l} file {i}\n").repeat(200);
            tar_file(&mut b, &format!("etc/bench/{l}-{i}.txt"), text.as_bytes());
        }
        tar_file(&mut b, &format!("data/layer{l}"), &noise.bytes(mib << 19));
        layers.push(b.into_inner().unwrap());
    }
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", sha256_hex(l)))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["/bin/sh"] },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": [name],
        "Layers": ["layer0.tar", "layer1.tar"],
    }]);
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    tar_file(&mut b, "config.json", &config);
    tar_file(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&manifest).unwrap(),
    );
    for (i, l) in layers.iter().enumerate() {
        tar_file(&mut b, &format!("layer{i}.tar"), l);
    }
    b.finish().unwrap();
}

/// A gzip'd layer at `out`: `files` files in 50 directories, `mib` MiB in
/// all, of sizes spread from a few hundred bytes to twice the mean; their
/// bytes drawn from 64 letters, so gzip shrinks them by about a quarter
/// (real layers, programs and libraries, shrink by a half or more).
fn many_files_layer(out: &Path, files: usize, mib: usize) {
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(out).unwrap(),
        flate2::Compression::default(),
    );
    let mut b = tar::Builder::new(gz);
    let mean = (mib << 20) / files;
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for i in 0..files {
        let mut pick = [0u8; 8];
        noise.fill(&mut pick);
        let size = 256 + (u64::from_le_bytes(pick) as usize) % (2 * mean - 256);
        let mut data = noise.bytes(size);
        for c in &mut data {
            *c = letters[(*c & 63) as usize];
        }
        tar_file(&mut b, &format!("usr/lib/d{:02}/f{i:05}", i % 50), &data);
    }
    b.into_inner().unwrap().finish().unwrap();
}

/// Like `alternate`, with `prepare(k, i)` run (untimed) before each timed
/// run, and `runs` runs of each entry.
fn alternate_prepared(
    names: &[&str],
    runs: usize,
    make: &dyn Fn(usize, usize) -> Command,
    prepare: &dyn Fn(usize, usize),
) -> Vec<Stats> {
    for i in 0..WARMUP {
        for k in 0..names.len() {
            prepare(k, 1_000_000 + i);
            time(&mut make(k, 1_000_000 + i));
        }
    }
    let mut samples = vec![Vec::new(); names.len()];
    for i in 0..runs {
        for (k, s) in samples.iter_mut().enumerate() {
            prepare(k, i);
            s.push(time(&mut make(k, i)));
        }
    }
    samples.into_iter().map(stats).collect()
}

/// One row per command and a verdict on the ratio of the first median to
/// the second.
fn ratio_table(report: &mut String, names: &[&str], s: &[Stats], limit: f64, goal: &str) -> f64 {
    writeln!(report, "| command | median | range |\n|---|---|---|").unwrap();
    for (n, st) in names.iter().zip(s) {
        writeln!(
            report,
            "| {n} | {} | [{}-{}] |",
            ms(st.median),
            ms(st.min),
            ms(st.max)
        )
        .unwrap();
    }
    let ratio = s[0].median.as_secs_f64() / s[1].median.as_secs_f64();
    writeln!(
        report,
        "\nRatio {ratio:.2} (target <= {limit} {goal}: {}).\n",
        if ratio <= limit { "met" } else { "**missed**" }
    )
    .unwrap();
    ratio
}

/// Runs of each image comparison: each run moves 50 to 100 MiB, so fewer
/// than the start latency's.
const IMAGE_RUNS: usize = 15;

/// `pull` from a local registry against `skopeo copy`, and the extraction
/// of a layer against `tar -xzf`.
fn images(report: &mut String, md: &Path, work: &Path) {
    // Pull: a two-layer image of ~100 MiB, pushed with skopeo.
    let registry = Registry::serve(&work.join("registry"), None);
    let archive = work.join("big.tar");
    two_layer_archive(&archive, "bench/big:1", 100);
    let pushed = Command::new("skopeo")
        .args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("docker-archive:{}", archive.display()))
        .arg(format!("docker://{}/bench/big:1", registry.host))
        .output()
        .expect("run skopeo (vagrant/provision.sh --test)");
    assert!(
        pushed.status.success(),
        "skopeo copy to the registry: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let remote = format!("{}/bench/big:1", registry.host);
    let pull_root = work.join("pull-root");
    let skopeo_dir = work.join("skopeo-dir");
    let names = ["mydocker pull", "skopeo copy docker://... dir:..."];
    let s = alternate_prepared(
        &names,
        IMAGE_RUNS,
        &|k, _| {
            if k == 0 {
                let mut c = Command::new(md);
                c.arg("--root").arg(&pull_root).arg("pull").arg(&remote);
                c
            } else {
                let mut c = Command::new("skopeo");
                c.args(["copy", "-q", "--src-tls-verify=false"])
                    .arg(format!("docker://{remote}"))
                    .arg(format!("dir:{}", skopeo_dir.display()));
                c
            }
        },
        &|k, _| {
            let dir = if k == 0 { &pull_root } else { &skopeo_dir };
            if dir.exists() {
                std::fs::remove_dir_all(dir).unwrap();
            }
        },
    );
    drop(registry);
    // What the last runs made: both layers extracted by mydocker, both
    // blobs (and the config) in skopeo's directory.
    let layers = summary(&pull_root.join("layers"));
    assert!(
        layers.0 >= 42 && layers.1 >= 100 << 20,
        "mydocker pull extracted {layers:?} (files, bytes)"
    );
    let copied = summary(&skopeo_dir);
    assert!(
        copied.1 >= 100 << 20,
        "skopeo copied {copied:?} (files, bytes)"
    );
    writeln!(
        report,
        "## `pull` of a 100 MiB two-layer image from a local registry\n\n\
         Debian's `docker-registry` on 127.0.0.1, the image pushed with `skopeo copy` \
         (layers gzip'd by skopeo; their content random, so gzip cannot shrink them). \
         Each run starts from an empty `--root` / destination directory (emptied \
         untimed). `mydocker pull` downloads, verifies and stores the blobs and \
         extracts both layers; skopeo downloads and verifies them. {IMAGE_RUNS} runs each.\n"
    )
    .unwrap();
    ratio_table(report, &names, &s, 1.2, "of skopeo");

    // Extraction: 5000 files, 50 MiB.
    let layer = work.join("layer.tar.gz");
    many_files_layer(&layer, 5000, 50);
    let into = |k: usize| work.join(format!("extract-{k}"));
    let names = ["mydocker extraction", "tar -xzf"];
    // mydocker's extraction is the library's `unpack_layer` (as `pull`,
    // `load` and `import` call it) run by this bench's own binary, so that
    // both sides are a process started and timed alike.
    let me = std::env::current_exe().unwrap();
    let s = alternate_prepared(
        &names,
        IMAGE_RUNS,
        &|k, _| {
            let dest = into(k);
            if k == 0 {
                let mut c = Command::new(&me);
                c.arg("--extract-layer").arg(&layer).arg(&dest);
                c
            } else {
                let mut c = Command::new("tar");
                c.arg("-xzf").arg(&layer).arg("-C").arg(&dest);
                c
            }
        },
        &|k, _| {
            let dest = into(k);
            if dest.exists() {
                std::fs::remove_dir_all(&dest).unwrap();
            }
            std::fs::create_dir_all(&dest).unwrap();
        },
    );
    let (mine, tars) = (summary(&into(0)), summary(&into(1)));
    assert!(
        mine == tars && mine.0 == 5000,
        "mydocker extracted {mine:?} (files, bytes), tar {tars:?}"
    );
    writeln!(
        report,
        "## Extracting one layer: 5000 files, 50 MiB, gzip'd\n\n\
         mydocker's extraction is the library's `unpack_layer` (what `pull`, `load` and \
         `import` run, whiteouts and the checks on every entry included), run by this \
         bench's own binary (`compare --extract-layer LAYER DIR`); `tar -xzf` as root, \
         so both keep owners and modes. Each run into a new empty directory. \
         {IMAGE_RUNS} runs each.\n"
    )
    .unwrap();
    ratio_table(report, &names, &s, 1.0, "of tar");
}

/// The regular files below `dir` and their bytes.
fn summary(dir: &Path) -> (u64, u64) {
    let mut found = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            let (f, b) = summary(&entry.path());
            found = (found.0 + f, found.1 + b);
        } else if kind.is_file() {
            found = (found.0 + 1, found.1 + entry.metadata().unwrap().len());
        }
    }
    found
}

/// `compare --extract-layer LAYER DIR`: mydocker's extraction of one
/// layer, alone, for the extraction comparison.
fn extract_layer(layer: &Path, dest: &Path) {
    let file = std::fs::File::open(layer).expect("open the layer");
    let reader = mydocker::fs::oci::uncompressed(file).expect("read the layer");
    mydocker::fs::oci::unpack_layer("bench", "sha256:0", reader, dest).expect("extract the layer");
}

/// `ctr run --rm` of `/bin/true` under one containerd, with mydocker as
/// the runtime (`mydocker-runtime`, step 40) and with runc; the busybox
/// image imported from `mydocker save`.
fn containerd(report: &mut String, md: &Path, root: &Path, work: &Path) {
    let dir = work.join("containerd");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("busybox.tar");
    let saved = Command::new(md)
        .arg("--root")
        .arg(root)
        .args(["save", "-o"])
        .arg(&archive)
        .arg("busybox")
        .status()
        .unwrap();
    assert!(saved.success(), "mydocker save busybox");
    let runtime = dir.join("mydocker-runtime");
    std::os::unix::fs::symlink(md, &runtime).unwrap();
    let runc = sh("command -v runc");
    assert!(!runc.is_empty(), "runc (vagrant/provision.sh --bench)");
    let ctd = Containerd::start(&dir.join("daemon"), "mydocker-bench");
    let imported = ctd
        .ctr_command()
        .args(["image", "import", "--base-name", "localhost/busybox"])
        .arg(&archive)
        .output()
        .unwrap();
    assert!(imported.status.success(), "ctr image import");
    let listed = ctd
        .ctr_command()
        .args(["image", "ls", "-q"])
        .output()
        .unwrap();
    let image = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .next()
        .expect("an imported image")
        .to_string();
    let names = ["ctr run (mydocker-runtime)", "ctr run (runc)"];
    let binaries = [runtime.display().to_string(), runc];
    let s = alternate(&names, &|k, i| {
        let mut c = ctd.ctr_command();
        c.args(["run", "--rm", "--runc-binary", &binaries[k], "--runc-root"])
            .arg(dir.join(format!("runtime-root-{k}")))
            .arg(&image)
            .arg(format!("bench-{k}-{i}"))
            .arg("/bin/true");
        c
    });
    writeln!(
        report,
        "## containerd: `ctr run --rm` of `/bin/true`, mydocker against runc\n\n\
         One containerd (started here, with its root and sockets in a temporary \
         directory), the busybox image imported from `mydocker save`; the same `ctr \
         run --rm` with `--runc-binary` naming mydocker's runtime or runc. The time \
         includes ctr, containerd, the shim and the snapshot of each container.\n"
    )
    .unwrap();
    ratio_table(report, &names, &s, 1.0, "of runc");
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // binary without it, and then there is nothing to do.
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, layer, dest] = &args[..]
        && flag == "--extract-layer"
    {
        extract_layer(Path::new(layer), Path::new(dest));
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("the comparison runs under `cargo bench` (just bench)");
        return;
    }
    let start_only = std::env::args().any(|a| a == "start");
    private_mounts();
    let work = tempfile::Builder::new()
        .prefix("mydocker-bench-")
        .tempdir()
        .unwrap();
    if std::env::args().any(|a| a == "images") {
        // `cargo bench --bench compare -- images`: the image comparisons
        // alone, on stdout.
        let mut report = String::new();
        images(&mut report, &mydocker(), work.path());
        print!("{report}");
        return;
    }
    let root = work.path().join("root");
    let tar = root.join("images/busybox.tar");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mkimage-busybox.sh");
    assert!(
        Command::new("bash")
            .arg(script)
            .arg(&tar)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    if std::env::args().any(|a| a == "containerd") {
        // `cargo bench --bench compare -- containerd`: the containerd
        // comparison alone, on stdout.
        let mut report = String::new();
        containerd(&mut report, &mydocker(), &root, work.path());
        print!("{report}");
        return;
    }
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xf")
            .arg(&tar)
            .arg("-C")
            .arg(&rootfs)
            .status()
            .unwrap()
            .success()
    );
    for d in ["proc", "dev", "sys"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    let oci = work.path().join("bundle");
    bundle(&oci, &rootfs, &["/bin/true"]);
    let status_oci = work.path().join("bundle-status");
    bundle(&status_oci, &rootfs, &STATUS_ARGS);
    let md = mydocker();
    let confinement = same_confinement(&md, &root, &status_oci);
    let mut report = String::new();
    let machine = format!(
        "{} ({} CPUs, {}), kernel {}",
        sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'"),
        sh("nproc"),
        sh("free -g | awk '/Mem:/ {print $2 \" GiB\"}'"),
        sh("uname -r")
    );
    writeln!(report, "# Benchmarks\n").unwrap();
    writeln!(
        report,
        "Written by `just bench` on {} UTC.\n",
        sh("date -u '+%Y-%m-%d %H:%M'")
    )
    .unwrap();
    writeln!(report, "Machine: {machine}.\n").unwrap();
    writeln!(report, "Each figure is the median of {RUNS} runs after {WARMUP} warm-up rounds, the commands of a comparison alternating; min-max in brackets; times in ms.\n").unwrap();

    // Start latency.
    let names = [
        "mydocker run",
        "crun run",
        "runc run",
        "floor (unshare + chroot)",
    ];
    let load_before = sh("cut -d' ' -f1-3 /proc/loadavg");
    let s = alternate(&names, &|k, i| match k {
        0 => {
            let mut c = Command::new(&md);
            c.arg("--root")
                .arg(&root)
                .args(["run", "busybox", "/bin/true"]);
            c
        }
        1 | 2 => {
            let mut c = Command::new(if k == 1 { "crun" } else { "runc" });
            c.arg("run")
                .arg("-b")
                .arg(&oci)
                .arg(format!("bench-{k}-{i}"));
            c
        }
        _ => {
            let mut c = Command::new("unshare");
            c.args([
                "--fork",
                "--pid",
                "--mount",
                "--uts",
                "--ipc",
                "--net",
                "--mount-proc",
            ]);
            c.arg("chroot").arg(&rootfs).arg("/bin/true");
            c
        }
    });
    writeln!(
        report,
        "## Start latency: `/bin/true` in a busybox container, full cleanup included\n"
    )
    .unwrap();
    writeln!(
        report,
        "crun and runc run a bundle confined as a default mydocker container: Docker's 14 \
         capabilities (ambient none), no_new_privs as ours, the same masked and read-only \
         paths, device allowlist and seccomp filter (resolved at run time from \
         `src/security/seccomp/default.json` for those capabilities). Checked before \
         timing: `{}` prints the same in all three:\n\n```\n{confinement}\n```\n",
        STATUS_ARGS.join(" ")
    )
    .unwrap();
    let load_after = sh("cut -d' ' -f1-3 /proc/loadavg");
    writeln!(
        report,
        "Load average (1, 5, 15 min) when the comparison began: {load_before}; when it \
         ended: {load_after} (the machine has {} CPUs).\n",
        sh("nproc")
    )
    .unwrap();
    writeln!(
        report,
        "| command | median | range | mydocker / this | target |\n|---|---|---|---|---|"
    )
    .unwrap();
    let targets = ["", "<= 1.0", "<= 0.5", "<= 2.5"];
    for (k, n) in names.iter().enumerate() {
        let ratio = s[0].median.as_secs_f64() / s[k].median.as_secs_f64();
        let verdict = match k {
            0 => String::new(),
            _ => {
                let limit: f64 = targets[k][3..].parse().unwrap();
                format!(
                    "{} {}",
                    targets[k],
                    if ratio <= limit { "met" } else { "**missed**" }
                )
            }
        };
        writeln!(
            report,
            "| {n} | {} | [{}-{}] | {} | {verdict} |",
            ms(s[k].median),
            ms(s[k].min),
            ms(s[k].max),
            if k == 0 {
                "-".into()
            } else {
                format!("{ratio:.2}")
            }
        )
        .unwrap();
    }
    // Where the time goes: each phase's median over traced runs.
    let mut phases: Vec<(String, Vec<f64>)> = Vec::new();
    for _ in 0..RUNS {
        let traced = Command::new(&md)
            .env("MYDOCKER_TRACE", "1")
            .arg("--root")
            .arg(&root)
            .args(["run", "busybox", "/bin/true"])
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&traced.stderr).lines() {
            let Some(rest) = line.strip_prefix("trace: ") else {
                continue;
            };
            let Some((name, value)) = rest.rsplit_once(' ') else {
                continue;
            };
            let Ok(v) = value.trim_end_matches("ms").parse::<f64>() else {
                continue;
            };
            match phases.iter_mut().find(|(n, _)| n == name) {
                Some((_, vs)) => vs.push(v),
                None => phases.push((name.to_string(), vec![v])),
            }
        }
    }
    writeln!(report, "\nWhere the time of `mydocker run` goes (`MYDOCKER_TRACE=1`, {RUNS} runs; `init mounts` is measured inside the container, during `start`, which ends when the program has been exec'd):\n\n| phase | median ms | max ms |\n|---|---|---|").unwrap();
    let mut medians: Vec<(String, f64)> = Vec::new();
    for (name, mut vs) in phases {
        vs.sort_by(|a, b| a.total_cmp(b));
        writeln!(
            report,
            "| {name} | {:.2} | {:.2} |",
            vs[vs.len() / 2],
            vs[vs.len() - 1]
        )
        .unwrap();
        medians.push((name, vs[vs.len() / 2]));
    }
    writeln!(report).unwrap();
    explain_start(&mut report, &names, &s, &targets, &medians);
    if start_only {
        // `cargo bench --bench compare -- start`: this section alone, on
        // stdout; RESULTS.md is written by the whole run only.
        print!("{report}");
        return;
    }

    // ps at scale.
    writeln!(report, "## `ps -a` with many containers' state\n\n| containers | median | range | per container (µs) |\n|---|---|---|---|").unwrap();
    for n in [10usize, 100, 1000] {
        let psroot = work.path().join(format!("ps{n}"));
        let store = mydocker::container::state::Store::new(&psroot);
        for i in 0..n {
            let info = mydocker::container::state::ContainerInfo {
                id: format!("{i:012x}"),
                name: format!("c{i}"),
                image: "busybox".into(),
                command: vec!["sleep".into(), "1".into()],
                status: mydocker::container::state::Status::Exited,
                exit_code: Some(0),
                ..Default::default()
            };
            store.create(&info).unwrap();
        }
        let s = alternate(&["ps"], &|_, _| {
            let mut c = Command::new(&md);
            c.arg("--root").arg(&psroot).args(["ps", "-a"]);
            c
        });
        let per = s[0].median.as_secs_f64() * 1e6 / n as f64;
        writeln!(
            report,
            "| {n} | {} | [{}-{}] | {per:.1} |",
            ms(s[0].median),
            ms(s[0].min),
            ms(s[0].max)
        )
        .unwrap();
    }

    // commit against tar + fsync.
    let out = Command::new(&md)
        .arg("--root")
        .arg(&root)
        .args([
            "run",
            "-d",
            "--name",
            "big",
            "busybox",
            "sh",
            "-c",
            "head -c 209715200 /dev/urandom > /big",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let store = mydocker::container::state::Store::new(&root);
    while store.load("big").unwrap().current_status() != mydocker::container::state::Status::Exited
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let merged = store.load("big").unwrap().layers.unwrap().join("merged");
    let tar_out = work.path().join("tar-out.tar");
    let s = alternate(&["mydocker commit", "tar -cf + fsync"], &|k, _| {
        if k == 0 {
            let mut c = Command::new(&md);
            c.arg("--root")
                .arg(&root)
                .args(["commit", "big", "bigimage"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-c").arg(format!(
                "tar -cf {0} -C {1} . && sync {0}",
                tar_out.display(),
                merged.display()
            ));
            c
        }
    });
    let ratio = s[0].median.as_secs_f64() / s[1].median.as_secs_f64();
    writeln!(report, "\n## `commit` of a container holding a 200 MiB file\n\n| command | median | range |\n|---|---|---|").unwrap();
    writeln!(
        report,
        "| mydocker commit | {} | [{}-{}] |\n| tar -cf + fsync | {} | [{}-{}] |",
        ms(s[0].median),
        ms(s[0].min),
        ms(s[0].max),
        ms(s[1].median),
        ms(s[1].min),
        ms(s[1].max)
    )
    .unwrap();
    writeln!(
        report,
        "\nRatio {ratio:.2} (target <= 1.1: {}).\n",
        if ratio <= 1.1 { "met" } else { "**missed**" }
    )
    .unwrap();
    let _ = Command::new(&md)
        .arg("--root")
        .arg(&root)
        .args(["rm", "-f", "big"])
        .status();

    // IPAM in a /16 with 1000 leases.
    let ipam_root = work.path().join("ipam");
    let ipam = mydocker::network::ipam::Ipam::new(&ipam_root);
    let subnet: mydocker::network::ip::Subnet = "10.99.0.0/16".parse().unwrap();
    for _ in 0..1000 {
        ipam.allocate(&subnet, "bench").unwrap();
    }
    let mut alloc = Vec::new();
    let mut release = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let ip = ipam.allocate(&subnet, "bench").unwrap();
        alloc.push(t.elapsed());
        let t = Instant::now();
        ipam.release(&subnet, ip).unwrap();
        release.push(t.elapsed());
    }
    let (a, r) = (stats(alloc), stats(release));
    writeln!(
        report,
        "## IPAM in a /16 with 1000 leases\n\n| operation | median | range |\n|---|---|---|"
    )
    .unwrap();
    writeln!(
        report,
        "| allocate | {} | [{}-{}] |\n| release | {} | [{}-{}] |",
        ms(a.median),
        ms(a.min),
        ms(a.max),
        ms(r.median),
        ms(r.min),
        ms(r.max)
    )
    .unwrap();
    writeln!(
        report,
        "\nTarget: allocate under 1 ms: {}.\n",
        if a.median < Duration::from_millis(1) {
            "met"
        } else {
            "**missed**"
        }
    )
    .unwrap();

    // Monitor memory.
    let out = Command::new(&md)
        .arg("--root")
        .arg(&root)
        .args(["run", "-d", "--name", "idle", "busybox", "sleep", "30"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let info = store.load("idle").unwrap();
    let pid = info.pid.unwrap();
    let ppid = mydocker::proc_stat::parent_pid(pid).expect("the monitor");
    let status = std::fs::read_to_string(format!("/proc/{ppid}/status")).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    let kib: u64 = hwm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    writeln!(report, "## The monitor of a detached container\n\nPeak resident memory (VmHWM): {kib} KiB (target under 4096 KiB: {}).\n", if kib < 4096 { "met" } else { "**missed**" }).unwrap();
    let _ = Command::new(&md)
        .arg("--root")
        .arg(&root)
        .args(["rm", "-f", "idle"])
        .status();

    containerd(&mut report, &md, &root, work.path());

    images(&mut report, &md, work.path());

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/RESULTS.md");
    std::fs::write(&path, &report).unwrap();
    print!("{report}");
    eprintln!("wrote {}", path.display());
}
