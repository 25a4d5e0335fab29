# shellcheck shell=bash
# shellcheck disable=SC2119 # agent_start takes optional extra agent flags
# The agent end to end: policy and Pod files in, real processes in real
# (kubelet-layout) cgroups killed or not, events, status, check, restart.
# Run by tests/integration/run.sh: every test_<name> gets a fresh node and
# the helpers fail/skip/assert_eq/assert_match/now_ms/elapsed_ms.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

# ---- tests ------------------------------------------------------------------

# The CFP-4191 policies, byte for byte: each deployment runs only its allowlist.
test_seed_policies_unchanged() {
	local p
	[ -f "$SEED" ] || skip "seed policy not found ($SEED)"
	# /usr/bin/my-server-{1,2} do not exist here: allowlisted, never executed.
	for p in /usr/bin/sleep /usr/bin/cat /usr/bin/ls; do
		[ -x "$p" ] && [ "$(readlink -f "$p")" = "$p" ] && continue
		skip "seed path $p is not a real executable here ($(readlink -f "$p"))"
	done
	cp "$SEED" "$NODE_DIR/policies/"
	pod app1 app=my-deployment-1
	pod app2 app=my-deployment-2
	pod other app=something-else,tier=web
	agent_start || fail "agent did not start"

	assert_eq "$(st '.counts.policies')" 2 "policies loaded"
	assert_eq "$(st '.errors | length')" 0 "status errors"
	assert_eq "$(st '[.policies[] | select(.pods == 1)] | length')" 2 "each policy selects one pod"

	assert_runs app1 /usr/bin/cat /dev/null
	assert_runs app1 /usr/bin/sleep 0
	assert_killed app1 /usr/bin/ls /
	assert_killed app1 /usr/bin/id

	assert_runs app2 /usr/bin/ls /
	assert_killed app2 /usr/bin/cat /dev/null
	assert_killed app2 /usr/bin/sleep 0
	assert_killed app2 /usr/bin/id

	for p in "/usr/bin/cat /dev/null" "/usr/bin/ls /" /usr/bin/id "/usr/bin/sleep 0" /usr/bin/true; do
		# shellcheck disable=SC2086
		assert_runs other $p
	done
}

# Two policies selecting one pod both apply (Tetragon: independent policies).
test_two_policies_same_pod_both_apply() {
	pod web app=web
	deny_policy deny-cat.yaml deny-cat app=web "$CAT"
	deny_policy deny-id.yaml deny-id app=web "$ID"
	agent_start || fail "agent did not start"

	assert_eq "$(st '[.policies[] | select(.pods == 1)] | length')" 2 "both policies select the pod"
	assert_killed web "$CAT" /dev/null
	assert_killed web "$ID"
	assert_runs web "$TRUE"
	assert_runs web "$LS" /
	await_lines "$NODE_EVENTS" 2
	assert_eq "$(jq -r 'select(.path == "'"$CAT"'") | .policy' "$NODE_EVENTS")" deny-cat "policy of the cat event"
	assert_eq "$(jq -r 'select(.path == "'"$ID"'") | .policy' "$NODE_EVENTS")" deny-id "policy of the id event"
}

test_pod_without_policy_is_unaffected() {
	pod web app=web
	pod db app=db,tier=backend
	allow_policy allow-web.yaml allow-web app=web "$TRUE"
	agent_start || fail "agent did not start"

	assert_killed web "$ID"
	assert_runs db "$ID"
	assert_runs db "$CAT" /dev/null
	assert_runs db "$LS" /
	assert_runs db "$TRUE"
	assert_eq "$(st '.counts.pods')" 2 "pods known"
	sleep 0.2
	assert_eq "$(jq -c 'select(.pod != "web")' "$NODE_EVENTS")" "" "events outside the policed pod"
}

