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
set -euo pipefail
out=${1:?usage: mkimage-debian.sh OUT.tar [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null 2>&1 \
    || { echo "debootstrap not found: apt-get install debootstrap (vagrant/provision.sh --test)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
tree=$(mktemp -d "$out.tree.XXXXXX")
cleanup() {
    # debootstrap mounts /proc and /sys inside the tree while it configures
    # packages; after a failure they may still be there.
    for m in proc sys; do
        mountpoint -q "$tree/$m" 2>/dev/null && umount -l "$tree/$m"
    done
    rm -rf --one-file-system "$tree" "$out.tmp"
}
trap cleanup EXIT
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
tar --numeric-owner -C "$tree" -cf "$out.tmp" .
sync "$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
