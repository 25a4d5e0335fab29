#!/usr/bin/env bash
# Fetches the Debian kernels of the kernel matrix (make vmtest) into a cache
# folder and prints "<name> <vmlinuz path>" per kernel: Debian 12's 6.1 and
# 6.12, Debian 11's 5.10.
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
	[5.10]=linux-image-cloud-amd64
)
# name -> apt options: 5.10 is Debian 11's (bullseye), read from an apt state
# of its own in the cache (the host's lists are Debian 12's, whose
# meta-package has the same name), so that the host's apt is left alone.
declare -A APT=([6.1]="" [6.12]="")

apt_ready() { apt-cache show "${META[6.1]}" >/dev/null 2>&1; }
if ! apt_ready; then
	[ "$(id -u)" -eq 0 ] || { echo "vmtest-kernels: apt lists missing; run as root" >&2; exit 1; }
	apt-get update -qq >&2
fi

mkdir -p "$cache"
bullseye=$(cd "$cache" && pwd)/apt-bullseye # apt reads relative paths from /etc/apt
mkdir -p "$bullseye/lists/partial" "$bullseye/cache/archives/partial" "$bullseye/etc"
: > "$bullseye/etc/sources.list"
cat > "$bullseye/etc/bullseye.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye bullseye-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bullseye-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
APT[5.10]="-o Dir::Etc::SourceList=$bullseye/etc/sources.list -o Dir::Etc::SourceParts=$bullseye/etc"
APT[5.10]+=" -o Dir::State::Lists=$bullseye/lists -o Dir::Cache=$bullseye/cache"
APT[5.10]+=" -o Dir::State::status=/var/lib/dpkg/status"
# shellcheck disable=SC2086 # the options are words
if ! apt-cache ${APT[5.10]} show "${META[5.10]}" >/dev/null 2>&1; then
	apt-get ${APT[5.10]} update -qq >&2
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
for name in 6.1 6.12 5.10; do
	meta=${META[$name]}
	opts=${APT[$name]}
	# shellcheck disable=SC2086
	pkg=$(apt-cache $opts depends "$meta" | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		echo "vmtest-kernels: cannot resolve the image behind $meta" >&2
		exit 1
	fi
	dir="$cache/$pkg"
	# (caches from before the modules were kept get them on the next run)
	if [ ! -s "$dir/vmlinuz" ] || [ ! -s "$dir/modules/overlay.ko" ] || [ ! -s "$dir/release" ]; then
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		# shellcheck disable=SC2086
		(cd "$tmp" && apt-get $opts download -qq -o APT::Sandbox::User=root "$pkg" >&2)
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
