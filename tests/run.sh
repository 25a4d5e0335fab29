#!/usr/bin/env bash
# Runs the test tiers; ends with every failure line of every tier again (CI shows the end of
# the output), then one closing line: "N passed, N failed, N skipped".
# Usage: tests/run.sh [unit|bpf|bpf-compat|adversarial|integration|vm]...   (default: every tier)
# bpf-compat: the kernel tier again with the compat build of the programs (docs/kernels.md), which
# this kernel would not choose itself.
# adversarial: what a process in a bound pod would try to run a forbidden binary.
# vm is the kernel matrix (tests/vmtest/run.sh): the bpf and adversarial tiers on other
# kernels under QEMU.
# Under CI (CI=true) a kernel tier that skips anything fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
tiers=("$@")
[ ${#tiers[@]} -eq 0 ] && tiers=(unit bpf bpf-compat adversarial integration vm)

total_pass=0 total_fail=0 total_skip=0 ci_fail=0
# Every failure line of every tier, repeated just above the closing line: CI
# often shows only the end of the output.
failures=()

count() { # tier, log
	local line p f s
	line=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$2" | tail -1)
	if [ -z "$line" ]; then
		echo "tier $1: no result line (crashed?)"
		failures+=("$1: no result line (crashed?)")
		total_fail=$((total_fail + 1))
		return
	fi
	read -r p f s < <(echo "$line" | sed -E 's/^[a-z]+: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/')
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
	if [ "${CI:-}" = "true" ] && [ "$1" != unit ] && [ "$s" -gt 0 ]; then
		echo "tier $1: $s kernel test(s) skipped under CI: failing the run"
		failures+=("$1: $s kernel test(s) skipped under CI")
		ci_fail=1
	fi
}

for tier in "${tiers[@]}"; do
	log=$(mktemp)
	echo "=== tier: $tier"
	case "$tier" in
	unit) "$BUILD/tests/unit_tests" 2>&1 | tee "$log" ;;
	bpf) "$BUILD/tests/bpf_tests" 2>&1 | tee "$log" ;;
	bpf-compat) PODFENCE_PROGRAMS=compat "$BUILD/tests/bpf_tests" 2>&1 | tee "$log" ;;
	adversarial) "$BUILD/tests/adversarial_tests" 2>&1 | tee "$log" ;;
	integration) bash tests/integration/run.sh 2>&1 | tee "$log" ;;
	vm) BUILD=$BUILD bash tests/vmtest/run.sh 2>&1 | tee "$log" ;;
	*) echo "unknown tier $tier"; exit 2 ;;
	esac
	count "$tier" "$log"
	while IFS= read -r line; do failures+=("$tier: $line"); done < <(
		grep -E '^ *(FAIL|not ok)|^ +[^ ]+\.[ch]:[0-9]+: |^  [^ ]*: FAILED|^  \| |: [0-9]+ passed, [1-9][0-9]* failed' "$log")
	rm -f "$log"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "=== failures (${#failures[@]} lines)"
	printf '%s\n' "${failures[@]}" | tail -n 60
fi

echo "${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
[ "$total_fail" -eq 0 ] && [ "$ci_fail" -eq 0 ]
