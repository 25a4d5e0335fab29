# shellcheck shell=bash
# shellcheck disable=SC2119 # agent_start takes optional extra agent flags
# PolicyTemplate + PolicyBinding end to end: bindings cost map entries, never
# programs; several bindings of one template on one pod are united whatever
# their order and the overlap is reported; a binding waits for its template;
# a binding its template refuses is rejected alone.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

# template_doc [NAME]: an exec allowlist with its values left open (parameter "allowed").
template_doc() {
	cat <<EOF
apiVersion: podfence.io/v1alpha1
kind: PolicyTemplate
metadata:
  name: ${1:-exec-allowlist}
spec:
  parameters:
  - name: allowed
  lsmhooks:
  - hook: bprm_check_security
    args: [{index: 0, type: linux_binprm}]
    selectors:
    - matchArgs:
      - {index: 0, operator: NotEqual, valuesFrom: allowed}
      matchActions:
      - {action: Override, argError: -1}
EOF
}

# binding_doc NAME LABEL(k=v) VALUE...: a binding of exec-allowlist in namespace default.
binding_doc() {
	local name=$1 label=$2 v
	shift 2
	cat <<EOF
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata:
  name: $name
  namespace: default
spec:
  templateRef: exec-allowlist
  podSelector:
    matchLabels: {${label%%=*}: "${label#*=}"}
  values:
    allowed:
EOF
	for v in "$@"; do echo "    - \"$v\""; done
}

binding_state() { # NAME: state of binding default/NAME in status
	st ".bindings[] | select(.name == \"$1\") | .state"
}

# 1,000 pods, each with a binding of one template and values of its own: the
# kernel runs the same programs as with one binding, and each pod runs its own
# binary and not its neighbours'. (Its budget is the 30 s below; the whole test,
# 1,000 pods and their execs, is given 180 s: a loaded machine takes longer.)
#@timeout test_template_1000_bindings_one_program 180
test_template_1000_bindings_one_program() {
	local i k1 k2 t0 ms uid cid
	mkdir -p "$NODE_DIR/bin"
	for i in 1 2 500 999 1000; do cp "$TRUE" "$NODE_DIR/bin/tool-$i"; done
	template_doc | put_policy template.yaml
	binding_doc b1 app=t1 "$TRUE" "$NODE_DIR/bin/tool-1" | put_policy b0001.yaml
	pod_add default t1 "$(pod_uid t1)" app=t1 main
	agent_start || fail "agent did not start"
	await_exit 137 t1 "$ID"
	assert_runs t1 "$NODE_DIR/bin/tool-1"
	k1=$(kernel_programs)
	assert_match "$k1" '^loaded=[1-9][0-9]* attached=[1-9]' "programs with 1 binding"

	# pods t2..t1000 in one manifest file (cgroupfs layout, ids derived from i)
	{
		for i in $(seq 2 1000); do
			uid=$(printf '%08x-0000-4000-8000-%012x' "$i" "$i")
			cid=$(printf '%064x' "$i")
			mkdir -p "$NODE_CG/kubepods/burstable/pod$uid/$cid"
			printf 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: t%d\n  namespace: default\n' "$i"
			printf '  uid: %s\n  labels:\n    app: "t%d"\nspec:\n  containers:\n' "$uid" "$i"
			printf '  - name: main\n    image: example/main\nstatus:\n  qosClass: Burstable\n'
			printf '  containerStatuses:\n  - name: main\n    containerID: containerd://%s\n---\n' "$cid"
		done
	} >"$NODE_DIR/.pods.tmp"
	mv "$NODE_DIR/.pods.tmp" "$NODE_DIR/pods/many.yaml"
	t0=$(now_ms)
	for i in $(seq 2 1000); do
		binding_doc "b$i" "app=t$i" "$TRUE" "$NODE_DIR/bin/tool-$i"
		echo ---
	done | put_policy bindings.yaml
	until [ "$(st '[.instances[] | select(.pods == 1)] | length')" = 1000 ]; do
		[ "$(elapsed_ms "$t0")" -le 30000 ] || fail "1000 instances not in force after 30 s"
		sleep 0.2
	done
	ms=$(elapsed_ms "$t0")
	echo "1000 bindings on 1000 pods in force in $ms ms" >&2
	k2=$(kernel_programs)
	assert_eq "$k2" "$k1" "programs with 1000 bindings"
	assert_eq "$(st .counts.workloads)" 1000 "one workload per pod"
	assert_eq "$(st '[.bindings[] | select(.state == "active" and .pods == 1)] | length')" 1000 \
		"every binding active on its pod"
	for i in 2 500 1000; do
		uid=$(printf '%08x-0000-4000-8000-%012x' "$i" "$i")
		cid=$(printf '%064x' "$i")
		local cg="$NODE_CG/kubepods/burstable/pod$uid/$cid"
		assert_runs "$cg" "$NODE_DIR/bin/tool-$i"
		assert_runs "$cg" "$TRUE"
		assert_killed "$cg" "$NODE_DIR/bin/tool-$(( i == 2 ? 999 : 2 ))"
		assert_killed "$cg" "$ID"
	done
}

