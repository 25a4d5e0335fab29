// SPDX-License-Identifier: Apache-2.0
/*
 * Containers their runtime announced (runtime.h). The pod's status names a
 * container only after it started, but the runtime writes the container's
 * bundle (pod UID, container name, sandbox or not) before it creates the
 * container's cgroup: the kernel is told the cgroup's name then
 * (engine_cgroups.c), and binds it at creation to the container's own
 * rules; the sandbox's to the pod's, with its start allowed.
 */
#include "engine_internal.h"

static void rt_free(struct rt_ent *rt)
{
	free(rt->pod_key);
	free(rt->pod_uid);
	free(rt->name);
	free(rt);
}

bool eng_runtime_of_pod(const struct rt_ent *rt, const struct pod_ent *pe)
{
	const struct pf_pod *pod = pe->applied;

	if (!pod || strcmp(rt->pod_key, pe->key) != 0)
		return false;
	/* The kubelet's UID: metadata.uid, or the config hash of a static pod. */
	return (pod->uid && strcmp(pod->uid, rt->pod_uid) == 0) ||
	       (pod->cgroup_uid && strcmp(pod->cgroup_uid, rt->pod_uid) == 0);
}

static struct pod_ent *rt_pod(struct pf_engine *e, const struct rt_ent *rt)
{
	struct pod_ent *pe;

	HASH_FIND_STR(e->pods, rt->pod_key, pe);
	return pe && eng_runtime_of_pod(rt, pe) ? pe : NULL;
}

struct rt_ent *eng_runtime_of_cgroup(struct pf_engine *e, const struct pod_ent *pe, const char *rel)
{
	char id[PF_RUNTIME_ID_MAX];
	struct rt_ent *rt;

	if (!e->runtime || pf_cgroup_container_id(rel, strcspn(rel, "/"), id, sizeof(id)))
		return NULL;
	HASH_FIND_STR(e->runtime, id, rt);
	return rt && eng_runtime_of_pod(rt, pe) ? rt : NULL;
}

struct wl_ent *eng_runtime_target(struct pf_engine *e, struct pod_ent *pe, const struct rt_ent *rt,
				  uint32_t *flags)
{
	const struct pf_pod *pod = pe->applied;

	*flags = 0;
	if (rt->sandbox) {
		*flags = PF_CG_SANDBOX;
		return pe->pod_wl;
	}
	for (size_t i = 0; i < pod->n_containers && i < pe->n_cont; i++)
		if (strcmp(pod->containers[i].name, rt->name) == 0)
			return pe->cont[i].wl ? pe->cont[i].wl : eng_wl_none(e);
	/* A name the pod's spec does not have (yet): the strictest rules of the pod. */
	return pe->pod_wl;
}

int pf_engine_runtime_container(struct pf_engine *e, const struct pf_runtime_container *c)
{
	struct rt_ent *rt, *old;
	struct pod_ent *pe;
	size_t klen;

	if (!c->pod_namespace || !c->pod_name || !c->pod_uid)
		return -EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	snprintf(rt->id, sizeof(rt->id), "%s", c->id);
	klen = strlen(c->pod_namespace) + strlen(c->pod_name) + 2;
	rt->pod_key = malloc(klen);
	rt->pod_uid = strdup(c->pod_uid);
	rt->name = c->name ? strdup(c->name) : NULL;
	rt->sandbox = c->sandbox;
	if (!rt->pod_key || !rt->pod_uid || (c->name && !rt->name)) {
		rt_free(rt);
		return -ENOMEM;
	}
	snprintf(rt->pod_key, klen, "%s/%s", c->pod_namespace, c->pod_name);
	HASH_FIND_STR(e->runtime, rt->id, old);
	if (old) {
		HASH_DEL(e->runtime, old);
		rt_free(old);
	}
	HASH_ADD_STR(e->runtime, id, rt);
	if (!eng_hash_added()) {
		rt_free(rt);
		return -ENOMEM;
	}
	pf_debug("runtime: %s %s of pod %s (uid %s)", rt->sandbox ? "sandbox" : "container",
		 rt->sandbox ? rt->id : rt->name, rt->pod_key, rt->pod_uid);
	/* Known pod: the kernel learns the cgroup's name now (or it is bound now if it exists). */
	pe = rt_pod(e, rt);
	if (pe && !pe->dirty && pe->pod_wl)
		eng_bind_cgroups(e, pe, false);
	return 0;
}

void pf_engine_runtime_container_gone(struct pf_engine *e, const char *id)
{
	char names[8][PF_CG_NAME_MAX];
	struct rt_ent *rt;
	int n;

	HASH_FIND_STR(e->runtime, id, rt);
	if (!rt)
		return;
	HASH_DEL(e->runtime, rt);
	n = pf_cgroup_container_names(rt->id, -1, names, 8);
	for (int i = 0; i < n; i++)
		pf_store_cgroup_unexpect(e->st, names[i]);
	rt_free(rt);
}

void eng_runtime_free(struct pf_engine *e)
{
	struct rt_ent *rt, *tmp;

	HASH_ITER (hh, e->runtime, rt, tmp) {
		HASH_DEL(e->runtime, rt);
		rt_free(rt);
	}
}
