#!/usr/bin/env bash
# Runs libFuzzer targets (built by `make fuzz-build`) for FUZZ_SECONDS each, FUZZ_JOBS at a
# time, and prints per target the executions run, the corpus size and the crashes found, then
# one closing line: "fuzz: N passed, N failed, N skipped" (passed: ran without a crash).
# Usage: tests/fuzz/run.sh fuzz_policy fuzz_pod ...
# Env: BUILD (build), FUZZ_SECONDS (60), FUZZ_JOBS (CPUs), FUZZ_ARGS (extra libFuzzer flags).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

BUILD=${BUILD:-build}
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-$(nproc)}
SHARED=${PF_SHARED_DIR:-../shared}
OUT=$BUILD/fuzz

# Per target: input size bound, then seed directories besides tests/fuzz/seeds/<name>.
# Policy and pod files are a few KB (kubectl's largest pods ~15 KB); a mountinfo line is
# short; a control request is read into 256 bytes, so 1 KB covers every overflow; an event
# path is at most PF_PATH_BUF (4096) bytes.
target_opts() {
	case "$1" in
	fuzz_policy) echo "16384 examples/policies $SHARED/corpus/tetragon" ;;
	fuzz_pod) echo "16384 examples/pods $SHARED/fixtures/k8s" ;;
	fuzz_mountinfo) echo "4096" ;;
	fuzz_control) echo "1024" ;;
	fuzz_event) echo "4200" ;; # 19 bytes of event fields, then a path up to the kernel's 4096
	fuzz_k8s) echo "16384 $SHARED/fixtures/k8s" ;; # watch events: objects of a few KB
	fuzz_bundle) echo "16384" ;; # a bundle's config.json: a few KB
	fuzz_proposal) echo "16384 examples/proposals" ;; # PolicyProposal objects (JSON)
	*) echo "4096" ;;
	esac
}

run_one() { # target
	local t=$1 max seeds=() d opts dict=() extra=()
	read -r max opts < <(target_opts "$t")
	for d in "tests/fuzz/seeds/${t#fuzz_}" $opts; do
		[ -d "$d" ] && seeds+=("$d") # the shared directory is absent in users' checkouts
	done
	mkdir -p "$OUT/corpus/$t" "$OUT/crashes/$t" "$OUT/logs"
	[ -f "tests/fuzz/${t#fuzz_}.dict" ] && dict=("-dict=tests/fuzz/${t#fuzz_}.dict")
	read -ra extra <<<"${FUZZ_ARGS:-}"
	# -timeout: one input taking seconds is a hang; -rss_limit_mb: one blowing up memory.
	UBSAN_OPTIONS=print_stacktrace=1 "$OUT/$t" -max_total_time="$SECONDS_EACH" -max_len="$max" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$OUT/crashes/$t/" "${extra[@]}" "$OUT/corpus/$t" "${seeds[@]}" \
		>"$OUT/logs/$t.log" 2>&1
	echo $? >"$OUT/logs/$t.rc"
}

report() { # target; returns 0 passed, 1 failed, 2 skipped
	local t=$1 log=$OUT/logs/$1.log rc execs corpus artifacts
	if [ ! -x "$OUT/$t" ]; then
		echo "$t: skipped: $OUT/$t not built (make BUILD=$BUILD fuzz-build)"
		return 2
	fi
	rc=$(cat "$OUT/logs/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	# libFuzzer's live corpus (the directory also keeps inputs that were reduced since).
	corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	# Crashes, leaks, timeouts, ooms (not the slow-unit-* reports).
	artifacts=$(sed -n 's/.*Test unit written to \(.*\/\(crash\|leak\|timeout\|oom\)-.*\)$/\1/p' "$log")
	printf '%s: %s executions in %ss, corpus %s inputs, %s crash(es)\n' "$t" "${execs:-?}" \
		"$SECONDS_EACH" "${corpus:-?}" "$(grep -c . <<<"$artifacts")"
	[ "$rc" -eq 0 ] && return 0
	# The sanitizer's or libFuzzer's report, then where the input is.
	grep -m1 -A40 -E '^==[0-9]+==|runtime error|contract broken|ALARM|out-of-memory' "$log" |
		grep -v -E '^(0x[0-9a-f]+,|Base64: )' | sed 's/^/    /'
	for a in $artifacts; do
		echo "$t: crash input: $a (replay: $OUT/$t $a)"
	done
	[ -z "$artifacts" ] && echo "$t: libFuzzer exited $rc without an input (log: $log)"
	return 1
}

[ $# -gt 0 ] || { echo "usage: $0 fuzz_TARGET..." >&2; exit 2; }
echo "fuzz: $# target(s), ${SECONDS_EACH}s each, $JOBS at a time (logs: $OUT/logs)"
running=0
for t in "$@"; do
	[ -x "$OUT/$t" ] || continue
	rm -f "$OUT/logs/$t.rc"
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

pass=0 fail=0 skip=0
for t in "$@"; do
	report "$t"
	case $? in
	0) pass=$((pass + 1)) ;;
	1) fail=$((fail + 1)) ;;
	*) skip=$((skip + 1)) ;;
	esac
done
echo "fuzz: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
