#!/usr/bin/env bash
# Build the busybox image: the static busybox from Debian's busybox-static
# package, a link for each of its applets, and the usual empty directories,
# packed as a tar that mydocker uses as an image.
#
#   scripts/mkimage-busybox.sh OUT.tar
set -euo pipefail
out=${1:?usage: mkimage-busybox.sh OUT.tar}
busybox=$(command -v busybox) || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
if ! "$busybox" --list-full >/dev/null 2>&1; then
    echo "$busybox cannot list its applets" >&2; exit 1
fi
if LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "$busybox is dynamically linked: apt-get install busybox-static" >&2; exit 1
fi

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,dev,etc,home,proc,root,sys,tmp,var/log,var/tmp}
chmod 1777 "$tree/tmp" "$tree/var/tmp"
chmod 700 "$tree/root"
install -m 0755 "$busybox" "$tree/bin/busybox"
# Every applet in /bin, as in Docker's busybox image (so /bin/top works, as
# the tutorial types it), and also where busybox itself would install it.
# (Shell expansions, not basename/dirname: one process per link, not three.)
for applet in $("$busybox" --list-full); do
    [ "$applet" = bin/busybox ] && continue
    case $applet in */*) dir=${applet%/*} ;; *) dir=. ;; esac
    ln -sf busybox "$tree/bin/${applet##*/}"
    if [ "$dir" != bin ]; then
        [ -d "$tree/$dir" ] || mkdir -p "$tree/$dir"
        ln -sf /bin/busybox "$tree/$applet"
    fi
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$tree/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$tree/etc/group"
echo 'hosts: files dns' >"$tree/etc/nsswitch.conf"

mkdir -p "$(dirname "$out")"
tar --numeric-owner --owner=0 --group=0 -C "$tree" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "$out"