# union_checks: pod u1 runs what either binding allows, and nothing else.
union_checks() {
	await_exit 0 u1 "$CAT" /dev/null
	await_exit 0 u1 "$ID"
	assert_runs u1 "$TRUE"
	assert_killed u1 "$LS"
	await_status '[.overlaps[] | select(.pod == "default/u1" and .template == "exec-allowlist")
		| .bindings] == [["default/allow-a", "default/allow-b"]]' "overlap reported"
}

# Two bindings of one template on one pod: the union, in either order of
# arrival (and when both are there at start), with the overlap visible in
# status, events and check.
test_two_bindings_union_in_either_order() {
	local out
	pod u1 app=u
	template_doc | put_policy template.yaml
	agent_start || fail "agent did not start"

	binding_doc allow-a app=u "$TRUE" "$ID" | put_policy a.yaml
	await_exit 137 u1 "$CAT" /dev/null
	assert_runs u1 "$ID"
	binding_doc allow-b app=u "$TRUE" "$CAT" | put_policy b.yaml
	union_checks

	# the other order
	rm "$NODE_DIR/policies/a.yaml" "$NODE_DIR/policies/b.yaml"
	await_exit 0 u1 "$LS"
	binding_doc allow-b app=u "$TRUE" "$CAT" | put_policy b.yaml
	await_exit 137 u1 "$ID"
	binding_doc allow-a app=u "$TRUE" "$ID" | put_policy a.yaml
	union_checks

	# both present when the agent starts
	agent_stop
	agent_start || fail "agent did not restart"
	union_checks

	# the blocked exec's event names both bindings
	await_lines "$NODE_EVENTS" 1
	out=$(jq -c 'select(.path == "'"$LS"'" and .pod == "u1") | {policy, bindings, overlap}' \
		"$NODE_EVENTS" | tail -1)
	assert_eq "$out" '{"policy":"exec-allowlist","bindings":{"exec-allowlist":["default/allow-a","default/allow-b"]},"overlap":true}' \
		"event of a blocked exec"

	# check reports the same overlap from the files alone
	out=$("$PODFENCE" check --pods "$NODE_DIR/pods" "$NODE_DIR/policies" 2>&1)
	assert_match "$out" "pod default/u1 container main: bindings default/allow-a, default/allow-b of template exec-allowlist overlap" \
		"check --pods"
}

# A binding whose template does not exist is reported and enforces nothing;
# it becomes active when the template appears, and waits again when it goes.
test_binding_waits_for_its_template() {
	pod w1 app=w
	binding_doc allow-w app=w "$TRUE" | put_policy binding.yaml
	agent_start || fail "agent did not start"
	assert_eq "$(binding_state allow-w)" waiting-for-template "state before the template"
	assert_runs w1 "$ID"
	template_doc | put_policy template.yaml
	await_exit 137 w1 "$ID"
	assert_runs w1 "$TRUE"
	assert_eq "$(binding_state allow-w)" active "state with the template"
	rm "$NODE_DIR/policies/template.yaml"
	await_exit 0 w1 "$ID"
	assert_eq "$(binding_state allow-w)" waiting-for-template "state after the template left"
}

