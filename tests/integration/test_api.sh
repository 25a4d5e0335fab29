# shellcheck shell=bash
# shellcheck disable=SC2119 # agent_start takes optional extra agent flags
# The agent fed by the Kubernetes API: a fake API server on loopback
# (tests/lib/fake-apiserver.py, the API server's wire format: paged lists,
# chunked watches cut anywhere, bookmarks, 410) serves this node's pods and
# the cluster's policies; pods run as kubelet-layout cgroups of the
# throw-away node. Faults are injected while an exec loop runs.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures-api.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures-api.sh"

# ---- tests ------------------------------------------------------------------

# Pods scheduled here and the cluster's policies, through list and watch:
# each change takes effect within a second; another node's pods are ignored.
test_api_objects_take_effect_within_1s() {
	api_server
	api_pod web app=web
	api_pod elsewhere app=web n2
	policy_doc deny-id app=web Equal "$ID" | yaml_to_json | api_put tracingpolicies
	api_agent_start
	assert_eq "$(st '.counts.pods')" 1 "pods of this node only"
	assert_killed web "$ID"
	assert_runs web "$TRUE"

	# a policy created through the watch
	policy_doc deny-true app=web Equal "$TRUE" | yaml_to_json | api_put tracingpolicies
	await_exit 137 web "$TRUE"
	# changed into something podfence cannot read: reported with where and
	# why, and its last good version stays in force
	policy_doc deny-true app=web Bogus "$TRUE" | yaml_to_json | api_put tracingpolicies
	await_status '[.errors[] | select(test("^api:tracingpolicies//deny-true:1:[0-9]+: .*Bogus"))] | length == 1' \
		"the undecodable object reported"
	assert_killed web "$TRUE"
	# deleted
	api_delete tracingpolicies//deny-true
	await_exit 0 web "$TRUE"
	# a label change moves the pod out of the policy's selector
	api_pod web app=other
	await_exit 0 web "$ID"
	api_pod web app=web
	await_exit 137 web "$ID"
	# a pod scheduled later
	api_pod late app=web
	await_exit 137 late "$ID"
	# deleted: released
	api_delete pods/default/late
	await_status '.counts.pods == 1' "the deleted pod released"
}

# Faults while an exec loop runs in a bound pod: the agent recovers by
# itself, no forbidden exec runs, no allowed one is blocked, and the state
# after recovery equals a fresh agent's on the same objects.
#@timeout test_api_faults_never_lose_enforcement 240
test_api_faults_never_lose_enforcement() {
	local loop fault fresh recovered t0 date
	date=$(readlink -f /usr/bin/date)
	api_server
	api_pod web app=web
	policy_doc deny-id app=web Equal "$ID" | yaml_to_json | api_put tracingpolicies
	api_agent_start

	# the exec loop: a forbidden exec must always be killed, an allowed one never
	(
		while :; do
			[ "$(exit_in web "$ID")" = 137 ] || echo "forbidden exec ran" >>"$NODE_DIR/loop.bad"
			[ "$(exit_in web "$CAT" /dev/null)" = 0 ] || echo "allowed exec blocked" >>"$NODE_DIR/loop.bad"
		done
	) &
	loop=$!
	# 410 in band (expire) and as HTTP 410, malformed JSON, a connection cut
	# in the middle of an object, HTTP 500 and 429 (Retry-After)
	for fault in "expire 1" "http-410 1" "garbage 1" "cut 1" "http-500 3" "http-429 2"; do
		# shellcheck disable=SC2086 # kind and count
		api_fault $fault
		sleep 1.5
	done
	# a stalled server: the next watch response sends nothing for 30 s
	# while a policy changes; what it holds back arrives when it moves again
	api_fault stall 1
	sleep 1
	policy_doc deny-date app=web Equal "$date" | yaml_to_json | api_put tracingpolicies
	t0=$(now_ms)
	until [ "$(exit_in web "$date")" = 137 ]; do
		[ "$(elapsed_ms "$t0")" -le 40000 ] || fail "the change held back by the stall never came"
		sleep 0.5
	done
	api_delete tracingpolicies//deny-date
	# the server gone for 30 s, its history compacted meanwhile: the watch
	# comes back with a resourceVersion too old, and a relist reconciles what
	# was deleted (deny-ls) and added (deny-true) while no watch ran
	policy_doc deny-ls app=web Equal "$LS" | yaml_to_json | api_put tracingpolicies
	await_exit 137 web "$LS" /
	api_fault down 0 30
	api_delete tracingpolicies//deny-ls
	policy_doc deny-true app=web Equal "$TRUE" | yaml_to_json | api_put tracingpolicies
	api compact </dev/null
	sleep 31
	# back by itself, within its backoff (30 s at most, with jitter; a watch
	# the stall held may start backing off late)
	t0=$(now_ms)
	until [ "$(exit_in web "$TRUE")" = 137 ]; do
		[ "$(elapsed_ms "$t0")" -le 70000 ] ||
			fail "not recovered 70 s after the server came back: $(agent_status | jq -c .api)"
		sleep 0.2
	done
	kill "$loop"
	wait "$loop" 2>/dev/null
	[ -s "$NODE_DIR/loop.bad" ] && fail "during the faults: $(sort "$NODE_DIR/loop.bad" | uniq -c)"
	await_exit 0 web "$LS" /
	assert_match "$(st '[.api[].lists] | add')" '^([6-9]|[1-9][0-9])$' "relists"
	api_delete tracingpolicies//deny-true
	await_exit 0 web "$TRUE"
	assert_killed web "$ID"
	recovered=$(kernel_state)
	assert_match "$(st '[.api[].errors] | add')" '^[1-9]' "errors counted"

	# a fresh agent on the same objects holds the same
	agent_stop
	"$PODFENCE" unpin "$NODE_PIN" >/dev/null
	api_agent_start
	fresh=$(kernel_state)
	assert_eq "$recovered" "$fresh" "state after recovery vs a fresh agent's"
}