test_events_one_line_per_blocked_exec() {
	local cg n
	pod web app=web
	pod db app=db
	allow_policy allow-web.yaml allow-web app=web "$TRUE"
	agent_start || fail "agent did not start"
	cg=$(cg_of web)

	assert_killed web "$ID"
	assert_runs web "$TRUE"
	assert_killed web "$CAT" /dev/null
	assert_runs web "$TRUE"
	assert_killed web "$ID"
	assert_runs db "$ID"
	await_lines "$NODE_EVENTS" 3
	sleep 0.2 # nothing more may come
	n=$(wc -l <"$NODE_EVENTS")
	assert_eq "$n" 3 "event lines"
	assert_eq "$(jq -r .path "$NODE_EVENTS" | tr '\n' ' ')" "$ID $CAT $ID " "event paths, in order"
	n=$(jq -c --argjson cgid "$(stat -c %i "$cg")" 'select(
		.namespace == "default" and .pod == "web" and .container == "main" and
		.policy == "allow-web" and .action == "blocked" and .blocked == true and
		.cgroup_id == $cgid and (.pid | type) == "number")' "$NODE_EVENTS" | wc -l)
	assert_eq "$n" 3 "events with namespace/pod/container/policy/action/blocked/cgroup_id right (got: $(cat "$NODE_EVENTS"))"
	assert_eq "$(st .events_written)" 3 "status events_written"
}

# A file name that is not UTF-8: the event line is still valid JSON (strictly
# UTF-8), the name readable with U+FFFD, the exact bytes in path_base64.
test_event_with_non_utf8_path_is_valid_json() {
	local bad dir line
	pod web app=web
	allow_policy allow-web.yaml allow-web app=web "$TRUE"
	agent_start || fail "agent did not start"
	dir=$(readlink -f "$NODE_DIR")
	bad="$dir/bad-$(printf '\377\376')-name"
	cp "$TRUE" "$bad"
	assert_killed web "$bad"
	await_lines "$NODE_EVENTS" 1
	line=$(head -1 "$NODE_EVENTS")
	iconv -f UTF-8 -t UTF-8 "$NODE_EVENTS" >/dev/null || fail "event line is not UTF-8: $line"
	jq -e . "$NODE_EVENTS" >/dev/null || fail "event line is not JSON: $line"
	assert_eq "$(jq -r .path "$NODE_EVENTS")" "$dir/bad-$(printf '\357\277\275\357\277\275')-name" \
		"path with U+FFFD for the bytes that are not UTF-8"
	assert_eq "$(jq -r .path_base64 "$NODE_EVENTS" | base64 -d | od -An -c | tr -d ' \n')" \
		"$(printf '%s' "$bad" | od -An -c | tr -d ' \n')" "path_base64 holds the exact bytes"
}

test_policy_edit_applies_within_1s() {
	pod web app=web
	allow_policy allow.yaml allow-web app=web "$TRUE" "$CAT"
	agent_start || fail "agent did not start"
	assert_runs web "$CAT" /dev/null
	assert_killed web "$ID"

	# Edited in place (truncate + write), as `kubectl`-less humans do.
	policy_doc allow-web app=web NotEqual "$TRUE" >"$NODE_DIR/policies/allow.yaml"
	await_exit 137 web "$CAT" /dev/null
	assert_runs web "$TRUE"

	policy_doc allow-web app=web NotEqual "$TRUE" "$CAT" "$ID" >"$NODE_DIR/policies/allow.yaml"
	await_exit 0 web "$ID"
	assert_runs web "$CAT" /dev/null
	assert_killed web "$LS" /

	# A new file selecting the same pod adds to it.
	deny_policy deny.yaml deny-true app=web "$TRUE"
	await_exit 137 web "$TRUE"
	assert_runs web "$ID"
}

test_pod_removed_unbinds_within_1s() {
	pod web app=web
	pod db app=db
	allow_policy allow.yaml allow-web app=web "$TRUE"
	allow_policy allow2.yaml allow-db app=db "$TRUE"
	agent_start || fail "agent did not start"
	assert_killed web "$ID"
	assert_killed db "$ID"

	rm "$(pod_file web)"
	await_exit 0 web "$ID"
	assert_killed db "$ID"
	await_status '.counts.pods == 1' "pod count after removal"
}

test_pod_added_later_binds_within_1s() {
	allow_policy allow.yaml allow-web app=web "$TRUE"
	agent_start || fail "agent did not start"
	assert_eq "$(st '.counts.workloads')" 0 "workloads before the pod"

	pod web app=web
	await_exit 137 web "$ID"
	assert_runs web "$TRUE"
	assert_eq "$(st '.counts.pods')" 1 "pods"
	assert_eq "$(st '.policies[0].pods')" 1 "pods of the policy"
}

