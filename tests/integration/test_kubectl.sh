# shellcheck shell=bash
# shellcheck disable=SC2119 # api_agent_start takes optional extra agent flags
# The fake API server (tests/lib/fake-apiserver.py) as kubectl sees it: the
# server the agent's tests run against must answer a real client the way a
# real API server does (discovery, /version, namespaced paths, single
# objects, Table answers, watches), or the tests prove less than they say.
# The client is Debian's kubectl (package kubernetes-client, 1.20), unpacked
# by `make setup` into the build tree (mk/kubectl.sh); PF_KUBECTL overrides it.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures-api.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures-api.sh"

# kubectl_find: sets KUBECTL to Debian's kubectl, which `make setup` unpacks
# (mk/kubectl.sh) into the build tree, or skips when it is not there.
kubectl_find() {
	KUBECTL=${PF_KUBECTL:-$(dirname "$PODFENCE")/tools/kubernetes-client/usr/bin/kubectl}
	[ -x "$KUBECTL" ] ||
		skip "Debian's kubectl is not unpacked at $KUBECTL (make setup: mk/kubectl.sh)"
}

# kc ARGS...: kubectl on the fake server, its discovery cache in the node's dir.
kc() {
	"$KUBECTL" --kubeconfig "$NODE_DIR/kubeconfig" --cache-dir "$NODE_DIR/kube-cache" \
		--request-timeout 10s "$@"
}

# kc_rows ARGS...: the rows of a table kubectl prints, columns 1 and 2 joined
# by '/' (NAMESPACE/NAME with -A), sorted, on one line.
kc_rows() {
	local out
	out=$(kc get "$@" --no-headers 2>&1) || fail "kubectl get $*: $out"
	awk '{ print $1 "/" $2 }' <<<"$out" | sort | paste -sd' ' -
}

kc_names() { # ARGS...: NAME column only
	local out
	out=$(kc get "$@" --no-headers 2>&1) || fail "kubectl get $*: $out"
	awk '{ print $1 }' <<<"$out" | sort | paste -sd' ' -
}

# api_pod_in NS NAME NODE: a pod of another namespace (no cgroups: kubectl only).
api_pod_in() {
	api_put pods <<EOF
{"metadata": {"name": "$2", "namespace": "$1", "uid": "$(pod_uid "$1-$2")", "labels": {"app": "$2"}},
 "spec": {"nodeName": "$3", "containers": [{"name": "main", "image": "x"}]}}
EOF
}

# await_grep FILE REGEX WHAT: a line of FILE matches within 5 s (kubectl starts slowly).
await_grep() {
	local t0
	t0=$(now_ms)
	until grep -qE "$2" "$1" 2>/dev/null; do
		[ "$(elapsed_ms "$t0")" -le 5000 ] || fail "$3: no line /$2/ after 5 s in: $(cat "$1")"
		sleep 0.05
	done
}

# ---- tests ------------------------------------------------------------------

