// SPDX-License-Identifier: Apache-2.0
/*
 * Kubernetes v1 Pods as `kubectl get pod -o yaml|json` prints them. Pods carry
 * dozens of fields podfence never looks at and that grow with every release,
 * so unknown fields are ignored; the fields read here are type-checked the way
 * the API server's Go decoder would (a null is an absent field, a plain YAML
 * number or boolean is not a string).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/pod.h"
#include "podfence/yaml.h"

struct pod_ctx {
	struct pf_ydoc *d;
	struct pf_diags *diags;
	const char *pfx; /* "" or "items[3]." so List members name themselves */
};

/* ---- scalar typing (YAML 1.1 resolution, as sigs.k8s.io/yaml does it) ---- */

static bool word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static bool plain_is_number(const char *s)
{
	static const char *const special[] = {".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", NULL};
	bool digits = false;

	if (*s == '+' || *s == '-')
		s++;
	if (word_in(s, special))
		return true;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b') && s[2]) {
		for (s += 2; *s; s++)
			if (!strchr("0123456789abcdefABCDEF_", *s))
				return false;
		return true;
	}
	for (; (*s >= '0' && *s <= '9') || *s == '_'; s++)
		digits = true;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits = true;
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static bool is_plain(yaml_node_t *n)
{
	return pf_y_is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool scalar_is_null(yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};

	return is_plain(n) && word_in(pf_y_str(n), nulls);
}

/* A scalar that Go would decode into a string field. */
static bool scalar_is_string(yaml_node_t *n)
{
	static const char *const bools[] = {"y",    "Y",     "yes",   "Yes",   "YES",  "n",
					    "N",    "no",    "No",    "NO",    "true", "True",
					    "TRUE", "false", "False", "FALSE", "on",   "On",
					    "ON",   "off",   "Off",   "OFF",   NULL};
	const char *s;

	if (!pf_y_is_scalar(n))
		return false;
	if (!is_plain(n))
		return true;
	s = pf_y_str(n);
	return !scalar_is_null(n) && !word_in(s, bools) && !plain_is_number(s);
}

/* ---- field access ---- */

/* Value of key, or NULL when absent or null (Go leaves such fields unset). */
static yaml_node_t *field(struct pod_ctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_t *v = pf_y_is_map(map) ? pf_y_get(c->d, map, key) : NULL;

	return scalar_is_null(v) ? NULL : v;
}

/* String field: 1 with *out set, 0 when absent, -EINVAL after reporting a wrong type. */
static int field_str(struct pod_ctx *c, yaml_node_t *map, const char *key, const char *path,
		     const char **out)
{
	yaml_node_t *v = field(c, map, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!scalar_is_string(v)) {
		pf_y_error(c->diags, c->d, v, "%s%s: must be a string", c->pfx, path);
		return -EINVAL;
	}
	*out = pf_y_str(v);
	return 1;
}

static int required_str(struct pod_ctx *c, yaml_node_t *map, const char *key, const char *path,
			const char **out)
{
	int ret = field_str(c, map, key, path, out);

	if (ret >= 0 && (!*out || !**out)) {
		pf_y_error(c->diags, c->d, map, "%s%s: required field missing", c->pfx, path);
		*out = NULL;
		return -EINVAL;
	}
	return ret;
}

/* Mapping/sequence field: the node, or NULL when absent or (reported) of the wrong kind. */
static yaml_node_t *field_map(struct pod_ctx *c, yaml_node_t *map, const char *key,
			      const char *path)
{
	yaml_node_t *v = field(c, map, key);

	if (v && !pf_y_is_map(v)) {
		pf_y_error(c->diags, c->d, v, "%s%s: must be a mapping", c->pfx, path);
		return NULL;
	}
	return v;
}

static yaml_node_t *field_seq(struct pod_ctx *c, yaml_node_t *map, const char *key,
			      const char *path)
{
	yaml_node_t *v = field(c, map, key);

	if (v && !pf_y_is_seq(v)) {
		pf_y_error(c->diags, c->d, v, "%s%s: must be a sequence", c->pfx, path);
		return NULL;
	}
	return v;
}

