# shellcheck shell=bash
# shellcheck disable=SC2119 # agent_start takes optional extra agent flags
# Real containers: pods made by runc the way containerd makes them
# (tests/lib/runc-node.sh): sandbox, init and app containers with overlay
# roots in their own namespaces, kubelet cgroup paths, the runtime's bundle
# annotations, the Pod's status written after the start. Run by
# tests/integration/run.sh like the others; skipped (failed under CI) where
# runc cannot run.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures-api.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures-api.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/runc-node.sh
source "$REPO/tests/lib/runc-node.sh"

HELPERS=$REPO/build/tests/helpers

# runc_node: the runtime's directories and the image every test uses:
#   /app/web, /app/side   long-running entrypoints (the pause helper)
#   /app/setup            an init container's entrypoint (exits 0)
#   /app/ok-web, /app/ok-side, /app/tool   short-lived binaries (exit 0)
#   /app/connect          pf_connect: a TCP connect or UDP send (exit 1: refused)
runc_node() {
	local why
	why=$(rnode_check) || skip "runc containers cannot run here: $why"
	rnode_init || fail "rnode_init failed"
	rnode_image app "$HELPERS/pf_pause=/app/web" "$HELPERS/pf_pause=/app/side" \
		"$HELPERS/pf_true=/app/setup" "$HELPERS/pf_true=/app/ok-web" \
		"$HELPERS/pf_true=/app/ok-side" "$HELPERS/pf_true=/app/tool" \
		"$HELPERS/pf_connect=/app/connect" ||
		fail "cannot build the image"
}

# container_policy FILE NAME LABEL CONTAINER PATH...: an allowlist for one
# container of the selected pods (policy_doc's, with a containerSelector on its name).
container_policy() {
	local file=$1 name=$2 label=$3 container=$4
	shift 4
	policy_doc "$name" "$label" NotEqual "$@" |
		sed "/^  kprobes:/i\\  containerSelector:\\n    matchExpressions:\\n    - {key: name, operator: In, values: [\"$container\"]}" |
		put_policy "$file"
}

# The three-container pod's policies: each container its own allowlist.
three_policies() {
	container_policy setup.yaml setup app=shop setup /app/setup
	container_policy web.yaml web app=shop web /app/web /app/ok-web /app/tool
	container_policy side.yaml side app=shop side /app/side /app/ok-side
}

# shop_pod NAME [WEB_ENTRYPOINT]: init "setup", apps "web" and "side".
shop_pod() {
	rpod_create default "$1" "$(pod_uid "$1")" app=shop \
		init:setup:app:/app/setup app:web:app:"${2:-/app/web}" app:side:app:/app/side
}

# rassert_runs POD CONTAINER CMD...: kubectl exec succeeds.
rassert_runs() {
	local pod=$1 c=$2 rc
	shift 2
	rc=$(rpod_exec default "$pod" "$c" "$@")
	[ "$rc" = 0 ] || fail "$pod/$c: exec '$*' exited $rc, expected 0"
}

# rassert_blocked POD CONTAINER PATH: kubectl exec fails (SIGKILL or EPERM,
# by backend) and the event names the pod, the container and the path as the
# container sees it.
rassert_blocked() {
	local pod=$1 c=$2 path=$3 rc t0 pat
	rc=$(rpod_exec default "$pod" "$c" "$path")
	[ "$rc" != 0 ] || fail "$pod/$c: exec '$path' ran (exit 0), expected it blocked"
	pat="\"path\":\"$path\",\"namespace\":\"default\",\"pod\":\"$pod\",\"container\":\"$c\""
	[ "$c" = .sandbox ] &&
		pat="\"path\":\"$path\",\"namespace\":\"default\",\"pod\":\"$pod\",\"container\":null,\"sandbox\":true"
	t0=$(now_ms)
	until grep -qF "$pat" "$NODE_EVENTS" 2>/dev/null; do
		[ "$(elapsed_ms "$t0")" -le 1000 ] ||
			fail "$pod/$c: no event for the blocked exec of $path (exit $rc)"
		sleep 0.05
	done
}

