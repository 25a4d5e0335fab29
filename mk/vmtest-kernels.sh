#!/usr/bin/env bash
# Fetches the Debian kernels of the kernel matrix (make vmtest) into a cache
# folder and prints "<name> <vmlinuz path>" per kernel.
#
# The newest image behind each Debian meta-package is resolved at run time
# (patch levels move on) and unpacked with dpkg-deb instead of installed: the
# lanes only need the vmlinuz file and a few modules, and installing a kernel
# package would rewrite the host's /boot and boot-loader configuration.
#
# Per kernel, CACHE_DIR/<package>/ holds vmlinuz, config, release (its
# `uname -r`) and modules/: overlay.ko (the container runtimes' root
# filesystem; Debian builds CONFIG_OVERLAY_FS=m) and the modules it depends
# on, uncompressed (busybox insmod loads plain .ko files only), with
# modules/load listing them in load order.
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

# decompress FILE: prints FILE's content, uncompressed (6.12 ships .ko.xz).
decompress() {
	case "$1" in
	*.xz) if command -v xz >/dev/null; then xz -dc "$1"; else busybox xzcat "$1"; fi ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

# keep_module TREE OUT NAME: copies module NAME from the unpacked
# lib/modules/<release> TREE to OUT/NAME.ko, after the modules it depends on
# (its modinfo "depends="), and appends it to OUT/load.
keep_module() {
	local tree=$1 out=$2 name=$3 file dep
	grep -qx "$name" "$out/load" 2>/dev/null && return 0
	# modinfo spells names with "_", file names may have "-"
	file=$(find "$tree" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) -print -quit)
	[ -n "$file" ] || { echo "vmtest-kernels: module $name not in the package" >&2; return 1; }
	decompress "$file" > "$out/$name.ko"
	for dep in $(tr '\0' '\n' < "$out/$name.ko" | sed -n 's/^depends=//p' | tr , ' '); do
		keep_module "$tree" "$out" "$dep" || return 1
	done
	echo "$name" >> "$out/load"
}

mkdir -p "$cache"
for name in 6.1 6.12; do
	meta=${META[$name]}
	pkg=$(apt-cache depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		echo "vmtest-kernels: cannot resolve the image behind $meta" >&2
		exit 1
	fi
	dir="$cache/$pkg"
	# (caches from before the modules were kept get them on the next run)
	if [ ! -s "$dir/vmlinuz" ] || [ ! -s "$dir/modules/overlay.ko" ] || [ ! -s "$dir/release" ]; then
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2)
		dpkg-deb -x "$tmp"/*.deb "$tmp/root"
		mkdir -p "$dir"
		cp "$tmp"/root/boot/vmlinuz-* "$dir/vmlinuz.tmp"
		# the kernel's config tells the lanes (and the docs) what it was built with
		cp "$tmp"/root/boot/config-* "$dir/config" 2>/dev/null || true
		# the release is the name of the package's module folder
		release=$(cd "$tmp"/root/lib/modules && echo *)
		rm -rf "$dir/modules.tmp"
		mkdir -p "$dir/modules.tmp"
		keep_module "$tmp/root/lib/modules/$release" "$dir/modules.tmp" overlay
		rm -rf "$dir/modules"
		mv "$dir/modules.tmp" "$dir/modules"
		echo "$release" > "$dir/release"
		mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
		rm -rf "$tmp"
		trap - EXIT
	fi
	echo "$name $dir/vmlinuz"
done
