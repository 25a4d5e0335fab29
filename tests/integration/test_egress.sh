# shellcheck shell=bash
# shellcheck disable=SC2119 # agent_start takes optional extra agent flags
# Egress (connect hooks) end to end: policy files as written for Tetragon and
# egress templates with bindings, read by the agent, enforced on real
# sockets of processes in the pods' cgroups. "Went through" is any result but
# podfence's refusal (nothing listens on the ports used: the peer refuses at
# once); refused is EPERM (or the policy's errno).

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"

CONNECT=$REPO/build/tests/helpers/pf_connect

# net_in POD tcp|udp ADDR PORT: 0 went through, 1 refused by podfence
net_in() {
	local where=$1
	shift
	exit_in "$where" "$CONNECT" "$@"
}
assert_net() { # WANT POD PROTO ADDR PORT
	local want=$1 rc
	shift
	rc=$(net_in "$@")
	[ "$rc" = "$want" ] || fail "in $1: $2 to $3 port $4 exited $rc (expected $want: $([ "$want" = 0 ] && echo went through || echo refused))"
}
await_net() { # WANT POD PROTO ADDR PORT: within 1 s
	local want=$1 t0 rc
	shift
	t0=$(now_ms)
	while :; do
		rc=$(net_in "$@")
		[ "$rc" = "$want" ] && return 0
		[ "$(elapsed_ms "$t0")" -le 1000 ] || fail "in $1: $2 to $3:$4 still exits $rc after 1 s (expected $want)"
		sleep 0.02
	done
}

egress_template() {
	put_policy egress-template.yaml <<'YAML'
apiVersion: podfence.io/v1alpha1
kind: PolicyTemplate
metadata:
  name: egress-allowlist
spec:
  parameters:
  - name: allowedCIDRs
  - name: allowedPorts
  kprobes:
  - call: security_socket_connect
    syscall: false
    args:
    - index: 0
      type: socket
    - index: 1
      type: sockaddr
    selectors:
    - matchArgs:
      - index: 1
        operator: NotSAddr
        valuesFrom: allowedCIDRs
      matchActions:
      - action: Override
        argError: -1
    - matchArgs:
      - index: 1
        operator: NotSPort
        valuesFrom: allowedPorts
      matchActions:
      - action: Override
        argError: -1
YAML
}

