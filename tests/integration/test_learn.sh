# shellcheck shell=bash
# Learning end to end on the agent (files, kubelet-layout cgroups): what a
# workload runs becomes a proposal; the proposal, reviewed and written out,
# goes to monitor mode and then to enforcement; nothing learned is lost when
# the agent is killed. docs/learning.md describes the workflow.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

# shellcheck source-path=SCRIPTDIR source=fixtures-api.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures-api.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/runc-node.sh
source "$REPO/tests/lib/runc-node.sh"

HELPERS=$REPO/build/tests/helpers

learn() { "$PODFENCE" learn --socket "$NODE_SOCK" "$@"; }

# learned_paths [FILTER]: the merged proposal's execs of container main, one per line.
learned_paths() {
	learn show --json "${1:-}" | jq -r '.[].spec.nodes["*"].containers.main.execs[]?.path'
}

test_learn_records_once_survives_kill_and_promotes() {
	local out paths want
	pod web app=web # no policy selects it
	agent_start || fail "agent did not start"
	assert_eq "$(st '.counts.bound_cgroups')" 0 "nothing bound before learning"

	learn start default/Pod/web >/dev/null || fail "learn start"
	assert_eq "$(st '.learning.scopes | join(",")')" "default/Pod/web" "scope in status"
	[ "$(st '.counts.bound_cgroups')" -gt 0 ] || fail "the learning pod is bound"

	assert_runs web "$TRUE"
	for _ in $(seq 1 100); do assert_runs web "$TRUE"; done
	assert_runs web "$CAT" /dev/null
	assert_runs web "$LS" /
	want=$(printf '%s\n' "$TRUE" "$CAT" "$LS" | sort)
	paths=$(learned_paths)
	assert_eq "$paths" "$want" "learned: exactly what ran"
	assert_eq "$(st '.kernel_stats.learn_records')" 3 "one record per binary (101 execs of true)"
	assert_eq "$(learn show --json | jq "[.[].spec.nodes[\"*\"].containers.main.execs[] | select(.path == \"$TRUE\") | .execs] | add")" \
		101 "the execs of true counted in the kernel"

	# Killed at any point, nothing is lost: records are journaled as they arrive.
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	assert_runs web "$ID" # while no agent runs: the kernel records it, the ring buffer keeps it
	agent_start || fail "agent did not restart"
	want=$(printf '%s\n' "$TRUE" "$CAT" "$LS" "$ID" | sort)
	await_learned "$want"

	# Proposal -> monitor: what it misses is reported, nothing blocked.
	learn template >"$NODE_DIR/policies/learned-template.yaml"
	learn write "$NODE_DIR/out" default/Pod/web --monitor >/dev/null || fail "learn write"
	out=$(ls "$NODE_DIR/out")
	assert_eq "$out" "learned-default-pod-web.yaml" "one file per workload"
	grep -q 'templateRef: "exec-allowlist-monitor"' "$NODE_DIR/out/$out" || fail "monitor binding"
	cp "$NODE_DIR/out/$out" "$NODE_DIR/policies/"
	await_status '.counts.bindings == 1' "binding loaded"
	assert_runs web "$TRUE"
	assert_runs web "$(readlink -f /usr/bin/uname)"
	await_lines "$NODE_EVENTS" 1
	grep -q '"action":"would-block"' "$NODE_EVENTS" || fail "no would-block event: $(cat "$NODE_EVENTS")"

	# diff: the proposal (now with uname, learned in monitor mode) against the binding
	out=$(learn diff default/Pod/web --against "$NODE_DIR/policies/learned-default-pod-web.yaml") &&
		fail "diff found nothing"
	assert_match "$out" "\\+ $(readlink -f /usr/bin/uname)" "diff shows what the binding misses"

	# -> enforce: every binary it ran still runs, one it never ran is blocked.
	learn stop default/Pod/web >/dev/null || fail "learn stop"
	learn write "$NODE_DIR/out" default/Pod/web >/dev/null || fail "learn write"
	cp "$NODE_DIR/out/learned-default-pod-web.yaml" "$NODE_DIR/policies/"
	await_exit 137 web "$(readlink -f /usr/bin/sleep)" 0
	assert_runs web "$TRUE"
	assert_runs web "$CAT" /dev/null
	assert_runs web "$LS" /
	assert_runs web "$ID"
	assert_runs web "$(readlink -f /usr/bin/uname)"
	assert_killed web "$(readlink -f /usr/bin/head)" /dev/null
}

# await_learned WANT: the proposal's execs become WANT within 2 s.
await_learned() {
	local t0 got
	t0=$(now_ms)
	while :; do
		got=$(learned_paths)
		[ "$got" = "$1" ] && return 0
		[ "$(elapsed_ms "$t0")" -le 2000 ] || fail "learned [$got], expected [$1]"
		sleep 0.1
	done
}

# Scopes are checked; learning without a state directory is refused, enforcement is not.
test_learn_refuses_bad_scopes_and_missing_state() {
	pod web app=web
	agent_start || fail "agent did not start"
	learn start default/Deploy/web 2>"$NODE_DIR/err" && fail "a bad kind was taken"
	grep -q 'kind "Deploy" is none of' "$NODE_DIR/err" || fail "unclear error: $(cat "$NODE_DIR/err")"
	learn stop default || true
	agent_stop
	touch "$NODE_DIR/not-a-dir"
	agent_start --state-dir "$NODE_DIR/not-a-dir/x" || fail "agent did not start without state"
	learn start default 2>"$NODE_DIR/err" && fail "learning without a state directory"
	grep -q 'learning unavailable: state directory' "$NODE_DIR/err" || fail "unclear: $(cat "$NODE_DIR/err")"
}

# ---- real containers --------------------------------------------------------

# learn_runc_node: runc, and image "learn": /app/web (long-running), /app/a,
# /app/b, /app/c, /app/tool (exit 0), and entrypoint scripts /app/run-x
# (/app/a, /app/b, then exec /app/web) and /app/run-y (/app/a, /app/c, ...).
learn_runc_node() {
	local why
	why=$(rnode_check) || skip "runc containers cannot run here: $why"
	rnode_init || fail "rnode_init failed"
	printf '#!/bin/sh\n/app/a\n/app/b\nexec /app/web\n' >"$NODE_DIR/run-x"
	printf '#!/bin/sh\n/app/a\n/app/c\nexec /app/web\n' >"$NODE_DIR/run-y"
	chmod +x "$NODE_DIR/run-x" "$NODE_DIR/run-y"
	rnode_image learn "$HELPERS/pf_pause=/app/web" "$HELPERS/pf_true=/app/a" \
		"$HELPERS/pf_true=/app/b" "$HELPERS/pf_true=/app/c" "$HELPERS/pf_true=/app/tool" \
		"$NODE_DIR/run-x=/app/run-x" "$NODE_DIR/run-y=/app/run-y" ||
		fail "cannot build the image"
}

# r_exec POD CMD...: kubectl exec into container web; prints the exit status.
r_exec() {
	local pod=$1
	shift
	rpod_exec default "$pod" web "$@"
}

# await_proposal JQ: within 3 s, `learn show --json` satisfies JQ (true).
await_proposal() {
	local t0
	t0=$(now_ms)
	until [ "$(learn show --json | jq -r "$1")" = true ]; do
		[ "$(elapsed_ms "$t0")" -le 3000 ] || fail "proposal: not true after 3 s: $1
$(learn show)"
		sleep 0.1
	done
}

# p1_known: within 5 s the agent knows pod p1 (its cgroups bound when created).
p1_known() {
	local t0
	t0=$(now_ms)
	until [ "$(st '[.pods[]? | select(.name == "p1")] | length')" = 1 ]; do
		[ "$(elapsed_ms "$t0")" -le 5000 ] || fail "the agent did not learn of pod p1 in 5 s"
		sleep 0.05
	done
}

# What the runtime does before the entrypoint is not learned; the
# entrypoint is, marked as such; a kubectl exec session and what it runs
# are recorded apart. (TP backends see a script's interpreter, LSM ones also
# the script itself: the script's own path is allowed either way.)
test_learn_runc_entrypoint_sessions_and_runtime_noise() {
	local c='.[0].spec.nodes["*"].containers.web'
	learn_runc_node
	agent_start --runtime-state "$RNODE_STATE" || fail "agent did not start"
	learn start default/Pod/p1 >/dev/null || fail "learn start"

	# the runtime's execs are judged only in a cgroup bound before they run
	RNODE_AWAIT_POD=p1_known rpod_create default p1 "$(pod_uid p1)" app=p1 \
		app:web:learn:/app/run-x || fail "the pod did not start"
	await_proposal "[$c.execs[].path] - [\"/app/run-x\"] == [\"/app/a\", \"/app/b\", \"/app/web\", \"/bin/busybox\"]"
	assert_eq "$(learn show --json | jq -r "$c.execs[] | select(.entrypoint) | .path" | grep -v /app/run-x)" \
		"/bin/busybox" "the entrypoint (its interpreter) is marked"
	assert_eq "$(learn show --json | jq -r "$c.execs[] | select(.path == \"/app/a\") | .callers | join(\",\")")" \
		"/bin/busybox" "the caller of /app/a"
	assert_eq "$(learn show --json | jq -r '[.[0].spec.nodes["*"].containers | keys[]] | join(",")')" \
		web "no record of the sandbox or of the runtime"
	# Whether runc's re-exec of itself (runc init) runs inside the container's
	# cgroup is runc's own race (the parent moves the child while it clones
	# itself): seen, it is exempt; not seen, it ran before the cgroup judged
	# anything. Either way nothing of it is learned (above).
	[ "$(st '.kernel_stats.runtime_execs_before_start')" -gt 0 ] ||
		echo "     (runc re-executed itself before joining the container's cgroup this time)"

	# kubectl exec: the session's command, and what its shell runs, apart
	assert_eq "$(r_exec p1 /app/tool)" 0 "a session command runs"
	assert_eq "$(r_exec p1 /bin/sh -c '/app/c; true')" 0 "a session shell runs"
	await_proposal "[$c.sessions[].path] == [\"/app/c\", \"/app/tool\", \"/bin/busybox\"]"
	assert_eq "$(learn show --json | jq -c "[$c.execs[].path | select(. == \"/app/c\" or . == \"/app/tool\")]")" \
		"[]" "session binaries are not in the workload's profile"

	# written out: sessions left out unless asked
	learn write "$NODE_DIR/out" default/Pod/p1 >/dev/null || fail "learn write"
	grep -q '# exec session only (not allowed; --include-sessions): /app/tool' \
		"$NODE_DIR/out/learned-default-pod-p1.yaml" || fail "sessions not shown apart"
	learn write "$NODE_DIR/out2" default/Pod/p1 --include-sessions >/dev/null || fail "learn write"
	grep -q '^    - "/app/tool"$' "$NODE_DIR/out2/learned-default-pod-p1.yaml" ||
		fail "--include-sessions did not include the session's binaries"
}

# agent_b_start: a second agent, node n2, on the same kernel and fake API server.
agent_b_start() {
	"$PODFENCE" agent --kubeconfig "$NODE_DIR/kubeconfig" --node-name n2 \
		--socket "$NODE_DIR/b.sock" --pin-dir "$NODE_PIN-b" --cgroup-root "$NODE_CG" \
		--events "$NODE_DIR/b-events" --runtime-state "$RNODE_STATE" \
		--state-dir "$NODE_DIR/state-b" >>"$NODE_DIR/b.log" 2>&1 &
	AGENT_B_PID=$!
	for _ in $(seq 1 100); do
		"$PODFENCE" status --socket "$NODE_DIR/b.sock" --json 2>/dev/null | grep -q '"ready":true' &&
			return 0
		sleep 0.1
	done
	fail "agent b did not start: $(cat "$NODE_DIR/b.log")"
}

node_extra_cleanup() {
	[ -n "${AGENT_B_PID:-}" ] && kill "$AGENT_B_PID" 2>/dev/null && wait "$AGENT_B_PID" 2>/dev/null
	"$PODFENCE" unpin "$NODE_PIN-b" 2>/dev/null
	true
}

# Two replicas of one Deployment on two nodes (two agents, one API server)
# run different parts of its binaries; each agent writes its own findings to
# the one PolicyProposal; merged, the proposal is exactly the union; written
# out and enforced, every binary it ran runs on both, one it never ran is
# blocked on both.
#@timeout test_learn_runc_two_replicas_two_agents_merge_and_enforce 120
test_learn_runc_two_replicas_two_agents_merge_and_enforce() {
	local obj want got p
	learn_runc_node
	api_server
	RNODE_PUBLISH=api_kubelet
	api_agent_start --runtime-state "$RNODE_STATE"
	agent_b_start
	learn start default/Deployment/web >/dev/null || fail "learn start (n1)"
	"$PODFENCE" learn --socket "$NODE_DIR/b.sock" start default/Deployment/web >/dev/null ||
		fail "learn start (n2)"

	mkdir -p "$NODE_DIR/owners"
	echo "ReplicaSet web-aaa" >"$NODE_DIR/owners/default-web-aaa-x"
	echo "ReplicaSet web-aaa" >"$NODE_DIR/owners/default-web-aaa-y"
	export RNODE_NODE=n1
	rpod_create default web-aaa-x "$(pod_uid web-aaa-x)" app=web,pod-template-hash=aaa app:web:learn:/app/run-x ||
		fail "web-aaa-x did not start"
	export RNODE_NODE=n2
	rpod_create default web-aaa-y "$(pod_uid web-aaa-y)" app=web,pod-template-hash=aaa app:web:learn:/app/run-y ||
		fail "web-aaa-y did not start"
	export RNODE_NODE=n1

	# each agent's contribution, under its own key of one object (pushed every 10 s)
	obj="$NODE_DIR/proposal.json"
	for _ in $(seq 1 300); do
		curl -sf "$API/_test/get/policyproposals/default/deployment-web" >"$obj" 2>/dev/null &&
			[ "$(jq -r '[.spec.nodes | keys[]] | join(",")' "$obj")" = n1,n2 ] &&
			[ "$(jq -r '[.spec.nodes[].containers.web.execs | length] | min' "$obj")" -ge 4 ] && break
		sleep 0.1
	done
	assert_eq "$(jq -r '[.spec.nodes | keys[]] | join(",")' "$obj")" n1,n2 "both nodes' findings kept"
	got=$("$PODFENCE" learn show --json --from "$obj" |
		jq -r '.[0].spec.nodes["*"].containers.web.execs[].path' | grep -v '^/app/run-' | paste -sd' ')
	assert_eq "$got" "/app/a /app/b /app/c /app/web /bin/busybox" "the merged proposal is exactly the union"
	assert_eq "$("$PODFENCE" learn show --json --from "$obj" |
		jq -r '.[0].spec.nodes["*"].containers.web.execs[] | select(.path == "/app/a") | .pods')" \
		2 "/app/a ran in both pods"

	# promoted to enforcement through the API
	"$PODFENCE" learn template | yaml_to_json_all | api_put policytemplates
	"$PODFENCE" learn write "$NODE_DIR/out" default/Deployment/web --from "$obj" >/dev/null ||
		fail "learn write"
	yaml_to_json_all <"$NODE_DIR/out/learned-default-deployment-web.yaml" | api_put policybindings
	for p in web-aaa-x web-aaa-y; do
		rawait_blocked "$p" /app/tool
		for want in /app/a /app/b /app/c /app/web; do
			[ "$want" = /app/web ] && continue # long-running: its exec is what the restart shows
			assert_eq "$(r_exec "$p" "$want")" 0 "$p: $want runs"
		done
	done
	# a restarted container runs its whole entrypoint again under enforcement
	rpod_restart default web-aaa-x web || fail "web-aaa-x did not restart under the proposal"
	assert_eq "$(r_exec web-aaa-x /app/b)" 0 "after the restart"
}

# yaml_to_json_all: each YAML document of stdin as one JSON line (api_put takes arrays too).
yaml_to_json_all() {
	python3 -c 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))'
}

