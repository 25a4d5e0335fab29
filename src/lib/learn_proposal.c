// SPDX-License-Identifier: Apache-2.0
/*
 * Proposals as data: PolicyProposal objects merged across nodes (each node
 * owns spec.nodes.<node>), turned into PolicyBinding documents a reviewer
 * reads as a diff. Everything here is sorted, so that the same findings
 * give the same bytes from one run, node or arrival order to the next.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include "podfence/learn.h"
#include "podfence/strset.h"

void pf_proposal_name(const char *kind, const char *name, char *out, size_t len)
{
	size_t o = 0;

	for (const char *k = kind; *k && o + 1 < len; k++)
		out[o++] = (char)tolower((unsigned char)*k);
	if (o + 1 < len)
		out[o++] = '-';
	for (const char *n = name; *n && o + 1 < len; n++)
		out[o++] = *n;
	if (len)
		out[o < len ? o : len - 1] = 0;
}

static const char *const temp_roots[] = {"/tmp/", "/var/tmp/", "/dev/shm/", "/run/user/", NULL};

/* Whether a name's tail looks generated: 4+ characters with a digit, or of mixed case. */
static bool looks_random(const char *s, size_t n)
{
	bool digit = false, upper = false, lower = false;

	if (n < 4)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]))
			return false;
		digit |= !!isdigit((unsigned char)s[i]);
		upper |= !!isupper((unsigned char)s[i]);
		lower |= !!islower((unsigned char)s[i]);
	}
	return digit || (upper && lower);
}

bool pf_proposal_temporary(const char *path, char *prefix, size_t len)
{
	const char *root = NULL, *comp, *end;
	size_t n, keep;

	for (size_t i = 0; temp_roots[i] && !root; i++)
		if (strncmp(path, temp_roots[i], strlen(temp_roots[i])) == 0)
			root = temp_roots[i];
	if (!root)
		return false;
	if (!len)
		return true;
	comp = path + strlen(root);
	end = strchr(comp, '/');
	if (!end) { /* a file right in the temporary directory */
		snprintf(prefix, len, "%s", root);
		return true;
	}
	n = end - comp;
	keep = n;
	/* "go-build2837462": trailing digits are the random part */
	while (keep && isdigit((unsigned char)comp[keep - 1]))
		keep--;
	if (keep == n) {
		/* "tmp.k3J9xq", "pip-req-build-a8b_x": after the last separator */
		size_t sep = n;

		while (sep && !strchr(".-_", comp[sep - 1]))
			sep--;
		keep = sep && looks_random(comp + sep, n - sep) ? sep : n;
	}
	if (keep == n)
		snprintf(prefix, len, "%s%.*s/", root, (int)n, comp);
	else
		snprintf(prefix, len, "%s%.*s", root, (int)keep, comp);
	return true;
}

