#!/usr/bin/env bash
# Fetches the Debian kernels of the kernel matrix (make vmtest) into a cache
# folder and prints "<name> <vmlinuz path>" per kernel.
#
# The newest image behind each Debian meta-package is resolved at run time
# (patch levels move on) and unpacked with dpkg-deb instead of installed: the
# lanes only need the vmlinuz file, and installing a kernel package would
# rewrite the host's /boot and boot-loader configuration.
#
# Usage: mk/vmtest-kernels.sh CACHE_DIR
set -euo pipefail

cache=${1:?usage: $0 CACHE_DIR}
# name -> Debian meta-package that depends on the newest image of that series
declare -A META=(
	[6.1]=linux-image-cloud-amd64
	[6.12]=linux-image-6.12-cloud-amd64
)

apt_ready() { apt-cache show "${META[6.1]}" >/dev/null 2>&1; }
if ! apt_ready; then
	[ "$(id -u)" -eq 0 ] || { echo "vmtest-kernels: apt lists missing; run as root" >&2; exit 1; }
	apt-get update -qq >&2
fi

mkdir -p "$cache"
for name in 6.1 6.12; do
	meta=${META[$name]}
	pkg=$(apt-cache depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		echo "vmtest-kernels: cannot resolve the image behind $meta" >&2
		exit 1
	fi
	dir="$cache/$pkg"
	if [ ! -s "$dir/vmlinuz" ]; then
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2)
		dpkg-deb -x "$tmp"/*.deb "$tmp/root"
		mkdir -p "$dir"
		cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz.tmp"
		# the kernel's config tells the lanes (and the docs) what it was built with
		cp "$tmp"/root/boot/config-* "$dir/config" 2>/dev/null || true
		mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
		rm -rf "$tmp"
		trap - EXIT
	fi
	echo "$name $dir/vmlinuz"
done