# rawait_blocked POD PATH: within 2 s, kubectl exec of PATH fails.
rawait_blocked() {
	local t0
	t0=$(now_ms)
	until [ "$(r_exec "$1" "$2")" != 0 ]; do
		[ "$(elapsed_ms "$t0")" -le 2000 ] || fail "$1: $2 still runs after 2 s"
		sleep 0.05
	done
}

# Learning a workload that is already running: --seed-from-proc adds what
# its processes run now (marked seeded), and what it execs from then on is
# recorded as usual.
test_learn_seed_from_proc_records_what_runs_now() {
	local sleep_bin
	sleep_bin=$(readlink -f /usr/bin/sleep)
	pod web app=web
	agent_start || fail "agent did not start"
	(exit_in web "$sleep_bin" 30 >/dev/null) &
	for _ in $(seq 1 50); do
		grep -q . "$(cg_of web)/cgroup.procs" 2>/dev/null && break
		sleep 0.1
	done
	learn start default/Pod/web --seed-from-proc | grep -q '"seeded_processes":1' ||
		fail "the running process was not seeded"
	assert_runs web "$TRUE"
	assert_eq "$(learned_paths | paste -sd' ')" "$(printf '%s\n' "$sleep_bin" "$TRUE" | sort | paste -sd' ')" \
		"seeded and executed"
	assert_eq "$(learn show --json | jq -r ".[0].spec.nodes[\"*\"].containers.main.execs[] | select(.path == \"$sleep_bin\") | .seeded")" \
		true "marked seeded"
	pkill -f "$sleep_bin 30" || true
}

