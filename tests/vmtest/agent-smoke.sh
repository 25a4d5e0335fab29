#!/bin/sh
# The agent end to end inside a kernel-matrix guest (busybox sh): `podfence
# agent --backend BACKEND` enforces a Tetragon allowlist on a pod in the
# kubelet cgroup layout; the allowed binary runs, the forbidden one is stopped
# the way BACKEND stops an exec, and the event and status say so.
# Usage: agent-smoke.sh BACKEND; prints "agent: N passed, N failed, 0 skipped".
# (PODFENCE and PF_HELPERS point elsewhere than the guest's /pf to run it on a host.)
backend=$1
pf=${PODFENCE:-/pf/podfence}
helpers=${PF_HELPERS:-/pf/tests/helpers}
node=/tmp/agent-smoke-$backend
cgroot=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)/podfence-smoke-$backend
uid=0b6f3c2e-1d4a-4c5b-9e8f-7a6b5c4d3e2f
cid=4f2d9c1ab3e8470f6c5d2a1b0e9f8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e
cg=$cgroot/kubepods/burstable/pod$uid/$cid
passed=0 failed=0

check() { # what, condition result (0 = true)
	if [ "$2" -eq 0 ]; then
		echo "ok   agent --backend $backend: $1"
		passed=$((passed + 1))
	else
		echo "FAIL agent --backend $backend: $1"
		failed=$((failed + 1))
	fi
}

run_in_pod() { # binary args...: prints the exit status (137: SIGKILL)
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@" >/dev/null 2>&1
	echo $?
}

mkdir -p "$node/policies" "$node/pods" "$cg"
cat > "$node/pods/smoke.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: smoke-1
  namespace: default
  uid: $uid
  labels:
    app: smoke
spec:
  containers:
  - name: main
    image: example/main
status:
  qosClass: Burstable
  containerStatuses:
  - name: main
    containerID: containerd://$cid
EOF
cat > "$node/policies/smoke.yaml" <<EOF
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
EOF

$pf agent --policies "$node/policies" --pods "$node/pods" --backend "$backend" \
	--socket "$node/agent.sock" --pin-dir "/sys/fs/bpf/podfence-smoke-$backend" \
	--cgroup-root "$cgroot" --events "$node/events.jsonl" > "$node/agent.log" 2>&1 &
agent=$!
ready=1
for i in $(seq 1 300); do
	if $pf status --socket "$node/agent.sock" --json 2>/dev/null | grep -q '"ready":true'; then
		ready=0
		break
	fi
	kill -0 $agent 2>/dev/null || break
	sleep 0.2
done
check "starts and becomes ready" $ready
if [ $ready -ne 0 ]; then
	cat "$node/agent.log"
else
	$pf status --socket "$node/agent.sock" --json > "$node/status.json"
	grep -q "\"backend\":\"$backend\"" "$node/status.json"
	check "status reports backend $backend" $?

	[ "$(run_in_pod "$helpers/pf_true")" = 0 ]
	check "allowed binary runs" $?

	rm -f "$node/ran"
	status=$(run_in_pod "$helpers/pf_marker" "$node/ran")
	case "$backend" in
	lsm | fmod_ret) expected=126 enforcement=eperm ;; # execve() failed: EPERM
	*) expected=137 enforcement=sigkill ;;            # killed by SIGKILL
	esac
	[ "$status" = "$expected" ] && [ ! -e "$node/ran" ]
	check "forbidden binary stopped (exit $status, expected $expected) and never ran" $?

	for i in $(seq 1 50); do
		grep -q '"blocked":true' "$node/events.jsonl" 2>/dev/null && break
		sleep 0.1
	done
	grep '"blocked":true' "$node/events.jsonl" 2>/dev/null | grep -q "\"enforcement\":\"$enforcement\""
	check "event reports the block as $enforcement" $?
fi

kill $agent 2>/dev/null
wait $agent 2>/dev/null
$pf unpin "/sys/fs/bpf/podfence-smoke-$backend" >/dev/null 2>&1
find "$cgroot" -depth -type d -exec rmdir {} \; 2>/dev/null
rm -rf "$node"
echo "agent: $passed passed, $failed failed, 0 skipped"
