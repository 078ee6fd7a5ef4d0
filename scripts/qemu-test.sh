#!/usr/bin/env bash
# Run the root-requiring integration tests inside a pure cgroup-v2 VM.
#
#   scripts/qemu-test.sh          the full build, the tests of every step
#   scripts/qemu-test.sh N        the build of step N, the tests of steps <= N
#                                 (as `just test-step N` does on the host)
#   scripts/qemu-test.sh all|N FILTER...
#                                 only the tests whose names contain a FILTER
#
# The VM is virtme-ng (`vng`): QEMU boots the Debian kernel installed in
# /boot with this machine's own filesystem as its root, read-only, so the
# binaries built here run there unchanged. That kernel mounts only the
# unified hierarchy (cgroup v2, every controller), whatever this host uses,
# so a hybrid or v1 host can prove the v2 code paths for real.
#
# Inside, tests get a fresh tmpfs for their roots (overlayfs refuses a 9p
# upper layer) and the busybox image built here beforehand. Software
# emulation is the default: nested KVM hangs on some hosts. MYDOCKER_QEMU_KVM=1
# uses KVM where it works (a laptop), MYDOCKER_QEMU_KERNEL picks the kernel,
# MYDOCKER_QEMU_TIMEOUT bounds the VM's run and MYDOCKER_QEMU_TEST_LIMIT the
# tests' run inside it (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

step=${1:-}
[ $# -gt 0 ] && shift
[ "$step" = all ] && step=
filters=("$@")
for f in "${filters[@]}"; do
    case $f in
        *[!A-Za-z0-9_:]*) echo "qemu-test: a filter is a part of a test's name: $f" >&2; exit 2 ;;
    esac
done
features=()
if [ -n "$step" ]; then
    case $step in
        '' | *[!0-9]*) echo "qemu-test: not a step number: $step" >&2; exit 2 ;;
    esac
    if [ "$((10#$step))" -lt 1 ] || [ "$((10#$step))" -gt 40 ]; then
        echo "qemu-test: no step $step (steps are 1-40)" >&2; exit 2
    fi
    features=(--no-default-features --features "step-$(printf %02d "$((10#$step))")")
fi

kernel() {
    if [ -n "${MYDOCKER_QEMU_KERNEL:-}" ]; then
        echo "$MYDOCKER_QEMU_KERNEL"
    else
        # The newest kernel whose modules are installed (overlay, veth,
        # bridge and iptables come from there).
        for k in $(ls /boot/vmlinuz-* 2>/dev/null | sort -rV); do
            [ -d "/lib/modules/${k#/boot/vmlinuz-}" ] && { echo "$k"; return; }
        done
    fi
}

if ! command -v vng >/dev/null 2>&1 || ! command -v qemu-system-x86_64 >/dev/null 2>&1 \
    || [ -z "$(kernel)" ]; then
    echo "qemu-test: installing the VM's tools (QEMU, a kernel, virtme-ng)"
    bash vagrant/provision.sh --vm
    hash -r
fi
vmlinuz=$(kernel)
[ -r "$vmlinuz" ] || { echo "qemu-test: no kernel to boot (${vmlinuz:-none found in /boot})" >&2; exit 1; }

# Build on the host: the test binary, the runtime it runs (the vmtest
# profile: optimized a little, no debug info, for software emulation), the
# image.
tests=$(cargo test --no-run --profile vmtest --test integration "${features[@]}" --message-format=json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "integration" and m.get("executable"):
        print(m["executable"])')
[ -x "$tests" ] || { echo "qemu-test: the integration tests did not build" >&2; exit 1; }
mkdir -p target/qemu
bash scripts/mkimage-busybox.sh target/qemu/busybox.tar >/dev/null
# From step 38: the Debian minbase that step 38's test imports, built once
# per machine on the host (debootstrap needs the network) and linked here.
if [ -z "$step" ] || [ "$((10#$step))" -ge 38 ]; then
    debian=${XDG_CACHE_HOME:-$HOME/.cache}/mydocker-tests/debian-bookworm-minbase.tar
    bash scripts/mkimage-debian.sh "$debian" >/dev/null
    rm -f target/qemu/debian.tar
    ln "$debian" target/qemu/debian.tar 2>/dev/null || cp "$debian" target/qemu/debian.tar
fi

kvm=(--disable-kvm)
[ "${MYDOCKER_QEMU_KVM:-0}" = 1 ] && kvm=()
echo "qemu-test: booting ${vmlinuz##*/} (${step:+step $step, }${kvm[*]:-kvm})"
start=$(date +%s)
status=0
# Both streams through a pipe: QEMU reopens its output, truncating a log
# file that this script's caller shares with it.
# Inside, a watchdog ends a hung test run after MYDOCKER_QEMU_TEST_LIMIT
# seconds (30 min by default: the whole suite, steps 1-40, takes about 20
# under software emulation on a busy 2-core host), showing what hangs. A VM
# that stops answering altogether (software emulation has frozen on a busy
# host) is stopped after MYDOCKER_QEMU_TIMEOUT seconds (32 min) and booted
# once more,
# saying so; a second freeze fails the run.
boot() {
    timeout -k 10 "${MYDOCKER_QEMU_TIMEOUT:-1920}" \
        vng "${kvm[@]}" --run "$vmlinuz" --memory 2G --cpus 2 --cwd "$PWD" \
        --exec "MYDOCKER_QEMU_TEST_LIMIT=${MYDOCKER_QEMU_TEST_LIMIT:-1800} bash scripts/qemu-inside.sh $tests ${filters[*]}" 2>&1 | cat
}
boot || status=$?
if [ $status = 124 ]; then
    echo "qemu-test: the VM did not finish in ${MYDOCKER_QEMU_TIMEOUT:-1920}s and gave no word; booting it once more" >&2
    status=0
    boot || status=$?
    [ $status = 124 ] && echo "qemu-test: the VM did not finish in ${MYDOCKER_QEMU_TIMEOUT:-1920}s again" >&2
fi
echo
echo "qemu-test: $( [ $status = 0 ] && echo passed || echo "FAILED (exit $status)" ) in $(( $(date +%s) - start ))s"
exit $status
