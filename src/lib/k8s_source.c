// SPDX-License-Identifier: Apache-2.0
/*
 * Kubernetes API objects into the engine, as source documents (k8s.h):
 * one per object, its id "<resource>/<namespace>/<name>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "podfence/diag.h"
#include "podfence/engine.h"
#include "podfence/k8s.h"
#include "podfence/log.h"
#include "podfence/pod.h"
#include "podfence/policy.h"

static const struct {
	const char *name, *path, *api_version, *kind;
} resources[PF_K8S_RES__MAX] = {
    [PF_K8S_PODS] = {"pods", "/api/v1/pods", "v1", "Pod"},
    [PF_K8S_TRACINGPOLICIES] = {"tracingpolicies", "/apis/cilium.io/v1alpha1/tracingpolicies",
				"cilium.io/v1alpha1", "TracingPolicy"},
    [PF_K8S_TRACINGPOLICIES_NAMESPACED] = {"tracingpoliciesnamespaced",
					   "/apis/cilium.io/v1alpha1/tracingpoliciesnamespaced",
					   "cilium.io/v1alpha1", "TracingPolicyNamespaced"},
    [PF_K8S_POLICYTEMPLATES] = {"policytemplates", "/apis/podfence.io/v1alpha1/policytemplates",
				"podfence.io/v1alpha1", "PolicyTemplate"},
    [PF_K8S_POLICYBINDINGS] = {"policybindings", "/apis/podfence.io/v1alpha1/policybindings",
			       "podfence.io/v1alpha1", "PolicyBinding"},
};

void pf_k8s_resources(const char *pod_selector, struct pf_k8s_resource out[PF_K8S_RES__MAX])
{
	for (int i = 0; i < PF_K8S_RES__MAX; i++) {
		out[i].name = resources[i].name;
		out[i].path = resources[i].path;
		out[i].field_selector = i == PF_K8S_PODS ? pod_selector : NULL;
	}
}

/* A document the engine holds, per resource: to remove what a relist lacks. */
struct doc_ent {
	char *id;
	unsigned seen; /* the REPLACE that saw it last */
	UT_hash_handle hh;
};

struct pf_k8s_source {
	struct pf_engine *e;
	struct doc_ent *docs[PF_K8S_RES__MAX];
	unsigned replace;
};

struct pf_k8s_source *pf_k8s_source_new(struct pf_engine *e)
{
	struct pf_k8s_source *s = calloc(1, sizeof(*s));

	if (s)
		s->e = e;
	return s;
}

void pf_k8s_source_free(struct pf_k8s_source *s)
{
	struct doc_ent *d, *tmp;

	if (!s)
		return;
	for (int r = 0; r < PF_K8S_RES__MAX; r++)
		HASH_ITER (hh, s->docs[r], d, tmp) {
			HASH_DEL(s->docs[r], d);
			free(d->id);
			free(d);
		}
	free(s);
}

static void doc_id(size_t r, struct json_object *obj, char *id, size_t len)
{
	const char *ns = pf_k8s_str(obj, "metadata.namespace");
	const char *name = pf_k8s_str(obj, "metadata.name");

	snprintf(id, len, "%s/%s/%s", resources[r].name, ns ? ns : "", name ? name : "");
}

static struct doc_ent *doc_track(struct pf_k8s_source *s, size_t r, const char *id)
{
	struct doc_ent *d;

	HASH_FIND_STR(s->docs[r], id, d);
	if (d)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->id = strdup(id))) {
		free(d);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, s->docs[r], d->id, strlen(d->id), d);
	return d;
}

static void doc_remove(struct pf_k8s_source *s, size_t r, const char *id)
{
	struct doc_ent *d;

	pf_engine_source_remove(s->e, PF_SOURCE_API, id);
	HASH_FIND_STR(s->docs[r], id, d);
	if (d) {
		HASH_DEL(s->docs[r], d);
		free(d->id);
		free(d);
	}
}

/* One object in force: parsed as the file reader parses a document. Returns 1 when rejected. */
static int doc_put(struct pf_k8s_source *s, size_t r, struct json_object *obj)
{
	struct pf_policy_list pols = {};
	struct pf_pod_list pods = {};
	struct pf_diags diags = {};
	struct pf_source_doc doc = {.kind = PF_SOURCE_API};
	char id[600], file[620];
	const char *text;
	struct doc_ent *d;
	int err;

	doc_id(r, obj, id, sizeof(id));
	snprintf(file, sizeof(file), "api:%s", id);
	/* Items of a list carry no kind: the resource says it. */
	json_object_object_add(obj, "apiVersion", json_object_new_string(resources[r].api_version));
	json_object_object_add(obj, "kind", json_object_new_string(resources[r].kind));
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	if (r == PF_K8S_PODS)
		err = pf_pod_parse_buf(file, text, strlen(text), &pods, &diags);
	else
		err = pf_policy_parse_buf(file, text, strlen(text), &pols, &diags);
	doc.id = id;
	doc.diags = &diags;
	if (r == PF_K8S_PODS)
		doc.pods = &pods;
	else
		doc.policies = &pols;
	if (err)
		pf_warn("%s: rejected (its previous version stays in force)", file);
	pf_engine_source_put(s->e, &doc);
	d = doc_track(s, r, id);
	if (d)
		d->seen = s->replace;
	pf_pod_list_free(&pods);
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
	return err ? 1 : 0;
}

size_t pf_k8s_source_apply(struct pf_k8s_source *s, const struct pf_k8s_item *items)
{
	size_t rejected = 0;
	char id[600];

	for (const struct pf_k8s_item *it = items; it; it = it->next) {
		size_t r = it->resource;
		struct doc_ent *d, *tmp;

		if (r >= PF_K8S_RES__MAX)
			continue;
		switch (it->change) {
		case PF_K8S_REPLACE:
			s->replace++;
			for (size_t i = 0; i < json_object_array_length(it->object); i++)
				rejected += doc_put(s, r, json_object_array_get_idx(it->object, i));
			/* Deleted while no watch ran: what the list no longer has. */
			HASH_ITER (hh, s->docs[r], d, tmp)
				if (d->seen != s->replace)
					doc_remove(s, r, d->id);
			break;
		case PF_K8S_UPSERT:
			rejected += doc_put(s, r, it->object);
			break;
		case PF_K8S_REMOVE:
			doc_id(r, it->object, id, sizeof(id));
			doc_remove(s, r, id);
			break;
		}
	}
	return rejected;
}