# Processes in a cgroup made under a bound one (runc exec, systemd in a pod) stay fenced.
test_child_cgroup_inherits_binding() {
	local cg before after
	pod web app=web
	allow_policy allow.yaml allow-web app=web "$TRUE"
	agent_start || fail "agent did not start"
	cg=$(cg_of web)
	before=$(st '.kernel_stats.cgroups_inherited')

	mkdir -p "$cg/child/grandchild" || fail "mkdir under $cg"
	assert_killed "$cg/child" "$ID"
	assert_runs "$cg/child" "$TRUE"
	assert_killed "$cg/child/grandchild" "$CAT" /dev/null
	assert_runs "$cg/child/grandchild" "$TRUE"
	after=$(st '.kernel_stats.cgroups_inherited')
	[ "$after" -ge $((before + 2)) ] || fail "cgroups_inherited went from $before to $after"

	# Unbound parents give nothing to their children.
	mkdir "$NODE_CG/kubepods/stray" || fail "mkdir stray"
	assert_runs "$NODE_CG/kubepods/stray" "$ID"
	await_lines "$NODE_EVENTS" 2
	assert_eq "$(jq -r 'select(.path == "'"$ID"'") | "\(.pod)/\(.container)"' "$NODE_EVENTS")" \
		"web/main" "event of the inherited cgroup names its pod"
}

