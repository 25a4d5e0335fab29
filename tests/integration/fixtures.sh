# shellcheck shell=bash
# Fixtures shared by the integration tests (sourced by tests/integration/test_*.sh):
# policy documents, pods with one container, running commands in their
# cgroups, and waiting for the agent (status, events) with a 1 s budget.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/fake-node.sh
source "$REPO/tests/lib/fake-node.sh"

SHARED=${PF_SHARED_DIR:-$REPO/../shared}
SEED=$SHARED/corpus/tetragon/CFP4191__per-workload-exec-allowlist__policy-1_policy-2.yaml

# The kernel reports the resolved path (/bin may be a symlink to usr/bin).
TRUE=$(readlink -f /usr/bin/true)
CAT=$(readlink -f /usr/bin/cat)
ID=$(readlink -f /usr/bin/id)
LS=$(readlink -f /usr/bin/ls)

# policy_doc NAME LABEL(k=v) OPERATOR VALUE...: one TracingPolicy document
# (the seed's shape). Line numbers are relied upon by the error tests:
# 4 name, 6 podSelector, 10 call, 18 operator, 20 first value.
policy_doc() {
	local name=$1 label=$2 op=$3 v
	shift 3
	cat <<EOF
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "$name"
spec:
  podSelector:
    matchLabels:
      ${label%%=*}: "${label#*=}"
  kprobes:
  - call: "security_bprm_creds_for_exec"
    syscall: false
    args:
    - index: 0
      type: "linux_binprm"
    selectors:
    - matchArgs:
      - index: 0
        operator: "$op"
        values:
EOF
	for v in "$@"; do echo "        - \"$v\""; done
	cat <<'EOF'
      matchActions:
      - action: Override
        argError: -1
EOF
}

# put_policy FILE: stdin becomes policies/FILE in one rename.
put_policy() {
	cat >"$NODE_DIR/.put.tmp" && mv "$NODE_DIR/.put.tmp" "$NODE_DIR/policies/$1"
}

# allow_policy FILE NAME LABEL PATH...: NotEqual = only these may run.
allow_policy() {
	local file=$1
	shift
	policy_doc "$1" "$2" NotEqual "${@:3}" | put_policy "$file"
}

# deny_policy FILE NAME LABEL PATH...: Equal = these may not run.
deny_policy() {
	local file=$1
	shift
	policy_doc "$1" "$2" Equal "${@:3}" | put_policy "$file"
}

pod_uid() {
	local h
	h=$(printf '%s' "$1" | sha256sum)
	echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}

# pod NAME LABELS: pod default/NAME with one container "main" (cgroups + manifest).
pod() {
	pod_add default "$1" "$(pod_uid "$1")" "$2" main
}

pod_file() {
	echo "$NODE_DIR/pods/default-$1.yaml"
}

# cg_of POD|/cgroup/path: the container cgroup of a pod (a path is kept).
cg_of() {
	case $1 in
	/*) echo "$1" ;;
	*) container_cgroup default "$1" "$(pod_uid "$1")" main ;;
	esac
}

exit_in() { # POD|CGROUP CMD...: exit status of CMD run there
	local cg
	cg=$(cg_of "$1")
	shift
	run_in "$cg" "$@"
}

expect_exit() { # WANT POD CMD...
	local want=$1 where=$2 rc
	shift 2
	rc=$(exit_in "$where" "$@")
	[ "$rc" = "$want" ] || fail "in ${where##*/}: '$*' exited $rc, expected $want"
}

assert_runs() { expect_exit 0 "$@"; }
assert_killed() { expect_exit 137 "$@"; }

# await_exit WANT POD CMD...: the change must show within 1 s.
await_exit() {
	local want=$1 where=$2 rc t0
	shift 2
	t0=$(now_ms)
	while :; do
		rc=$(exit_in "$where" "$@")
		[ "$rc" = "$want" ] && return 0
		[ "$(elapsed_ms "$t0")" -le 1000 ] ||
			fail "in ${where##*/}: '$*' still exits $rc after 1 s (expected $want)"
		sleep 0.02
	done
}

st() { # JQ-FILTER: from `podfence status --json`
	agent_status | jq -r "$1"
}

# await_status JQ-BOOLEAN WHAT: becomes true within 1 s.
await_status() {
	local t0
	t0=$(now_ms)
	until [ "$(st "$1")" = true ]; do
		[ "$(elapsed_ms "$t0")" -le 1000 ] || fail "$2: not true after 1 s: $1"
		sleep 0.05
	done
}

# await_lines FILE N: FILE has at least N lines within 1 s.
await_lines() {
	local t0
	t0=$(now_ms)
	while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
		[ "$(elapsed_ms "$t0")" -le 1000 ] ||
			fail "$1: $(wc -l <"$1" 2>/dev/null || echo 0) line(s) after 1 s, expected $2"
		sleep 0.05
	done
}

assert_status_error() { # REGEX: one of status .errors[] matches
	local errs
	errs=$(st '.errors[]')
	grep -qE "$1" <<<"$errs" || fail "status errors do not match /$1/: [$errs]"
}


# Programs of this agent attached in the kernel: links whose program uses the
# agent's pinned cg_workload map, filtered by podfence's program names
# (bpftool shows at most 15 characters of a name).
PF_PROG_RE='^(tp_prepare_exec|tp_sched_exec|tp_cgroup_mkdir|tp_cgroup_rmdir|lsm_bprm_check|fmodret_bprm_ch)'
kernel_programs() {
	local map progs
	map=$(bpftool -j map show pinned "$NODE_PIN/cg_workload" | jq .id) || return 1
	progs=$(bpftool -j prog show | jq -c --argjson m "$map" --arg re "$PF_PROG_RE" \
		'[.[] | select(any((.map_ids // [])[]; . == $m) and (.name // "" | test($re))) | .id]')
	echo "loaded=$(jq length <<<"$progs")" \
		"attached=$(bpftool -j link show | jq --argjson p "$progs" '[.[] | select(.prog_id as $i | any($p[]; . == $i))] | length')"
}

# kernel_state: what the kernel holds for the current inputs.
kernel_state() {
	agent_status | jq -c '{programs_attached, c: (.counts | {workloads, bound_cgroups, value_sets, values, policy_pods}),
		maps: [.maps[] | select(.name | test("^(cg_workload|wl_rules_[sl]|exact_[sml]|prefix_trie|suffix_trie|pol_counters)$")) | {(.name): .entries}] | add}'
}
