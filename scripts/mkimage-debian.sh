#!/usr/bin/env bash
# Build a real distribution's root filesystem for the tests: Debian bookworm
# as `debootstrap --variant=minbase` makes it (essential packages and apt,
# about 90 of them), packed as a flat tar that `mydocker import` takes, as
# `docker import` takes the tarballs Docker's own Debian images are made from.
#
#   scripts/mkimage-debian.sh OUT.tar [MIRROR]
#
# MIRROR defaults to http://deb.debian.org/debian, the mirror apt uses on the
# project's machines. Downloads about 40 MiB; OUT.tar is about 200 MiB.
# OUT.tar appears only when complete (written as OUT.tar.tmp, then renamed).
# Builds of one OUT.tar take turns (flock on OUT.tar.lock, held by this
# script and debootstrap, so also by a build whose caller was killed): the
# later ones find OUT.tar made and leave it as it is.
set -euo pipefail
out=${1:?usage: mkimage-debian.sh OUT.tar [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null 2>&1 \
    || { echo "debootstrap not found: apt-get install debootstrap (vagrant/provision.sh --test)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

# Remove a tree made by debootstrap. It mounts /proc and /sys inside the tree
# while it configures packages; after a failure (or a kill) they may still be
# there, so they are unmounted first and rm stays on the tree's filesystem.
remove_tree() {
    for m in proc sys; do
        if mountpoint -q "$1/$m" 2>/dev/null; then umount -l "$1/$m"; fi
    done
    rm -rf --one-file-system "$1"
}

mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [ -f "$out" ]; then
    echo "$out"
    exit 0
fi
# What a killed build left (none runs now: this script holds the lock).
for stale in "$out".tree.*; do
    [ -d "$stale" ] && remove_tree "$stale"
done
rm -f "$out".tree.*.log "$out.tmp"
tree=$(mktemp -d "$out.tree.XXXXXX")
trap 'remove_tree "$tree"; rm -f "$out.tmp"' EXIT
log=$tree.log
if ! debootstrap --variant=minbase bookworm "$tree" "$mirror" >"$log" 2>&1; then
    echo "debootstrap failed (mirror $mirror); its last lines (full log: $log):" >&2
    tail -n 5 "$log" >&2
    exit 1
fi
rm -f "$log"
# Device nodes are refused by `import`, as by any layer: the runtime mounts
# a /dev of its own in every container.
find "$tree/dev" -mindepth 1 -delete
# Downloaded packages and package lists: apt fetches them again when needed.
find "$tree/var/cache/apt" "$tree/var/lib/apt/lists" -type f -delete
# The tree's own mode is mktemp's 0700; a root directory is 0755.
chmod 0755 "$tree"
tar --numeric-owner -C "$tree" -cf "$out.tmp" .
sync "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