# Broken files are rejected with file:line:col; everything else keeps working.
test_broken_policy_rejected_previous_version_stays() {
	local P=$NODE_DIR/policies
	pod web app=web
	pod db app=db
	allow_policy good.yaml allow-web app=web "$TRUE" "$CAT"
	# 4:22 = the second ':' on `  name: "bad-syntax" : oops`
	policy_doc bad-syntax app=db NotEqual "$TRUE" | sed '4s/$/ : oops/' | put_policy bad-syntax.yaml
	policy_doc bad-field app=db NotEqual "$TRUE" | sed '6s/podSelector/podSelectr/' | put_policy bad-field.yaml
	policy_doc bad-hook app=db NotEqual "$TRUE" | sed '10s/security_bprm_creds_for_exec/security_file_open/' |
		put_policy bad-hook.yaml
	agent_start || fail "agent did not start"

	assert_status_error "^$P/bad-syntax.yaml:4:22: error: "
	assert_status_error "^$P/bad-field.yaml:6:3: error: .*unknown field \"podSelectr\""
	assert_status_error "^$P/bad-hook.yaml:10:11: error: .*security_file_open.* not supported"
	assert_eq "$(st .counts.files_rejected)" 3 "files rejected"
	assert_eq "$(st .counts.policies)" 1 "policies in force"
	assert_runs web "$CAT" /dev/null
	assert_killed web "$ID"
	assert_runs db "$ID" # every policy for db is broken

	# Broken while running: reported, agent alive, others unaffected.
	policy_doc bad-op app=db NotEquals "$TRUE" | put_policy bad-op.yaml
	await_status "[.errors[] | test(\"^$P/bad-op.yaml:18:19: error: .*NotEquals\")] | any" "bad-op reported"
	kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died"
	assert_killed web "$ID"

	# A good file turning bad: its last good version stays in force.
	policy_doc allow-web app=web NotEqual "$TRUE" | sed '6s/podSelector/podSelectr/' >"$P/good.yaml"
	await_status "[.errors[] | test(\"^$P/good.yaml:6:3: error: \")] | any" "good.yaml reported"
	assert_runs web "$CAT" /dev/null
	assert_killed web "$ID"
	assert_eq "$(st .counts.policies)" 1 "policies in force"

	# Emptied (a write caught halfway): rejected, the last good version stays.
	: >"$P/good.yaml"
	await_status "[.errors[] | test(\"^$P/good.yaml: error: defines no policy\")] | any" "empty good.yaml reported"
	assert_killed web "$ID"

	# Fixed: the new version applies and its error is gone.
	policy_doc allow-web app=web NotEqual "$TRUE" >"$P/good.yaml"
	await_exit 137 web "$CAT" /dev/null
	assert_eq "$(st "[.errors[] | select(startswith(\"$P/good.yaml\"))] | length")" 0 "good.yaml errors"
	kill -0 "$AGENT_PID" 2>/dev/null || fail "agent died"
}

# SIGKILL the agent during an exec loop, restart it: enforcement never stops.
test_restart_without_gap() {
	local cg stop=$NODE_DIR/stop leaks=$NODE_DIR/leaks count=$NODE_DIR/count loop_pid n
	pod web app=web
	allow_policy allow.yaml allow-web app=web "$TRUE"
	agent_start || fail "agent did not start"
	cg=$(cg_of web)
	: >"$leaks"
	(
		n=0
		while [ ! -e "$stop" ]; do
			rc=$(run_in "$cg" "$ID")
			[ "$rc" = 137 ] || echo "forbidden exec exited $rc (iteration $n)" >>"$leaks"
			rc=$(run_in "$cg" "$TRUE")
			[ "$rc" = 0 ] || echo "allowed exec exited $rc (iteration $n)" >>"$leaks"
			n=$((n + 1))
		done
		echo "$n" >"$count"
	) &
	loop_pid=$!

	sleep 0.3
	kill -9 "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
	sleep 0.3 # no agent at all: the pinned programs enforce alone
	[ -e "$NODE_PIN/link_exec" ] || fail "$NODE_PIN/link_exec is gone after SIGKILL"
	agent_start || fail "agent did not restart"
	assert_eq "$(st .ready)" true "ready after restart"
	assert_eq "$(st .took_over)" true "took_over after restart"
	sleep 0.3
	touch "$stop"
	wait "$loop_pid"
	n=$(cat "$count" 2>/dev/null)
	[ -s "$leaks" ] && fail "during the restart: $(head -n 3 "$leaks" | tr '\n' ';')"
	[ "${n:-0}" -ge 30 ] || fail "the exec loop ran only ${n:-0} iterations"
	echo "exec loop: $n forbidden + $n allowed execs, none let through or blocked wrongly"

	# The new agent owns the state: edits apply, other binaries stay fenced.
	policy_doc allow-web app=web NotEqual "$TRUE" "$ID" >"$NODE_DIR/policies/allow.yaml"
	await_exit 0 web "$ID"
	assert_killed web "$CAT" /dev/null
	assert_eq "$(st .counts.workloads)" 1 "workloads after the edit"
}

# 10,000 policies cost what 1 costs: same programs, nothing for unselected ones.
test_scale_10000_policies_same_programs() {
	local k1 k2 s1 s2 t0 ms
	pod p1 app=p1
	pod bystander app=none
	# p1..p10000, each selecting app=p<i> and allowing its own binary.
	gen() { # FIRST LAST
		awk -v a="$1" -v b="$2" -v t="$TRUE" 'BEGIN { for (i = a; i <= b; i++) printf \
"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"p%d\"\nspec:\n" \
"  podSelector:\n    matchLabels:\n      app: \"p%d\"\n  kprobes:\n" \
"  - call: \"security_bprm_creds_for_exec\"\n    args:\n    - index: 0\n      type: \"linux_binprm\"\n" \
"    selectors:\n    - matchArgs:\n      - index: 0\n        operator: \"NotEqual\"\n" \
"        values:\n        - \"%s\"\n        - \"/opt/p%d/server\"\n      matchActions:\n" \
"      - action: Override\n        argError: -1\n---\n", i, i, t, i }'
	}
	gen 1 1 | put_policy p0001.yaml
	agent_start || fail "agent did not start"
	assert_killed p1 "$ID"
	assert_runs p1 "$TRUE"
	k1=$(kernel_programs) s1=$(kernel_state)
	assert_match "$k1" '^loaded=[1-9][0-9]* attached=[1-9]' "programs with 1 policy"

	t0=$(now_ms)
	for k in $(seq 0 9); do
		gen $((k * 1000 + 2)) $((k * 1000 + 1001 > 10000 ? 10000 : k * 1000 + 1001)) |
			put_policy "gen$k.yaml"
	done
	until [ "$(st .counts.policies)" = 10000 ]; do
		[ "$(elapsed_ms "$t0")" -le 10000 ] || fail "10,000 policies not loaded after 10 s: $(st .counts)"
		sleep 0.1
	done
	ms=$(elapsed_ms "$t0")
	assert_eq "$(st .errors)" "[]" "status errors"
	k2=$(kernel_programs) s2=$(kernel_state)
	echo "10,000 policies written and loaded in $ms ms; programs: $k1 (1 policy), $k2 (10,000)"
	echo "kernel state: $s2"
	assert_eq "$k2" "$k1" "podfence programs in the kernel, 10,000 policies vs 1"
	assert_eq "$s2" "$s1" "kernel state, 10,000 policies vs 1"
	assert_eq "$(st .programs_attached)" "$(jq .programs_attached <<<"$s1")" "status programs_attached"
	assert_killed p1 "$ID"
	assert_runs bystander "$ID"

	# The policies are live: a pod that one of them selects gets bound.
	pod p5000 app=p5000
	await_exit 137 p5000 "$ID"
	assert_eq "$(st .counts.workloads)" $(($(jq .c.workloads <<<"$s1") + 1)) "workloads with a second selected pod"
	assert_eq "$(kernel_programs)" "$k1" "programs with a second selected pod"
}

# `podfence check`: one precise diagnostic per broken file, exit 1; ok and 0 otherwise.
test_check_reports_file_line_col() {
	local d=$NODE_DIR/check out rc f long
	mkdir -p "$d"
	policy_doc good app=x NotEqual "$TRUE" >"$d/good.yaml"
	policy_doc syntax app=x NotEqual "$TRUE" | sed '4s/$/ : oops/' >"$d/syntax.yaml"
	policy_doc unknown app=x NotEqual "$TRUE" | sed '6s/podSelector/podSelectr/' >"$d/unknown.yaml"
	policy_doc hook app=x NotEqual "$TRUE" | sed '10s/security_bprm_creds_for_exec/security_file_open/' >"$d/hook.yaml"
	long=/$(head -c 1100 /dev/zero | tr '\0' a)
	policy_doc oversize app=x NotEqual "$long" >"$d/oversize.yaml"
	policy_doc operator app=x NotEquals "$TRUE" >"$d/operator.yaml"

	out=$("$PODFENCE" check "$d/good.yaml" 2>&1)
	rc=$?
	assert_eq "$rc" 0 "check good.yaml exit status"
	assert_eq "$out" "ok: 1 file: 1 policy, 0 templates, 0 bindings, 1 value" "check good.yaml output"

	declare -A want=(
		[syntax]='4:18: error: mapping values are not allowed'
		[unknown]='6:3: error: spec.podSelectr: unknown field "podSelectr"'
		[hook]='10:11: error: spec.kprobes[0].call: "security_file_open" is not supported'
		[oversize]='20:11: error: spec.kprobes[0].selectors[0].matchArgs[0].values[0]: value is 1101 bytes, longer than the 1024-byte limit'
		[operator]='18:19: error: spec.kprobes[0].selectors[0].matchArgs[0].operator: "NotEquals" is not supported'
	)
	for f in "${!want[@]}"; do
		out=$("$PODFENCE" check "$d/$f.yaml" 2>&1)
		rc=$?
		assert_eq "$rc" 1 "check $f.yaml exit status"
		assert_eq "$(wc -l <<<"$out")" 1 "lines printed for $f.yaml ($out)"
		[[ $out == "$d/$f.yaml:${want[$f]}"* ]] || fail "check $f.yaml: got '$out', expected '$d/$f.yaml:${want[$f]}...'"
	done

	# All at once (good one included): one line per broken file, exit 1.
	out=$("$PODFENCE" check --quiet "$d"/*.yaml 2>&1)
	rc=$?
	assert_eq "$rc" 1 "check of every file: exit status"
	assert_eq "$(grep -c ': error: ' <<<"$out")" 5 "error lines for 5 broken files ($out)"
	assert_eq "$(wc -l <<<"$out")" 5 "lines printed for 5 broken + 1 good file with --quiet"
}

test_counters_map_full_is_reported_and_policies_still_enforce() {
	pod a app=a
	pod b app=b
	pod c app=c
	deny_policy deny-a.yaml deny-a app=a "$ID"
	deny_policy deny-b.yaml deny-b app=b "$ID"
	deny_policy deny-c.yaml deny-c app=c "$ID"
	agent_start --map-size pol_counters=2 || fail "agent did not start"

	assert_eq "$(st '.counts.policies_without_counters')" 1 "policies without counters"
	assert_status_error '1 policies .* enforced without counters: map pol_counters full'
	grep -q 'map pol_counters full (2 entries)' "$NODE_LOG" || fail "no capacity error with numbers in the log"
	assert_killed a "$ID"
	assert_killed b "$ID"
	assert_killed c "$ID"
}