/* ---- QoS, computed like the kubelet's ComputePodQOS when status.qosClass is absent ---- */

enum { RES_CPU, RES_MEM, RES_N };
static const char *const res_names[RES_N] = {"cpu", "memory"};

/* Sums in nano-units: exact for every quantity the API server accepts. */
struct qos_acc {
	__int128 req[RES_N], lim[RES_N];
	bool guaranteed;
};

static int mul_pow(__int128 *v, int base, int n)
{
	while (n-- > 0)
		if (__builtin_mul_overflow(*v, (__int128)base, v))
			return -ERANGE;
	return 0;
}

/*
 * resource.Quantity: <signedNumber><suffix>, suffix one of Ki..Ei, n u m k M G T P E,
 * or e<signedNumber>. Values finer than nano-units round up, as Quantity does.
 */
static int quantity_parse(const char *s, __int128 *nano)
{
	static const char dec_sfx[] = "num kMGTPE", bin_sfx[] = "KMGTPE";
	__int128 v = 0;
	int frac = 0, exp10 = 9, exp2 = 0, ndig = 0;
	bool neg = false, dot = false;
	const char *p;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
		if (*s == '.') {
			dot = true;
			continue;
		}
		if (++ndig > 30)
			return -ERANGE;
		v = v * 10 + (*s - '0');
		frac += dot;
	}
	if (!ndig)
		return -EINVAL;
	/* "1E" is one exa: only a sign or digit after e/E makes it an exponent. */
	if ((*s == 'e' || *s == 'E') && s[1] && strchr("+-0123456789", s[1])) {
		char *end;
		long e = strtol(s + 1, &end, 10);

		if (end == s + 1 || *end || e < -40 || e > 40)
			return -EINVAL;
		exp10 += (int)e;
	} else if (s[0] && s[1] == 'i' && !s[2] && (p = strchr(bin_sfx, s[0]))) {
		exp2 = 10 * (int)(p - bin_sfx + 1);
	} else if (s[0] && s[0] != ' ' && !s[1] && (p = strchr(dec_sfx, s[0]))) {
		exp10 += 3 * (int)(p - dec_sfx) - 9;
	} else if (*s) {
		return -EINVAL;
	}
	exp10 -= frac;
	if (mul_pow(&v, 2, exp2) || mul_pow(&v, 10, exp10))
		return -ERANGE;
	for (; exp10 < 0; exp10++)
		v = v / 10 + (v % 10 != 0);
	*nano = neg ? -v : v;
	return 0;
}

static int resource_qty(struct pod_ctx *c, yaml_node_t *list, int r, const char *path,
			__int128 *nano, bool *given)
{
	yaml_node_t *v = field(c, list, res_names[r]);

	*given = false;
	if (!v)
		return 0;
	if (!pf_y_is_scalar(v) || quantity_parse(pf_y_str(v), nano)) {
		pf_y_error(c->diags, c->d, v, "%s%s.%s: invalid quantity", c->pfx, path,
			   res_names[r]);
		return -EINVAL;
	}
	*given = true;
	return 0;
}

static void total_error(struct pod_ctx *c, yaml_node_t *list, int r, const char *path)
{
	pf_y_error(c->diags, c->d, field(c, list, res_names[r]),
		   "%s%s.%s: invalid quantity (the pod's total is out of range)", c->pfx, path,
		   res_names[r]);
}

