# shellcheck shell=bash
# The fake API server (tests/lib/fake-apiserver.py) and the agent fed by it:
# shared by the tests that run the agent on the Kubernetes API (sourced after
# fixtures.sh).

# api_server: starts the fake API server and writes a kubeconfig for it.
api_server() {
	local i
	python3 "$REPO/tests/lib/fake-apiserver.py" "$NODE_DIR/api.port" 2>"$NODE_DIR/api.log" &
	for i in $(seq 1 50); do
		[ -s "$NODE_DIR/api.port" ] && break
		sleep 0.1
	done
	[ -s "$NODE_DIR/api.port" ] || fail "the fake API server did not start: $(cat "$NODE_DIR/api.log")"
	API="http://127.0.0.1:$(cat "$NODE_DIR/api.port")"
	cat >"$NODE_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: test
contexts: [{name: test, context: {cluster: fake, user: agent}}]
clusters: [{name: fake, cluster: {server: "$API"}}]
users: [{name: agent, user: {token: not-checked}}]
EOF
}

api() { # PATH [BODY on stdin]
	curl -sf -X POST --data-binary @- "$API/_test/$1" >/dev/null || fail "fake API server: $1 failed"
}
api_put() { api "put/$1"; }		      # RESOURCE < JSON
api_delete() { api "delete/$1" </dev/null; }  # RESOURCE/NS/NAME
api_fault() { # KIND COUNT [SECONDS]
	echo "{\"kind\": \"$1\", \"count\": $2, \"seconds\": ${3:-0}}" | api fault
}

# yaml_to_json: a policy document (policy_doc) as the API serves it.
yaml_to_json() {
	python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'
}

# api_pod NAME LABELS(k=v,...) [NODE]: a running pod (cgroups made) on this node (n1).
api_pod() {
	local name=$1 labels=$2 node=${3:-n1} uid id l
	uid=$(pod_uid "$name")
	id=$(container_id "default-$name-main")
	mkdir -p "$NODE_CG/kubepods/burstable/pod$uid/$id"
	l=$(echo "$labels" | tr , '\n' | sed 's/^\([^=]*\)=\(.*\)$/"\1": "\2"/' | paste -sd, -)
	api_put pods <<EOF
{"metadata": {"name": "$name", "namespace": "default", "uid": "$uid", "labels": {$l}},
 "spec": {"nodeName": "$node", "containers": [{"name": "main", "image": "x"}]},
 "status": {"qosClass": "Burstable",
            "containerStatuses": [{"name": "main", "containerID": "containerd://$id"}]}}
EOF
}

api_agent_start() {
	"$PODFENCE" agent --kubeconfig "$NODE_DIR/kubeconfig" --node-name n1 \
		--socket "$NODE_SOCK" --pin-dir "$NODE_PIN" --cgroup-root "$NODE_CG" \
		--events "$NODE_EVENTS" --runtime-state none --state-dir "$NODE_DIR/state" "$@" \
		>>"$NODE_LOG" 2>&1 &
	AGENT_PID=$!
	agent_wait_ready || fail "agent did not start"
	await_status '[.api[] | .listed] | all' "every resource listed"
}


# api_kubelet put FILE | delete NS NAME: the kubelet's side of the API for the
# runc pods (RNODE_PUBLISH=api_kubelet): the Pod bound to node n1, its
# controller from $NODE_DIR/owners/NS-NAME ("KIND NAME") when there is one.
api_kubelet() {
	if [ "$1" = delete ]; then
		api_delete "pods/$2/$3"
		return
	fi
	python3 - "$2" "$NODE_DIR/owners" <<'EOF' | api_put pods
import json, os, sys, yaml
pod = yaml.safe_load(open(sys.argv[1]))
pod["spec"]["nodeName"] = os.environ.get("RNODE_NODE", "n1")
m = pod["metadata"]
owner = os.path.join(sys.argv[2], m["namespace"] + "-" + m["name"])
if os.path.exists(owner):
    kind, name = open(owner).read().split()
    m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": name,
                             "uid": "uid-" + name, "controller": True}]
print(json.dumps(pod))
EOF
}

# metrics_url: where the agent serves /metrics (--metrics-addr 127.0.0.1:0, port in its log).
metrics_url() {
	local port
	port=$(sed -n 's/.*metrics: .*(port \([0-9]*\)).*/\1/p' "$NODE_LOG" | tail -n 1)
	[ -n "$port" ] || fail "the agent logged no metrics port"
	echo "http://127.0.0.1:$port"
}

# metric NAME [LABEL=VALUE]: one sample of /metrics, read by the Prometheus
# client library's own parser (the text must parse as the exposition format).
metric() {
	curl -sf "$(metrics_url)/metrics" | python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
name, label = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
k, _, v = label.partition("=")
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name == name and (not k or s.labels.get(k) == v):
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
sys.exit(1)' "$@" || fail "no metric $* (or /metrics does not parse)"
}
