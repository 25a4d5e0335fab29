#!/usr/bin/env bash
# `make demo`: a throw-away node on this machine. Creates kubelet-layout
# cgroups for the pods in examples/pods/, starts the agent on
# examples/policies/, runs allowed and forbidden commands inside each pod's
# container cgroup, shows what ran, what was blocked and the events, then
# removes everything it created.
#
# `make demo DEMO=runc` (examples/demo.sh --runc): the same policies on a
# real pod instead, made by runc the way containerd makes it (sandbox, an
# overlayfs root, the runtime's bundle annotations: tests/lib/runc-node.sh),
# with `kubectl exec` played by `runc exec`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../tests/lib/fake-node.sh
source "$here/../tests/lib/fake-node.sh"

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (BPF and cgroups)" >&2; exit 1; }
node_init demo
trap node_cleanup EXIT

if [ "${1:-}" = --runc ]; then
	# shellcheck source=../tests/lib/runc-node.sh
	source "$here/../tests/lib/runc-node.sh"
	why=$(rnode_check) || { echo "demo: real containers cannot run here: $why" >&2; exit 1; }
	rnode_init
	cp "$here"/policies/* "$NODE_DIR/policies/"
	# An image whose /usr/bin has the binaries the example policies name (busybox copies).
	rnode_image web "$(_rnode_busybox)=/usr/bin/true" "$(_rnode_busybox)=/usr/bin/cat" \
		"$(_rnode_busybox)=/usr/bin/sleep" "$(_rnode_busybox)=/usr/bin/id" \
		"$(_rnode_busybox)=/usr/bin/ls"
	echo "== podfence agent (policies: examples/policies; containers announced by their bundles)"
	agent_start --runtime-state "$RNODE_STATE"
	echo "== pod shop/web-1 (app=web): sandbox, then container nginx running /usr/bin/sleep"
	rpod_create shop web-1 "$(cat /proc/sys/kernel/random/uuid)" app=web \
		app:nginx:web:"/usr/bin/sleep 3600"
	echo "  started (the sandbox's /pause is not in the allowlist: only its start is exempt)"
	echo "== kubectl exec (runc exec) into web-1/nginx: allowlist web-allowlist (true, cat, sleep)"
	for cmd in /usr/bin/true "/usr/bin/cat /dev/null" /usr/bin/id "/usr/bin/ls /" "/bin/sh -c id"; do
		# shellcheck disable=SC2086 # the command's words
		rc=$(rpod_exec shop web-1 nginx $cmd)
		if [ "$rc" = 0 ]; then
			printf '  %-20s ran\n' "$cmd"
		else
			printf '  %-20s BLOCKED (exit %s)\n' "$cmd" "$rc"
		fi
	done
	sleep 0.3
	echo
	echo "== events ($NODE_EVENTS): paths as the container sees them"
	cat "$NODE_EVENTS"
	echo
	echo "== cleaning up (containers, agent, pinned programs, cgroups, files)"
	exit 0
fi
cp "$here"/policies/* "$NODE_DIR/policies/"
cp "$here"/pods/* "$NODE_DIR/pods/"

# Kubelet's cgroupfs layout: kubepods/burstable/pod<uid>/<container id>.
declare -A CONTAINER_CG
for f in "$here"/pods/*; do
	uid=$(grep -oE '"?uid"?: *"?[0-9a-f-]{36}' "$f" | head -1 | grep -oE '[0-9a-f-]{36}')
	name=$(grep -m1 -oE '"?name"?: *"?[a-z0-9-]+' "$f" | sed -E 's/.*[: "]//')
	id=$(grep -oE 'containerd://[0-9a-f]{64}' "$f" | head -1 | sed 's|containerd://||')
	mkdir -p "$NODE_CG/kubepods/burstable/pod$uid/$id"
	CONTAINER_CG[$name]="$NODE_CG/kubepods/burstable/pod$uid/$id"
done

echo "== podfence agent (policies: examples/policies, pods: examples/pods)"
agent_start
"$PODFENCE" status --socket "$NODE_SOCK"
echo

try() { # pod command...
	local pod=$1 rc
	shift
	rc=$(run_in "${CONTAINER_CG[$pod]}" "$@")
	if [ "$rc" = 137 ] || [ "$rc" = 126 ]; then
		printf '  %-10s %-16s BLOCKED\n' "$pod" "$*"
	else
		printf '  %-10s %-16s ran (exit %s)\n' "$pod" "$*" "$rc"
	fi
}

echo "== execs inside each pod's container cgroup"
echo "web-1: allowlist web-allowlist (true, cat, sleep)"
try web-1 /usr/bin/true
try web-1 /usr/bin/cat /dev/null
try web-1 /usr/bin/id
try web-1 /usr/bin/ls /
echo "  (same forbidden binary through a symlink and a relative path)"
ln -sf /usr/bin/id "$NODE_DIR/innocent"
try web-1 "$NODE_DIR/innocent"
(cd /usr/bin && try web-1 ./id)
echo "worker-1: backend-no-shells + worker-no-recon (both apply)"
try worker-1 /usr/bin/ls /
try worker-1 /usr/bin/dash -c true
try worker-1 /usr/bin/id
try worker-1 /usr/bin/uname
echo "toolbox-1: template exec-allowlist via bindings toolbox + toolbox-extra (values united)"
try toolbox-1 /usr/bin/id
try toolbox-1 /usr/bin/dash -c true
try toolbox-1 /usr/bin/uname
try toolbox-1 /usr/bin/sleep 0
echo "api-7d4b9c8f5-x2k9q: binding api selects its Deployment by targetRef (sleep, true)"
try api-7d4b9c8f5-x2k9q /usr/bin/true
try api-7d4b9c8f5-x2k9q /usr/bin/id
sleep 0.3

echo
echo "== events ($NODE_EVENTS)"
cat "$NODE_EVENTS"
echo
echo "== status"
"$PODFENCE" status --socket "$NODE_SOCK"
echo
echo "== cleaning up (agent, pinned programs, cgroups, files)"
