#!/usr/bin/env bash
# Install what building and testing mydocker needs. Idempotent: quick when
# everything is already there.
#
#   provision.sh          what the quick start needs: build the runtime, make
#                         the busybox image, run containers and the tests
#                         (busybox-static, iptables, iproute2, a C toolchain,
#                         libseccomp-dev, wget, just). Nothing else is
#                         downloaded.
#   provision.sh --test   also what steps 38-40's tests talk to: a registry
#                         (docker-registry, which the tests start themselves
#                         on 127.0.0.1), skopeo, podman and debootstrap
#   provision.sh --vm     also the VM tools: QEMU, a kernel to boot and
#                         virtme-ng for `just qemu-test`, Vagrant (and its libvirt plugin) for
#                         `just vm-validate` (hundreds of MiB)
#   provision.sh --bench  also what `just bench` compares against (crun, runc,
#                         hyperfine)
#
# Used by the Vagrant VM (no flags), by `just qemu-test`/`vm-validate`
# (--vm), `just test` (--test), `just bench` (--test --bench) and CI (.ci/run:
# --vm --test).
#
# Packages are chosen to agree with what the machine already has: when an
# installed QEMU package comes from bookworm-backports (a machine image may
# ship qemu-utils from there), QEMU is installed from the same suite, which is
# enabled in apt's sources first. When apt refuses anyway, one line names the
# packages and the conflict, and the README's step-by-step fallback applies.
set -euo pipefail

want_vm=no
want_test=no
want_bench=no
for arg in "$@"; do
    case $arg in
        --vm) want_vm=yes ;;
        --test) want_test=yes ;;
        --bench) want_bench=yes ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "provision: unknown option $arg (options: --vm, --test, --bench)" >&2; exit 2 ;;
    esac
done
# MYDOCKER_QEMU=1 is the older spelling of --vm.
[ "${MYDOCKER_QEMU:-}" = 1 ] && want_vm=yes

export DEBIAN_FRONTEND=noninteractive
apt_updated=no
apt_update() {
    [ $apt_updated = yes ] && return
    apt-get update -qq || { echo "provision: apt-get update failed (is the Debian mirror reachable?)" >&2; exit 1; }
    apt_updated=yes
}

# apt_install [-t SUITE] PACKAGE...: install in one apt call; on refusal print
# one line naming the packages and apt's reason, then stop.
apt_install() {
    local target=()
    if [ "${1:-}" = -t ]; then target=(-t "$2"); shift 2; fi
    [ $# -gt 0 ] || return 0
    apt_update
    local log
    log=$(mktemp)
    if apt-get install -y -q --no-install-recommends "${target[@]}" "$@" >"$log" 2>&1; then
        rm -f "$log"
        return 0
    fi
    # apt's explanation is the first "pkg : Depends/Breaks/Conflicts ..." line;
    # otherwise its last E: line.
    local why
    why=$(grep -m1 -E '^ *[a-z0-9.+-]+ *: *(Depends|PreDepends|Breaks|Conflicts)' "$log" \
        | sed 's/^ *//; s/  */ /g' || true)
    [ -n "$why" ] || why=$(grep -E '^E:' "$log" | tail -n1 || true)
    [ -n "$why" ] || why=$(tail -n1 "$log")
    local from=""
    [ ${#target[@]} -eq 0 ] || from=" from ${target[1]}"
    echo "provision: apt refused to install $*$from: $why" >&2
    echo "provision: apt's full output: $log; the README's 'If apt refuses' section installs step by step" >&2
    exit 1
}

# The Debian suite an installed package came from, e.g. bookworm-backports;
# empty when the package is not installed.
installed_suite() {
    local version
    version=$(dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null \
        | awk '$3 == "installed" { print $4 }')
    [ -n "$version" ] || return 0
    case $version in
        *~bpo12*) echo bookworm-backports ;;
        *~bpo13*) echo trixie-backports ;;
        *) echo default ;;
    esac
}

# Enable SUITE (e.g. bookworm-backports) in apt's sources, when not there yet.
enable_suite() {
    local suite=$1
    if apt-cache policy 2>/dev/null | grep -q " $suite/main "; then
        return 0
    fi
    echo "provision: enabling $suite in /etc/apt/sources.list.d/mydocker-$suite.sources"
    cat >"/etc/apt/sources.list.d/mydocker-$suite.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt_updated=no
    apt_update
}

pip_install() {
    local pip
    pip=$(command -v pip3 || command -v pip) || { echo "provision: no pip to install $*" >&2; exit 1; }
    "$pip" install -q "$@" 2>/dev/null || "$pip" install -q --break-system-packages "$@"
    # pyenv finds a new command only after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
    hash -r
}

