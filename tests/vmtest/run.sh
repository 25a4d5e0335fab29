#!/usr/bin/env bash
# Kernel matrix: boots Debian's 5.10, 6.1 and 6.12 LTS cloud kernels under QEMU
# (software emulation) with an initramfs holding podfence's kernel test tier,
# runs the tier once per backend the lane's kernel has (and, forced to that
# backend, the adversarial tier and the agent itself: agent-smoke.sh; after
# the forced lsm run, real containers under Debian's runc: runc-pods.sh), and
# prints one result per lane and backend,
# then "N passed, N failed, N skipped".
#
# Usage: tests/vmtest/run.sh [LANE...]      (default: every lane)
# Env:   BUILD (build), PF_VMTEST_CACHE (kernel cache, $BUILD/vmtest/kernels),
#        PF_VMTEST_TIMEOUT (seconds per lane, 2700: a hung guest, not a slow day),
#        PF_VMTEST_JOBS (lanes at once, nproc),
#        CI=true (skips fail the run),
#        PF_VMTEST_RUNS (runs instead of the lane's own, e.g. lsm), PF_VMTEST_ADVERSARIAL
#        (forced backends the adversarial tier runs on, instead of the lane's), PF_VMTEST_RUNC
#        (the forced backend after which runc pods run, instead of the lane's; empty: none),
#        PF_TEST_VERBOSE=1
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
work=$BUILD/vmtest
cache=${PF_VMTEST_CACHE:-$work/kernels}
lane_timeout=${PF_VMTEST_TIMEOUT:-2700}
jobs_max=${PF_VMTEST_JOBS:-$(nproc)}

# lane | kernel | LSM list on the command line (empty: the kernel's default) | runs | adversarial
# | the forced backend after which real runc pods run (runc-pods.sh; one lane: they take a
# minute under emulation, and the kernel side they need is the same on both kernels)
# A run is a backend forced the way the agent's --backend forces it, or
# auto:BACKEND, where automatic selection must pick BACKEND on that kernel.
# 5.10 (Debian 11's) has no bpf_loop: its lanes run the compat build of the
# programs (bpf/compat.bpf.h), which the probe chooses there
# (kernel_lacking_bpf_loop_gets_the_compat_programs).
# The adversarial tier runs on the forced backends of the last field: every
# backend at least once (lsm on every kernel, tracepoint on the host), rather
# than every backend of every lane, to keep the matrix within CI's time. For
# the same reason tracepoint-late runs where it is the last resort (6.1, 5.10:
# no sched_prepare_exec), not on 6.12, which always has the tracepoint backend.
LANES=(
	"6.12-lsm|6.12||auto:lsm,lsm,fmod_ret,tracepoint|lsm|lsm"
	"6.1-lsm|6.1|lockdown,capability,landlock,yama,apparmor,bpf|auto:lsm,lsm,fmod_ret|lsm|"
	"6.1-no-bpf-lsm|6.1|lockdown,capability,landlock,yama,apparmor|auto:fmod_ret,fmod_ret,tracepoint-late|fmod_ret,tracepoint-late|"
	"5.10-lsm|5.10|lockdown,yama,apparmor,bpf|auto:lsm,lsm,fmod_ret,tracepoint-late|lsm,tracepoint-late|"
	"5.10-no-bpf-lsm|5.10|lockdown,yama,apparmor|auto:fmod_ret,fmod_ret,tracepoint-late|fmod_ret|"
)

die() { echo "vmtest: $*" >&2; echo "vmtest: 0 passed, 1 failed, 0 skipped"; exit 1; }

for tool in qemu-system-x86_64 busybox runc; do
	command -v "$tool" >/dev/null || die "$tool not found (make setup installs it)"
done
for f in "$BUILD/tests/bpf_tests" "$BUILD/tests/adversarial_tests" "$BUILD/podfence" \
	"$BUILD/tests/helpers"; do
	[ -e "$f" ] || die "$f missing (make all builds it)"