/* Adds one resources block (a container's, or the pod-level one) to the sums. */
static void qos_add(struct pod_ctx *c, struct qos_acc *a, yaml_node_t *res, const char *path)
{
	char lpath[160], rpath[160];
	yaml_node_t *lims, *reqs;
	int found = 0;

	snprintf(lpath, sizeof(lpath), "%s.limits", path);
	snprintf(rpath, sizeof(rpath), "%s.requests", path);
	lims = field_map(c, res, "limits", lpath);
	reqs = field_map(c, res, "requests", rpath);
	for (int r = 0; r < RES_N; r++) {
		__int128 lim = 0, req = 0;
		bool has_lim, has_req, lim_over = false, req_over = false;

		if (resource_qty(c, lims, r, lpath, &lim, &has_lim) ||
		    resource_qty(c, reqs, r, rpath, &req, &has_req))
			continue;
		/* The API server defaults a missing request to the limit; a local file may not. */
		if (!has_req && has_lim)
			req = lim;
		/* Each quantity fits (quantity_parse checks); the pod's total may not. */
		if (lim > 0) {
			lim_over = __builtin_add_overflow(a->lim[r], lim, &a->lim[r]);
			found++;
		}
		if (req > 0)
			req_over = __builtin_add_overflow(a->req[r], req, &a->req[r]);
		/* A request defaulted to the limit is reported at the limit, once. */
		if (lim_over || (req_over && !has_req))
			total_error(c, lims, r, lpath);
		if (req_over && has_req)
			total_error(c, reqs, r, rpath);
	}
	if (found < RES_N)
		a->guaranteed = false;
}

static enum pf_qos qos_compute(struct pod_ctx *c, yaml_node_t *spec)
{
	struct qos_acc a = {.guaranteed = true};
	static const char *const lists[] = {"containers", "initContainers"};
	yaml_node_t *pod_res = field(c, spec, "resources");
	char path[96];
	int n_req = 0, n_lim = 0;

	/* Pod-level resources (KEP-2837) replace the per-container sums when present. */
	if (pf_y_is_map(pod_res)) {
		qos_add(c, &a, pod_res, "spec.resources");
	} else {
		/* Ephemeral containers cannot declare resources: the kubelet skips them too. */
		for (size_t l = 0; l < 2; l++) {
			yaml_node_t *seq = field(c, spec, lists[l]);

			for (size_t i = 0; pf_y_is_seq(seq) && i < pf_y_seq_len(seq); i++) {
				yaml_node_t *ct = pf_y_seq_at(c->d, seq, i);

				snprintf(path, sizeof(path), "spec.%s[%zu].resources", lists[l], i);
				qos_add(c, &a, field_map(c, ct, "resources", path), path);
			}
		}
	}
	for (int r = 0; r < RES_N; r++) {
		n_req += a.req[r] > 0;
		n_lim += a.lim[r] > 0;
		if (a.req[r] > 0 && a.req[r] != a.lim[r])
			a.guaranteed = false;
	}
	if (!n_req && !n_lim)
		return PF_QOS_BESTEFFORT;
	return a.guaranteed && n_req == n_lim ? PF_QOS_GUARANTEED : PF_QOS_BURSTABLE;
}

/* ---- containers ---- */