stat_of() { st ".kernel_stats.$1"; }

# ---- tests ------------------------------------------------------------------

# Policies written before the pod exists; each container checked against its
# own rules from its first exec (the union of the three allowlists allows
# nothing: a container judged by it could not start).
test_runc_each_container_its_own_rules_from_the_first_exec() {
	runc_node
	three_policies
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"

	shop_pod shop1 || fail "the pod did not start"
	assert_eq "$(stat_of sandbox_starts)" 1 "sandbox starts"
	rassert_runs shop1 web /app/ok-web
	rassert_runs shop1 side /app/ok-side
	rassert_blocked shop1 web /app/ok-side
	rassert_blocked shop1 side /app/ok-web
	rassert_blocked shop1 web /app/setup
	rassert_blocked shop1 side /app/setup
	# the same absolute path in both containers' views: different verdicts by policy
	rassert_runs shop1 web /app/tool
	rassert_blocked shop1 side /app/tool
	assert_eq "$(stat_of foreign_view)" 0 "execs outside the container's view"

	# A forbidden entrypoint: refused at the first try, one event naming pod and container.
	if shop_pod shop2 /app/ok-side 2>/dev/null; then
		fail "a container whose entrypoint its policy forbids started"
	fi
	assert_eq "$(grep -c '"pod":"shop2","container":"web"' "$NODE_EVENTS")" 1 \
		"events for the refused entrypoint"
	assert_match "$(grep '"pod":"shop2"' "$NODE_EVENTS")" '"path":"/app/ok-side"' \
		"the refused entrypoint's event"
}

# The sandbox starts under an allowlist that does not name /pause, and that
# is all: a later exec in the sandbox, or /pause in an app container, is judged.
test_runc_sandbox_exempt_only_for_its_start() {
	runc_node
	three_policies
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"

	shop_pod sb || fail "the pod did not start"
	assert_eq "$(stat_of sandbox_starts)" 1 "sandbox starts"
	rassert_blocked sb .sandbox /pause
	rassert_blocked sb .sandbox /bin/busybox
	rassert_blocked sb web /pause
	# A container restarted by the runtime (new id, new cgroup, same name):
	# enforced from its first exec, by its own rules.
	rpod_restart default sb web || fail "web did not restart"
	rassert_runs sb web /app/ok-web
	rassert_blocked sb web /app/ok-side
	assert_eq "$(stat_of sandbox_starts)" 1 "sandbox starts after the restart"
}

