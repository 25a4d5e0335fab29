# shellcheck shell=bash
# The deployment files (deploy/): the CRDs validate the example policies and refuse
# wrong objects; the image's root filesystem (mk/image.sh) runs the agent under runc
# with exactly what deploy/daemonset.yaml grants (capabilities, host mounts, host
# namespaces: read from the YAML), in-cluster against the fake API server (TLS, a
# service account's token and CA), and it enforces on a real runc pod; then once
# without each privilege: either the agent still enforces (the privilege is harmless)
# or it exits with an error naming what is missing.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"
# shellcheck source-path=SCRIPTDIR source=../lib/runc-node.sh
source "$REPO/tests/lib/runc-node.sh"

DEPLOY=$REPO/deploy
HELPERS=$REPO/build/tests/helpers

# ---- the CRDs ---------------------------------------------------------------

crd_validate() {
	python3 "$REPO/tests/lib/crd-validate.py" --crds "$DEPLOY"/crds/*.yaml \
		"$DEPLOY"/crds/optional/*.yaml "$@"
}

# Objects the CRDs must refuse, one reason each.
wrong_documents() {
	cat <<'EOF2'
# reject: unknown field in a binding's spec
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata: {name: b1, namespace: shop}
spec: {templateRef: t, values: {}, podSelectr: {matchLabels: {app: web}}}
---
# reject: wrong type (values of a parameter are a list of strings)
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata: {name: b2, namespace: shop}
spec: {templateRef: t, values: {allowedExecs: /usr/bin/true}}
---
# reject: podSelector and targetRef together
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata: {name: b3, namespace: shop}
spec:
  templateRef: t
  values: {}
  podSelector: {matchLabels: {app: web}}
  targetRef: {kind: Deployment, name: web}
---
# reject: targetRef of a kind that is not a workload
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata: {name: b4, namespace: shop}
spec: {templateRef: t, values: {}, targetRef: {kind: Service, name: web}}
---
# reject: targetRef without its name
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata: {name: b5, namespace: shop}
spec: {templateRef: t, values: {}, targetRef: {kind: Deployment}}
---
# reject: a binding without values
apiVersion: podfence.io/v1alpha1
kind: PolicyBinding
metadata: {name: b6, namespace: shop}
spec: {templateRef: t}
---
# reject: a template operator podfence does not have
apiVersion: podfence.io/v1alpha1
kind: PolicyTemplate
metadata: {name: t1}
spec:
  parameters: [{name: p}]
  lsmhooks:
  - hook: bprm_check_security
    args: [{index: 0, type: linux_binprm}]
    selectors: [{matchArgs: [{index: 0, operator: GT, valuesFrom: p}]}]
---
# reject: a parameter declared twice
apiVersion: podfence.io/v1alpha1
kind: PolicyTemplate
metadata: {name: t2}
spec:
  parameters: [{name: p}, {name: p}]
  kprobes: [{call: security_bprm_check}]
---
# reject: a namespace on a cluster-scoped template
apiVersion: podfence.io/v1alpha1
kind: PolicyTemplate
metadata: {name: t3, namespace: shop}
spec: {parameters: []}
---
# reject: a template with a podSelector (bindings select pods)
apiVersion: podfence.io/v1alpha1
kind: PolicyTemplate
metadata: {name: t4}
spec: {parameters: [], podSelector: {}}
---
# reject: wrong type in a TracingPolicy's typed subset
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata: {name: tp1}
spec: {podSelector: {matchLabels: {app: [web]}}}
---
# reject: a proposal's exec count is an integer, not a string
apiVersion: podfence.io/v1alpha1
kind: PolicyProposal
metadata: {name: deployment-web, namespace: shop}
spec:
  targetRef: {kind: Deployment, name: web}
  nodes:
    node-a:
      updated: "2026-11-30T20:00:00Z"
      containers:
        main:
          execs: [{path: /usr/bin/sleep, firstSeen: "2026-11-30T19:00:00Z",
                   lastSeen: "2026-11-30T19:59:00Z", pods: 2, execs: "17"}]
---
# reject: a proposal's nodes are a map of node name -> findings, not a list
apiVersion: podfence.io/v1alpha1
kind: PolicyProposal
metadata: {name: deployment-web, namespace: shop}
spec:
  targetRef: {kind: Deployment, name: web}
  nodes:
  - {updated: "2026-11-30T20:00:00Z", containers: {}}
---
# reject: a proposal's callers are a list of paths, and entrypoint a boolean
apiVersion: podfence.io/v1alpha1
kind: PolicyProposal
metadata: {name: deployment-web, namespace: shop}
spec:
  targetRef: {kind: Deployment, name: web}
  nodes:
    node-a:
      updated: "2026-11-30T20:00:00Z"
      containers:
        main:
          execs: [{path: /usr/bin/sleep, firstSeen: "2026-11-30T19:00:00Z",
                   lastSeen: "2026-11-30T19:59:00Z", pods: 2, execs: 17,
                   callers: /bin/sh, entrypoint: "yes"}]
---
# reject: suggestedPrefix only in temporary items
apiVersion: podfence.io/v1alpha1
kind: PolicyProposal
metadata: {name: deployment-web, namespace: shop}
spec:
  targetRef: {kind: Deployment, name: web}
  nodes:
    node-a:
      updated: "2026-11-30T20:00:00Z"
      containers:
        main:
          execs: [{path: /usr/bin/sleep, firstSeen: "2026-11-30T19:00:00Z",
                   lastSeen: "2026-11-30T19:59:00Z", pods: 2, execs: 17,
                   suggestedPrefix: /usr/bin/}]
EOF2
}

# Every example validates (policies and the agents' proposals); each wrong object
# is refused; the schemas are structural and the committed CRDs are
# deploy/crds/generate.py's output.
test_deploy_examples_validate_against_crds() {
	local out tp examples=("$REPO"/examples/policies/*.yaml "$REPO"/examples/proposals/*.yaml)
	python3 -c 'import jsonschema, yaml' 2>/dev/null ||
		skip "python3-jsonschema / python3-yaml missing (make setup)"
	out=$(crd_validate --docs "${examples[@]}") || fail "examples: $out"
	echo "$out"
	# every example document is of a kind some CRD defines
	assert_match "$out" "0 errors$" "validation summary"
	[ "$(grep -c '^skip' <<<"$out")" = 0 ] || fail "documents without a CRD: $(grep '^skip' <<<"$out")"
	assert_eq "$(grep -c '^ok .*valid$' <<<"$out")" \
		"$(cat "${examples[@]}" | grep -c '^kind:')" "valid example documents"
	tp=$(grep -c 'TracingPolicy.* valid$' <<<"$out")
	[ "$tp" -gt 0 ] || fail "no TracingPolicy example validated against the optional CRDs"
	grep -q 'PolicyProposal shop/deployment-web valid$' <<<"$out" ||
		fail "the PolicyProposal example did not validate"

	wrong_documents >"$NODE_DIR/wrong.yaml"
	out=$(crd_validate --reject "$NODE_DIR/wrong.yaml") || fail "wrong objects: $out"
	echo "$out"
	assert_eq "$(grep -c 'rejected (' <<<"$out")" "$(grep -c '^# reject:' "$NODE_DIR/wrong.yaml")" \
		"wrong objects rejected"

	# the structural check itself: a field without a type is caught
	python3 -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
del d["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["templateRef"]["type"]
yaml.safe_dump(d, open(sys.argv[2], "w"))' "$DEPLOY/crds/podfence.io_policybindings.yaml" "$NODE_DIR/bad-crd.yaml"
	out=$(python3 "$REPO/tests/lib/crd-validate.py" --crds "$NODE_DIR/bad-crd.yaml" 2>&1) &&
		fail "a CRD with an untyped field passed as structural: $out"
	assert_match "$out" "spec.templateRef: no type" "the structural check"

	python3 "$DEPLOY/crds/generate.py" "$NODE_DIR/gen" || fail "generate.py failed"
	diff -r -x generate.py -x README.md "$NODE_DIR/gen" "$DEPLOY/crds" >&2 ||
		fail "deploy/crds differ from generate.py's output (run python3 deploy/crds/generate.py)"
}

# ---- the image under runc ----------------------------------------------------

# deploy_node: the image's root, a runc pod's runtime, the fake API server behind TLS
# in a network namespace of its own (the pod network: the DaemonSet has no hostNetwork),
# a service account, and an allowlist for the pod's container "web" served as a
# TracingPolicy. Sets IMAGE_ROOT, API_NS_PID, API, NODE_SOCK.
deploy_node() {
	local why port i
	why=$(rnode_check) || skip "runc containers cannot run here: $why"
	command -v openssl >/dev/null || skip "no openssl"
	python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml missing (make setup)"
	IMAGE_ROOT=$(bash "$REPO/mk/image.sh" "$PODFENCE" "$REPO/build/image" 2>"$NODE_DIR/image.log") ||
		fail "mk/image.sh: $(tail -n 3 "$NODE_DIR/image.log")"
	rnode_init || fail "rnode_init failed"
	rnode_image app "$HELPERS/pf_pause=/app/web" "$HELPERS/pf_true=/app/ok" \
		"$HELPERS/pf_true=/app/tool" || fail "cannot build the pod's image"
	mkdir -p "$NODE_DIR/sa" "$NODE_DIR/state" "$NODE_DIR/run/podfence" "$NODE_DIR/run/containers/storage"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=kube-apiserver -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$NODE_DIR/api.key" -out "$NODE_DIR/sa/ca.crt" 2>/dev/null ||
		fail "cannot make the API server's certificate"
	echo "not-checked" >"$NODE_DIR/sa/token"
	echo "podfence" >"$NODE_DIR/sa/namespace"
	# the fake API server over TLS, on the loopback of a network namespace of its own
	unshare --net sh -c 'ip link set lo up && exec python3 -c "$0" "$@"' '
import importlib.machinery, ssl, sys
fake = importlib.machinery.SourceFileLoader("fake", sys.argv[1]).load_module()
srv = fake.ThreadingHTTPServer(("127.0.0.1", 0), fake.Handler)
srv.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[3], sys.argv[4])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(sys.argv[2] + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()' "$REPO/tests/lib/fake-apiserver.py" "$NODE_DIR/api.port" \
		"$NODE_DIR/sa/ca.crt" "$NODE_DIR/api.key" 2>"$NODE_DIR/api.log" &
	API_NS_PID=$!
	for i in $(seq 1 50); do
		[ -s "$NODE_DIR/api.port" ] && break
		sleep 0.1
	done
	port=$(cat "$NODE_DIR/api.port" 2>/dev/null)
	[ -n "$port" ] || fail "the fake API server did not start: $(cat "$NODE_DIR/api.log")"
	API_PORT=$port
	# The node's PID namespace. This machine's pid 1 refuses /proc/1/ns/* to any process
	# with fewer capabilities than its own (a sandbox's self-protection; a node's systemd
	# does not), so hostPID is emulated: a PID namespace whose pid 1 runs in this node's
	# mount namespace, as a node's init does; the agent's container joins it.
	unshare --pid --fork --kill-child sleep 100000 &
	NODE_INIT_PARENT=$!
	for i in $(seq 1 50); do
		NODE_INIT=$(pgrep -P "$NODE_INIT_PARENT" -x sleep) && break
		sleep 0.05
	done
	[ -n "$NODE_INIT" ] || fail "cannot start the node's init"
	API="https://127.0.0.1:$port"
	NODE_SOCK=$NODE_DIR/run/podfence/podfence.sock
	policy_doc web-allow app=web NotEqual /app/web /app/ok |
		sed "/^  kprobes:/i\\  containerSelector:\\n    matchExpressions:\\n    - {key: name, operator: In, values: [web]}" |
		yaml_to_json | api_put tracingpolicies
	# the kubelet's Pods, as the API server serves them to this node (n1)
	RNODE_PUBLISH=publish_pod
}

yaml_to_json() {
	python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'
}

api() { # PATH [BODY on stdin]: a test control of the fake API server, in its namespace
	nsenter --net="/proc/$API_NS_PID/ns/net" curl -sf --cacert "$NODE_DIR/sa/ca.crt" \
		-X POST --data-binary @- "$API/_test/$1" >/dev/null || fail "fake API server: $1 failed"
}
api_put() { api "put/$1"; }

# publish_pod put FILE: runc-node's Pod manifest, scheduled on this node.
publish_pod() {
	python3 -c 'import json, sys, yaml
p = yaml.safe_load(open(sys.argv[1])); p.setdefault("spec", {})["nodeName"] = "n1"
print(json.dumps(p))' "$2" | api_put pods
}

# runc_config [--without ITEM]: the agent's runc bundle config from deploy/daemonset.yaml
# (its one container): capabilities, hostPath mounts at their paths on this test node,
# hostPID / hostNetwork, read-only root, no new privileges; plus what the kubelet gives
# every container (proc, sysfs read-only, its own cgroup2 view, /dev, the service account).
runc_config() {
	local without=${2:-}
	metrics_flag=()
	"$PODFENCE" agent --help | grep -q metrics-addr && metrics_flag=(--metrics-addr)
	python3 - "$DEPLOY/daemonset.yaml" "$without" "${metrics_flag[*]:-}" <<'PY'
import json, os, sys, yaml
ds = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "DaemonSet"][0]
without, has_metrics = sys.argv[2], sys.argv[3] == "--metrics-addr"
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
sc = c.get("securityContext", {})
env = {e["name"]: os.environ["NODE_NAME_FOR_TEST"] for e in c.get("env", [])
       if e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName"}
args = []
cmd = c["command"] + c.get("args", [])
i = 0
while i < len(cmd):
    if cmd[i] == "--metrics-addr" and not has_metrics:
        i += 2
        continue
    a = cmd[i]
    for k, v in env.items():
        a = a.replace("$(%s)" % k, v)
    args.append(a)
    i += 1
args += os.environ["AGENT_TEST_FLAGS"].split()
assert not sc.get("privileged"), "the DaemonSet must not be privileged"
caps = ["CAP_" + x for x in sc.get("capabilities", {}).get("add", []) if "cap:" + x != without]
hostmap = json.loads(os.environ["HOST_PATHS"])
vols = {v["name"]: v for v in pod.get("volumes", [])}
mounts = [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/var/run/secrets/kubernetes.io/serviceaccount", "type": "bind",
     "source": os.environ["SA_DIR"], "options": ["rbind", "ro"]},
]
for m in c.get("volumeMounts", []):
    if "mount:" + m["mountPath"] == without:
        continue
    hp = vols[m["name"]]["hostPath"]["path"]
    src = hostmap.get(hp)
    assert src, "no test path for hostPath %s: add it to HOST_PATHS" % hp
    prop = {"HostToContainer": "rslave", "Bidirectional": "rshared"}.get(m.get("mountPropagation"), "rprivate")
    mounts.append({"destination": m["mountPath"], "type": "bind", "source": src,
                   "options": ["rbind", prop] + (["ro"] if m.get("readOnly") else [])})
nss = [{"type": "mount"}, {"type": "uts"}, {"type": "ipc"}, {"type": "cgroup"}]
if not pod.get("hostPID") or without == "ns:hostPID":
    nss.append({"type": "pid"})
else:
    nss.append({"type": "pid", "path": os.environ["NODE_PIDNS"]})
if not pod.get("hostNetwork") or without == "ns:hostNetwork":
    nss.append({"type": "network", "path": os.environ["POD_NETNS"]})
print(json.dumps({
    "ociVersion": "1.0.2",
    "process": {"terminal": False, "user": {"uid": sc.get("runAsUser", 0), "gid": 0},
                "args": args, "cwd": "/",
                "env": ["PATH=/usr/bin", "KUBERNETES_SERVICE_HOST=127.0.0.1",
                        "KUBERNETES_SERVICE_PORT=" + os.environ["API_PORT"]] +
                       ["%s=%s" % kv for kv in env.items()],
                "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
                "noNewPrivileges": sc.get("allowPrivilegeEscalation") is False},
    "root": {"path": os.environ["IMAGE_ROOT"], "readonly": bool(sc.get("readOnlyRootFilesystem"))},
    "hostname": "podfence",
    "mounts": mounts,
    "linux": {"cgroupsPath": os.environ["AGENT_CG"], "namespaces": nss,
              "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
              "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]},
}, indent=1))
PY
}

# The privileges the DaemonSet grants, one word each: cap:X, mount:PATH, ns:hostPID...
daemonset_items() {
	python3 - "$DEPLOY/daemonset.yaml" <<'PY'
import sys, yaml
ds = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "DaemonSet"][0]
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
for x in c.get("securityContext", {}).get("capabilities", {}).get("add", []):
    print("cap:" + x)
for m in c.get("volumeMounts", []):
    print("mount:" + m["mountPath"])
for ns in ("hostPID", "hostNetwork", "hostIPC"):
    if pod.get(ns):
        print("ns:" + ns)
PY
}

AGENT_N=0
# agent_container [--without ITEM]: runs the agent from the image under runc; AGENT_CID.
agent_container() {
	local b
	AGENT_N=$((AGENT_N + 1))
	AGENT_CID=podfence-agent-$AGENT_N-$$
	b=$NODE_DIR/agent-bundle-$AGENT_N
	mkdir -p "$b"
	NODE_NAME_FOR_TEST=n1 API_PORT=$API_PORT IMAGE_ROOT=$IMAGE_ROOT SA_DIR=$NODE_DIR/sa \
		POD_NETNS=/proc/$API_NS_PID/ns/net NODE_PIDNS=/proc/$NODE_INIT/ns/pid AGENT_CG="$RNODE_CG_REL/$AGENT_CID" \
		AGENT_TEST_FLAGS="--pin-dir $NODE_PIN" \
		HOST_PATHS="{\"/sys/fs/bpf\": \"/sys/fs/bpf\", \"/sys/fs/cgroup\": \"$NODE_CG\",
			\"/sys/kernel/security\": \"/sys/kernel/security\",
			\"/run/containerd/io.containerd.runtime.v2.task\": \"$NODE_DIR/run/containerd/io.containerd.runtime.v2.task\",
			\"/run/containers/storage\": \"$NODE_DIR/run/containers/storage\",
			\"/run/podfence\": \"$NODE_DIR/run/podfence\",
			\"/var/lib/podfence\": \"$NODE_DIR/state\"}" \
		runc_config "$@" >"$b/config.json" || fail "cannot write the agent's runc config"
	NODE_LOG=$NODE_DIR/agent-$AGENT_N.log
	"$RNODE_RUNC" --root "$RNODE_ROOT" run --bundle "$b" "$AGENT_CID" </dev/null >"$NODE_LOG" 2>&1 &
	AGENT_RUNC_PID=$!
}

agent_container_stop() {
	"$RNODE_RUNC" --root "$RNODE_ROOT" kill "$AGENT_CID" TERM 2>/dev/null
	wait "$AGENT_RUNC_PID" 2>/dev/null
	"$RNODE_RUNC" --root "$RNODE_ROOT" delete -f "$AGENT_CID" 2>/dev/null
	rm -f "$NODE_SOCK"
}

# agent_outcome: "ready" once the agent's status says every resource is listed, or
# "exit N" when the container ends first (20 s at most).
agent_outcome() {
	local i
	for i in $(seq 1 200); do
		if ! kill -0 "$AGENT_RUNC_PID" 2>/dev/null; then
			wait "$AGENT_RUNC_PID"
			echo "exit $?"
			return
		fi
		if [ "$(agent_status 2>/dev/null | jq -r '.ready and ([.api[] | .listed] | all)')" = true ]; then
			echo ready
			return
		fi
		sleep 0.1
	done
	echo "timeout"
}

# enforces POD: the pod starts under its allowlist, an allowed exec runs and a forbidden one
# is refused; prints why not otherwise.
enforces() {
	local rc
	rpod_create default "$1" "$(pod_uid "$1")" app=web app:web:app:/app/web 2>"$NODE_DIR/pod.err" ||
		{ echo "the pod did not start: $(tail -n 1 "$NODE_DIR/pod.err")"; return 1; }
	rc=$(rpod_exec default "$1" web /app/ok)
	[ "$rc" = 0 ] || { echo "allowed exec /app/ok exited $rc"; return 1; }
	rc=$(rpod_exec default "$1" web /app/tool)
	[ "$rc" != 0 ] || { echo "forbidden exec /app/tool ran"; return 1; }
	return 0
}

#@timeout test_deploy_image_enforces_under_runc 90
test_deploy_image_enforces_under_runc() {
	local out why
	deploy_node
	agent_container
	out=$(agent_outcome)
	[ "$out" = ready ] || fail "the agent in the image did not become ready ($out): $(tail -n 5 "$NODE_LOG")"
	grep -q "Kubernetes API https://127.0.0.1:$API_PORT" "$NODE_LOG" ||
		fail "the agent does not say it reads the API in-cluster: $(head -n 5 "$NODE_LOG")"
	why=$(enforces web1) || fail "the agent of the image does not enforce: $why"
	assert_eq "$(agent_status | jq -r '.counts.pods')" 1 "pods known"
	# killed, its pinned state keeps enforcing; a new container takes it over
	"$RNODE_RUNC" --root "$RNODE_ROOT" kill "$AGENT_CID" KILL
	wait "$AGENT_RUNC_PID" 2>/dev/null
	"$RNODE_RUNC" --root "$RNODE_ROOT" delete -f "$AGENT_CID" 2>/dev/null
	[ "$(rpod_exec default web1 web /app/tool)" != 0 ] || fail "enforcement stopped with the agent's container"
	rm -f "$NODE_SOCK"
	agent_container
	out=$(agent_outcome)
	[ "$out" = ready ] || fail "the second agent did not become ready ($out): $(tail -n 5 "$NODE_LOG")"
	grep -q "pinned state taken over" "$NODE_LOG" || fail "the second agent did not take the pinned state over"
	[ "$(rpod_exec default web1 web /app/tool)" != 0 ] || fail "the forbidden exec ran after the takeover"
	[ "$(rpod_exec default web1 web /app/ok)" = 0 ] || fail "the allowed exec failed after the takeover"
	agent_container_stop
}

# What the log must name when ITEM is missing and the agent refuses to run.
item_name() {
	case $1 in
	cap:*) echo "CAP_${1#cap:}" ;;
	mount:*) echo "${1#mount:}" ;;
	ns:hostPID) echo "host PID namespace" ;;
	ns:*) echo "${1#ns:}" ;;
	esac
}

# Each privilege of the DaemonSet taken away in turn: the agent either still enforces, with
# the same backend (harmless: the DaemonSet should not grant it, unless the file says why
# for another kind of node), or exits non-zero naming what is missing.
#@timeout test_deploy_each_privilege_is_needed_or_harmless 240
test_deploy_each_privilege_is_needed_or_harmless() {
	local item out why backend base n=0 t0 verdicts=
	deploy_node
	agent_container
	[ "$(agent_outcome)" = ready ] || fail "the agent with every privilege did not start: $(tail -n 5 "$NODE_LOG")"
	base=$(agent_status | jq -r .backend)
	agent_container_stop
	"$PODFENCE" unpin "$NODE_PIN" >/dev/null 2>&1
	for item in $(daemonset_items); do
		n=$((n + 1))
		t0=$(now_ms)
		agent_container --without "$item"
		out=$(agent_outcome)
		case $out in
		ready)
			backend=$(agent_status | jq -r .backend)
			if why=$(enforces "p$n") && [ "$backend" = "$base" ]; then
				verdicts+="$item: harmless here (enforces, backend $backend)"$'\n'
			else
				if [[ $item == mount:/run/container* && $why == *"did not start"* ]]; then
					# the runtime's bundles: without them the sandbox fails closed (section 4)
					verdicts+="$item: needed (fails closed: $why)"$'\n'
				else
					verdicts+="$item: NEITHER: agent ready (backend $backend) but ${why:-the backend changed}"$'\n'
				fi
			fi
			rpod_delete default "p$n" >/dev/null 2>&1
			;;
		exit\ 0 | timeout)
			verdicts+="$item: NEITHER: $out: $(tail -n 2 "$NODE_LOG" | tr '\n' ' ')"$'\n'
			;;
		*)
			if grep -qF "$(item_name "$item")" "$NODE_LOG"; then
				verdicts+="$item: needed ($out, names $(item_name "$item")): $(grep -m1 -F "$(item_name "$item")" "$NODE_LOG")"$'\n'
			else
				verdicts+="$item: NEITHER: $out without naming $(item_name "$item"): $(tail -n 2 "$NODE_LOG" | tr '\n' ' ')"$'\n'
			fi
			;;
		esac
		verdicts+="    ($(elapsed_ms "$t0") ms)"$'\n'
		agent_container_stop
		"$PODFENCE" unpin "$NODE_PIN" >/dev/null 2>&1
	done
	echo "$verdicts"
	echo "$verdicts" >"${PF_DEPLOY_VERDICTS:-/dev/null}"
	! grep -q NEITHER <<<"$verdicts" || fail "$(grep NEITHER <<<"$verdicts" | head -n 3)"
}

# deploy/rbac.yaml grants exactly what the agent asks the API server for
# (verbs per group and resource, from the fake server's request log): no
# more (least privilege), no less (a watch the agent needs, refused). The
# agent's writes of PolicyProposals are made by the library's writer
# (pf_k8s_writer), driven here by tests/helpers/k8s-write as the agent drives
# it: a create (the first write of an object) and a patch (every later one).
test_deploy_rbac_grants_exactly_what_the_agent_requests() {
	local coll=/apis/podfence.io/v1alpha1/namespaces/shop/policyproposals
	# shellcheck source-path=SCRIPTDIR source=fixtures-api.sh
	source "$(dirname "${BASH_SOURCE[0]}")/fixtures-api.sh"
	python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml missing (make setup)"
	FAKE_API_LOG=1 api_server
	api_agent_start
	echo '{"spec": {"nodes": {"n1": {"updated": "2026-11-30T20:00:00Z", "containers": {}}}}}' \
		>"$NODE_DIR/patch.json"
	echo '{"apiVersion": "podfence.io/v1alpha1", "kind": "PolicyProposal",
	       "metadata": {"name": "deployment-web", "namespace": "shop"},
	       "spec": {"targetRef": {"kind": "Deployment", "name": "web"}, "nodes": {}}}' \
		>"$NODE_DIR/create.json"
	for _ in create patch; do
		"$REPO/build/tests/k8s-write" "$NODE_DIR/kubeconfig" "$coll" deployment-web \
			"$NODE_DIR/patch.json" "$NODE_DIR/create.json" ||
			fail "the writer did not write"
	done
	python3 - "$NODE_DIR/api.log" "$REPO/deploy/rbac.yaml" <<'PY' || fail "RBAC differs from the agent's requests"
import re, sys, yaml
from urllib.parse import urlparse, parse_qs
used = set()
for line in open(sys.argv[1]):
    m = re.match(r"[0-9.]+ (GET|POST|PATCH|PUT|DELETE) (\S+)", line)
    if not m or m.group(2).startswith("/_test/"):
        continue
    u = urlparse(m.group(2))
    parts = u.path.strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    rest = parts[2 if parts[0] == "api" else 3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    resource, named = rest[0], len(rest) > 1
    verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": "delete"}.get(m.group(1))
    if verb is None:
        watch = parse_qs(u.query).get("watch") in (["1"], ["true"])
        verb = "watch" if watch else "get" if named else "list"
    used.add((group, resource, verb))
granted = set()
for doc in yaml.safe_load_all(open(sys.argv[2])):
    if doc and doc.get("kind") == "ClusterRole":
        for r in doc["rules"]:
            for g in r["apiGroups"]:
                for res in r["resources"]:
                    for v in r["verbs"]:
                        granted.add((g, res, v))
if used != granted:
    print("granted, never requested:", sorted(granted - used))
    print("requested, not granted:", sorted(used - granted))
    sys.exit(1)
print("%d (group, resource, verb) granted, each requested" % len(used))
PY
}

# deploy/podfence.service (hosts without Kubernetes) is a unit systemd
# accepts as written, every directive and its hardening, with the binary
# where it is installed.
test_deploy_systemd_unit_verifies() {
	local out
	command -v systemd-analyze >/dev/null || skip "systemd-analyze missing (make setup)"
	sed "s|/usr/local/bin/podfence|$PODFENCE|" "$REPO/deploy/podfence.service" \
		>"$NODE_DIR/podfence.service"
	out=$(cd "$NODE_DIR" && systemd-analyze verify ./podfence.service 2>&1) ||
		fail "systemd-analyze verify: $out"
	[ -z "$out" ] || fail "systemd-analyze verify: $out"
}