# What was put is what kubectl gets, resource by resource, in every namespace
# or in one, as a table, as JSON and as one object; and the agent, reading the
# same server, holds the same objects.
test_kubectl_gets_what_was_put() {
	local ex=$REPO/examples/policies f out
	kubectl_find
	api_server
	api_pod web app=web
	api_pod db app=db n2
	api_pod_in shop cart n1
	policy_doc deny-id app=web Equal "$ID" | yaml_to_json | api_put tracingpolicies
	policy_doc deny-ls app=db Equal "$LS" | yaml_to_json | api_put tracingpolicies
	yaml_to_json <"$ex/exec-allowlist-template.yaml" | api_put policytemplates
	for f in api-binding toolbox-binding toolbox-binding-extra; do
		yaml_to_json <"$ex/$f.yaml" | api_put policybindings
	done

	out=$(kc version --short 2>&1) || fail "kubectl version: $out"
	assert_match "$out" "Server Version: v1\.[0-9]+" "kubectl version"
	assert_eq "$(kc_rows pods -A)" "default/db default/web shop/cart" "get pods -A"
	assert_eq "$(kc_names pods)" "db web" "get pods (the context's namespace: default)"
	out=$(kc get pods -n default -o json 2>&1) || fail "get pods -n default -o json: $out"
	assert_eq "$(jq -r '[.items[] | .kind + " " + .metadata.namespace + "/" + .metadata.name] | sort | join(",")' <<<"$out")" \
		"Pod default/db,Pod default/web" "get pods -n default -o json"
	assert_eq "$(jq -r '[.items[] | select(.metadata.name == "web") | .spec.nodeName, .status.containerStatuses[0].containerID] | join(" ")' <<<"$out")" \
		"n1 containerd://$(container_id default-web-main)" "the pod's fields through kubectl"
	assert_eq "$(kc get pod web -n default -o jsonpath='{.metadata.uid}' 2>&1)" "$(pod_uid web)" "get pod web"
	out=$(kc get pod nope 2>&1) && fail "get pod nope succeeded: $out"
	assert_match "$out" 'NotFound.*"nope" not found' "get pod nope"
	assert_eq "$(kc_names tracingpolicies)" "deny-id deny-ls" "get tracingpolicies"
	assert_eq "$(kc_rows policybindings -A)" "ops/toolbox ops/toolbox-extra shop/api" "get policybindings -A"
	assert_eq "$(kc_names policybindings -n ops)" "toolbox toolbox-extra" "get policybindings -n ops"
	assert_eq "$(kc_names policytemplates)" "exec-allowlist" "get policytemplates"
	out=$(kc get policybinding api -n shop -o json 2>&1) || fail "get policybinding api: $out"
	assert_eq "$(jq -r '.kind + " " + .spec.templateRef + " " + .spec.targetRef.name' <<<"$out")" \
		"PolicyBinding exec-allowlist api" "get policybinding api -n shop -o json"
	out=$(kc api-resources --no-headers 2>&1) || fail "kubectl api-resources: $out"
	assert_eq "$(awk '{ print $1 }' <<<"$out" | sort | paste -sd' ' -)" \
		"pods policybindings policyproposals policytemplates tracingpolicies tracingpoliciesnamespaced" "api-resources"
	# a deletion is seen by the next get
	api_delete policybindings/ops/toolbox-extra
	assert_eq "$(kc_rows policybindings -A)" "ops/toolbox shop/api" "get policybindings -A after a delete"

	# the agent, on the same server, holds what kubectl lists (its node's pods only)
	api_agent_start
	assert_eq "$(st '[.counts.pods, .counts.templates, .counts.bindings] | join(" ")')" "2 1 2" \
		"the agent's pods (default/web, shop/cart), templates and bindings"
}

# A watch (kubectl get -w) prints the list, then each change as it comes:
# a pod added in its namespace and then deleted; a pod of another namespace
# never; a binding added in any namespace (-A) on a custom resource.
test_kubectl_watch_shows_changes() {
	local w=$NODE_DIR/watch.out wb=$NODE_DIR/watch-bindings.out
	kubectl_find
	FAKE_API_LOG=1 api_server # requests in api.log: when the watches started
	api_pod web app=web
	kc get pods -w --output-watch-events >"$w" 2>&1 &
	kc get policybindings -A -w --output-watch-events >"$wb" 2>&1 &
	await_grep "$w" '^ADDED +web ' "the listed pod"
	await_grep "$NODE_DIR/api.log" 'GET /api/v1/namespaces/default/pods\?.*watch=true' "kubectl's pod watch"
	await_grep "$NODE_DIR/api.log" 'GET /apis/podfence.io/v1alpha1/policybindings\?.*watch=true' \
		"kubectl's binding watch (after an empty list)"

	api_pod late app=late
	await_grep "$w" '^ADDED +late ' "a pod added while watching"
	api_pod_in shop other n1
	api_delete pods/default/late
	await_grep "$w" '^DELETED +late ' "a pod deleted while watching"
	grep -q other "$w" && fail "a pod of another namespace in a namespace's watch: $(cat "$w")"
	api_pod web app=changed
	await_grep "$w" '^MODIFIED +web ' "a pod modified while watching"

	yaml_to_json <"$REPO/examples/policies/api-binding.yaml" | api_put policybindings
	await_grep "$wb" '^ADDED +shop +api ' "a binding added while watching"
	api_delete policybindings/shop/api
	await_grep "$wb" '^DELETED +shop +api ' "a binding deleted while watching"
}
