#!/usr/bin/env bash
# The part of scripts/qemu-test.sh that runs inside the VM, as root:
#
#   scripts/qemu-inside.sh TEST-BINARY [FILTER...]
#
# It proves the VM is what it must be (pure cgroup v2, every controller
# mydocker uses), then runs every test of the binary, a line per test.
set -euo pipefail
tests=${1:?usage: qemu-inside.sh TEST-BINARY [FILTER...]}
shift

fail() { echo "qemu-inside: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "not root inside the VM"
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || fail "/sys/fs/cgroup is not cgroup2"
for c in cpu cpuset memory pids; do
    grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || fail "controller $c missing"
done

# The test roots: a tmpfs of their own (the VM's / is a read-only 9p share,
# and its /tmp an overlay, neither of which overlayfs takes as upper layer).
mkdir -p /tmp/mydocker-vm
mount -t tmpfs -o size=1G tmpfs /tmp/mydocker-vm
export MYDOCKER_TEST_TMP=/tmp/mydocker-vm
export MYDOCKER_TEST_IMAGE=$PWD/target/qemu/busybox.tar
export INSTA_UPDATE=no

bin=target/debug/mydocker
echo "--- mydocker check (in the VM, kernel $(uname -r))"
report=$("$bin" check) || { echo "$report"; fail "mydocker check failed"; }
echo "$report"
echo "$report" | grep -Eq '^cgroups +ok +v2 ' || fail "mydocker check does not report pure cgroup v2"
for c in memory cpu cpuset; do
    echo "$report" | grep -Eq "^cgroup $c +ok " || fail "mydocker check does not report cgroup $c"
done

echo "--- the tests"
"$tests" --test-threads 2 "$@"
