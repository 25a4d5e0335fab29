#!/usr/bin/env bash
# Debian's kubectl (package kubernetes-client) for the integration tier's
# fidelity check, unpacked into DIR (default build/tools/kubernetes-client)
# rather than installed: /usr/bin/kubectl may belong to another package
# (the Google Cloud SDK's), which the Debian package would conflict with.
# Idempotent: does nothing when DIR/usr/bin/kubectl is there.
set -euo pipefail

dir=${1:-build/tools/kubernetes-client}
[ -x "$dir/usr/bin/kubectl" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "kubectl: not unpacked (run as root to fetch kubernetes-client)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download runs as the _apt user: a directory it may write to.
chmod 0777 "$tmp"
if ! (cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null 2>&1); then
	apt-get update -qq
	(cd "$tmp" && apt-get download -qq kubernetes-client >/dev/null)
fi
mkdir -p "$dir"
dpkg-deb -x "$tmp"/kubernetes-client_*.deb "$dir"
"$dir/usr/bin/kubectl" version --client >/dev/null
echo "kubectl: Debian's kubernetes-client unpacked in $dir"
