// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <unistd.h>
#include "pf_test.h"
#include "podfence/pod.h"

#define RABBIT_FIXTURE "../shared/fixtures/k8s/pod-rabbit-k3s-containerd.json"

static int parse(const char *file, const char *text, struct pf_pod_list *out,
		 struct pf_diags *diags)
{
	return pf_pod_parse_buf(file, text, strlen(text), out, diags);
}

/* The formatted diagnostic containing needle, or NULL. */
static const char *diag_find(const struct pf_diags *d, const char *needle, char *buf, size_t len)
{
	for (size_t i = 0; i < d->n; i++) {
		pf_diag_format(&d->v[i], buf, len);
		if (strstr(buf, needle))
			return buf;
	}
	return NULL;
}

static const struct pf_container *container(const struct pf_pod *p, const char *name)
{
	for (size_t i = 0; i < p->n_containers; i++)
		if (strcmp(p->containers[i].name, name) == 0)
			return &p->containers[i];
	return NULL;
}

static char *slurp(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

PF_TEST(pod_fixture_rabbit_k3s)
{
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	const struct pf_pod *p;
	const struct pf_container *c;

	if (access(RABBIT_FIXTURE, R_OK))
		PF_SKIP("%s not present", RABBIT_FIXTURE);
	if (!ASSERT_OK(pf_pod_parse_file(RABBIT_FIXTURE, &l, &d), "parse fixture"))
		pf_diags_print(&d, stderr);
	if (!ASSERT_EQ(l.n, 1, "pods"))
		goto out;
	p = &l.v[0];
	ASSERT_STREQ(p->name, "rabbit", "name");
	ASSERT_STREQ(p->namespace, "default", "namespace");
	ASSERT_STREQ(p->uid, "80aa3c62-fed5-444c-a63e-a6de52a86843", "uid");
	ASSERT_STREQ(p->cgroup_uid, p->uid, "cgroup uid is the uid");
	ASSERT_STREQ(p->node, "controlplane", "node");
	ASSERT_STREQ(p->file, RABBIT_FIXTURE, "file");
	ASSERT_EQ(p->labels.n, 0, "no labels");
	ASSERT_EQ(p->qos, PF_QOS_BURSTABLE, "qos");
	ASSERT_STREQ(p->workload.kind, "Pod", "a bare pod is its own workload");
	ASSERT_STREQ(p->workload.name, "rabbit", "workload name");
	if (!ASSERT_EQ(p->n_containers, 1, "containers"))
		goto out;
	c = &p->containers[0];
	ASSERT_STREQ(c->name, "cpu-stress", "container name");
	ASSERT_EQ(c->kind, PF_CONTAINER_REGULAR, "kind");
	ASSERT_STREQ(c->id, "6b7e45e136716ed030ebdb79bcc5674204b1abd6cee0add02ea4c2e891e65183",
		     "container id");
	ASSERT_STREQ(c->runtime, "containerd", "runtime");
	ASSERT_EQ(d.n, 0, "no diagnostics");
out:
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

/* Without status.qosClass the same pod must come out Burstable by computation (cpu only). */
PF_TEST(pod_fixture_rabbit_qos_computed)
{
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	char *text, *q;

	if (access(RABBIT_FIXTURE, R_OK))
		PF_SKIP("%s not present", RABBIT_FIXTURE);
	text = slurp(RABBIT_FIXTURE);
	if (!ASSERT_NOT_NULL(text, "read fixture"))
		return;
	q = strstr(text, "\"qosClass\"");
	if (ASSERT_NOT_NULL(q, "fixture has qosClass"))
		memcpy(q, "\"qosClasX\"", 10);
	ASSERT_OK(parse("rabbit.json", text, &l, &d), "parse");
	if (ASSERT_EQ(l.n, 1, "pods"))
		ASSERT_EQ(l.v[0].qos, PF_QOS_BURSTABLE, "computed qos");
	free(text);
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

static const char yaml_pod[] = "apiVersion: v1\n"
			       "kind: Pod\n"
			       "metadata:\n"
			       "  name: kube-apiserver-node1\n"
			       "  namespace: kube-system\n"
			       "  uid: 0b6a1d2e-1111-2222-3333-444455556666\n"
			       "  annotations:\n"
			       "    kubernetes.io/config.hash: 9f1c2a3b4c5d6e7f8091a2b3c4d5e6f7\n"
			       "    kubernetes.io/config.source: file\n"
			       "  labels:\n"
			       "    component: kube-apiserver\n"
			       "    tier: control-plane\n"
			       "    version: \"1\"\n"
			       "    empty: ''\n"
			       "  ownerReferences:\n"
			       "  - {apiVersion: v1, kind: Node, name: node1, controller: true}\n"
			       "spec:\n"
			       "  nodeName: node1\n"
			       "  initContainers:\n"
			       "  - name: setup\n"
			       "    image: busybox\n"
			       "  containers:\n"
			       "  - name: apiserver\n"
			       "    image: registry.k8s.io/kube-apiserver:v1.30.0\n"
			       "    command: [kube-apiserver, --secure-port=6443]\n"
			       "  - name: sidecar\n"
			       "    image: busybox\n"
			       "  - name: pending\n"
			       "  ephemeralContainers:\n"
			       "  - name: debugger\n"
			       "    image: busybox\n"
			       "    targetContainerName: apiserver\n"
			       "status:\n"
			       "  phase: Running\n"
			       "  qosClass: BestEffort\n"
			       "  initContainerStatuses:\n"
			       "  - name: setup\n"
			       "    containerID: docker://1111aaaa\n"
			       "  containerStatuses:\n"
			       "  - name: apiserver\n"
			       "    containerID: cri-o://2222bbbb\n"
			       "    ready: true\n"
			       "  - name: sidecar\n"
			       "    containerID: rkt://3333cccc\n"
			       "  - name: pending\n"
			       "    containerID: ''\n"
			       "  - name: not-in-spec\n"
			       "    containerID: containerd://ffff\n"
			       "  ephemeralContainerStatuses:\n"
			       "  - name: debugger\n"
			       "    containerID: containerd://4444dddd\n";

PF_TEST(pod_yaml_static_pod_all_container_kinds)
{
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	const struct pf_container *c;
	const struct pf_pod *p;

	if (!ASSERT_OK(parse("static.yaml", yaml_pod, &l, &d), "parse"))
		pf_diags_print(&d, stderr);
	if (!ASSERT_EQ(l.n, 1, "pods"))
		goto out;
	p = &l.v[0];
	ASSERT_STREQ(p->namespace, "kube-system", "namespace");
	ASSERT_STREQ(p->uid, "0b6a1d2e-1111-2222-3333-444455556666", "uid");
	ASSERT_STREQ(p->cgroup_uid, "9f1c2a3b4c5d6e7f8091a2b3c4d5e6f7", "config.hash");
	ASSERT_STREQ(p->node, "node1", "node");
	ASSERT_EQ(p->qos, PF_QOS_BESTEFFORT, "qos from status");
	ASSERT_EQ(p->labels.n, 4, "labels");
	ASSERT_STREQ(pf_labels_get(&p->labels, "tier"), "control-plane", "label");
	ASSERT_STREQ(pf_labels_get(&p->labels, "version"), "1", "quoted number label");
	ASSERT_STREQ(pf_labels_get(&p->labels, "empty"), "", "empty label value");
	ASSERT_EQ(p->n_containers, 5, "containers");

	c = container(p, "setup");
	if (ASSERT_NOT_NULL(c, "init container")) {
		ASSERT_EQ(c->kind, PF_CONTAINER_INIT, "init kind");
		ASSERT_STREQ(c->id, "1111aaaa", "docker id");
		ASSERT_STREQ(c->runtime, "docker", "docker runtime");
	}
	c = container(p, "apiserver");
	if (ASSERT_NOT_NULL(c, "regular container")) {
		ASSERT_EQ(c->kind, PF_CONTAINER_REGULAR, "regular kind");
		ASSERT_STREQ(c->id, "2222bbbb", "cri-o id");
		ASSERT_STREQ(c->runtime, "cri-o", "cri-o runtime");
	}
	c = container(p, "sidecar");
	if (ASSERT_NOT_NULL(c, "sidecar")) {
		ASSERT_STREQ(c->id, "3333cccc", "unknown scheme keeps the id");
		ASSERT_STREQ(c->runtime, "rkt", "unknown scheme as written");
	}
	c = container(p, "pending");
	if (ASSERT_NOT_NULL(c, "pending")) {
		ASSERT_TRUE(c->id == NULL, "no id yet");
		ASSERT_TRUE(c->runtime == NULL, "no runtime yet");
	}
	c = container(p, "debugger");
	if (ASSERT_NOT_NULL(c, "ephemeral container")) {
		ASSERT_EQ(c->kind, PF_CONTAINER_EPHEMERAL, "ephemeral kind");
		ASSERT_STREQ(c->id, "4444dddd", "containerd id");
		ASSERT_STREQ(c->runtime, "containerd", "containerd runtime");
	}
	ASSERT_TRUE(container(p, "not-in-spec") == NULL, "status without spec ignored");
out:
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(pod_multi_document_yaml_and_json)
{
	static const char text[] =
	    "# two pods, the second written as JSON (flow YAML)\n"
	    "apiVersion: v1\n"
	    "kind: Pod\n"
	    "metadata: {name: a, uid: uid-a, labels: {app: web}}\n"
	    "spec: {nodeName: null, containers: [{name: c}]}\n"
	    "---\n"
	    "---\n"
	    "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
	    " \"metadata\": {\"name\": \"b\", \"namespace\": \"prod\", \"uid\": \"uid-b\",\n"
	    "              \"labels\": {\"app\": \"db\", \"n\": \"7\"}},\n"
	    " \"spec\": {\"containers\": [{\"name\": \"c\", \"resources\": {}}]}}\n";
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};

	if (!ASSERT_OK(parse("multi.yaml", text, &l, &d), "parse"))
		pf_diags_print(&d, stderr);
	if (!ASSERT_EQ(l.n, 2, "pods"))
		goto out;
	ASSERT_STREQ(l.v[0].name, "a", "first");
	ASSERT_STREQ(l.v[0].namespace, "default", "namespace defaults");
	ASSERT_TRUE(l.v[0].node == NULL, "null nodeName is unscheduled");
	ASSERT_STREQ(pf_labels_get(&l.v[0].labels, "app"), "web", "yaml label");
	ASSERT_EQ(l.v[0].qos, PF_QOS_BESTEFFORT, "no resources");
	ASSERT_STREQ(l.v[1].name, "b", "second");
	ASSERT_STREQ(l.v[1].namespace, "prod", "json namespace");
	ASSERT_STREQ(pf_labels_get(&l.v[1].labels, "n"), "7", "json string label");
	ASSERT_TRUE(l.v[1].containers[0].id == NULL, "no status, no id");
out:
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(pod_list_and_podlist)
{
	static const char list[] = "apiVersion: v1\n"
				   "kind: List\n"
				   "metadata: {resourceVersion: \"\"}\n"
				   "items:\n"
				   "- apiVersion: v1\n"
				   "  kind: Pod\n"
				   "  metadata: {name: p1, uid: u1}\n"
				   "- apiVersion: v1\n"
				   "  kind: Pod\n"
				   "  metadata: {name: p2, uid: u2, namespace: ns}\n";
	/* The API server's own list response: items carry neither apiVersion nor kind. */
	static const char podlist[] =
	    "{\"kind\": \"PodList\", \"apiVersion\": \"v1\",\n"
	    " \"metadata\": {\"resourceVersion\": \"9\"},\n"
	    " \"items\": [{\"metadata\": {\"name\": \"p3\", \"uid\": \"u3\"}}]}\n";
	static const char empty_list[] = "apiVersion: v1\nkind: List\nitems: []\n";
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};

	ASSERT_OK(parse("list.yaml", list, &l, &d), "List");
	ASSERT_OK(parse("podlist.json", podlist, &l, &d), "PodList appends");
	ASSERT_OK(parse("empty.yaml", empty_list, &l, &d), "empty List");
	if (ASSERT_EQ(l.n, 3, "pods")) {
		ASSERT_STREQ(l.v[0].name, "p1", "p1");
		ASSERT_STREQ(l.v[1].namespace, "ns", "p2 namespace");
		ASSERT_STREQ(l.v[2].uid, "u3", "p3");
		ASSERT_STREQ(l.v[2].file, "podlist.json", "file");
	}
	ASSERT_EQ(d.n, 0, "no diagnostics");
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

static int qos_of(const char *spec)
{
	char text[2048];
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	int ret;

	snprintf(text, sizeof(text),
		 "apiVersion: v1\nkind: Pod\nmetadata: {name: q, uid: q}\nspec:\n%s", spec);
	ret = parse("qos.yaml", text, &l, &d);
	if (ret == 0)
		ret = l.n == 1 ? (int)l.v[0].qos : -ENODATA;
	else
		pf_diags_print(&d, stderr);
	pf_pod_list_free(&l);
	pf_diags_free(&d);
	return ret;
}

PF_TEST(pod_qos_computed_like_kubelet)
{
	static const struct {
		const char *spec;
		int qos;
		const char *what;
	} cases[] = {
	    {"  containers: [{name: a}]\n", PF_QOS_BESTEFFORT, "no resources"},
	    {"  containers:\n  - name: a\n    resources:\n"
	     "      limits: {cpu: 500m, memory: 128Mi}\n",
	     PF_QOS_GUARANTEED, "limits only: requests default to them"},
	    {"  containers:\n  - name: a\n    resources:\n"
	     "      limits: {cpu: 1, memory: 1Gi}\n"
	     "      requests: {cpu: 1000m, memory: \"1073741824\"}\n",
	     PF_QOS_GUARANTEED, "equal in different units"},
	    {"  containers:\n  - name: a\n    resources:\n"
	     "      limits: {cpu: \"2\", memory: 1E}\n"
	     "      requests: {cpu: 2e0, memory: 1000000000000000000}\n",
	     PF_QOS_GUARANTEED, "exa suffix and exponent"},
	    {"  containers:\n  - name: a\n    resources:\n"
	     "      limits: {cpu: 1, memory: 1Gi}\n"
	     "      requests: {cpu: 500m, memory: 1Gi}\n",
	     PF_QOS_BURSTABLE, "request below limit"},
	    {"  containers:\n  - name: a\n    resources: {limits: {cpu: 1}}\n", PF_QOS_BURSTABLE,
	     "cpu limit only"},
	    {"  containers:\n  - name: a\n    resources: {limits: {cpu: 1, memory: 1Gi}}\n"
	     "  - name: b\n",
	     PF_QOS_BURSTABLE, "one container without limits"},
	    {"  initContainers:\n  - name: i\n"
	     "  containers:\n  - name: a\n    resources: {limits: {cpu: 1, memory: 1Gi}}\n",
	     PF_QOS_BURSTABLE, "init containers count"},
	    {"  ephemeralContainers:\n  - name: e\n"
	     "  containers:\n  - name: a\n    resources: {limits: {cpu: 1, memory: 1Gi}}\n",
	     PF_QOS_GUARANTEED, "ephemeral containers do not"},
	    {"  containers:\n  - name: a\n"
	     "    resources: {requests: {ephemeral-storage: 1Gi, nvidia.com/gpu: 1}}\n",
	     PF_QOS_BESTEFFORT, "only cpu and memory matter"},
	    {"  containers:\n  - name: a\n"
	     "    resources: {requests: {cpu: \"0\", memory: 0}}\n",
	     PF_QOS_BESTEFFORT, "zero requests"},
	    {"  resources: {limits: {cpu: 1, memory: 1Gi}}\n"
	     "  containers:\n  - name: a\n  - name: b\n",
	     PF_QOS_GUARANTEED, "pod-level resources"},
	    {"  containers:\n  - name: a\n    resources: {limits: {cpu: 1, memory: 1Gi}}\n"
	     "  - name: b\n    resources: {limits: {cpu: 250m, memory: 64Mi}}\n",
	     PF_QOS_GUARANTEED, "two guaranteed containers"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_EQ(qos_of(cases[i].spec), cases[i].qos, cases[i].what);
}

PF_TEST(pod_status_qos_wins_over_computation)
{
	static const char text[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, uid: u}\n"
				   "spec: {containers: [{name: c}]}\n"
				   "status: {qosClass: Guaranteed}\n";
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};

	ASSERT_OK(parse("s.yaml", text, &l, &d), "parse");
	if (ASSERT_EQ(l.n, 1, "pods"))
		ASSERT_EQ(l.v[0].qos, PF_QOS_GUARANTEED, "status.qosClass");
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(pod_errors_have_positions_and_reject_file)
{
	static const char text[] = "apiVersion: v1\n"
				   "kind: Pod\n"
				   "metadata:\n"
				   "  name: web\n"
				   "  labels:\n"
				   "    app: 1\n"
				   "    enabled: yes\n"
				   "spec:\n"
				   "  containers:\n"
				   "  - image: nginx\n"
				   "  - name: [x]\n"
				   "status: {containerStatuses: {}, qosClass: Platinum}\n"
				   "---\n"
				   "apiVersion: apps/v1\n"
				   "kind: Deployment\n"
				   "metadata: {name: d, uid: u}\n"
				   "---\n"
				   "- just a list\n";
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	struct pf_pod keep = {0};
	char buf[256];

	keep.name = strdup("earlier");
	pf_pod_list_push(&l, &keep);
	ASSERT_EQ(parse("bad.yaml", text, &l, &d), -EINVAL, "rejected");
	ASSERT_EQ(l.n, 1, "out untouched");
	ASSERT_NOT_NULL(diag_find(&d, "bad.yaml:4:3: error: metadata.uid: required field missing",
				  buf, sizeof(buf)),
			"missing uid at the metadata mapping");
	ASSERT_NOT_NULL(diag_find(&d,
				  "bad.yaml:6:10: error: metadata.labels.app: label value "
				  "must be a string",
				  buf, sizeof(buf)),
			"number label value");
	ASSERT_NOT_NULL(diag_find(&d, "bad.yaml:7:14: error: metadata.labels.enabled: label value",
				  buf, sizeof(buf)),
			"yaml 1.1 boolean label value");
	ASSERT_NOT_NULL(diag_find(&d, "bad.yaml:10:5: error: spec.containers[0].name: required",
				  buf, sizeof(buf)),
			"container without name");
	ASSERT_NOT_NULL(diag_find(&d,
				  "bad.yaml:11:11: error: spec.containers[1].name: must be a "
				  "string",
				  buf, sizeof(buf)),
			"container name type");
	ASSERT_NOT_NULL(diag_find(&d,
				  "bad.yaml:12:29: error: status.containerStatuses: must be "
				  "a sequence",
				  buf, sizeof(buf)),
			"status type");
	ASSERT_NOT_NULL(diag_find(&d, "bad.yaml:12:43: error: status.qosClass: unknown QoS class",
				  buf, sizeof(buf)),
			"qos class");
	ASSERT_NOT_NULL(
	    diag_find(&d, "bad.yaml:14:13: error: apiVersion: must be v1", buf, sizeof(buf)),
	    "apiVersion");
	ASSERT_NOT_NULL(diag_find(&d, "bad.yaml:15:7: error: kind: must be Pod", buf, sizeof(buf)),
			"kind");
	ASSERT_NOT_NULL(diag_find(&d, "bad.yaml:18:1: error: document: a Pod must be a mapping",
				  buf, sizeof(buf)),
			"root not a mapping");
	ASSERT_EQ(d.n_errors, 10, "every error reported");
	if (d.n_errors != 10)
		pf_diags_print(&d, stderr);
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(pod_errors_in_list_items_and_quantities)
{
	static const char text[] =
	    "apiVersion: v1\n"
	    "kind: List\n"
	    "items:\n"
	    "- {apiVersion: v1, kind: Pod, metadata: {name: ok, uid: u1}}\n"
	    "- apiVersion: v1\n"
	    "  kind: Service\n"
	    "  metadata: {name: svc, uid: u2}\n"
	    "- kind: Pod\n"
	    "  metadata: {name: q, uid: u3}\n"
	    "  spec: {containers: [{name: c, resources: {limits: {cpu: 1x}}}]}\n";
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	char buf[256];

	ASSERT_EQ(parse("list.yaml", text, &l, &d), -EINVAL, "rejected");
	ASSERT_EQ(l.n, 0, "nothing out");
	ASSERT_NOT_NULL(
	    diag_find(&d, "list.yaml:6:9: error: items[1].kind: must be Pod", buf, sizeof(buf)),
	    "item kind");
	ASSERT_NOT_NULL(diag_find(&d,
				  "list.yaml:10:59: error: items[2].spec.containers[0]."
				  "resources.limits.cpu: invalid quantity",
				  buf, sizeof(buf)),
			"quantity");
	ASSERT_EQ(d.n_errors, 2, "errors");
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

/* fuzz_pod: each quantity fit in nano-units, their sum overflowed (UB on __int128). */
PF_TEST(pod_qos_sum_out_of_range)
{
	static const char text[] = "apiVersion: v1\n"
				   "kind: Pod\n"
				   "metadata: {name: p, uid: u}\n"
				   "spec:\n"
				   "  containers:\n"
				   "  - {name: a, resources: {limits: {cpu: 1e29}}}\n"
				   "  - {name: b, resources: {limits: {cpu: 1e29}}}\n"
				   "  - {name: c, resources: {requests: {memory: 1e29}}}\n"
				   "  - {name: d, resources: {requests: {memory: 1e29}}}\n";
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	char buf[256];

	ASSERT_EQ(parse("big.yaml", text, &l, &d), -EINVAL, "rejected");
	ASSERT_EQ(l.n, 0, "nothing out");
	/* b's request defaults to its limit: both totals overflow there, one error. */
	ASSERT_NOT_NULL(diag_find(&d,
				  "big.yaml:7:41: error: spec.containers[1].resources.limits.cpu: "
				  "invalid quantity (the pod's total is out of range)",
				  buf, sizeof(buf)),
			"limits total");
	ASSERT_NOT_NULL(diag_find(&d,
				  "big.yaml:9:46: error: spec.containers[3].resources.requests."
				  "memory: invalid quantity",
				  buf, sizeof(buf)),
			"requests total");
	ASSERT_EQ(d.n_errors, 2, "errors");
	pf_pod_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(pod_syntax_and_io_errors)
{
	struct pf_pod_list l = {0};
	struct pf_diags d = {0};
	char buf[256];

	ASSERT_EQ(parse("syn.yaml", "apiVersion: v1\nkind: [Pod\n", &l, &d), -EINVAL, "syntax");
	ASSERT_NOT_NULL(diag_find(&d, "syn.yaml:", buf, sizeof(buf)), "syntax error position");
	ASSERT_EQ(pf_pod_parse_file("/nonexistent/pods.yaml", &l, &d), -ENOENT, "missing file");
	ASSERT_NOT_NULL(diag_find(&d, "/nonexistent/pods.yaml", buf, sizeof(buf)), "names file");
	ASSERT_OK(parse("empty.yaml", "", &l, &d), "empty file");
	ASSERT_OK(parse("empty.yaml", "---\n...\n", &l, NULL), "NULL diags");
	ASSERT_EQ(parse("e.yaml", "apiVersion: v1\nkind: Pod\n", &l, NULL), -EINVAL, "no diags");
	ASSERT_EQ(l.n, 0, "no pods");
	pf_pod_list_free(&l);
	pf_diags_free(&d);
	pf_pod_free(NULL);
	pf_pod_list_free(NULL);
}

/* The workload from the controller ownerReference, as k8s-notes.md describes it. */
PF_TEST(pod_workload_from_controller_owner)
{
	static const struct {
		const char *owners, *hash, *kind, *name;
	} cases[] = {
	    {"[{kind: ReplicaSet, name: web-7d4b9c8f5, controller: true}]", "7d4b9c8f5",
	     "Deployment", "web"},
	    {"[{kind: ReplicaSet, name: my-web-app-55d9f7c6b4, controller: true}]", "55d9f7c6b4",
	     "Deployment", "my-web-app"},
	    /* a bare ReplicaSet: its name does not end in the pod's template hash */
	    {"[{kind: ReplicaSet, name: rs-1, controller: true}]", "abc", "ReplicaSet", "rs-1"},
	    {"[{kind: ReplicaSet, name: rs-1, controller: true}]", NULL, "ReplicaSet", "rs-1"},
	    {"[{kind: StatefulSet, name: db, controller: true}]", NULL, "StatefulSet", "db"},
	    {"[{kind: DaemonSet, name: agent, controller: true}]", NULL, "DaemonSet", "agent"},
	    {"[{kind: Job, name: backup-28391234, controller: true}]", NULL, "CronJob", "backup"},
	    {"[{kind: Job, name: backup-1234567890, controller: true}]", NULL, "CronJob", "backup"},
	    {"[{kind: Job, name: migrate-1234567, controller: true}]", NULL, "Job",
	     "migrate-1234567"},
	    {"[{kind: Job, name: migrate, controller: true}]", NULL, "Job", "migrate"},
	    /* only the controller counts */
	    {"[{kind: ConfigMap, name: cm}, {kind: StatefulSet, name: db, controller: true}]", NULL,
	     "StatefulSet", "db"},
	    {"[{kind: StatefulSet, name: db, controller: false}]", NULL, "Pod", "p"},
	    {"[]", NULL, "Pod", "p"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_pod_list l = {0};
		struct pf_diags d = {0};
		char text[512];

		snprintf(text, sizeof(text),
			 "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  uid: u\n"
			 "  labels: {pod-template-hash: '%s'}\n  ownerReferences: %s\n"
			 "spec: {containers: [{name: c}]}\n",
			 cases[i].hash ? cases[i].hash : "", cases[i].owners);
		if (ASSERT_OK(parse("w.yaml", text, &l, &d), cases[i].owners) &&
		    ASSERT_EQ(l.n, 1, "one pod")) {
			ASSERT_STREQ(l.v[0].workload.kind, cases[i].kind, cases[i].owners);
			ASSERT_STREQ(l.v[0].workload.name, cases[i].name, cases[i].owners);
		}
		pf_pod_list_free(&l);
		pf_diags_free(&d);
	}
}
