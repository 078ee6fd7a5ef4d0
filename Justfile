# mydocker: build, try and test it. `just --list` shows every recipe.

set shell := ["bash", "-euo", "pipefail", "-c"]

# main-only
# The steps whose chapters are implemented (the others build, adding nothing).
implemented := "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40"
# /main-only
root := env_var_or_default("MYDOCKER_ROOT", "/var/lib/mydocker")
bin := "target/release/mydocker"

# Build the runtime (release)
build:
    cargo build --release

# Build the busybox image into ROOT/images/busybox.tar (from busybox-static)
image:
    @test -f {{root}}/images/busybox.tar || scripts/mkimage-busybox.sh {{root}}/images/busybox.tar

# Run a container from the busybox image: its own root, PID 1, 100 MiB, CPU 0
demo: build image
    {{bin}} check >/dev/null || {{bin}} check
    {{bin}} --root {{root}} run -m 100m --cpuset-cpus 0 busybox sh -c 'echo "PID $$ on $(hostname)"; grep Cpus_allowed_list /proc/self/status; ls /; ps'

# main-only
# Every test (needs root; installs the registry, skopeo and podman that steps
# 38-40's tests talk to when missing)
test:
    bash vagrant/provision.sh --test >/dev/null
    cargo test --lib --bins --tests
# /main-only
# branch-only
# # Every test (needs root)
# test:
#     cargo test --lib --bins --tests
# /branch-only

# main-only
# Chapter N's own tests run first (its README's examples among them), under a
# heading, then the unit tests and chapters 1..N-1. With --explain, chapter N's
# tests run one at a time and print each mydocker command and its output.
# The build of chapter N alone, and the tests of chapters 1..N (needs root; --explain)
test-step N *FLAGS:
    #!/usr/bin/env bash
    set -euo pipefail
    nn=$(printf %02d {{N}})
    features=(--no-default-features --features "step-$nn")
    own=()
    case "{{FLAGS}}" in
        "") ;;
        --explain) export MYDOCKER_EXPLAIN=1; own=(--test-threads=1 --nocapture) ;;
        *) echo "test-step: unknown option '{{FLAGS}}' (only --explain)" >&2; exit 2 ;;
    esac
    echo "=== chapter $nn: its own tests"
    cargo test --test integration "${features[@]}" "step${nn}_" -- "${own[@]}"
    unset MYDOCKER_EXPLAIN
    echo "=== chapters 1..$nn: the unit tests and the earlier chapters' tests"
    cargo test --lib --bins --tests "${features[@]}" -- --skip "step${nn}_"

# test-step N --explain: each mydocker command chapter N's tests run, with its output
explain N:
    just test-step {{N}} --explain

# test-step for every implemented step in turn (CI runs step-branches --check instead)
test-steps:
    for n in {{implemented}}; do echo "--- step $n"; just test-step $n; done
# /main-only
# branch-only
# # The integration tests of chapter N of this branch (needs root); `just test` runs them all
# test-step N:
#     cargo test --test integration step$(printf %02d {{N}})_
#
# # Chapter N's tests one at a time, each mydocker command they run shown with its output
# explain N:
#     MYDOCKER_EXPLAIN=1 cargo test --test integration step$(printf %02d {{N}})_ -- --test-threads=1 --nocapture
# /branch-only

# main-only
# The tests that need no root
unit:
    cargo test --lib --no-default-features --features step-40
# /main-only
# branch-only
# # The tests that need no root
# unit:
#     cargo test --lib
# /branch-only

# main-only
# fmt check, and clippy with warnings denied for the full build and every step
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings
    for n in $(seq 1 40); do cargo clippy --quiet --all-targets --no-default-features --features step-$(printf %02d $n) -- -D warnings; done
# /main-only
# branch-only
# # fmt check, and clippy with warnings denied
# lint:
#     cargo fmt --all -- --check
#     cargo clippy --all-targets -- -D warnings
# /branch-only

# Benchmarks against crun, runc and a bare unshare+chroot; writes benches/RESULTS.md (needs root)
bench: build
    bash vagrant/provision.sh --test --bench >/dev/null
    cargo bench --bench compare

# main-only
# Make (or refresh) the git branch step-NN: the project after chapter N alone
step-branch N:
    python3 scripts/step_branch.py {{N}}

# Every step branch, one line each; --check also lints each and runs its tests (--own-tests: the chapter's own)
step-branches *CHECK:
    python3 scripts/step_branch.py {{CHECK}} $(seq 1 40)

# What chapter N adds over chapter N-1 (makes both branches)
step-diff N:
    python3 scripts/step_branch.py $(({{N}} - 1)) {{N}} >/dev/null
    git diff step-$(printf %02d $(({{N}} - 1))) step-$(printf %02d {{N}})
# /main-only

# Start the cgroup-v2 Vagrant VM
vm-up:
    cd vagrant && vagrant up

# Run the whole suite as root inside the Vagrant VM (the working tree synced in first)
vm-test: vm-up
    cd vagrant && vagrant rsync
    cd vagrant && vagrant ssh -c 'sudo -i bash -c "export PATH=\$HOME/.cargo/bin:/usr/lib/rustup/bin:\$PATH; cd /mydocker && just test"'

# Check the Vagrantfile without booting anything (needs only Vagrant)
vm-validate:
    bash vagrant/provision.sh --vm >/dev/null
    cd vagrant && vagrant validate

# main-only
# The integration tests inside a pure cgroup-v2 VM (QEMU, virtme-ng): the
# full build, or with N the build of step N and the tests of steps <= N;
# names after it (`just qemu-test all step30`) run only the matching tests
qemu-test *N:
    bash scripts/qemu-test.sh {{N}}
# /main-only
