#!/bin/sh
# /init of the kernel-matrix guest (busybox). Mounts what podfence needs, runs
# the kernel test tier once per run listed on the kernel command line, prints
# one result line per run (and, on each forced backend, one for the agent,
# where listed one for the adversarial tier, and after the run pf_runc names
# one for real containers under runc), and powers off.
#
#   pf_lane=NAME pf_runs=RUN,RUN,...   RUN = BACKEND (forced, like the agent's
#   --backend: the whole tier) or auto:BACKEND (automatic selection must
#   pick BACKEND: the tests named *exec*); pf_adversarial=BACKEND,... the forced
#   runs followed by the adversarial tier;
#   pf_verbose=1 adds libbpf's log (verifier output) to the console
export PATH=/bin
# A node's containers start from a real root filesystem, not the initramfs:
# runc's pivot_root(2) fails with EINVAL on the kernel's rootfs, which is no
# mount it can pivot from. Copy the initramfs onto a tmpfs and start again
# there, as an initramfs hands over to a node's root.
if [ -z "${PF_ROOT_MOVED:-}" ]; then
	mkdir -p /newroot
	mount -t tmpfs -o mode=0755 tmpfs /newroot
	for f in /*; do [ "$f" = /newroot ] || cp -a "$f" /newroot/; done
	export PF_ROOT_MOVED=1
	exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t securityfs securityfs /sys/kernel/security
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# runc keeps its state in /run/runc, a tmpfs as on any node.
mkdir -p /run
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
# overlayfs, the containers' root filesystem, is a module in Debian's kernels
# (run.sh puts each kernel's modules under its release, in load order).
mods=/pf/modules/$(uname -r)
if [ -f "$mods/load" ]; then
	for mod in $(cat "$mods/load"); do insmod "$mods/$mod.ko" 2>/dev/null; done
fi
# The adversarial tier attacks from user namespaces, as any process may where
# they are allowed: test the worst case (Debian's switch, where the kernel has it).
[ -w /proc/sys/kernel/unprivileged_userns_clone ] && echo 1 > /proc/sys/kernel/unprivileged_userns_clone

lane=unknown runs= adversarial= runc_after=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	pf_lane=*) lane=${arg#pf_lane=} ;;
	pf_adversarial=*) adversarial=",${arg#pf_adversarial=}," ;;
	pf_runc=*) runc_after=${arg#pf_runc=} ;;
	pf_runs=*) runs=$(echo "${arg#pf_runs=}" | tr , ' ') ;;
	pf_verbose=1) export PF_TEST_VERBOSE=1 ;; # libbpf's log, with the verifier's
	esac
done

echo "vmtest: lane $lane: kernel $(uname -r), active LSMs $(cat /sys/kernel/security/lsm)"
for run in $runs; do
	case "$run" in
	auto:*) backend=auto expect=${run#auto:} ;;
	*) backend=$run expect= ;;
	esac
	echo "vmtest: lane $lane: kernel tier, backend $run"
	log=/tmp/tier.log
	if [ "$backend" = auto ]; then
		# The forced run of the same backend has the whole tier; here the
		# exec tests show that the backend auto picked is the expected one.
		env CI=true PF_TEST_EXPECT_BACKEND="$expect" /pf/tests/bpf_tests exec 2>&1 | tee $log
	else
		# 100 generated differential scenarios instead of 250 (30 egress ones
		# instead of 80), and a tenth of the learning tests' execs: emulation
		# is ~10x slower, and the host lane runs the full set.
		env CI=true PF_TEST_BACKEND="$backend" PF_DIFF_SCENARIOS=100 PF_DIFF_NET_SCENARIOS=30 \
			PF_LEARN_DIVISOR=10 \
			/pf/tests/bpf_tests 2>&1 |
			tee $log
	fi
	result=$(grep -E '^bpf: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' $log | tail -1)
	[ -n "$result" ] || result="bpf: 0 passed, 1 failed, 0 skipped (no result line: crashed?)"
	echo "vmtest-result: lane $lane backend $run: ${result#bpf: }"
	# The adversarial tier, forced to the backend (fewer rounds: emulation is slow).
	if [ "$backend" != auto ] && [ "${adversarial#*,$backend,}" != "$adversarial" ]; then
		env CI=true PF_TEST_BACKEND="$backend" PF_ADV_ROUNDS=100 /pf/tests/adversarial_tests 2>&1 |
			tee $log
		result=$(grep -E '^adversarial: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' $log | tail -1)
		[ -n "$result" ] || result="adversarial: 0 passed, 1 failed, 0 skipped (no result line)"
		echo "vmtest-result: lane $lane backend $run (adversarial): ${result#adversarial: }"
	fi
	# The agent itself, forced with --backend, on a kubelet-layout pod.
	if [ "$backend" != auto ]; then
		sh /pf/agent-smoke.sh "$backend" 2>&1 | tee $log
		result=$(grep -E '^agent: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' $log | tail -1)
		[ -n "$result" ] || result="agent: 0 passed, 1 failed, 0 skipped (no result line)"
		echo "vmtest-result: lane $lane backend $run (agent --backend): ${result#agent: }"
	fi
	# Real containers (runc, overlayfs root, the kubelet's cgroups), after
	# the forced run the lane names (pf_runc).
	if [ -n "$runc_after" ] && [ "$backend" = "$runc_after" ]; then
		sh /pf/runc-pods.sh "$backend" 2>&1 | tee $log
		result=$(grep -E '^runc: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' $log | tail -1)
		[ -n "$result" ] || result="runc: 0 passed, 1 failed, 0 skipped (no result line)"
		echo "vmtest-result: lane $lane backend $run (runc): ${result#runc: }"
	fi
	# What the guest has left after each run: a lane that dies says whether
	# memory ran out (the root filesystem and every tmpfs live in RAM).
	echo "vmtest: lane $lane: after $run: $(grep -E '^MemAvailable' /proc/meminfo | tr -s ' '), tmpfs $(df -k / /tmp /run 2>/dev/null | awk 'NR > 1 { s += $3 } END { print s }') kB used"
done
echo "vmtest: lane $lane: done"
poweroff -f