# A binding giving a parameter the template does not have is rejected alone
# (file:line:col in status); the other binding on the pod keeps enforcing.
test_refused_binding_affects_only_itself() {
	pod r1 app=r
	template_doc | put_policy template.yaml
	binding_doc good app=r "$TRUE" "$ID" | put_policy good.yaml
	binding_doc bad app=r "$LS" | sed 's/^    allowed:/    alowed:/' | put_policy bad.yaml
	agent_start || fail "agent did not start"
	assert_runs r1 "$ID"
	assert_killed r1 "$LS"
	assert_eq "$(binding_state bad)" rejected "state of the bad binding"
	assert_match "$(st '.bindings[] | select(.name == "bad") | .error')" \
		'bad\.yaml:[0-9]+:[0-9]+: spec\.values\.alowed: template "exec-allowlist" has no parameter "alowed"' \
		"error names the field and position"
	assert_eq "$(binding_state good)" active "state of the good binding"
}

# `podfence check` refuses values no resolved path can equal, at the value's
# file:line:col with exit 1, in policies and in binding values (checked with
# the operator their template uses); memfd and unlinked-file paths stay valid.
test_check_refuses_noncanonical_values() {
	local d=$NODE_DIR/check out rc f
	mkdir -p "$d"
	policy_doc dotdot app=x Equal /usr/bin/../bin/true >"$d/dotdot.yaml"
	policy_doc dot app=x NotEqual /usr/./bin/true >"$d/dot.yaml"
	policy_doc kernel app=x NotEqual "$TRUE" "/memfd:payload (deleted)" "/tmp/x (deleted)" \
		>"$d/kernel.yaml"
	template_doc >"$d/template.yaml"
	binding_doc web app=web "$TRUE" /usr//bin/id >"$d/binding.yaml"

	declare -A want=(
		[dotdot]='20:11: error: spec.kprobes[0].selectors[0].matchArgs[0].values[0]: "/usr/bin/../bin/true" has a ".." component: it can never match'
		[dot]='20:11: error: spec.kprobes[0].selectors[0].matchArgs[0].values[0]: "/usr/./bin/true" has a "." component: it can never match (the kernel reports resolved paths): write "/usr/bin/true"'
	)
	for f in "${!want[@]}"; do
		out=$("$PODFENCE" check "$d/$f.yaml" 2>&1)
		rc=$?
		assert_eq "$rc" 1 "check $f.yaml exit status"
		assert_eq "$(wc -l <<<"$out")" 1 "lines printed for $f.yaml ($out)"
		[[ $out == "$d/$f.yaml:${want[$f]}"* ]] || fail "check $f.yaml: got '$out', expected '$d/$f.yaml:${want[$f]}...'"
	done

	out=$("$PODFENCE" check "$d/kernel.yaml" 2>&1)
	assert_eq "$?" 0 "check kernel.yaml exit status ($out)"

	out=$("$PODFENCE" check "$d/template.yaml" "$d/binding.yaml" 2>&1)
	rc=$?
	assert_eq "$rc" 1 "check of a binding with a non-canonical value: exit status"
	assert_eq "$out" "$d/binding.yaml:13:7: error: spec.values.allowed[1]: \"/usr//bin/id\" has an empty component (\"//\"): it can never match (the kernel reports resolved paths): write \"/usr/bin/id\" (NotEqual value of template \"exec-allowlist\" line 13)" \
		"binding error at the value"
}

# The opt-out of the container's view is a warning wherever it is used, and
# --explain shows the view of every policy.
test_check_warns_when_a_policy_opts_out_of_the_container_view() {
	local d=$NODE_DIR/check out rc
	mkdir -p "$d"
	policy_doc nested app=ci NotEqual "$TRUE" |
		sed 's/^metadata:$/metadata:\n  annotations: {podfence.io\/path-view: task}/' >"$d/nested.yaml"
	policy_doc plain app=web NotEqual "$TRUE" >"$d/plain.yaml"
	out=$("$PODFENCE" check --explain "$d/nested.yaml" "$d/plain.yaml" 2>&1)
	rc=$?
	assert_eq "$rc" 0 "a warning does not fail check ($out)"
	assert_match "$out" "nested.yaml:1:1: warning: TracingPolicy nested: podfence.io/path-view: task: paths are matched as the executing process sees them" \
		"the warning names the file, the policy and the risk"
	assert_match "$out" "path view: task \(podfence.io/path-view\)" "--explain: the opted-out view"
	assert_match "$out" "path view: container \(an exec outside the container's view is denied\)" \
		"--explain: the default view"
	[ "$(grep -c 'warning: .*path-view' <<<"$out")" = 1 ] || fail "one warning, for the opted-out policy only: $out"
}