/* ---- merging ---- */

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* A member that must be a list: anything else (an edited proposal) is no list. */
static struct json_object *get_arr(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static const char *const lists[] = {"execs",	   "sessions", "temporary",
				    "outsideView", "egress",   NULL};

/* Two items' counts added: an edited count (negative, huge) saturates, never wraps. */
static int64_t count_sum(struct json_object *a, struct json_object *b, const char *k)
{
	int64_t x = json_object_get_int64(get(a, k)), y = json_object_get_int64(get(b, k));

	x = x < 0 ? 0 : x;
	y = y < 0 ? 0 : y;
	return x > INT64_MAX - y ? INT64_MAX : x + y;
}

/* Merges item `in` into the list `out` (an object path -> item, sorted later). */
static void merge_item(struct json_object *out, struct json_object *in)
{
	const char *path = get_str(in, "path"), *f, *l;
	struct json_object *cur, *callers;

	if (!path)
		return;
	cur = get(out, path);
	if (!cur) {
		json_object_object_add(out, path, json_object_get(in));
		return;
	}
	/* The copy in `out` may be shared with an input: replaced, never changed in place. */
	cur = json_tokener_parse(json_object_to_json_string(cur));
	if (!cur)
		return;
	f = get_str(in, "firstSeen");
	if (f && (!get_str(cur, "firstSeen") || strcmp(f, get_str(cur, "firstSeen")) < 0))
		json_object_object_add(cur, "firstSeen", json_object_new_string(f));
	l = get_str(in, "lastSeen");
	if (l && (!get_str(cur, "lastSeen") || strcmp(l, get_str(cur, "lastSeen")) > 0))
		json_object_object_add(cur, "lastSeen", json_object_new_string(l));
	json_object_object_add(cur, "pods", json_object_new_int64(count_sum(cur, in, "pods")));
	json_object_object_add(cur, "execs", json_object_new_int64(count_sum(cur, in, "execs")));
	callers = get(in, "callers");
	if (callers && json_object_is_type(callers, json_type_array)) {
		struct pf_strset cs = {};
		struct json_object *arr = get_arr(cur, "callers"), *nc = json_object_new_array();

		for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
			pf_strset_add(&cs,
				      json_object_get_string(json_object_array_get_idx(arr, i)));
		for (size_t i = 0; i < json_object_array_length(callers); i++)
			pf_strset_add(
			    &cs, json_object_get_string(json_object_array_get_idx(callers, i)));
		for (size_t i = 0; i < cs.n; i++)
			json_object_array_add(nc, json_object_new_string(cs.v[i]));
		pf_strset_free(&cs);
		json_object_object_add(cur, "callers", nc);
	}
	if (json_object_get_boolean(get(in, "entrypoint")))
		json_object_object_add(cur, "entrypoint", json_object_new_boolean(true));
	/* seeded only while no node saw it run */
	if (!json_object_get_boolean(get(in, "seeded")))
		json_object_object_del(cur, "seeded");
	json_object_object_add(out, path, cur);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys, sorted (borrowed strings). */
static const char **sorted_keys(struct json_object *o, size_t *n)
{
	const char **v = calloc(json_object_object_length(o) + 1, sizeof(char *));

	*n = 0;
	if (!v)
		return NULL;
	json_object_object_foreach(o, k, val)
	{
		(void)val;
		v[(*n)++] = k;
	}
	qsort(v, *n, sizeof(char *), cmp_key);
	return v;
}

/* path -> item objects, as a list sorted by path. */
static struct json_object *as_sorted_list(struct json_object *byp)
{
	struct json_object *arr = json_object_new_array();
	size_t n;
	const char **k = sorted_keys(byp, &n);

	for (size_t i = 0; k && i < n; i++)
		json_object_array_add(arr, json_object_get(get(byp, k[i])));
	free(k);
	return arr;
}

struct wl_acc {
	char *key; /* "<namespace>/<name>" of the proposal */
	struct json_object *target;
	struct json_object *nodes;   /* node -> its entry (the latest `updated` wins) */
	struct json_object *by_cont; /* container -> list -> path -> item */
};

static void add_node(struct wl_acc *w, const char *node, struct json_object *entry)
{
	struct json_object *old = get(w->nodes, node);
	const char *u = get_str(entry, "updated"), *ou = old ? get_str(old, "updated") : NULL;

	/* the same node given twice (a file and the API): its latest findings */
	if (old && ou && (!u || strcmp(u, ou) <= 0))
		return;
	json_object_object_add(w->nodes, node, json_object_get(entry));
}

struct json_object *pf_proposal_merge(struct json_object *proposals, struct json_object *errors)
{
	struct wl_acc *acc = NULL;
	size_t n_acc = 0;
	struct json_object *out = json_object_new_array();
	const char **order;
	struct json_object *index = json_object_new_object(); /* key -> index in acc */

	for (size_t i = 0; proposals && i < json_object_array_length(proposals); i++) {
		struct json_object *p = json_object_array_get_idx(proposals, i);
		const char *ns = get_str(get(p, "metadata"), "namespace"),
			   *name = get_str(get(p, "metadata"), "name");
		struct json_object *spec = get(p, "spec"), *nodes = get(spec, "nodes");
		char key[600];
		struct json_object *ix;

		if (!ns || !name || !get(spec, "targetRef") || !nodes ||
		    !json_object_is_type(nodes, json_type_object)) {
			char msg[700];

			snprintf(msg, sizeof(msg),
				 "proposal %zu (%s/%s): not a PolicyProposal "
				 "(metadata.namespace, metadata.name, spec.targetRef, spec.nodes)",
				 i, ns ? ns : "?", name ? name : "?");
			if (errors)
				json_object_array_add(errors, json_object_new_string(msg));
			continue;
		}
		snprintf(key, sizeof(key), "%s/%s", ns, name);
		ix = get(index, key);
		if (!ix) {
			struct wl_acc *na = realloc(acc, (n_acc + 1) * sizeof(*acc));

			if (!na)
				break;
			acc = na;
			acc[n_acc] =
			    (struct wl_acc){strdup(key), json_object_get(get(spec, "targetRef")),
					    json_object_new_object(), json_object_new_object()};
			json_object_object_add(index, key, json_object_new_int64((int64_t)n_acc));
			ix = get(index, key);
			n_acc++;
		}
		json_object_object_foreach(nodes, node, entry)
		    add_node(&acc[json_object_get_int64(ix)], node, entry);
	}
	/* Merge each workload's nodes, in node order (the result does not depend on it). */
	for (size_t a = 0; a < n_acc; a++) {
		struct wl_acc *w = &acc[a];
		size_t nn;
		const char **nodes = sorted_keys(w->nodes, &nn);

		for (size_t i = 0; nodes && i < nn; i++) {
			struct json_object *conts = get(get(w->nodes, nodes[i]), "containers");

			if (!conts || !json_object_is_type(conts, json_type_object))
				continue;
			json_object_object_foreach(conts, cname, cval)
			{
				struct json_object *bc = get(w->by_cont, cname);

				if (!bc) {
					bc = json_object_new_object();
					json_object_object_add(w->by_cont, cname, bc);
				}
				for (size_t l = 0; lists[l]; l++) {
					struct json_object *items = get(cval, lists[l]), *bl;

					if (!items || !json_object_is_type(items, json_type_array))
						continue;
					bl = get(bc, lists[l]);
					if (!bl) {
						bl = json_object_new_object();
						json_object_object_add(bc, lists[l], bl);
					}
					for (size_t k = 0; k < json_object_array_length(items); k++)
						merge_item(bl, json_object_array_get_idx(items, k));
				}
			}
		}
		free(nodes);
	}
	/* Output sorted by namespace/name. */
	order = calloc(n_acc + 1, sizeof(char *));
	for (size_t a = 0; order && a < n_acc; a++)
		order[a] = acc[a].key;
	if (order)
		qsort(order, n_acc, sizeof(char *), cmp_key);
	for (size_t o = 0; order && o < n_acc; o++) {
		struct wl_acc *w = &acc[json_object_get_int64(get(index, order[o]))];
		struct json_object *p = json_object_new_object(), *meta = json_object_new_object(),
				   *spec = json_object_new_object(),
				   *merged = json_object_new_array(),
				   *nodes = json_object_new_object(),
				   *all = json_object_new_object(),
				   *conts = json_object_new_object();
		const char *slash = strchr(w->key, '/');
		size_t nn, nc;
		const char **nk = sorted_keys(w->nodes, &nn), **ck = sorted_keys(w->by_cont, &nc);

		json_object_object_add(p, "apiVersion",
				       json_object_new_string("podfence.io/v1alpha1"));
		json_object_object_add(p, "kind", json_object_new_string("PolicyProposal"));
		json_object_object_add(meta, "name", json_object_new_string(slash + 1));
		json_object_object_add(meta, "namespace",
				       json_object_new_string_len(w->key, (int)(slash - w->key)));
		json_object_object_add(p, "metadata", meta);
		json_object_object_add(spec, "targetRef", json_object_get(w->target));
		for (size_t i = 0; nk && i < nn; i++)
			json_object_array_add(merged, json_object_new_string(nk[i]));
		for (size_t i = 0; ck && i < nc; i++) {
			struct json_object *bc = get(w->by_cont, ck[i]),
					   *cj = json_object_new_object();

			for (size_t l = 0; lists[l]; l++)
				if (get(bc, lists[l]))
					json_object_object_add(cj, lists[l],
							       as_sorted_list(get(bc, lists[l])));
			json_object_object_add(conts, ck[i], cj);
		}
		free(nk);
		free(ck);
		json_object_object_add(all, "containers", conts);
		json_object_object_add(nodes, "*", all);
		json_object_object_add(spec, "nodes", nodes);
		json_object_object_add(spec, "merged", merged);
		json_object_object_add(p, "spec", spec);
		json_object_array_add(out, p);
	}
	free(order);
	for (size_t a = 0; a < n_acc; a++) {
		free(acc[a].key);
		json_object_put(acc[a].target);
		json_object_put(acc[a].nodes);
		json_object_put(acc[a].by_cont);
	}
	free(acc);
	json_object_put(index);
	return out;
}

/* ---- bindings ---- */

/* A YAML double-quoted scalar (JSON string syntax is valid YAML). */
static void yq(FILE *f, const char *s)
{
	struct json_object *j = json_object_new_string(s ? s : "");

	fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_NOSLASHESCAPE), f);
	json_object_put(j);
}