static int container_add(struct pf_pod *pod, const char *name, enum pf_container_kind kind)
{
	struct pf_container *v;

	v = realloc(pod->containers, (pod->n_containers + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	pod->containers = v;
	v = &pod->containers[pod->n_containers];
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	v->name = strdup(name);
	if (!v->name)
		return -ENOMEM;
	pod->n_containers++;
	return 0;
}

static int parse_containers(struct pod_ctx *c, yaml_node_t *spec, const char *key,
			    enum pf_container_kind kind, struct pf_pod *pod)
{
	char path[96];
	yaml_node_t *seq;
	const char *name;
	int err;

	snprintf(path, sizeof(path), "spec.%s", key);
	seq = field_seq(c, spec, key, path);
	for (size_t i = 0; seq && i < pf_y_seq_len(seq); i++) {
		yaml_node_t *ct = pf_y_seq_at(c->d, seq, i);

		if (!pf_y_is_map(ct)) {
			pf_y_error(c->diags, c->d, ct, "%sspec.%s[%zu]: must be a mapping", c->pfx,
				   key, i);
			continue;
		}
		snprintf(path, sizeof(path), "spec.%s[%zu].name", key, i);
		if (required_str(c, ct, "name", path, &name) < 0)
			continue;
		err = container_add(pod, name, kind);
		if (err)
			return err;
	}
	return 0;
}

/* "containerd://<id>" -> id + runtime; unknown schemes keep their own name. */
static int container_set_id(struct pf_container *ct, const char *cid)
{
	const char *sep = strstr(cid, "://");
	char *id = NULL, *rt = NULL;
	int err = -ENOMEM;

	/* Empty while the container is still being created: the id is simply unknown. */
	if (sep ? !sep[3] : !*cid)
		return 0;
	id = strdup(sep ? sep + 3 : cid);
	if (!id)
		goto cleanup;
	if (sep) {
		rt = strndup(cid, (size_t)(sep - cid));
		if (!rt)
			goto cleanup;
	}
	free(ct->id);
	free(ct->runtime);
	ct->id = id;
	ct->runtime = rt;
	return 0;
cleanup:
	free(id);
	free(rt);
	return err;
}

static int parse_statuses(struct pod_ctx *c, yaml_node_t *status, const char *key,
			  enum pf_container_kind kind, struct pf_pod *pod)
{
	char path[96];
	const char *name, *cid;
	yaml_node_t *seq;
	int err;

	snprintf(path, sizeof(path), "status.%s", key);
	seq = field_seq(c, status, key, path);
	for (size_t i = 0; seq && i < pf_y_seq_len(seq); i++) {
		yaml_node_t *st = pf_y_seq_at(c->d, seq, i);

		if (!pf_y_is_map(st)) {
			pf_y_error(c->diags, c->d, st, "%sstatus.%s[%zu]: must be a mapping",
				   c->pfx, key, i);
			continue;
		}
		snprintf(path, sizeof(path), "status.%s[%zu].name", key, i);
		if (field_str(c, st, "name", path, &name) <= 0)
			continue;
		snprintf(path, sizeof(path), "status.%s[%zu].containerID", key, i);
		if (field_str(c, st, "containerID", path, &cid) <= 0)
			continue;
		/* A status for a container the spec does not list carries nothing to bind. */
		for (size_t j = 0; j < pod->n_containers; j++) {
			struct pf_container *ct = &pod->containers[j];

			if (ct->kind != kind || strcmp(ct->name, name) != 0)
				continue;
			err = container_set_id(ct, cid);
			if (err)
				return err;
			break;
		}
	}
	return 0;
}

/* ---- pods ---- */

static int dup_opt(char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

static int parse_labels(struct pod_ctx *c, yaml_node_t *meta, struct pf_pod *pod)
{
	yaml_node_t *labels = field_map(c, meta, "labels", "metadata.labels");
	yaml_node_pair_t *pair;
	int err;

	if (!labels)
		return 0;
	for (pair = labels->data.mapping.pairs.start; pair < labels->data.mapping.pairs.top;
	     pair++) {
		yaml_node_t *k = yaml_document_get_node(&c->d->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(&c->d->doc, pair->value);

		if (!scalar_is_string(k)) {
			pf_y_error(c->diags, c->d, k,
				   "%smetadata.labels: label key must be a string", c->pfx);
			continue;
		}
		if (!scalar_is_string(v)) {
			pf_y_error(c->diags, c->d, v,
				   "%smetadata.labels.%s: label value must be a string", c->pfx,
				   pf_y_str(k));
			continue;
		}
		err = pf_labels_set(&pod->labels, pf_y_str(k), pf_y_str(v));
		if (err == -ENOMEM)
			return err;
		if (err < 0)
			pf_y_error(c->diags, c->d, k, "%smetadata.labels.%s: invalid label: %s",
				   c->pfx, pf_y_str(k), strerror(-err));
	}
	return 0;
}

/* Whether s[0..len) ends in "-" and 8 to 10 digits (a CronJob's Job: minutes since the epoch). */
static size_t cronjob_suffix(const char *s, size_t len)
{
	size_t d = 0;

	while (d < len && isdigit((unsigned char)s[len - 1 - d]))
		d++;
	if (d < 8 || d > 10 || d + 1 >= len || s[len - 1 - d] != '-')
		return 0;
	return d + 1;
}

void pf_workload_of(const char *owner_kind, const char *owner_name, const char *template_hash,
		    const char *pod_name, const char **kind, const char **name, size_t *name_len)
{
	size_t len, h, cut;

	if (!owner_kind || !owner_name || !*owner_kind || !*owner_name) {
		*kind = "Pod";
		*name = pod_name;
		*name_len = strlen(pod_name);
		return;
	}
	*kind = owner_kind;
	*name = owner_name;
	*name_len = len = strlen(owner_name);
	if (strcmp(owner_kind, "ReplicaSet") == 0 && template_hash && (h = strlen(template_hash)) &&
	    len > h + 1 && owner_name[len - h - 1] == '-' &&
	    strcmp(owner_name + len - h, template_hash) == 0) {
		*kind = "Deployment";
		*name_len = len - h - 1;
	} else if (strcmp(owner_kind, "Job") == 0 && (cut = cronjob_suffix(owner_name, len))) {
		*kind = "CronJob";
		*name_len = len - cut;
	}
}

/* metadata.ownerReferences: the controller's (controller: true) kind and name. */
static int parse_workload(struct pod_ctx *c, yaml_node_t *meta, struct pf_pod *pod)
{
	yaml_node_t *refs = field_seq(c, meta, "ownerReferences", "metadata.ownerReferences");
	const char *okind = NULL, *oname = NULL, *kind, *name;
	size_t len;

	for (size_t i = 0; refs && i < pf_y_seq_len(refs); i++) {
		yaml_node_t *r = pf_y_seq_at(c->d, refs, i), *ctl;
		const char *k = NULL, *n = NULL;

		if (!pf_y_is_map(r))
			continue;
		ctl = field(c, r, "controller");
		if (!ctl || !pf_y_is_scalar(ctl) || strcmp(pf_y_str(ctl), "true") != 0)
			continue;
		field_str(c, r, "kind", "metadata.ownerReferences.kind", &k);
		field_str(c, r, "name", "metadata.ownerReferences.name", &n);
		okind = k;
		oname = n;
		break;
	}
	pf_workload_of(okind, oname, pf_labels_get(&pod->labels, "pod-template-hash"),
		       pod->name ? pod->name : "", &kind, &name, &len);
	pod->workload.kind = strdup(kind);
	pod->workload.name = strndup(name, len);
	return pod->workload.kind && pod->workload.name ? 0 : -ENOMEM;
}

static int parse_qos(struct pod_ctx *c, yaml_node_t *spec, yaml_node_t *status, struct pf_pod *pod)
{
	static const char *const names[] = {
	    [PF_QOS_GUARANTEED] = "Guaranteed",
	    [PF_QOS_BURSTABLE] = "Burstable",
	    [PF_QOS_BESTEFFORT] = "BestEffort",
	};
	const char *q;

	/* The kubelet's verdict when it is there: the cgroup was created from it. */
	if (field_str(c, status, "qosClass", "status.qosClass", &q) > 0) {
		for (int i = 0; i < 3; i++)
			if (strcmp(q, names[i]) == 0) {
				pod->qos = (enum pf_qos)i;
				return 0;
			}
		pf_y_error(c->diags, c->d, pf_y_get(c->d, status, "qosClass"),
			   "%sstatus.qosClass: unknown QoS class \"%s\"", c->pfx, q);
		return 0;
	}
	pod->qos = qos_compute(c, spec);
	return 0;
}

/*
 * One Pod object. In a List the items may omit apiVersion/kind (PodList responses
 * do): `in_list` relaxes that. Validation errors are reported and parsing goes on
 * so a file shows all its problems at once; only -ENOMEM is returned.
 */
static int parse_pod(struct pod_ctx *c, yaml_node_t *obj, bool in_list, struct pf_pod *pod)
{
	const char *api, *kind, *s, *hash = NULL;
	yaml_node_t *meta, *spec, *status;
	int err;

	if (!pf_y_is_map(obj)) {
		pf_y_error(c->diags, c->d, obj, "%s: a Pod must be a mapping",
			   *c->pfx ? c->pfx : "document");
		return 0;
	}
	if (in_list) {
		field_str(c, obj, "apiVersion", "apiVersion", &api);
		field_str(c, obj, "kind", "kind", &kind);
	} else {
		required_str(c, obj, "apiVersion", "apiVersion", &api);
		required_str(c, obj, "kind", "kind", &kind);
	}
	if (api && strcmp(api, "v1") != 0)
		pf_y_error(c->diags, c->d, pf_y_get(c->d, obj, "apiVersion"),
			   "%sapiVersion: must be v1, not \"%s\"", c->pfx, api);
	if (kind && strcmp(kind, "Pod") != 0)
		pf_y_error(c->diags, c->d, pf_y_get(c->d, obj, "kind"),
			   "%skind: must be Pod, not \"%s\"", c->pfx, kind);

	if (!field(c, obj, "metadata"))
		pf_y_error(c->diags, c->d, obj, "%smetadata: required field missing", c->pfx);
	meta = field_map(c, obj, "metadata", "metadata");
	if (meta) {
		yaml_node_t *ann = field_map(c, meta, "annotations", "metadata.annotations");

		field_str(c, ann, "kubernetes.io/config.hash",
			  "metadata.annotations.kubernetes.io/config.hash", &hash);
		if (required_str(c, meta, "name", "metadata.name", &s) > 0 &&
		    (err = dup_opt(&pod->name, s)))
			return err;
		if (required_str(c, meta, "uid", "metadata.uid", &s) > 0 &&
		    (err = dup_opt(&pod->uid, s)))
			return err;
		field_str(c, meta, "namespace", "metadata.namespace", &s);
		err = dup_opt(&pod->namespace, s && *s ? s : "default");
		if (err)
			return err;
		/* Static pods' cgroups are named after the manifest hash, not the mirror's uid. */
		err = dup_opt(&pod->cgroup_uid, hash && *hash ? hash : pod->uid);
		if (err)
			return err;
		err = parse_labels(c, meta, pod);
		if (err)
			return err;
		err = parse_workload(c, meta, pod);
		if (err)
			return err;
	}

	spec = field_map(c, obj, "spec", "spec");
	status = field_map(c, obj, "status", "status");
	if (field_str(c, spec, "nodeName", "spec.nodeName", &s) > 0 && *s &&
	    (err = dup_opt(&pod->node, s)))
		return err;
	if ((err = parse_containers(c, spec, "containers", PF_CONTAINER_REGULAR, pod)) ||
	    (err = parse_containers(c, spec, "initContainers", PF_CONTAINER_INIT, pod)) ||
	    (err = parse_containers(c, spec, "ephemeralContainers", PF_CONTAINER_EPHEMERAL, pod)) ||
	    (err = parse_statuses(c, status, "containerStatuses", PF_CONTAINER_REGULAR, pod)) ||
	    (err = parse_statuses(c, status, "initContainerStatuses", PF_CONTAINER_INIT, pod)) ||
	    (err = parse_statuses(c, status, "ephemeralContainerStatuses", PF_CONTAINER_EPHEMERAL,
				  pod)))
		return err;
	return parse_qos(c, spec, status, pod);
}

static int parse_one(struct pod_ctx *c, yaml_node_t *obj, bool in_list, const char *file,
		     struct pf_pod_list *out)
{
	struct pf_pod pod = {0};
	int err;

	err = parse_pod(c, obj, in_list, &pod);
	if (!err)
		err = dup_opt(&pod.file, file);
	if (!err)
		err = pf_pod_list_push(out, &pod);
	if (err)
		pf_pod_free(&pod);
	return err;
}

static int parse_doc(struct pod_ctx *c, const char *file, struct pf_pod_list *out)
{
	yaml_node_t *root = pf_y_root(c->d), *items;
	yaml_node_t *kind = field(c, root, "kind");
	const char *api;
	char pfx[32];
	int err;

	/* Anything but a list goes to parse_pod, which reports a bad kind once. */
	if (!scalar_is_string(kind) ||
	    (strcmp(pf_y_str(kind), "List") != 0 && strcmp(pf_y_str(kind), "PodList") != 0))
		return parse_one(c, root, false, file, out);

	if (field_str(c, root, "apiVersion", "apiVersion", &api) == 0 ||
	    (api && strcmp(api, "v1") != 0))
		pf_y_error(c->diags, c->d, root, "apiVersion: a %s must be v1", pf_y_str(kind));
	items = field_seq(c, root, "items", "items");
	for (size_t i = 0; items && i < pf_y_seq_len(items); i++) {
		snprintf(pfx, sizeof(pfx), "items[%zu].", i);
		c->pfx = pfx;
		err = parse_one(c, pf_y_seq_at(c->d, items, i), true, file, out);
		c->pfx = "";
		if (err)
			return err;
	}
	return 0;
}

/* Parses every document into `pods`; errors go to `diags`. */
static int parse_yfile(struct pf_yfile *yf, const char *file, struct pf_pod_list *pods,
		       struct pf_diags *diags)
{
	int err;

	for (size_t i = 0; i < yf->n_docs; i++) {
		struct pod_ctx c = {.d = &yf->docs[i], .diags = diags, .pfx = ""};

		err = parse_doc(&c, file, pods);
		if (err)
			return err;
	}
	return diags->n_errors ? -EINVAL : 0;
}

/* All or nothing: `out` only grows when the whole file is valid. */
static int parse_common(struct pf_yfile *yf, int load_err, const char *file,
			struct pf_pod_list *out, struct pf_diags *diags)
{
	struct pf_pod_list pods = {0};
	size_t n0 = out->n;
	int err = load_err;

	if (!err)
		err = parse_yfile(yf, file, &pods, diags);
	for (size_t i = 0; !err && i < pods.n; i++) {
		err = pf_pod_list_push(out, &pods.v[i]);
		if (err) {
			/* Undo: the pods already moved go back to being freed with the rest. */
			for (size_t j = n0; j < out->n; j++)
				pf_pod_free(&out->v[j]);
			out->n = n0;
		}
	}
	pf_pod_list_free(&pods);
	return err;
}

int pf_pod_parse_buf(const char *file, const char *buf, size_t len, struct pf_pod_list *out,
		     struct pf_diags *diags)
{
	struct pf_diags local = {0};
	struct pf_yfile yf = {0};
	int err;

	if (!file)
		file = "<input>";
	err = pf_yfile_load_buf(&yf, file, buf, len, &local);
	err = parse_common(&yf, err, file, out, &local);
	pf_yfile_free(&yf);
	if (diags)
		pf_diags_move(diags, &local);
	pf_diags_free(&local);
	return err;
}

int pf_pod_parse_file(const char *path, struct pf_pod_list *out, struct pf_diags *diags)
{
	struct pf_diags local = {0};
	struct pf_yfile yf = {0};
	int err;

	err = pf_yfile_load(&yf, path, &local);
	err = parse_common(&yf, err, path, out, &local);
	pf_yfile_free(&yf);
	if (diags)
		pf_diags_move(diags, &local);
	pf_diags_free(&local);
	return err;
}

void pf_pod_free(struct pf_pod *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_containers; i++) {
		free(p->containers[i].name);
		free(p->containers[i].id);
		free(p->containers[i].runtime);
	}
	free(p->containers);
	pf_labels_free(&p->labels);
	free(p->namespace);
	free(p->workload.kind);
	free(p->workload.name);
	free(p->name);
	free(p->uid);
	free(p->cgroup_uid);
	free(p->node);
	free(p->file);
	memset(p, 0, sizeof(*p));
}

void pf_pod_list_free(struct pf_pod_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		pf_pod_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Moves *p into the list (p is zeroed); on failure p is left to the caller. */
int pf_pod_list_push(struct pf_pod_list *l, struct pf_pod *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct pf_pod *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
	memset(p, 0, sizeof(*p));
	return 0;
}