done

declare -A KERNEL
while read -r name path; do
	KERNEL[$name]=$path
done < <(bash mk/vmtest-kernels.sh "$cache")
if [ -z "${KERNEL[6.1]:-}" ] || [ -z "${KERNEL[6.12]:-}" ] || [ -z "${KERNEL[5.10]:-}" ]; then
	# Outside CI a machine without Debian's archive can still run the other tiers.
	if [ "${CI:-}" != true ]; then
		echo "vmtest: skipped: cannot fetch the Debian kernels (mk/vmtest-kernels.sh)"
		echo "vmtest: 0 passed, 0 failed, 1 skipped"
		exit 0
	fi
	die "cannot fetch the Debian kernels (mk/vmtest-kernels.sh)"
fi

# ---- initramfs: busybox, the test tier, its helpers, podfence, runc and their
# libraries, and each kernel's modules
build_initramfs() {
	local root=$work/root out=$work/initramfs.cpio.gz kdir release
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,pf/tests} || return 1
	cp "$(command -v busybox)" "$root/bin/busybox"
	for applet in $(busybox --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	cp "$BUILD/podfence" "$root/pf/"
	cp "$BUILD/tests/bpf_tests" "$BUILD/tests/adversarial_tests" "$root/pf/tests/"
	cp -r "$BUILD/tests/helpers" "$root/pf/tests/"
	# Debian's runc (dynamically linked), for real containers: runc-pods.sh
	mkdir -p "$root/usr/sbin"
	cp "$(command -v runc)" "$root/usr/sbin/runc"
	# Shared libraries at the paths the binaries were linked against.
	for lib in $(ldd "$BUILD/podfence" "$BUILD/tests/bpf_tests" "$BUILD/tests/adversarial_tests" \
		"$root/usr/sbin/runc" | grep -o '/[^ ]*\.so[^ ]*' | sort -u); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	# Each kernel's modules (overlayfs: the containers' root) where init.sh
	# finds them, by `uname -r`
	for kdir in "${KERNEL[@]}"; do
		kdir=$(dirname "$kdir")
		release=$(cat "$kdir/release" 2>/dev/null) || continue
		mkdir -p "$root/pf/modules/$release"
		cp "$kdir"/modules/* "$root/pf/modules/$release/"
	done
	install -m 0755 tests/vmtest/init.sh "$root/init"
	install -m 0755 tests/vmtest/agent-smoke.sh "$root/pf/agent-smoke.sh"
	install -m 0755 tests/vmtest/runc-pods.sh "$root/pf/runc-pods.sh"
	install -m 0644 tests/lib/fake-node.sh "$root/pf/fake-node.sh"
	install -m 0644 tests/lib/runc-node.sh "$root/pf/runc-node.sh"
	(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 > "$out" || return 1
	echo "$out"
}
initramfs=$(build_initramfs) || die "cannot build the initramfs"

total_pass=0 total_fail=0 total_skip=0
summary=()

boot_lane() { # spec: boots the lane's guest, its console into $work/<lane>.log
	local name kver lsm runs kernel append lane_start=$SECONDS
	IFS='|' read -r name kver lsm runs adv runc <<<"$1"
	kernel=${KERNEL[$kver]:-}
	[ -n "$kernel" ] || { echo "vmtest: no $kver kernel" > "$work/$name.log"; return; }
	append="console=ttyS0 quiet panic=-1 pf_lane=$name pf_runs=${PF_VMTEST_RUNS:-$runs}"
	append+=" pf_adversarial=${PF_VMTEST_ADVERSARIAL:-$adv} pf_runc=${PF_VMTEST_RUNC-$runc}"
	[ -n "$lsm" ] && append+=" lsm=$lsm"
	[ -n "${PF_TEST_VERBOSE:-}" ] && append+=" pf_verbose=1"
	{
		echo "vmtest: lane $name: booting $(basename "$(dirname "$kernel")")${lsm:+ with lsm=$lsm}"
		# No -enable-kvm: KVM does not boot these guests reliably here; TCG does.
		# One host thread per guest (thread=single), the guest still with two
		# CPUs: with a thread per vCPU, one vCPU can run a stale translation of
		# kernel text the other has just patched. Every static key flip does
		# that (cpusets_enabled when runc creates and removes cgroups, a
		# tracepoint when a program attaches), and on 6.12 it ended the guest in
		# an "Oops: int3" panic in CI and here (1 in 4 rounds of runc pods).
		# 2 GiB: the guest's root filesystem, its tmpfs and the containers live in RAM.
		timeout "$lane_timeout" qemu-system-x86_64 -accel tcg,thread=single -cpu max -m 2048 -smp 2 -nographic \
			-no-reboot -kernel "$kernel" -initrd "$initramfs" -append "$append" </dev/null 2>&1 |
			tr -d '\r'
		echo "vmtest: lane $name: guest ended after $((SECONDS - lane_start)) s"
	} > "$work/$name.log" 2>&1
}

collect_lane() { # spec: prints the lane's console and counts its results
	local name kver lsm runs log line p f s n=0 expected
	IFS='|' read -r name kver lsm runs adv runc <<<"$1"
	log=$work/$name.log
	echo "=== vmtest lane $name"
	sed 's/^/    /' "$log"
	while read -r line; do
		# vmtest-result: lane NAME backend RUN: N passed, N failed, N skipped
		read -r p f s < <(echo "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
		total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
		summary+=("${line#vmtest-result: lane }")
		n=$((n + 1))
	done < <(grep -E '^vmtest-result: ' "$log")
	# A kernel that does not boot, or a run cut short, is a failure, never a skip.
	# one line per run, one per forced run for the agent, one per adversarial
	# run, one for runc's containers after the forced lsm run
	expected=$(echo "${PF_VMTEST_RUNS:-$runs}" | tr , '\n' |
		awk -v adv=",${PF_VMTEST_ADVERSARIAL:-$adv}," -v runc="${PF_VMTEST_RUNC-$runc}" '{
			n += /^auto:/ ? 1 : 2 + (index(adv, "," $0 ",") > 0) + ($0 == runc) }
			END { print n }')
	if ! grep -q "^vmtest: lane $name: done" "$log" || [ "$n" -ne "$expected" ]; then
		summary+=("$name: FAILED: the guest did not finish every run (no boot, crash or ${lane_timeout} s timeout): $log")
		# The console's end, where CI shows only the end of the output.
		while IFS= read -r line; do summary+=("  | $line"); done < <(tail -n 40 "$log")
		total_fail=$((total_fail + 1))
	fi
	summary+=("$name: $(grep -m1 -o "kernel [0-9].*" "$log"), $(grep -o "guest ended after .*" "$log")")
}

selected=()
for spec in "${LANES[@]}"; do
	if [ $# -gt 0 ]; then
		match=0
		for l in "$@"; do [ "${spec%%|*}" = "$l" ] && match=1; done
		[ $match -eq 1 ] || continue
	fi
	selected+=("$spec")
done
[ ${#selected[@]} -gt 0 ] || die "no lane named $*"

# Lanes run side by side: a guest's test tier is mostly one sequential
# fork/exec chain, so each keeps about one host CPU busy.
start=$SECONDS
for spec in "${selected[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	boot_lane "$spec" &
done
wait
for spec in "${selected[@]}"; do collect_lane "$spec"; done
summary+=("all lanes: $((SECONDS - start)) s")

echo "=== vmtest summary"
for line in "${summary[@]}"; do echo "  $line"; done
ci_fail=0
if [ "${CI:-}" = "true" ] && [ "$total_skip" -gt 0 ]; then
	echo "vmtest: $total_skip kernel test(s) skipped under CI: failing the run"
	ci_fail=1
fi
echo "vmtest: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped"
[ "$total_fail" -eq 0 ] && [ "$ci_fail" -eq 0 ]
