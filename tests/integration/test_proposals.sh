# shellcheck shell=bash
# The agents' PolicyProposals on the Kubernetes API: the library's writer
# (pf_k8s_writer, src/lib/k8s_write.c), driven by tests/helpers/k8s-write as one
# node's agent drives it, against the fake API server (tests/lib/fake-apiserver.py:
# create, RFC 7386 merge patch, injected faults). Each node owns its key
# spec.nodes.<node> of one object per workload; contributions never overwrite
# each other, and what the server stores is a valid PolicyProposal.

# shellcheck source-path=SCRIPTDIR source=fixtures.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures.sh"
# shellcheck source-path=SCRIPTDIR source=fixtures-api.sh
source "$(dirname "${BASH_SOURCE[0]}")/fixtures-api.sh"

PP_COLL=/apis/podfence.io/v1alpha1/namespaces/shop/policyproposals
PP_NAME=deployment-web

# finding PATH EXECS [EXTRA-JSON]: one item of a findings list.
finding() {
	echo "{\"path\": \"$1\", \"firstSeen\": \"2026-11-30T19:00:00Z\",
	       \"lastSeen\": \"2026-11-30T19:59:00Z\", \"pods\": 1, \"execs\": $2,
	       \"callers\": [\"/bin/sh\"]${3:+, $3}}"
}

# pp_write NODE UPDATED CONTAINERS-JSON: NODE's agent writes its entry of
# shop/deployment-web (the patch: only spec.nodes.NODE; the object to create
# when there is none yet: targetRef and that entry). Prints the writer's state.
pp_write() {
	local entry="{\"updated\": \"$2\", \"containers\": $3}"
	echo "{\"spec\": {\"nodes\": {\"$1\": $entry}}}" >"$NODE_DIR/patch-$1.json"
	cat >"$NODE_DIR/create-$1.json" <<EOF
{"apiVersion": "podfence.io/v1alpha1", "kind": "PolicyProposal",
 "metadata": {"name": "$PP_NAME", "namespace": "shop"},
 "spec": {"targetRef": {"kind": "Deployment", "name": "web"}, "nodes": {"$1": $entry}}}
EOF
	K8S_WRITE_TIMEOUT_MS=${PP_TIMEOUT_MS:-20000} "$REPO/build/tests/k8s-write" \
		"$NODE_DIR/kubeconfig" "$PP_COLL" "$PP_NAME" \
		"$NODE_DIR/patch-$1.json" "$NODE_DIR/create-$1.json" 2>>"$NODE_DIR/writer.log" ||
		fail "node $1's write did not drain: $(tail -n 3 "$NODE_DIR/writer.log")"
}

pp_get() { # [JQ-FILTER]: the object the fake server stores
	curl -sf "$API/_test/get/policyproposals/shop/$PP_NAME" | jq -cS "${1:-.}" ||
		fail "no proposal stored"
}

# the methods the writer used since line N of the server's log, in order
methods_since() {
	tail -n +"$1" "$NODE_DIR/api.log" | awk '$2 == "PATCH" || $2 == "POST" { print $2 }' |
		paste -sd' ' -
}
log_lines() { wc -l <"$NODE_DIR/api.log"; }

