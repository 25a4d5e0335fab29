# shellcheck shell=bash
# shellcheck disable=SC2119 # agent_start takes optional extra agent flags
# The agent end to end: policy and Pod files in, real processes in real
# (kubelet-layout) cgroups killed or not, events, status, check, restart.
# Run by tests/integration/run.sh: every test_<name> gets a fresh node and
# the helpers fail/skip/assert_eq/assert_match/now_ms/elapsed_ms.

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

# ---- fixtures ---------------------------------------------------------------

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

# Programs of this agent attached in the kernel: links whose program uses the
# agent's pinned cg_workload map, filtered by podfence's program names
# (bpftool shows at most 15 characters of a name).
PF_PROG_RE='^(tp_sched_exec|tp_cgroup_mkdir|tp_cgroup_rmdir|lsm_bprm_check|fmodret_bprm_ch)'
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
	agent_status | jq -c '{programs_attached, c: (.counts | {workloads, bound_cgroups, value_sets, values, bindings}),
		maps: [.maps[] | select(.name | test("^(cg_workload|wl_rules_[sl]|exact_[sml]|prefix_trie|suffix_trie|pol_counters)$")) | {(.name): .entries}] | add}'
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
	assert_eq "$out" "$d/good.yaml: ok: 1 policy, 1 value" "check good.yaml output"

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
