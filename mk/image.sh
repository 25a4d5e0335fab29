#!/usr/bin/env bash
# The root filesystem of podfence's image (deploy/Containerfile), built offline from Debian
# packages: the agent binary and the packages of the shared libraries it loads, each
# unpacked with dpkg-deb -x (no maintainer scripts, no shell, no package manager).
#
# Usage: mk/image.sh [BINARY [OUT_DIR]]      (defaults: build/podfence, build/image)
#   Writes OUT_DIR/rootfs and prints its path. Kept as it is when neither the binary nor
#   the package set changed (OUT_DIR/rootfs/.podfence-image: the inputs' fingerprint).
#   The packages are the installed versions: from /var/cache/apt/archives when there,
#   else `apt-get download` (the installed version, else the candidate of the same
#   package: Debian stable keeps the ABI), cached in OUT_DIR/debs.
#   make image-rootfs runs it; then: podman build -f deploy/Containerfile build/image
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(readlink -f "${1:-$ROOT/build/podfence}")
OUT=${2:-$ROOT/build/image}
[ -x "$BIN" ] || { echo "image: $BIN is missing (make)" >&2; exit 1; }
mkdir -p "$OUT/debs"
OUT=$(cd "$OUT" && pwd)
ROOTFS=$OUT/rootfs
# a copy: the build may rewrite the binary meanwhile
cp "$BIN" "$OUT/podfence.bin"
BIN=$OUT/podfence.bin

# The packages of the libraries the binary loads, found where the dynamic loader finds them.
packages() {
	local libs
	libs=$(ldd "$BIN" | awk '/=>/ { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }')
	# one dpkg -S for all (it reads every file list once): each path and its target,
	# since /lib is a symlink to usr/lib on merged-/usr systems
	# shellcheck disable=SC2086 # one path per word
	dpkg -S $libs $(readlink -f $libs) 2>/dev/null | cut -d: -f1 | tr ', ' '\n\n' | grep . | sort -u
}

# The .deb of PACKAGE at its installed version (or the candidate).
fetch() {
	local p=$1 ver arch file
	ver=$(dpkg-query -W -f='${Version}' "$p")
	arch=$(dpkg-query -W -f='${Architecture}' "$p")
	file="${p}_${ver//:/%3a}_${arch}.deb"
	for d in /var/cache/apt/archives "$OUT/debs"; do
		[ -s "$d/$file" ] && { echo "$d/$file"; return 0; }
	done
	(cd "$OUT/debs" &&
		{ apt-get download -qq -o APT::Sandbox::User=root "$p=$ver" >/dev/null 2>&1 ||
			apt-get download -qq -o APT::Sandbox::User=root "$p" >/dev/null; }) || {
		echo "image: cannot download $p ($ver): apt-get update?" >&2
		return 1
	}
	ls -t "$OUT/debs/${p}_"*"_${arch}.deb" | head -n 1
}

mapfile -t PKGS < <(packages)
[ ${#PKGS[@]} -gt 0 ] || { echo "image: no package found for the libraries of $BIN" >&2; exit 1; }
stamp=$( { sha256sum "$BIN" | cut -d' ' -f1; dpkg-query -W "${PKGS[@]}"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$ROOTFS/.podfence-image" 2>/dev/null)" = "$stamp" ]; then
	echo "$ROOTFS"
	exit 0
fi

rm -rf "$ROOTFS.new"
mkdir -p "$ROOTFS.new"
for p in "${PKGS[@]}"; do
	deb=$(fetch "$p")
	dpkg-deb -x "$deb" "$ROOTFS.new"
done
# what a process never reads: documentation, translations, the packages' own metadata
rm -rf "$ROOTFS.new"/usr/share/{doc,man,info,locale,lintian,bug} "$ROOTFS.new"/usr/lib/*/gconv
install -D -m 0755 "$BIN" "$ROOTFS.new/usr/bin/podfence"
# mount points the runtime or the DaemonSet fills; /run/podfence holds the control socket
mkdir -p "$ROOTFS.new"/{proc,sys,dev,tmp,etc,run/podfence,var/run/secrets/kubernetes.io/serviceaccount}
chmod 1777 "$ROOTFS.new/tmp"
echo "root:x:0:0:root:/:/usr/bin/podfence" >"$ROOTFS.new/etc/passwd"
echo "root:x:0:" >"$ROOTFS.new/etc/group"
echo "$stamp" >"$ROOTFS.new/.podfence-image"
rm -rf "$ROOTFS"
mv "$ROOTFS.new" "$ROOTFS"
echo "$ROOTFS"
