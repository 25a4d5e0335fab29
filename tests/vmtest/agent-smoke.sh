#!/bin/sh
# The agent end to end inside a kernel-matrix guest (busybox sh): `podfence
# agent --backend BACKEND` enforces a Tetragon allowlist on a pod of a
# throw-away node (tests/lib/fake-node.sh); the allowed binary runs, the
# forbidden one is stopped the way BACKEND stops an exec, and the event and
# status say so.
# Usage: agent-smoke.sh BACKEND; prints "agent: N passed, N failed, 0 skipped".
# (PODFENCE, PF_HELPERS and PF_FAKE_NODE point elsewhere than the guest's /pf
# to run it on a host.)
backend=$1
PODFENCE=${PODFENCE:-/pf/podfence}
helpers=${PF_HELPERS:-/pf/tests/helpers}
uid=0b6f3c2e-1d4a-4c5b-9e8f-7a6b5c4d3e2f
passed=0 failed=0
AGENT_READY_S=60 # the verifier under emulation
# shellcheck source=../lib/fake-node.sh
. "${PF_FAKE_NODE:-/pf/fake-node.sh}"

check() { # what, condition result (0 = true)
	if [ "$2" -eq 0 ]; then
		echo "ok   agent --backend $backend: $1"
		passed=$((passed + 1))
	else
		echo "FAIL agent --backend $backend: $1"
		failed=$((failed + 1))
	fi
}

node_init "smoke-$backend"
pod_add default smoke-1 "$uid" app=smoke main
cg=$(container_cgroup default smoke-1 "$uid" main)
cat > "$NODE_DIR/policies/smoke.yaml" <<YAML
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: smoke-allowlist
spec:
  podSelector:
    matchLabels:
      app: smoke
  kprobes:
  - call: security_bprm_creds_for_exec
    syscall: false
    args:
    - index: 0
      type: linux_binprm
    selectors:
    - matchArgs:
      - index: 0
        operator: NotEqual
        values:
        - $helpers/pf_true
      matchActions:
      - action: Override
        argError: -1
YAML

agent_start --backend "$backend"
ready=$?
check "starts and becomes ready" $ready
if [ $ready -eq 0 ]; then
	agent_status | grep -q "\"backend\":\"$backend\""
	check "status reports backend $backend" $?
	# the matrix's kernels before 5.17 (5.10) lack bpf_loop: the compat build
	case "$(uname -r)" in
	5.*) programs=compat ;;
	*) programs=default ;;
	esac
	agent_status | grep -q "\"programs\":\"$programs\""
	check "status reports the $programs build of the programs" $?

	[ "$(run_in "$cg" "$helpers/pf_true")" = 0 ]
	check "allowed binary runs" $?

	status=$(run_in "$cg" "$helpers/pf_marker" "$NODE_DIR/ran")
	case "$backend" in
	lsm | fmod_ret) expected=126 enforcement=eperm ;; # execve() failed: EPERM
	*) expected=137 enforcement=sigkill ;;            # killed by SIGKILL
	esac
	[ "$status" = "$expected" ] && [ ! -e "$NODE_DIR/ran" ]
	check "forbidden binary stopped (exit $status, expected $expected) and never ran" $?

	for i in $(seq 1 50); do
		grep -q '"blocked":true' "$NODE_EVENTS" 2>/dev/null && break
		sleep 0.1
	done
	grep '"blocked":true' "$NODE_EVENTS" 2>/dev/null | grep -q "\"enforcement\":\"$enforcement\""
	check "event reports the block as $enforcement" $?
fi
node_cleanup
echo "agent: $passed passed, $failed failed, 0 skipped"