# The Pod's status (container ids) withheld for 5 s after the start:
# identified by the runtime, each container has its own rules from its first
# exec; without the runtime's bundles (--runtime-state none) a container not
# named by the status has the pod's union (every container's policies) until
# the status arrives: the documented fallback.
test_runc_identification_window() {
	runc_node
	three_policies
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"
	RNODE_STATUS_DELAY=5
	shop_pod win || fail "the pod did not start"
	rassert_runs win web /app/ok-web
	rassert_blocked win web /app/ok-side
	grep -q containerID "$(pod_file win)" && fail "the status arrived before the checks"
	agent_stop
	rpod_delete default win

	# Without the runtime: both allowlists name both entrypoints and /pause
	# (the union must let the pod start), each its own extra binary.
	rm -f "$NODE_DIR"/policies/*
	container_policy web.yaml web app=shop web /pause /app/web /app/side /app/ok-web
	container_policy side.yaml side app=shop side /pause /app/web /app/side /app/ok-side
	agent_start --runtime-state none || fail "agent did not start"
	rpod_create default win2 "$(pod_uid win2)" app=shop app:web:app:/app/web \
		app:side:app:/app/side || fail "the pod did not start"
	# the union (side's allowlist lacks it); the event names no container yet
	local rc t0
	rc=$(rpod_exec default win2 web /app/ok-web)
	[ "$rc" != 0 ] || fail "web ran /app/ok-web before the status named it"
	grep -q containerID "$(pod_file win2)" && fail "the status arrived before the checks"
	await_lines "$NODE_EVENTS" 1
	assert_match "$(grep '"pod":"win2"' "$NODE_EVENTS")" \
		'"path":"/app/ok-web","namespace":"default","pod":"win2","container":null' \
		"the event of a container not identified yet"
	unset RNODE_STATUS_DELAY
	t0=$(now_ms)
	until grep -q containerID "$(pod_file win2)"; do
		[ "$(elapsed_ms "$t0")" -le 8000 ] || fail "the status never arrived"
		sleep 0.1
	done
	t0=$(now_ms)
	until [ "$(rpod_exec default win2 web /app/ok-web)" = 0 ]; do
		[ "$(elapsed_ms "$t0")" -le 2000 ] ||
			fail "web's own rules not in force 2 s after the status named it"
		sleep 0.1
	done
	rc=$(rpod_exec default win2 web /app/ok-side)
	[ "$rc" != 0 ] || fail "web ran side's binary after the status"
}

# The bypasses of the host tier, inside a real container: relative path,
# symlink, fexecve, memfd, "..".
test_runc_bypasses_inside_a_container() {
	runc_node
	rnode_image tricks "$HELPERS/pf_pause=/app/web" "$HELPERS/pf_true=/app/ok" \
		"$HELPERS/pf_true=/app/forbidden" "$HELPERS/pf_exec_how=/app/exec" ||
		fail "cannot build the image"
	ln -s forbidden "$RNODE_IMAGES/tricks/app/link"
	allow_policy tricks.yaml tricks app=tricks /app/web /app/ok /app/exec
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"
	rpod_create default tr "$(pod_uid tr)" app=tricks app:web:tricks:/app/web ||
		fail "the pod did not start"
	rassert_runs tr web /app/ok
	local how rc
	for how in path relative fexecve; do
		rassert_runs tr web /app/exec "$how" /app/ok
	done
	for how in path relative symlink fexecve memfd dotdot; do
		case $how in
		symlink) rc=$(rpod_exec default tr web /app/exec path /app/link) ;;
		dotdot) rc=$(rpod_exec default tr web /app/exec path /app/../app/forbidden) ;;
		*) rc=$(rpod_exec default tr web /app/exec "$how" /app/forbidden) ;;
		esac
		[ "$rc" != 0 ] || fail "exec of /app/forbidden ($how) ran"
	done
	rc=$(rpod_exec default tr web /app/exec memfd /app/ok)
	[ "$rc" != 0 ] || fail "a memfd copy of the allowed binary ran"
	assert_eq "$(grep -c '"pod":"tr"' "$NODE_EVENTS")" 7 "events for the blocked execs"
}

# kernel_entries: entries of every map that holds per-pod or per-container state.
kernel_entries() {
	agent_status | jq -c '[.maps[] | select(.name | test("^(cg_workload|cg_expect|wl_rules_[sl]|exact_[sml]|prefix_trie|suffix_trie|pol_counters)$")) | {(.name): .entries}] | add'
}

# 100 three-container pods created and deleted (two at a time, as a node
# schedules them): every container starts (its entrypoint is an allowed
# exec), every forbidden exec is blocked, every allowed one runs, and the
# kernel holds what it held before.
#@timeout test_runc_100_pods_created_and_deleted_leave_nothing 300
test_runc_100_pods_created_and_deleted_leave_nothing() {
	local n=${PF_RUNC_PODS:-100} at_once=2 before after i j pids results t0
	runc_node
	three_policies
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"
	before=$(kernel_entries)
	results=$NODE_DIR/loop-results
	: >"$results"
	t0=$(now_ms)
	for ((i = 1; i <= n; i += at_once)); do
		pids=()
		for ((j = i; j < i + at_once && j <= n; j++)); do
			(
				p=loop$j
				if ! shop_pod "$p" 2>>"$results.err"; then
					echo "$p: did not start" >>"$results"
				else
					# the entrypoints were the allowed execs; one more now and then
					[ $((j % 10)) -ne 0 ] ||
						[ "$(rpod_exec default "$p" web /app/ok-web)" = 0 ] ||
						echo "$p: web's allowed exec blocked" >>"$results"
					[ "$(rpod_exec default "$p" side /app/ok-web)" != 0 ] ||
						echo "$p: side ran web's binary" >>"$results"
				fi
				rpod_delete default "$p"
			) &
			pids+=($!)
		done
		wait "${pids[@]}"
	done
	echo "$n pods in $(($(elapsed_ms "$t0") / 1000)) s"
	[ -s "$results" ] && fail "$(head -n 5 "$results"; head -n 3 "$results.err")"
	assert_eq "$(stat_of blocked)" "$n" "execs blocked (one forbidden per pod)"
	assert_eq "$(grep -c '"container":"side",' "$NODE_EVENTS")" "$n" \
		"events, each naming side"
	assert_eq "$(stat_of foreign_view)" 0 "execs outside the container's view"
	assert_eq "$(stat_of sandbox_starts)" "$n" "sandbox starts"
	# the deletions reach the kernel: wait for the last ones to be collected
	t0=$(now_ms)
	until after=$(kernel_entries) && [ "$after" = "$before" ]; do
		[ "$(elapsed_ms "$t0")" -le 3000 ] ||
			fail "map entries left behind: before $before, after $after"
		sleep 0.1
	done
	assert_eq "$(st '.counts.pods')" 0 "pods known"
}

# ---- the same pods, fed by the Kubernetes API ---------------------------------

# api_allow_template [OPERATOR]: PolicyTemplate "allow": only the binding's
# execs may run (NotEqual), or (Equal) they may not.
api_allow_template() {
	api_put policytemplates <<EOF
{"apiVersion": "podfence.io/v1alpha1", "kind": "PolicyTemplate", "metadata": {"name": "allow"},
 "spec": {"parameters": [{"name": "execs"}],
          "lsmhooks": [{"hook": "bprm_check_security", "args": [{"index": 0, "type": "linux_binprm"}],
                        "selectors": [{"matchArgs": [{"index": 0, "operator": "${1:-NotEqual}", "valuesFrom": "execs"}],
                                       "matchActions": [{"action": "Override", "argError": -1}]}]}]}}
EOF
}

# api_target_binding NAME KIND TARGET PATH...: a binding of "allow" for one workload.
api_target_binding() {
	local name=$1 kind=$2 target=$3 v
	shift 3
	v=$(printf '"%s",' "$@")
	api_put policybindings <<EOF
{"apiVersion": "podfence.io/v1alpha1", "kind": "PolicyBinding",
 "metadata": {"name": "$name", "namespace": "default"},
 "spec": {"templateRef": "allow", "targetRef": {"apiVersion": "apps/v1", "kind": "$kind", "name": "$target"},
          "values": {"execs": [${v%,}]}}}
EOF
}

# deployment_pod DEPLOYMENT HASH: a pod of ReplicaSet DEPLOYMENT-HASH, one
# container "web" (/app/web), labelled app=web whatever its Deployment.
deployment_pod() {
	local name=$1-$2-x
	mkdir -p "$NODE_DIR/owners"
	echo "ReplicaSet $1-$2" >"$NODE_DIR/owners/default-$name"
	rpod_create default "$name" "$(pod_uid "$name")" "app=web,pod-template-hash=$2" \
		app:web:app:/app/web || fail "pod $name did not start"
}

# rawait_exit WANT POD CONTAINER CMD...: within a second, kubectl exec exits WANT (0: runs).
rawait_exit() {
	local want=$1 pod=$2 c=$3 t0 rc
	shift 3
	t0=$(now_ms)
	while :; do
		rc=$(rpod_exec default "$pod" "$c" "$@")
		if [ "$want" = 0 ]; then [ "$rc" = 0 ] && return 0; else [ "$rc" != 0 ] && return 0; fi
		[ "$(elapsed_ms "$t0")" -le 1000 ] ||
			fail "$pod/$c: '$*' exited $rc a second after the change (want $want)"
		sleep 0.05
	done
}

# Pods scheduled through the watch are enforced from their first exec (a
# forbidden entrypoint never starts); a label change moves a pod between
# policies and a deleted pod is released, each within a second.
#@timeout test_runc_api_pods_follow_the_watch 150
test_runc_api_pods_follow_the_watch() {
	runc_node
	api_server
	RNODE_PUBLISH=api_kubelet
	policy_doc shop app=shop NotEqual /app/web /app/ok-web | yaml_to_json | api_put tracingpolicies
	policy_doc other app=other NotEqual /app/web /app/tool | yaml_to_json | api_put tracingpolicies
	api_agent_start --runtime-state "$RNODE_STATE"

	rpod_create default w1 "$(pod_uid w1)" app=shop app:web:app:/app/web || fail "w1 did not start"
	rassert_runs w1 web /app/ok-web
	rassert_blocked w1 web /app/tool
	if rpod_create default w2 "$(pod_uid w2)" app=shop app:web:app:/app/side 2>/dev/null; then
		fail "a pod whose entrypoint its policy forbids started"
	fi
	assert_match "$(grep '"pod":"w2"' "$NODE_EVENTS")" '"path":"/app/side"' "the refused entrypoint"
	rpod_delete default w2

	# relabelled through the API: the other policy, within a second
	sed -i 's/^    app: "shop"$/    app: "other"/' "$NODE_DIR/pods/default-w1.yaml"
	api_kubelet put "$NODE_DIR/pods/default-w1.yaml"
	rawait_exit 0 w1 web /app/tool
	rassert_blocked w1 web /app/ok-web
	assert_eq "$(st '.pods[] | select(.name == "w1") | .workload | "\(.kind)/\(.name)"')" \
		Pod/w1 "a bare pod is its own workload"

	# deleted: released, nothing of it left in the kernel
	rpod_delete default w1
	await_status '.counts.pods == 0 and .counts.bound_cgroups == 0' "the deleted pod released"
}

# A targetRef binding follows its Deployment across a rollout (new
# ReplicaSet, new pods) and holds no other pod, whatever the labels; the
# binding changed through the API takes effect within a second; /metrics
# parses as Prometheus text and counts exactly the execs blocked here.
#@timeout test_runc_api_target_ref_follows_a_rollout 150
test_runc_api_target_ref_follows_a_rollout() {
	local blocked=0
	runc_node
	api_server
	RNODE_PUBLISH=api_kubelet
	api_allow_template
	api_target_binding web Deployment web /app/web /app/ok-web
	api_agent_start --runtime-state "$RNODE_STATE" --metrics-addr 127.0.0.1:0
	assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$(metrics_url)/readyz")" 200 "ready"

	deployment_pod web aaa
	deployment_pod api ccc
	rassert_runs web-aaa-x web /app/ok-web
	rassert_blocked web-aaa-x web /app/tool && blocked=$((blocked + 1))
	rassert_runs api-ccc-x web /app/tool
	assert_match "$(grep '"pod":"web-aaa-x"' "$NODE_EVENTS" | tail -n 1)" \
		'"workload":\{"kind":"Deployment","name":"web"\}' "the event names the workload"

	# the rollout: a new ReplicaSet's pod, then the old one goes
	deployment_pod web bbb
	rassert_blocked web-bbb-x web /app/tool && blocked=$((blocked + 1))
	rassert_runs web-bbb-x web /app/ok-web
	rpod_delete default web-aaa-x
	rassert_blocked web-bbb-x web /app/tool && blocked=$((blocked + 1))
	rassert_runs api-ccc-x web /app/tool
	assert_eq "$(st '.bindings[] | select(.name == "web") | "\(.target) \(.pods)"')" \
		"Deployment/web 1" "the binding's target and pods"

	# changed through the API: /app/tool allowed, within a second
	api_target_binding web Deployment web /app/web /app/ok-web /app/tool
	rawait_exit 0 web-bbb-x web /app/tool
	rassert_blocked web-bbb-x web /app/setup && blocked=$((blocked + 1))

	assert_eq "$(metric podfence_execs_blocked_total policy=PolicyTemplate//allow)" "$blocked" \
		"blocked execs counted"
	assert_eq "$(metric podfence_bindings)" 1 "bindings"
	assert_eq "$(metric podfence_ready)" 1 "ready"
	assert_eq "$(metric podfence_api_listed resource=policybindings)" 1 "listed"
	assert_match "$(metric podfence_map_capacity map=cg_workload)" '^[1-9]' "map capacity"
	assert_eq "$(curl -s "$(metrics_url)/healthz")" ok "healthz"

	# the template changed (a deny list of the same values), then deleted
	# (its bindings wait for it: nothing enforced), the binding deleted
	api_allow_template Equal
	rawait_exit 1 web-bbb-x web /app/ok-web
	rawait_exit 0 web-bbb-x web /app/setup
	api_delete policytemplates//allow
	rawait_exit 0 web-bbb-x web /app/ok-web
	assert_eq "$(st '.bindings[] | select(.name == "web") | .state')" waiting-for-template \
		"a binding without its template"
	api_allow_template
	rawait_exit 1 web-bbb-x web /app/setup
	api_delete policybindings/default/web
	rawait_exit 0 web-bbb-x web /app/setup
	await_status '.counts.bindings == 0 and .counts.bound_cgroups == 0' "nothing bound"
}

# Egress in real containers (their own network namespace, the sandbox's): the
# web container's connections judged by its policy, the side container's by
# none, an unbound process's never.
test_runc_egress_per_container() {
	runc_node
	put_policy egress-web.yaml <<'YAML'
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: egress-web
spec:
  podSelector:
    matchLabels:
      app: shop
  containerSelector:
    matchExpressions:
    - {key: name, operator: In, values: [web]}
  kprobes:
  - call: security_socket_connect
    syscall: false
    args:
    - index: 1
      type: sockaddr
    selectors:
    - matchArgs:
      - index: 1
        operator: NotSAddr
        values: ["127.0.0.0/8"]
      matchActions:
      - action: Override
        argError: -1
YAML
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"
	shop_pod shop1 || fail "the pod did not start"
	# inside the pod's network namespace: loopback answers (or is down), podfence says nothing
	rassert_runs shop1 web /app/connect tcp 127.0.0.1 80
	rassert_runs shop1 web /app/connect udp 127.0.0.1 53
	assert_eq "$(rpod_exec default shop1 web /app/connect tcp 192.0.2.1 80)" 1 "web: TCP outside"
	assert_eq "$(rpod_exec default shop1 web /app/connect udp 192.0.2.1 53)" 1 "web: UDP outside"
	assert_eq "$(rpod_exec default shop1 web /app/connect tcp 2001:db8::1 80)" 1 "web: IPv6 outside"
	# the side container has no egress policy
	rassert_runs shop1 side /app/connect udp 192.0.2.1 53
	await_lines "$NODE_EVENTS" 1
	assert_match "$(grep '"profile":"egress"' "$NODE_EVENTS" | head -1)" \
		'"pod":"shop1","container":"web"' "the egress event names pod and container"
}
