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
if [ -f target/qemu/debian.tar ]; then export MYDOCKER_TEST_DEBIAN=$PWD/target/qemu/debian.tar; fi
export INSTA_UPDATE=no

# The binaries run from the tmpfs too: the 9p root caches nothing, so every
# command executed from it paged the 16 MB binary in again (about a second
# per `mydocker` command under software emulation, twenty times the tmpfs
# copy's time).
mkdir -p /tmp/mydocker-vm/bin
bin=/tmp/mydocker-vm/bin/mydocker
cp "$(dirname "$tests")/../mydocker" "$bin"
cp "$tests" /tmp/mydocker-vm/bin/integration
tests=/tmp/mydocker-vm/bin/integration
export MYDOCKER_TEST_BIN=$bin
echo "--- mydocker check (in the VM, kernel $(uname -r))"
report=$("$bin" check) || { echo "$report"; fail "mydocker check failed"; }
echo "$report"
echo "$report" | grep -Eq '^cgroups +ok +v2 ' || fail "mydocker check does not report pure cgroup v2"
for c in memory cpu cpuset; do
    echo "$report" | grep -Eq "^cgroup $c +ok " || fail "mydocker check does not report cgroup $c"
done

echo "--- the tests"
# A test that hangs is not left to the outer timeout, which knows nothing:
# after MYDOCKER_QEMU_TEST_LIMIT seconds the watchdog shows what is still
# running, where in the kernel each process waits and its kernel stack,
# then kills the tests, which fails the run.
limit=${MYDOCKER_QEMU_TEST_LIMIT:-1800}
# Job control on: a background job of a script otherwise starts with
# SIGINT and SIGQUIT ignored, unlike the tests on the host.
set -m
"$tests" --test-threads 2 "$@" &
run=$!
(
    sleep "$limit"
    kill -0 "$run" 2>/dev/null || exit 0
    echo "qemu-inside: the tests are still running after ${limit}s; the processes (not kernel threads):"
    ps -eo pid,ppid,stat,wchan:32,etime,args | awk 'NR == 1 || ($1 != 2 && $2 != 2)'
    for pid in $(ps -eo pid=,ppid= | awk '$1 != 2 && $2 != 2 && $1 != 1 { print $1 }'); do
        stack=$(cat "/proc/$pid/stack" 2>/dev/null) || continue
        echo "--- kernel stack of $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-100)"
        echo "$stack"
    done
    kill -9 "$run"
) &
watchdog=$!
disown "$watchdog"   # no job-control notice when it is stopped below
status=0
wait "$run" || status=$?
kill "$watchdog" 2>/dev/null || true
exit $status