# --- the quick start: build, image, containers, tests --------------------
need=()
command -v busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# Step 34 (seccomp) links libseccomp: its headers and the library to link.
dpkg-query -W -f='${Status}' libseccomp-dev 2>/dev/null | grep -q 'ok installed' \
    || need+=(libseccomp-dev)
command -v nsenter >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The README examples fetch from a published port with the host's wget.
command -v wget >/dev/null 2>&1 || need+=(wget)
command -v just >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 \
    || need+=(python3-pip)
apt_install "${need[@]}"

# A Rust toolchain: keep the one present; otherwise Debian's rustup (13+).
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    apt_install rustup
    rustup default stable
fi

# just: Debian's package where it exists (13+), else PyPI's rust-just.
if ! command -v just >/dev/null 2>&1; then
    if apt-cache show just >/dev/null 2>&1; then
        apt_install just
    else
        pip_install rust-just
    fi
fi
command -v just >/dev/null 2>&1 || { echo "provision: just was not installed" >&2; exit 1; }

# --- the VM tools: `just qemu-test` and `just vm-validate` ---------------
if [ $want_vm = yes ]; then
    if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
        # QEMU's packages must all come from one suite: bookworm's
        # qemu-system-x86 7.2 needs a qemu-system-common that a backports
        # qemu-utils (10.x) Breaks, so follow whatever QEMU is installed.
        suite=$(installed_suite qemu-utils)
        [ -n "$suite" ] || suite=$(installed_suite qemu-system-common)
        if [ -n "$suite" ] && [ "$suite" != default ]; then
            enable_suite "$suite"
            apt_install -t "$suite" qemu-system-x86
        else
            apt_install qemu-system-x86
        fi
    fi
    # A kernel to boot, with its modules (overlay, veth, bridge, iptables).
    bootable=no
    for k in /boot/vmlinuz-*; do
        [ -e "$k" ] && [ -d "/lib/modules/${k#/boot/vmlinuz-}" ] && bootable=yes
    done
    [ $bootable = yes ] || apt_install linux-image-amd64
    # Vagrant, with a provider it can validate the Vagrantfile against
    # (libvirt's plugin: a few Ruby packages, no daemon).
    command -v vagrant >/dev/null 2>&1 || apt_install vagrant
    dpkg-query -W -f='${Status}' vagrant-libvirt 2>/dev/null | grep -q 'ok installed' \
        || apt_install vagrant-libvirt
    command -v vng >/dev/null 2>&1 || pip_install virtme-ng==1.42
    command -v vng >/dev/null 2>&1 || { echo "provision: virtme-ng (vng) was not installed" >&2; exit 1; }
fi

# --- what the tests of steps 38-40 talk to --------------------------------
if [ $want_test = yes ]; then
    tools=()
    # Step 39 (pull) tests push images to a registry the test itself starts
    # on 127.0.0.1: Debian's docker-registry and skopeo.
    command -v skopeo >/dev/null 2>&1 || tools+=(skopeo)
    # Step 38's test of a real distribution imports a Debian minbase that
    # debootstrap builds once per machine (scripts/mkimage-debian.sh).
    command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || tools+=(debootstrap)
    # Step 38's test loads `mydocker save` output with podman (its own storage).
    command -v podman >/dev/null 2>&1 || tools+=(podman)
    # Step 40's test runs containers with mydocker as containerd's runtime
    # (ctr, and the runc shim; a containerd of its own, in its temp dir).
    containerd_new=no
    if ! command -v ctr >/dev/null 2>&1; then tools+=(containerd); containerd_new=yes; fi
    registry_new=no
    if ! command -v docker-registry >/dev/null 2>&1; then tools+=(docker-registry); registry_new=yes; fi
    apt_install "${tools[@]}"
    # The package enables (and on a systemd host starts) a system registry
    # on :5000; the tests start their own, so stop and disable that one.
    if [ $registry_new = yes ] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
    fi
    # Likewise the system containerd: the tests start their own.
    if [ $containerd_new = yes ] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now containerd.service >/dev/null 2>&1 || true
    fi
fi

# --- what the benchmarks compare against ---------------------------------
if [ $want_bench = yes ]; then
    bench=()
    command -v crun >/dev/null 2>&1 || bench+=(crun)
    command -v runc >/dev/null 2>&1 || bench+=(runc)
    command -v hyperfine >/dev/null 2>&1 || bench+=(hyperfine)
    apt_install "${bench[@]}"
fi

extras=""
[ $want_vm = yes ] && extras="$extras, VM tools"
[ $want_test = yes ] && extras="$extras, test tools"
[ $want_bench = yes ] && extras="$extras, bench tools"
echo "provision: ready ($(just --version), $(cargo --version 2>/dev/null || echo 'cargo in ~/.cargo/bin')$extras)"