egress_binding() { # FILE NAME LABEL CIDRS(comma) PORTS(comma)
	local v
	{
		cat <<YAML
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata:
  name: $2
  namespace: default
spec:
  templateRef: egress-allowlist
  podSelector:
    matchLabels:
      ${3%%=*}: "${3#*=}"
  values:
    allowedCIDRs:
YAML
		for v in ${4//,/ }; do echo "    - \"$v\""; done
		echo "    allowedPorts:"
		for v in ${5//,/ }; do echo "    - \"$v\""; done
	} | put_policy "$1"
}

# Tetragon's own form: tcp_connect with a sock argument, NotDAddr/DAddr.
test_egress_tetragon_tcp_connect_policy() {
	pod web app=web
	pod db app=db
	put_policy loopback-only.yaml <<'YAML'
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: loopback-only
spec:
  podSelector:
    matchLabels:
      app: web
  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "NotDAddr"
        values:
        - "127.0.0.0/8"
        - "::1"
      matchActions:
      - action: Override
        argError: -1
    - matchArgs:
      - index: 0
        operator: "DAddr"
        values:
        - "127.0.0.2"
      - index: 0
        operator: "DPort"
        values:
        - "1000:1999"
      matchActions:
      - action: Override
        argError: -1
YAML
	agent_start || fail "agent did not start"
	assert_net 0 web tcp 127.0.0.1 1500
	assert_net 0 web tcp ::1 1500
	assert_net 0 web tcp ::ffff:127.0.0.1 1500
	assert_net 1 web tcp 192.0.2.1 80
	assert_net 1 web tcp 2001:db8::1 80
	assert_net 1 web tcp ::ffff:192.0.2.1 80
	assert_net 1 web tcp 127.0.0.2 1500
	assert_net 0 web tcp 127.0.0.2 2500
	# tcp_connect sees TCP only: UDP is not this policy's
	assert_net 0 web udp 127.0.0.9 9
	# a pod the policy does not select
	assert_net 0 db tcp 127.0.0.2 1500
	await_lines "$NODE_EVENTS" 1
	assert_eq "$(jq -r 'select(.destination.address == "192.0.2.1") | [.pod, .policy, .destination.port, .destination.protocol, .profile, .action] | join(" ")' "$NODE_EVENTS" | head -1)" \
		"web loopback-only 80 TCP egress blocked" "event of the refused connect"
	assert_match "$(st ".kernel_stats.net_blocked")" '^[1-9]' "net_blocked counter"
	# --explain says where a rule's own errno cannot hold: cgroup programs choose it from 5.18
	local out
	out=$("$PODFENCE" check --explain "$NODE_DIR/policies/loopback-only.yaml")
	[[ $out == *"before 5.18"* ]] && fail "--explain: EPERM rules need no note: $out"
	sed 's/argError: -1/argError: -13/' "$NODE_DIR/policies/loopback-only.yaml" >"$NODE_DIR/eacces.yaml"
	assert_match "$("$PODFENCE" check --explain "$NODE_DIR/eacces.yaml")" \
		'Override\(errno 13\)[+A-Za-z]* \(EPERM on kernels before 5\.18\)' \
		"--explain: the errno kernels before 5.18 cannot give"
}

# Template + bindings: union within the template, deny overriding across policies.
test_egress_template_bindings_union_and_deny_overrides() {
	pod web app=web
	egress_template
	egress_binding b1.yaml web-a app=web 127.0.0.0/8 "53,1000-1999"
	agent_start || fail "agent did not start"
	assert_net 0 web tcp 127.0.0.1 1500
	assert_net 1 web tcp 127.0.0.1 2500
	assert_net 0 web udp 127.0.0.3 53
	assert_net 1 web udp 192.0.2.1 53
	assert_net 1 web udp ::1 53
	# a second binding of the same template adds its values (union, any order)
	egress_binding b2.yaml web-b app=web "192.0.2.0/24,::1" 2500
	await_net 0 web tcp 127.0.0.1 2500
	await_net 0 web udp 192.0.2.1 53
	assert_net 0 web udp ::1 53
	# a policy denying a destination inside the allowlist wins
	put_policy deny-one.yaml <<'YAML'
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: deny-one
spec:
  kprobes:
  - call: security_socket_connect
    syscall: false
    args:
    - index: 1
      type: sockaddr
    selectors:
    - matchArgs:
      - index: 1
        operator: SAddr
        values:
        - 127.0.0.7
      matchActions:
      - action: Override
        argError: -1
YAML
	await_net 1 web tcp 127.0.0.7 1500
	assert_net 0 web tcp 127.0.0.6 1500
	# the bindings go: the pod's egress is free again, the deny stays
	rm "$NODE_DIR/policies/b1.yaml" "$NODE_DIR/policies/b2.yaml"
	await_net 0 web tcp 127.0.0.1 2500
	assert_net 1 web tcp 127.0.0.7 1500
}

# A broken egress policy is refused alone, with file:line:col; the others enforce.
test_egress_bad_policy_refused_alone() {
	pod web app=web
	egress_template
	egress_binding b1.yaml web-a app=web 127.0.0.0/8 1-65535
	put_policy bad.yaml <<'YAML'
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: bad
spec:
  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 0
      type: sock
    selectors:
    - matchArgs:
      - index: 0
        operator: DAddr
        values:
        - 10.1.2.3/8
      matchActions:
      - action: Override
YAML
	agent_start || fail "agent did not start"
	assert_net 1 web tcp 192.0.2.1 80
	assert_net 0 web tcp 127.0.0.1 1500
	grep -q 'bad.yaml:17:11: error: .*did you mean "10.0.0.0/8"' "$NODE_LOG" || fail "no file:line:col error naming the canonical CIDR: $(grep bad.yaml "$NODE_LOG")"
}

# Learning records each distinct destination (protocol, address, port) once,
# next to the execs, whatever the number of calls; the agent's restart loses none.
test_egress_learning_records_destinations() {
	local c='.[0].spec.nodes["*"].containers.main' t0
	pod web app=web
	agent_start || fail "agent did not start"
	"$PODFENCE" learn --socket "$NODE_SOCK" start default/Pod/web >/dev/null || fail "learn start"
	for _ in $(seq 1 20); do assert_net 0 web tcp 127.0.0.1 1500; done
	assert_net 0 web udp 127.0.0.2 53
	assert_net 0 web tcp ::1 8080
	assert_net 0 web tcp ::ffff:127.0.0.3 443
	t0=$(now_ms)
	until [ "$("$PODFENCE" learn --socket "$NODE_SOCK" show --json | jq -r "[$c.egress[]?.path] | length")" = 4 ]; do
		[ "$(elapsed_ms "$t0")" -le 3000 ] || fail "destinations not learned: $("$PODFENCE" learn --socket "$NODE_SOCK" show --json | jq -c "$c")"
		sleep 0.1
	done
	assert_eq "$("$PODFENCE" learn --socket "$NODE_SOCK" show --json | jq -r "$c.egress[].path" | sort | paste -sd' ')" \
		"tcp://127.0.0.1:1500 tcp://127.0.0.3:443 tcp://[::1]:8080 udp://127.0.0.2:53" "learned destinations"
	# 20 connects, one record, counted in the kernel
	assert_eq "$("$PODFENCE" learn --socket "$NODE_SOCK" show --json | jq -r "$c.egress[] | select(.path == \"tcp://127.0.0.1:1500\") | .execs")" \
		20 "connects of one destination counted"
	# the pf_connect binary itself is learned as an exec, apart from the destinations
	assert_match "$("$PODFENCE" learn --socket "$NODE_SOCK" show --json | jq -r "$c.execs[].path")" 'pf_connect' "the exec"
	agent_stop
	agent_start || fail "agent did not restart"
	assert_eq "$("$PODFENCE" learn --socket "$NODE_SOCK" show --json | jq -r "[$c.egress[].path] | length")" 4 \
		"destinations kept across a restart (journal)"
	# written as a binding of the egress template, then enforced: learned destinations
	# go through, others are refused
	"$PODFENCE" learn --socket "$NODE_SOCK" template >"$NODE_DIR/policies/learned-templates.yaml"
	"$PODFENCE" learn --socket "$NODE_SOCK" write "$NODE_DIR/out" default/Pod/web >/dev/null ||
		fail "learn write"
	grep -q 'templateRef: "egress-allowlist"' "$NODE_DIR/out/"*.yaml || fail "no egress binding: $(cat "$NODE_DIR/out/"*.yaml)"
	"$PODFENCE" learn --socket "$NODE_SOCK" stop default/Pod/web >/dev/null || fail "learn stop"
	cp "$NODE_DIR/out/"*.yaml "$NODE_DIR/policies/"
	await_net 1 web tcp 192.0.2.1 1500
	assert_net 0 web tcp 127.0.0.1 1500
	assert_net 0 web udp 127.0.0.2 53
	assert_net 1 web tcp 127.0.0.9 1500
}
