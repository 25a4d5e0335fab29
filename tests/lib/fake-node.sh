# shellcheck shell=bash
# A throw-away "node" for the demo and integration tests: kubelet-layout
# cgroups (cgroupfs driver, containerd ids) under a private root in the
# cgroup2 hierarchy, Pod manifests as `kubectl get pod -o yaml` prints them,
# and an agent with its own pin dir and socket. Everything is removed by
# node_cleanup. Plain sh apart from the default of PODFENCE: the kernel-matrix
# guests (busybox) source it too, with PODFENCE set.

PODFENCE=${PODFENCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/podfence}

cgroup2_mount() {
	awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
}

# node_init NAME: sets NODE_DIR (files), NODE_CG (cgroup root), NODE_PIN, NODE_SOCK.
node_init() {
	local name=$1 cg2
	cg2=$(cgroup2_mount)
	[ -n "$cg2" ] || { echo "no cgroup2 mount" >&2; return 1; }
	# (no mountpoint(1) in the guests' busybox)
	grep -q '^[^ ]* /sys/fs/bpf bpf ' /proc/mounts || mount -t bpf bpf /sys/fs/bpf
	NODE_DIR=$(mktemp -d "/tmp/podfence-$name-XXXXXX")
	NODE_CG="$cg2/podfence-$name-$$"
	NODE_PIN="/sys/fs/bpf/podfence-$name-$$"
	NODE_SOCK="$NODE_DIR/agent.sock"
	NODE_EVENTS="$NODE_DIR/events.jsonl"
	NODE_LOG="$NODE_DIR/agent.log"
	mkdir -p "$NODE_DIR/policies" "$NODE_DIR/pods" "$NODE_CG"
	AGENT_PID=
}

# container_id NAME: a stable 64-hex id for a container name.
container_id() {
	printf '%s' "$1" | sha256sum | cut -c1-64
}

# pod_add NAMESPACE NAME UID LABELS(k=v,k=v) CONTAINER...: cgroups + manifest.
pod_add() {
	local ns=$1 name=$2 uid=$3 labels=$4
	shift 4
	local file="$NODE_DIR/pods/$ns-$name.yaml" c id
	mkdir -p "$NODE_CG/kubepods/burstable/pod$uid"
	{
		echo "apiVersion: v1"
		echo "kind: Pod"
		echo "metadata:"
		echo "  name: $name"
		echo "  namespace: $ns"
		echo "  uid: $uid"
		echo "  labels:"
		local IFS=,
		for kv in $labels; do echo "    ${kv%%=*}: \"${kv#*=}\""; done
		unset IFS
		echo "spec:"
		echo "  containers:"
		for c in "$@"; do echo "  - name: $c"; echo "    image: example/$c"; done
		echo "status:"
		echo "  qosClass: Burstable"
		echo "  containerStatuses:"
		for c in "$@"; do
			id=$(container_id "$ns-$name-$c")
			mkdir -p "$NODE_CG/kubepods/burstable/pod$uid/$id"
			echo "  - name: $c"
			echo "    containerID: containerd://$id"
		done
	} >"$file.tmp"
	mv "$file.tmp" "$file"
}

# container_cgroup NAMESPACE POD UID CONTAINER: path of the container's cgroup.
container_cgroup() {
	echo "$NODE_CG/kubepods/burstable/pod$3/$(container_id "$1-$2-$4")"
}

# run_in CGROUP CMD...: runs CMD in the cgroup; prints its exit status (137 = SIGKILL).
run_in() {
	local cg=$1
	shift
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" >/dev/null 2>&1
	echo $?
}

agent_start() {
	"$PODFENCE" agent --policies "$NODE_DIR/policies" --pods "$NODE_DIR/pods" \
		--socket "$NODE_SOCK" --pin-dir "$NODE_PIN" --cgroup-root "$NODE_CG" \
		--events "$NODE_EVENTS" --state-dir "$NODE_DIR/state" "$@" >>"$NODE_LOG" 2>&1 &
	AGENT_PID=$!
	agent_wait_ready
}

# Waits up to AGENT_READY_S seconds (10; emulated kernels verify slowly).
agent_wait_ready() {
	local i
	for i in $(seq 1 $((${AGENT_READY_S:-10} * 10))); do
		if "$PODFENCE" status --socket "$NODE_SOCK" --json 2>/dev/null | grep -q '"ready":true'; then
			return 0
		fi
		sleep 0.1
	done
	echo "agent did not become ready; log:" >&2
	cat "$NODE_LOG" >&2
	return 1
}

agent_status() {
	"$PODFENCE" status --socket "$NODE_SOCK" --json
}

agent_stop() {
	[ -n "${AGENT_PID:-}" ] && kill "$AGENT_PID" 2>/dev/null && wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

node_cleanup() {
	agent_stop
	# real containers (tests/lib/runc-node.sh), when the node had some
	if command -v rnode_cleanup >/dev/null 2>&1; then rnode_cleanup; fi
	# what a test started besides (a second agent, ...)
	if command -v node_extra_cleanup >/dev/null 2>&1; then node_extra_cleanup; fi
	"$PODFENCE" unpin "$NODE_PIN" 2>/dev/null
	if [ -n "${NODE_CG:-}" ] && [ -d "$NODE_CG" ]; then
		find "$NODE_CG" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
	[ -n "${NODE_DIR:-}" ] && rm -rf "$NODE_DIR"
}
