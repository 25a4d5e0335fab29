# shellcheck shell=bash
# Conformance: every Tetragon policy of the shared corpus goes through
# `podfence check`. The exec policies compile; every other file is refused
# with an error naming its field and position, and nothing crashes.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

CORPUS=$SHARED/corpus/tetragon

# file | expected: "ok", or the first error as "line:col: error: field: start of message"
corpus_expectations() {
	cat <<'EOF'
CFP4191__per-workload-exec-allowlist__policy-1_policy-2.yaml|ok
examples__tracingpolicy__lsm_bprm_check.yaml|ok
PR4279__poc__test__app.yaml|3:7: error: kind: "Deployment" is not a policy kind
PR4279__poc__test__binding1.yaml|11:11: error: spec.options[0].name: option "binding" belongs to Tetragon's template proof of concept
PR4279__poc__test__template.yaml|22:11: error: spec.options[1].name: option "binding" belongs to Tetragon's template proof of concept
examples__other__file-block-kubectl-exec-access.yaml|5:7: error: kind: "Pod" is not a policy kind
examples__quickstart__file_monitoring.yaml|8:11: error: spec.kprobes[0].call: "security_file_permission" is not supported
examples__quickstart__file_monitoring_enforce.yaml|8:11: error: spec.kprobes[0].call: "security_file_permission" is not supported
examples__tracingpolicy__cves__cve-2024-3094-xz-ssh.yaml|43:11: error: spec.kprobes[0].call: "security_mmap_file" is not supported
examples__tracingpolicy__filename_monitoring.yaml|8:11: error: spec.kprobes[0].call: "security_file_permission" is not supported
examples__tracingpolicy__filename_monitoring_filtered.yaml|8:11: error: spec.kprobes[0].call: "security_file_permission" is not supported
examples__tracingpolicy__hardlink-override.yaml|13:11: error: spec.kprobes[0].call: "sys_linkat" is not supported
examples__tracingpolicy__killer.yaml|7:3: error: spec.lists: field "lists" is not supported
examples__tracingpolicy__lsm_file_open.yaml|8:11: error: spec.lsmhooks[0].hook: "file_open" is not supported
examples__tracingpolicy__modules-nohost.yaml|15:11: error: spec.kprobes[0].call: "security_kernel_module_request" is not supported
examples__tracingpolicy__override-security.yaml|8:11: error: spec.kprobes[0].call: "security_inode_mkdir" is not supported
examples__tracingpolicy__process-exec__process-exec-elf-begin.yaml|22:11: error: spec.kprobes[0].call: "security_bprm_creds_from_file" is not supported
examples__tracingpolicy__security_bprm_check.yaml|13:5: error: spec.kprobes[0].returnArg: field "returnArg" is not supported
examples__tracingpolicy__symlink-override.yaml|13:11: error: spec.kprobes[0].call: "sys_symlinkat" is not supported
examples__tracingpolicy__tcp-connect-only-local-addrs.yaml|33:7: error: spec.kprobes[0].selectors[0].matchBinaries: not supported on connect hooks yet
tests__e2e__tests__policyfilter__matchWorkloadsPolicy.yaml|8:11: error: spec.kprobes[0].call: "security_file_permission" is not supported
EOF
}

test_corpus_conformance() {
	local f name want out rc first n=0 compiled=0
	[ -d "$CORPUS" ] || skip "shared corpus not present ($CORPUS)"
	for f in "$CORPUS"/*.yaml; do
		name=$(basename "$f")
		want=$(corpus_expectations | awk -F'|' -v n="$name" '$1 == n { print $2 }')
		[ -n "$want" ] || fail "$name: no expectation (a new corpus file: add it to the table)"
		out=$("$PODFENCE" check "$f" 2>&1)
		rc=$?
		n=$((n + 1))
		if [ "$want" = ok ]; then
			[ "$rc" -eq 0 ] || fail "$name: expected to compile, exit $rc: $out"
			"$PODFENCE" check --explain "$f" | grep -q 'selector 0' ||
				fail "$name: --explain shows no compiled selector"
			compiled=$((compiled + 1))
			continue
		fi
		[ "$rc" -eq 1 ] || fail "$name: expected exit 1 (refused), got $rc: $out"
		# every error line carries file:line:col
		if grep -v -E "^$f:[0-9]+:[0-9]+: (error|warning): " <<<"$out" | grep -q .; then
			fail "$name: a line without file:line:col: $out"
		fi
		first=$(grep -m1 ': error: ' <<<"$out")
		[[ $first == "$f:$want"* ]] || fail "$name: first error is '$first', expected '$f:$want...'"
	done
	echo "$n corpus files: $compiled compile, $((n - compiled)) refused" >&2
	[ "$compiled" -ge 2 ] || fail "exec policies of the corpus did not compile"
}

# The exec policy with matchBinaries compiles to a caller condition and
# enforces: bash running nop is blocked, another caller is not.
test_corpus_lsm_bprm_check_enforces_caller() {
	local f=$CORPUS/examples__tracingpolicy__lsm_bprm_check.yaml bash sh
	[ -f "$f" ] || skip "shared corpus not present ($CORPUS)"
	bash=$(readlink -f /usr/bin/bash)
	[ "$bash" = /usr/bin/bash ] || skip "/usr/bin/bash is $bash here (the policy names /usr/bin/bash)"
	sh=$(readlink -f /bin/sh)
	mkdir -p "$NODE_DIR/contrib/tester-progs"
	cp "$TRUE" "$NODE_DIR/contrib/tester-progs/nop"
	cp "$f" "$NODE_DIR/policies/"
	pod lsm app=any
	agent_start || fail "agent did not start"
	assert_match "$("$PODFENCE" check --explain "$f")" 'path Postfix 1 value AND caller In 2 values' \
		"compiled conditions"
	# run_in execs bash, which forks and execs nop: bash is the caller
	assert_eq "$(exit_in lsm /usr/bin/bash -c "\"$NODE_DIR/contrib/tester-progs/nop\"; exit \$?")" 137 \
		"nop executed by bash"
	[ "$sh" = /usr/bin/bash ] && skip "/bin/sh is bash here: no second caller to compare with"
	assert_eq "$(exit_in lsm "$sh" -c "\"$NODE_DIR/contrib/tester-progs/nop\"; exit \$?")" 0 \
		"nop executed by $sh"
}