/*
 * Text in a YAML comment: a line break (or any control character) in a name
 * or a path a workload chose would end the comment and write YAML; each is
 * a '?'.
 */
static void comment(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void item_comment(FILE *f, struct json_object *it, const char *indent)
{
	struct json_object *callers = get(it, "callers");

	fprintf(f, "%s# pods %lld, execs %lld, first ", indent,
		(long long)json_object_get_int64(get(it, "pods")),
		(long long)json_object_get_int64(get(it, "execs")));
	comment(f, get_str(it, "firstSeen") ? get_str(it, "firstSeen") : "?");
	fputs(", last ", f);
	comment(f, get_str(it, "lastSeen") ? get_str(it, "lastSeen") : "?");
	if (json_object_get_boolean(get(it, "entrypoint")))
		fputs(", entrypoint", f);
	if (json_object_get_boolean(get(it, "seeded")))
		fputs(", seeded from /proc", f);
	if (callers && json_object_is_type(callers, json_type_array) &&
	    json_object_array_length(callers)) {
		fputs(", by", f);
		for (size_t i = 0; i < json_object_array_length(callers) && i < 3; i++) {
			fputc(' ', f);
			comment(f, json_object_get_string(json_object_array_get_idx(callers, i)));
		}
		if (json_object_array_length(callers) > 3)
			fprintf(f, " (+%zu)", json_object_array_length(callers) - 3);
	}
	fputc('\n', f);
}

/* "    # <what>: <path>[ <after>]" */
static void path_comment(FILE *f, const char *what, const char *path, const char *after)
{
	fprintf(f, "    # %s: ", what);
	comment(f, path ? path : "?");
	comment(f, after);
	fputc('\n', f);
}

/*
 * "tcp://10.0.0.1:443" / "udp://[fd00::1]:53" -> "10.0.0.1/32" / "fd00::1/128" and "443".
 * Returns false for anything else.
 */
static bool destination_split(const char *dest, char *cidr, size_t cidr_len, char *port,
			      size_t port_len)
{
	const char *host = strstr(dest, "://"), *colon;
	size_t n;

	if (!host)
		return false;
	host += 3;
	colon = strrchr(host, ':');
	if (!colon || !colon[1])
		return false;
	n = (size_t)(colon - host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
		return snprintf(cidr, cidr_len, "%.*s/128", (int)n, host) < (int)cidr_len &&
		       snprintf(port, port_len, "%s", colon + 1) < (int)port_len;
	}
	return n && snprintf(cidr, cidr_len, "%.*s/32", (int)n, host) < (int)cidr_len &&
	       snprintf(port, port_len, "%s", colon + 1) < (int)port_len;
}

/*
 * The container's learned destinations as a binding of the egress template
 * (pf_proposal_template_yaml): each address as a /32 or /128, each port.
 * The template allows any listed address on any listed port.
 */
static void egress_binding(FILE *f, struct json_object *eg, const char *pname, const char *ns,
			   struct json_object *target, const char *container,
			   const struct pf_proposal_opts *o)
{
	struct pf_strset cidrs = {}, ports = {};
	char bname[768], cidr[128], port[16];

	for (size_t i = 0; i < json_object_array_length(eg); i++)
		if (destination_split(get_str(json_object_array_get_idx(eg, i), "path"), cidr,
				      sizeof(cidr), port, sizeof(port))) {
			pf_strset_add(&cidrs, cidr);
			pf_strset_add(&ports, port);
		} else {
			/* an edited or foreign proposal: shown, never allowed */
			path_comment(f, "egress destination not understood (not allowed)",
				     get_str(json_object_array_get_idx(eg, i), "path"), NULL);
		}
	if (!cidrs.n)
		goto out; /* nothing to allow: the template alone would read as "any" */
	fputs("---\n# Destinations learned for container ", f);
	comment(f, container);
	fputs(": any of these addresses on any of these ports.\n"
	      "# Review before applying (docs/learning.md); widen addresses to networks.\n"
	      "apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata:\n  name: ",
	      f);
	snprintf(bname, sizeof(bname), "learned-%s-%s-egress", pname, container);
	yq(f, bname);
	fputs("\n  namespace: ", f);
	yq(f, ns);
	fputs("\nspec:\n  templateRef: ", f);
	yq(f, o->monitor ? "egress-allowlist-monitor" : "egress-allowlist");
	fputs("\n  targetRef:\n    kind: ", f);
	yq(f, get_str(target, "kind"));
	fputs("\n    name: ", f);
	yq(f, get_str(target, "name"));
	fputs("\n  containers:\n  - ", f);
	yq(f, container);
	fputs("\n  values:\n    allowedCIDRs:\n", f);
	for (size_t i = 0; i < cidrs.n; i++) {
		fputs("    - ", f);
		yq(f, cidrs.v[i]);
		fputc('\n', f);
	}
	fputs("    allowedPorts:\n", f);
	for (size_t i = 0; i < ports.n; i++) {
		fputs("    - ", f);
		yq(f, ports.v[i]);
		fputc('\n', f);
	}
out:
	pf_strset_free(&cidrs);
	pf_strset_free(&ports);
}

char *pf_proposal_bindings_yaml(struct json_object *merged, const struct pf_proposal_opts *o)
{
	struct json_object *spec = get(merged, "spec"), *target = get(spec, "targetRef"),
			   *conts = get(get(get(spec, "nodes"), "*"), "containers"),
			   *nodes = get_arr(spec, "merged");
	const char *ns = get_str(get(merged, "metadata"), "namespace"),
		   *pname = get_str(get(merged, "metadata"), "name");
	char *buf = NULL;
	size_t len = 0, nc;
	const char **ck;
	FILE *f;

	if (!conts || !ns || !pname || !target || !json_object_object_length(conts))
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	ck = sorted_keys(conts, &nc);
	for (size_t c = 0; ck && c < nc; c++) {
		struct json_object *cj = get(conts, ck[c]), *ex = get_arr(cj, "execs"),
				   *se = get_arr(cj, "sessions"), *tmp = get_arr(cj, "temporary"),
				   *out = get_arr(cj, "outsideView"), *eg = get_arr(cj, "egress");
		struct pf_strset values = {};
		char bname[768];

		if (strcmp(ck[c], "(unidentified)") == 0)
			continue; /* no container to bind it to: shown by `learn show` */
		for (size_t i = 0; ex && i < json_object_array_length(ex); i++)
			pf_strset_add(&values, get_str(json_object_array_get_idx(ex, i), "path"));
		for (size_t i = 0; o->include_sessions && se && i < json_object_array_length(se);
		     i++)
			pf_strset_add(&values, get_str(json_object_array_get_idx(se, i), "path"));
		fputs("---\n# Proposed by podfence learn for ", f);
		comment(f, get_str(target, "kind"));
		fputc(' ', f);
		comment(f, ns);
		fputc('/', f);
		comment(f, get_str(target, "name"));
		fputs(", container ", f);
		comment(f, ck[c]);
		fputs(", from nodes", f);
		for (size_t i = 0; nodes && i < json_object_array_length(nodes); i++) {
			fputc(' ', f);
			comment(f, json_object_get_string(json_object_array_get_idx(nodes, i)));
		}
		fputs(".\n# Review before applying (docs/learning.md).\n", f);
		/* every name quoted: a proposal's names are data, never YAML */
		fputs("apiVersion: podfence.io/v1alpha1\nkind: PolicyBinding\nmetadata:\n  name: ",
		      f);
		snprintf(bname, sizeof(bname), "learned-%s-%s", pname, ck[c]);
		yq(f, bname);
		fputs("\n  namespace: ", f);
		yq(f, ns);
		fputs("\nspec:\n  templateRef: ", f);
		snprintf(bname, sizeof(bname), "%s%s", o->template_name,
			 o->monitor ? "-monitor" : "");
		yq(f, bname);
		fputs("\n  targetRef:\n    kind: ", f);
		yq(f, get_str(target, "kind"));
		fputs("\n    name: ", f);
		yq(f, get_str(target, "name"));
		fputs("\n  containers:\n  - ", f);
		yq(f, ck[c]);
		fprintf(f, "\n  values:\n    %s:%s\n", o->parameter,
			values.n ? "" : " [] # nothing learned: every exec is denied");
		for (size_t i = 0; i < values.n; i++) {
			struct json_object *it = NULL;

			for (size_t k = 0; ex && !it && k < json_object_array_length(ex); k++)
				if (!strcmp(get_str(json_object_array_get_idx(ex, k), "path"),
					    values.v[i]))
					it = json_object_array_get_idx(ex, k);
			for (size_t k = 0; se && !it && k < json_object_array_length(se); k++)
				if (!strcmp(get_str(json_object_array_get_idx(se, k), "path"),
					    values.v[i]))
					it = json_object_array_get_idx(se, k);
			if (it)
				item_comment(f, it, "    ");
			fputs("    - ", f);
			yq(f, values.v[i]);
			fputc('\n', f);
		}
		for (size_t i = 0; tmp && i < json_object_array_length(tmp); i++) {
			struct json_object *it = json_object_array_get_idx(tmp, i);
			char after[PF_EXACT_MAX + 80];

			snprintf(after, sizeof(after),
				 " (suggested Prefix %s: needs a template with a Prefix parameter)",
				 get_str(it, "suggestedPrefix") ? get_str(it, "suggestedPrefix")
								: "?");
			path_comment(f, "temporary", get_str(it, "path"), after);
		}
		for (size_t i = 0; !o->include_sessions && se && i < json_object_array_length(se);
		     i++)
			path_comment(f, "exec session only (not allowed; --include-sessions)",
				     get_str(json_object_array_get_idx(se, i), "path"), NULL);
		for (size_t i = 0; out && i < json_object_array_length(out); i++)
			path_comment(f, "outside the container's view (denied whatever the values)",
				     get_str(json_object_array_get_idx(out, i), "path"), NULL);
		pf_strset_free(&values);
		if (eg && json_object_array_length(eg))
			egress_binding(f, eg, pname, ns, target, ck[c], o);
	}
	free(ck);
	fclose(f);
	return buf;
}

char *pf_proposal_template_yaml(const struct pf_proposal_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (int monitor = 0; monitor < 2; monitor++)
		fprintf(f,
			"---\n"
			"# The exec allowlist learned proposals bind (%s mode).\n"
			"apiVersion: podfence.io/v1alpha1\n"
			"kind: PolicyTemplate\n"
			"metadata:\n"
			"  name: %s%s\n"
			"spec:\n"
			"  mode: %s\n"
			"  parameters:\n"
			"  - name: %s\n"
			"    description: binaries the workload may exec (learned)\n"
			"  lsmhooks:\n"
			"  - hook: bprm_check_security\n"
			"    args:\n"
			"    - index: 0\n"
			"      type: linux_binprm\n"
			"    selectors:\n"
			"    - matchArgs:\n"
			"      - index: 0\n"
			"        operator: NotEqual\n"
			"        valuesFrom: %s\n"
			"      matchActions:\n"
			"      - action: Override\n"
			"        argError: -1\n",
			monitor ? "monitor" : "enforce", o->template_name,
			monitor ? "-monitor" : "", monitor ? "monitor" : "enforce", o->parameter,
			o->parameter);
	/* and the egress allowlist the destinations' bindings refer to */
	for (int monitor = 0; monitor < 2; monitor++)
		fprintf(
		    f,
		    "---\n"
		    "# The egress allowlist learned destinations bind (%s mode): any\n"
		    "# allowed address on any allowed port.\n"
		    "apiVersion: podfence.io/v1alpha1\n"
		    "kind: PolicyTemplate\n"
		    "metadata:\n"
		    "  name: egress-allowlist%s\n"
		    "spec:\n"
		    "  mode: %s\n"
		    "  parameters:\n"
		    "  - name: allowedCIDRs\n"
		    "    description: destination networks (learned ones are single addresses)\n"
		    "  - name: allowedPorts\n"
		    "    description: destination ports (learned)\n"
		    "  kprobes:\n"
		    "  - call: security_socket_connect\n"
		    "    syscall: false\n"
		    "    args:\n"
		    "    - index: 0\n"
		    "      type: socket\n"
		    "    - index: 1\n"
		    "      type: sockaddr\n"
		    "    selectors:\n"
		    "    - matchArgs:\n"
		    "      - index: 1\n"
		    "        operator: NotSAddr\n"
		    "        valuesFrom: allowedCIDRs\n"
		    "      matchActions:\n"
		    "      - action: Override\n"
		    "        argError: -1\n"
		    "    - matchArgs:\n"
		    "      - index: 1\n"
		    "        operator: NotSPort\n"
		    "        valuesFrom: allowedPorts\n"
		    "      matchActions:\n"
		    "      - action: Override\n"
		    "        argError: -1\n",
		    monitor ? "monitor" : "enforce", monitor ? "-monitor" : "",
		    monitor ? "monitor" : "enforce");
	fclose(f);
	return buf;
}
