#!/bin/sh
# Real containers inside a kernel-matrix guest (busybox sh): the agent forced
# to BACKEND enforces per-container allowlists on pods that Debian's runc
# makes the way containerd does (tests/lib/runc-node.sh: sandbox, init and
# app containers, overlayfs roots, kubelet cgroups, bundle annotations). On
# the lsm backend a refused exec is EPERM: runc init reports it for an
# entrypoint, runc exec for kubectl exec, the bypass helper as exit 126. The
# first pod's status is withheld: its containers are identified by their
# bundles alone.
# Usage: runc-pods.sh BACKEND; prints "runc: N passed, N failed, 0 skipped".
backend=$1
PODFENCE=${PODFENCE:-/pf/podfence}
[ -x /usr/sbin/runc ] && RNODE_RUNC=${RNODE_RUNC:-/usr/sbin/runc} # the guest's PATH is /bin
passed=0 failed=0
AGENT_READY_S=60 # the verifier under emulation
# shellcheck source=../lib/fake-node.sh
. "${PF_FAKE_NODE:-/pf/fake-node.sh}"
# shellcheck source=../lib/runc-node.sh
. "${PF_RUNC_NODE:-/pf/runc-node.sh}"

check() { # what, condition result (0 = true)
	if [ "$2" -eq 0 ]; then
		echo "ok   runc --backend $backend: $1"
		passed=$((passed + 1))
	else
		echo "FAIL runc --backend $backend: $1"
		failed=$((failed + 1))
	fi
}

# refused POD CONTAINER PATH: kubectl exec of PATH fails with EPERM.
refused() {
	out=$(rpod_exec_out default "$1" "$2" "$3")
	case $out in
	*"operation not permitted"*) return 0 ;;
	esac
	echo "    $1/$2 $3: $out"
	return 1
}

policy() { # NAME CONTAINER PATH...
	name=$1 container=$2
	shift 2
	{
		echo "apiVersion: cilium.io/v1alpha1"
		echo "kind: TracingPolicy"
		echo "metadata: {name: $name}"
		echo "spec:"
		echo "  podSelector: {matchLabels: {app: shop}}"
		echo "  containerSelector:"
		echo "    matchExpressions: [{key: name, operator: In, values: [$container]}]"
		echo "  kprobes:"
		echo "  - call: security_bprm_creds_for_exec"
		echo "    syscall: false"
		echo "    args: [{index: 0, type: linux_binprm}]"
		echo "    selectors:"
		echo "    - matchArgs:"
		echo "      - index: 0"
		echo "        operator: NotEqual"
		echo "        values:"
		for v in "$@"; do echo "        - $v"; done
		echo "      matchActions: [{action: Override, argError: -1}]"
	} >"$NODE_DIR/policies/$name.yaml"
}

uid() { echo "0b6f3c2e-1d4a-4c5b-9e8f-00000000000$1"; }

node_init "runc-$backend"
if why=$(rnode_check) && rnode_init; then
	h=$RNODE_HELPERS
	rnode_image app "$h/pf_pause=/app/web" "$h/pf_pause=/app/side" "$h/pf_true=/app/setup" \
		"$h/pf_true=/app/ok-web" "$h/pf_true=/app/ok-side" "$h/pf_exec_how=/app/exec"
	ln -s ok-side "$RNODE_IMAGES/app/app/link"
	policy setup setup /app/setup
	policy web web /app/web /app/ok-web /app/exec
	policy side side /app/side /app/ok-side
	agent_start --backend "$backend" --runtime-state "$RNODE_STATE"
	check "agent started" $?
	before=$(agent_status | tr -d ' \n' | grep -o '"entries":[0-9]*' | tr '\n' ' ')

	# The identification window held open: the kubelet's status (container
	# ids) arrives only after every check of shop1 (never, here).
	RNODE_STATUS_DELAY=3600
	rpod_create default shop1 "$(uid 1)" app=shop init:setup:app:/app/setup \
		app:web:app:/app/web app:side:app:/app/side
	check "sandbox, init and two app containers start, each by its own rules" $?
	unset RNODE_STATUS_DELAY
	[ "$(rpod_exec default shop1 web /app/ok-web)" = 0 ]
	check "web runs its own binary" $?
	refused shop1 web /app/ok-side
	check "web: side's binary refused with EPERM (kubectl exec)" $?
	[ "$(rpod_exec default shop1 side /app/ok-side)" = 0 ] && refused shop1 side /app/ok-web
	check "side runs its own, web's is refused" $?
	refused shop1 .sandbox /pause
	check "the sandbox: only its start was exempt" $?
	bad=0
	for how in path relative fexecve memfd; do
		rc=$(rpod_exec default shop1 web /app/exec "$how" /app/ok-side)
		[ "$rc" = 126 ] || { echo "    $how: exit $rc"; bad=1; }
	done
	rc=$(rpod_exec default shop1 web /app/exec path /app/link)
	[ "$rc" = 126 ] || { echo "    symlink: exit $rc"; bad=1; }
	rc=$(rpod_exec default shop1 web /app/exec path /app/../app/ok-side)
	[ "$rc" = 126 ] || { echo "    ..: exit $rc"; bad=1; }
	check "relative, symlink, fexecve, memfd, .. : EPERM inside the container" $bad
	! grep -q containerID "$NODE_DIR/pods/default-shop1.yaml"
	check "all of the above before the pod's status named any container" $?

	rpod_create default shop2 "$(uid 2)" app=shop init:setup:app:/app/setup \
		app:web:app:/app/ok-side app:side:app:/app/side 2>"$NODE_DIR/shop2.err"
	rc=$?
	grep -q "operation not permitted" "$NODE_DIR/shop2.err"
	[ $rc -ne 0 ] && [ $? -eq 0 ]
	check "a forbidden entrypoint: runc init gets EPERM, the container does not start" $?
	[ "$(grep -c '"pod":"shop2","container":"web"' "$NODE_EVENTS")" = 1 ]
	check "one event names the pod and the container" $?

	rpod_delete default shop1
	rpod_delete default shop2
	i=0
	while [ $i -lt 50 ]; do
		after=$(agent_status | tr -d ' \n' | grep -o '"entries":[0-9]*' | tr '\n' ' ')
		[ "$after" = "$before" ] && break
		sleep 0.2
		i=$((i + 1))
	done
	[ "$after" = "$before" ]
	check "pods deleted: every map entry released ($after)" $?
else
	check "real containers can run here: $why" 1
fi
node_cleanup
echo "runc: $passed passed, $failed failed, 0 skipped"