# A full kernel table is an error with numbers in status, never a silent
# gap: the records it refused are taken at their next exec once the agent
# made room (least recently seen entries evicted; their records are kept).
#@timeout test_learn_full_table_is_reported_and_caught_up 60
test_learn_full_table_is_reported_and_caught_up() {
	local i want t0
	pod web app=web
	agent_start --map-size learned=8 || fail "agent did not start"
	learn start default/Pod/web >/dev/null || fail "learn start"
	mkdir -p "$NODE_DIR/bins"
	for i in $(seq 10 19); do cp "$TRUE" "$NODE_DIR/bins/t$i"; done
	for i in $(seq 10 19); do assert_runs web "$NODE_DIR/bins/t$i"; done
	assert_eq "$(st '.kernel_stats.learn_table_full')" 2 "two records refused by the full table"
	assert_status_error 'learning: 2 new records found map learned full \(8 entries\)'
	# room is made at the agent's next upkeep (every 10 s); the refused ones record then
	sleep 11
	assert_runs web "$NODE_DIR/bins/t18"
	assert_runs web "$NODE_DIR/bins/t19"
	# (the node's directory is under /tmp: learned as temporary paths)
	want=$(for i in $(seq 10 19); do echo "$NODE_DIR/bins/t$i"; done | paste -sd' ')
	t0=$(now_ms)
	until [ "$(learn show --json | jq -r '[.[].spec.nodes["*"].containers.main.temporary[]?.path] | join(" ")')" = "$want" ]; do
		[ "$(elapsed_ms "$t0")" -le 2000 ] || fail "not every binary learned: $(learn show)"
		sleep 0.1
	done
	[ "$(st '.learning.kernel_entries_evicted')" -gt 0 ] || fail "nothing evicted"
}
