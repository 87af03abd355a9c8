#!/bin/sh
# Builds the example container job's image from a local root file system
# (no registry needed): Debian's static busybox plus job.sh, imported with
# `podman import` (or docker). Prints the image ID, the job's module hash:
#     example-jobs/gc-content/build-image.sh [podman|docker]
# Needs a static busybox: apt-get install busybox-static (or set BUSYBOX).
set -eu
runtime="${1:-podman}"
here="$(cd "$(dirname "$0")" && pwd)"
busybox="${BUSYBOX:-/bin/busybox}"
[ -x "$busybox" ] || { echo "$busybox not found: apt-get install busybox-static (or set BUSYBOX)" >&2; exit 1; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/input" "$root/output" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for tool in sh awk sort wc printf echo cat; do ln -s busybox "$root/bin/$tool"; done
cp "$here/job.sh" "$root/job.sh"
# Fixed times and owners, so the layer's bytes depend on the content only.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$root.tar" .
id="$("$runtime" import --quiet --change 'ENTRYPOINT ["/bin/sh", "/job.sh"]' "$root.tar" pond-example-gc-content)"
rm -f "$root.tar"
echo "$id"
