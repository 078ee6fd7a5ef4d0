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
echo "provision: ready ($(just --version), $(cargo --version 2>/dev/null || echo 'cargo in ~/.cargo/bin'))"
