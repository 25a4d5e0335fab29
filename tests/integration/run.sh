#!/usr/bin/env bash
# Integration tier: the agent and the CLI end to end, with real processes in
# real cgroups of a throw-away node (tests/lib/fake-node.sh).
#
# Usage: tests/integration/run.sh [PATTERN]
#   Runs every test_<name> function of tests/integration/test_*.sh (only the
#   names containing PATTERN when given). Each test runs in a process of its
#   own with a fresh node (node_init), torn down by a trap (node_cleanup) even
#   when the test fails or times out. Prints "ok   <name>", "FAIL <name>: why"
#   (then the test's output), "SKIP <name>: why", and ends with one line
#   "integration: N passed, N failed, N skipped". Exit status 1 if any failed.
#
# Tests use the helpers below: fail MSG, skip REASON, assert_eq ACTUAL EXPECTED WHAT,
# assert_match TEXT REGEX WHAT, elapsed_ms T0, now_ms.
set -uo pipefail
# Debian's python3 first: its modules (yaml, prometheus_client, jsonschema) are
# what mk/setup.sh installs, whatever interpreter a user's PATH prefers.
PATH=/usr/bin:$PATH

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TEST_TIMEOUT=${PF_IT_TIMEOUT:-60}

# ---- helpers available to tests (the --one mode) --------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed_ms() { echo $(($(now_ms) - $1)); }

fail() {
	printf '%s\n' "$*" >"$PF_RESULT"
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	printf '%s\n' "$*" >"$PF_RESULT"
	exit 77
}

assert_eq() { # actual expected what
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

assert_match() { # text extended-regex what
	[[ $1 =~ $2 ]] || fail "$3: '$1' does not match /$2/"
}

# Kills what the test left behind (by pid: its background jobs, then whatever
# still sits in the node's private cgroups), then removes the node.
_pf_teardown() {
	local rc=$? pids pid f
	trap - EXIT TERM INT
	pids=$(jobs -p)
	for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
	if [ -n "${NODE_CG:-}" ] && [ -d "$NODE_CG" ]; then
		while read -r f; do
			while read -r pid; do kill -9 "$pid" 2>/dev/null; done <"$f"
		done < <(find "$NODE_CG" -name cgroup.procs 2>/dev/null)
	fi
	for pid in $pids; do wait "$pid" 2>/dev/null; done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${NODE_LOG:-}" ] && [ -s "$NODE_LOG" ]; then
		echo "--- agent log (last 30 lines)" >&2
		tail -n 30 "$NODE_LOG" >&2
	fi
	node_cleanup >/dev/null 2>&1
	exit "$rc"
}

run_one() { # file function result-file
	PF_RESULT=$3
	# shellcheck source=/dev/null
	source "$1" || fail "cannot source $1"
	declare -F "$2" >/dev/null || fail "no function $2 in $1"
	trap _pf_teardown EXIT
	trap 'exit 124' TERM INT
	node_init "${2#test_}" || fail "node_init failed"
	"$2"
}

if [ "${1:-}" = --one ]; then
	run_one "$2" "$3" "$4"
	exit $?
fi

# ---- the runner -----------------------------------------------------------

filter=${1:-}
passed=0 failed=0 skipped=0
t_start=$(now_ms)

tests=()
for f in "$HERE"/test_*.sh; do
	[ -e "$f" ] || continue
	while read -r fn; do
		[ -z "$filter" ] || [[ $fn == *"$filter"* ]] || continue
		tests+=("$f:$fn")
	done < <(grep -oE '^test_[A-Za-z0-9_]+[[:space:]]*\(\)' "$f" | sed -E 's/[[:space:]]*\(\)$//')
done

for t in "${tests[@]}"; do
	f=${t%%:*} fn=${t#*:} name=${fn#test_}
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP $name: needs root (cgroups, BPF)"
		skipped=$((skipped + 1))
		continue
	fi
	if [ ! -x "$ROOT/build/podfence" ]; then
		echo "FAIL $name: $ROOT/build/podfence is missing (run make all)"
		failed=$((failed + 1))
		continue
	fi
	log=$(mktemp) result=$(mktemp)
	# A test may need longer: "#@timeout test_name SECONDS" in its file.
	t_limit=$(sed -n "s/^#@timeout $fn \([0-9]*\)$/\1/p" "$f")
	t_limit=${t_limit:-$TEST_TIMEOUT}
	t0=$(now_ms)
	timeout -k 5 "$t_limit" bash "$HERE/run.sh" --one "$f" "$fn" "$result" >"$log" 2>&1 </dev/null
	rc=$?
	ms=$(elapsed_ms "$t0")
	why=$(head -n 1 "$result")
	case $rc in
	0)
		echo "ok   $name"
		[ -z "${PF_IT_VERBOSE:-}" ] || echo "     ($ms ms)"
		passed=$((passed + 1))
		;;
	77)
		echo "SKIP $name: ${why:-no reason given}"
		skipped=$((skipped + 1))
		;;
	*)
		[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && [ -z "$why" ] && why="timed out after ${t_limit}s"
		echo "FAIL $name: ${why:-exit status $rc}"
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
		;;
	esac
	rm -f "$log" "$result"
done

ms=$(elapsed_ms "$t_start")
echo "(integration tier took $((ms / 1000)).$(printf %03d $((ms % 1000)))s)"
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