# Two nodes write their own spec.nodes.<node>: the first creates the object
# (PATCH 404, then POST), the second merges into it (PATCH) and both entries
# stay. A node's second write changes only what it changes in its own entry
# (maps merge, lists are replaced, null removes a key). 500s and connections
# closed unanswered are retried until the write lands; a write the server refuses (400)
# is reported and dropped. Every write is a watch event, and the stored object
# validates against the CRD. (About 10 s: the retries wait 0.8 + 1.6 s and more.)
#@timeout test_api_writer_merges_contributions 120
test_api_writer_merges_contributions() {
	local out n a1 b1 t0 ms
	python3 -c 'import jsonschema, yaml' 2>/dev/null ||
		skip "python3-jsonschema / python3-yaml missing (make setup)"
	[ -x "$REPO/build/tests/k8s-write" ] || fail "build/tests/k8s-write missing (make all)"
	FAKE_API_LOG=1 api_server

	# node-a first: nothing there yet
	n=$(($(log_lines) + 1))
	out=$(pp_write node-a "2026-11-30T20:00:00Z" "{
		\"main\": {\"execs\": [$(finding /usr/bin/sleep 17 '"entrypoint": true, "seeded": true')]},
		\"init\": {\"execs\": [$(finding /usr/bin/cp 1)]},
		\"sidecar\": {\"temporary\": [$(finding /tmp/tmp.x8/run 1 '"suggestedPrefix": "/tmp/tmp."')]}}")
	assert_eq "$(jq -c '[.written, .errors, .pending]' <<<"$out")" "[1,0,0]" "node-a's first write"
	assert_eq "$(methods_since "$n")" "PATCH POST" "node-a: patch, absent, created"
	a1=$(pp_get '.spec.nodes["node-a"]')
	assert_eq "$(pp_get '.spec.targetRef')" '{"kind":"Deployment","name":"web"}' "targetRef"

	# node-b merges its entry into the object node-a created
	n=$(($(log_lines) + 1))
	out=$(pp_write node-b "2026-11-30T20:01:00Z" "{
		\"main\": {\"execs\": [$(finding /usr/bin/sleep 9)],
			   \"outsideView\": [$(finding '/memfd:x (deleted)' 1)]}}")
	assert_eq "$(jq -c '[.written, .errors]' <<<"$out")" "[1,0]" "node-b's write"
	assert_eq "$(methods_since "$n")" "PATCH" "node-b: one patch"
	assert_eq "$(pp_get '.spec.nodes | keys')" '["node-a","node-b"]' "both nodes' entries"
	assert_eq "$(pp_get '.spec.nodes["node-a"]')" "$a1" "node-a's entry after node-b's write"
	b1=$(pp_get '.spec.nodes["node-b"]')

	# node-a again: a newer `updated`, main's execs list replaced, init removed
	# (null), sidecar not mentioned: kept as it was
	out=$(pp_write node-a "2026-11-30T21:00:00Z" "{
		\"main\": {\"execs\": [$(finding /usr/bin/sleep 40 '"entrypoint": true'),
				     $(finding /usr/bin/sh 3)]},
		\"init\": null}")
	assert_eq "$(jq -c '[.written, .errors]' <<<"$out")" "[1,0]" "node-a's second write"
	assert_eq "$(pp_get '.spec.nodes["node-b"]')" "$b1" "node-b's entry after node-a's write"
	assert_eq "$(pp_get '.spec.nodes["node-a"].updated')" '"2026-11-30T21:00:00Z"' "node-a updated"
	assert_eq "$(pp_get '.spec.nodes["node-a"].containers | keys')" '["main","sidecar"]' \
		"node-a's containers (init removed, sidecar kept)"
	assert_eq "$(pp_get '[.spec.nodes["node-a"].containers.main.execs[] | [.path, .execs]]')" \
		'[["/usr/bin/sleep",40],["/usr/bin/sh",3]]' "node-a's main execs replaced"
	assert_eq "$(pp_get '.spec.nodes["node-a"].containers.sidecar')" \
		"$(jq -cS '.containers.sidecar' <<<"$a1")" "node-a's sidecar untouched"

	# two 500s: retried after 0.8 s and 1.6 s (+-20%), then written
	api_fault http-500 2
	t0=$(now_ms)
	out=$(pp_write node-b "2026-11-30T21:01:00Z" '{"main": {"execs": []}}')
	ms=$(elapsed_ms "$t0")
	assert_eq "$(jq -c '[.written, .errors, .pending]' <<<"$out")" "[1,2,0]" "write through 2 500s"
	assert_match "$(jq -r .last_error <<<"$out")" "^PATCH $PP_COLL/$PP_NAME: HTTP 500 InternalError: injected \(retrying\)$" \
		"the 500 reported"
	[ "$ms" -ge 1900 ] || fail "2 retries took $ms ms: no backoff (0.8 s, then 1.6 s)"
	assert_eq "$(pp_get '.spec.nodes["node-b"].containers.main.execs')" '[]' "node-b's write landed"

	# the server down for the next 2 requests (connections closed unanswered; counted,
	# not timed, so that a slow machine cannot start the writer after the outage)
	api_fault down 2
	out=$(pp_write node-b "2026-11-30T21:02:00Z" '{"main": {"execs": []}}')
	assert_eq "$(jq -c '[.written, .errors, .pending]' <<<"$out")" "[1,2,0]" \
		"write after the server came back"
	assert_match "$(jq -r .last_error <<<"$out")" "^PATCH $PP_COLL/$PP_NAME: .*\(retrying\)$" \
		"the connection error reported"
	assert_eq "$(pp_get '.spec.nodes["node-b"].updated')" '"2026-11-30T21:02:00Z"' "node-b updated"

	# a write the server refuses (400: not an object) is reported and dropped, not retried
	echo '[]' >"$NODE_DIR/bad.json"
	n=$(($(log_lines) + 1))
	out=$(K8S_WRITE_TIMEOUT_MS=5000 "$REPO/build/tests/k8s-write" "$NODE_DIR/kubeconfig" \
		"$PP_COLL" "$PP_NAME" "$NODE_DIR/bad.json" "$NODE_DIR/create-node-a.json" 2>/dev/null) ||
		fail "a refused write was not dropped: $out"
	assert_eq "$(jq -c '[.written, .errors, .pending]' <<<"$out")" "[0,1,0]" "refused write"
	assert_match "$(jq -r .last_error <<<"$out")" "HTTP 400 BadRequest: .*not a JSON object$" \
		"the 400 reported with the Status's message"
	assert_eq "$(methods_since "$n")" "PATCH" "a refused write is sent once"
	# (and the fake server, as the real one for a custom resource, takes merge patches only)
	assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -d '[]' \
		-H 'Content-Type: application/json-patch+json' "$API$PP_COLL/$PP_NAME")" 415 \
		"a JSON patch"

	# every write a watch event: ADDED once, then MODIFIED
	out=$(curl -sf "$API$PP_COLL?watch=1&resourceVersion=0&timeoutSeconds=1" |
		jq -r 'select(.type != "BOOKMARK") | .type' | sort | uniq -c | awk '{print $2 "=" $1}' |
		paste -sd' ' -)
	assert_eq "$out" "ADDED=1 MODIFIED=4" "watch events of the writes"

	# what the server stores is a PolicyProposal as the CRD defines it
	pp_get >"$NODE_DIR/stored.json"
	out=$(python3 "$REPO/tests/lib/crd-validate.py" \
		--crds "$REPO/deploy/crds/podfence.io_policyproposals.yaml" \
		--docs "$NODE_DIR/stored.json") || fail "the stored object is not valid: $out"
	assert_match "$out" "PolicyProposal shop/$PP_NAME valid" "the stored object validated"
}
