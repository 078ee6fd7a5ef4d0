#!/usr/bin/env bash
# Install what building and testing mydocker needs. Idempotent: quick when
# everything is already there. Used by the Vagrant VM and by CI (.ci/run).
set -euo pipefail

need_apt=()
command -v busybox >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
command -v hyperfine >/dev/null 2>&1 || need_apt+=(hyperfine)
command -v gcc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || command -v just >/dev/null 2>&1 \
    || need_apt+=(python3-pip)

if [ "${#need_apt[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_apt[@]}"
fi

# A Rust toolchain: keep the one present; otherwise Debian's rustup (13+).
if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustup
    rustup default stable
fi

# just: Debian's package where it exists (13+), else PyPI's rust-just.
if ! command -v just >/dev/null 2>&1; then
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq just 2>/dev/null; then
        pip=$(command -v pip3 || command -v pip)
        "$pip" install -q rust-just 2>/dev/null || "$pip" install -q --break-system-packages rust-just
    fi
    hash -r
fi
command -v just >/dev/null 2>&1 || { echo "provision: just was not installed" >&2; exit 1; }

# The VM tools: for `just qemu-test` (scripts/qemu-test.sh) QEMU, a Debian
# kernel to boot and virtme-ng; for `just vm-validate` Vagrant itself. Only
# where they are needed: on a host that is not pure cgroup v2 (a VM is then
# the way to test v2), or when asked with MYDOCKER_QEMU=1. A pure-v2 host
# (the Vagrant box itself) skips them.
if [ "${MYDOCKER_QEMU:-}" = 1 ] || [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
    vm_apt=()
    command -v qemu-system-x86_64 >/dev/null 2>&1 || vm_apt+=(qemu-system-x86)
    command -v vagrant >/dev/null 2>&1 || vm_apt+=(vagrant)
    bootable=no
    for k in /boot/vmlinuz-*; do
        [ -d "/lib/modules/${k#/boot/vmlinuz-}" ] && bootable=yes
    done
    [ $bootable = yes ] || vm_apt+=(linux-image-amd64)
    if [ "${#vm_apt[@]}" -gt 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${vm_apt[@]}"
    fi
    if ! command -v vng >/dev/null 2>&1; then
        pip=$(command -v pip3 || command -v pip)
        "$pip" install -q virtme-ng==1.42 2>/dev/null \
            || "$pip" install -q --break-system-packages virtme-ng==1.42
        # pyenv finds a new command only after a rehash.
        command -v pyenv >/dev/null 2>&1 && pyenv rehash
        hash -r
    fi
    command -v vng >/dev/null 2>&1 || { echo "provision: virtme-ng (vng) was not installed" >&2; exit 1; }
fi
echo "provision: ready ($(just --version), $(cargo --version 2>/dev/null || echo 'cargo in ~/.cargo/bin'))"
