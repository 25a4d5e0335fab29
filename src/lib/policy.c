// SPDX-License-Identifier: Apache-2.0
/*
 * The policy model (policy.h): keys, selection, template instances, and
 * ownership. The YAML reader is policy_yaml.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/policy.h"

int pf_policy_list_reserve(struct pf_policy_list *l, size_t extra)
{
	size_t cap = l->cap ? l->cap : 4;
	struct pf_policy *v;

	if (l->n + extra <= l->cap)
		return 0;
	while (cap < l->n + extra)
		cap *= 2;
	v = realloc(l->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->cap = cap;
	return 0;
}

int pf_policy_list_push(struct pf_policy_list *l, struct pf_policy *p)
{
	int err = pf_policy_list_reserve(l, 1);

	if (err)
		return err;
	l->v[l->n++] = *p;
	memset(p, 0, sizeof(*p));
	return 0;
}

char *pf_policy_key(const struct pf_policy *p)
{
	char *s;

	if (asprintf(&s, "%s/%s/%s", p->kind ? p->kind : "", p->namespace ? p->namespace : "",
		     p->name) < 0)
		return NULL;
	return s;
}

char *pf_template_key(const char *name)
{
	char *s;

	return asprintf(&s, "PolicyTemplate//%s", name) < 0 ? NULL : s;
}

const char *const pf_workload_kinds[] = {"Deployment", "StatefulSet", "DaemonSet", "Job",
					 "CronJob",    "ReplicaSet",  "Pod",	   NULL};

bool pf_policy_targets(const struct pf_policy *p, const struct pf_workload *w)
{
	if (!p->target.kind)
		return true;
	return w && w->kind && w->name && strcmp(p->target.kind, w->kind) == 0 &&
	       strcmp(p->target.name, w->name) == 0;
}

bool pf_policy_selects(const struct pf_policy *p, const char *pod_namespace,
		       const struct pf_labels *pod_labels, const struct pf_workload *pod_workload,
		       const char *container)
{
	struct pf_labels none = {0};

	/* A template selects nothing by itself: its bindings do. */
	if (p->type == PF_POLICY_TEMPLATE)
		return false;
	if (p->namespace && (!pod_namespace || strcmp(p->namespace, pod_namespace) != 0))
		return false;
	/* Tetragon: a policy without podSelector applies to every pod */
	if (p->pods.present && !pf_selector_matches(&p->pods, pod_labels ? pod_labels : &none))
		return false;
	if (!pf_policy_targets(p, pod_workload))
		return false;
	if (p->containers.n && (!container || !pf_strset_has(&p->containers, container)))
		return false;
	return true;
}

const struct pf_strset *pf_binding_values(const struct pf_policy *b, const char *param)
{
	for (size_t i = 0; i < b->n_values; i++)
		if (strcmp(b->values[i].param, param) == 0)
			return &b->values[i].values;
	return NULL;
}

const struct pf_policy *pf_policies_find_template(const struct pf_policy *const *v, size_t n,
						  const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i]->type == PF_POLICY_TEMPLATE && strcmp(v[i]->name, name) == 0)
			return v[i];
	return NULL;
}

const char *pf_policy_cond_op(const struct pf_policy_cond *c)
{
	static const char *const arg_ops[2][4] = {
	    {"", "Equal", "Prefix", "Postfix"},
	    {"", "NotEqual", "NotPrefix", "NotPostfix"},
	};
	static const char *const bin_ops[2][4] = {
	    {"", "In", "Prefix", "Postfix"},
	    {"", "NotIn", "NotPrefix", "NotPostfix"},
	};

	return (c->subject == PF_SUBJ_CALLER ? bin_ops : arg_ops)[c->negate][c->match & 3];
}

/* A piece of a value between slashes. */
static bool piece_is(const char *p, size_t n, const char *what)
{
	return n == strlen(what) && memcmp(p, what, n) == 0;
}

/*
 * The problems a value can have, worst first. Pieces are what lies between
 * slashes; those bounded by "/" (or the start of an absolute value) on both
 * sides are components. At an open end of an affix a piece is only part of
 * a name: Prefix "/tmp/." matches "/tmp/.x", Postfix ".." matches "/tmp/a..".
 * A relative Postfix's first piece followed by "/" is read as a component
 * all the same: "./true" reads as a relative path, not as a suffix of
 * "/x/a./true", to whoever writes it.
 */
enum value_problem {
	VP_OK = 0,
	VP_RELATIVE,
	VP_DOTDOT,
	VP_DOT,
	VP_EMPTY,
	VP_TRAILING_SLASH,
};

/* The worst problem of v and whether dropping "." and empty pieces is a safe fix (in canon). */
static enum value_problem value_problem(enum pf_match m, const char *v, char *canon, bool *fixable)
{
	enum value_problem worst = VP_OK;
	bool abs = v[0] == '/';
	const char *p = abs ? v + 1 : v;
	size_t o = abs;

	canon[0] = '/';
	*fixable = abs || m == PF_MATCH_SUFFIX;
	if (!abs && m != PF_MATCH_SUFFIX)
		worst = VP_RELATIVE;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		bool first = p == v, last = !slash;
		enum value_problem vp = VP_OK;

		if ((last && m == PF_MATCH_PREFIX) || (first && last))
			; /* the start of a name, or a relative Postfix's end of a name */
		else if (piece_is(p, n, ".."))
			vp = VP_DOTDOT;
		else if (piece_is(p, n, "."))
			vp = VP_DOT;
		else if (n == 0)
			vp = last ? VP_TRAILING_SLASH : VP_EMPTY;
		/* ".." depends on symlinks; a Postfix's ends have no equivalent spelling */
		if (vp == VP_DOTDOT || (vp && m == PF_MATCH_SUFFIX && (first || last)))
			*fixable = false;
		if (vp && (!worst || vp < worst))
			worst = vp;
		if (!vp) {
			memcpy(canon + o, p, n);
			o += n;
			if (!last)
				canon[o++] = '/';
		}
		if (last)
			break;
		p = slash + 1;
	}
	/* a dropped last piece of an exact value leaves the "/" before it */
	if (m == PF_MATCH_EXACT && o > 1 && canon[o - 1] == '/')
		o--;
	canon[o] = 0;
	/* "/" names no file */
	if (m == PF_MATCH_EXACT && o == 1)
		*fixable = false;
	return worst;
}

int pf_value_check(enum pf_match m, const char *v, char *err, size_t err_len)
{
	static const char *const why[] = {
	    [VP_RELATIVE] = "is not an absolute path",
	    [VP_DOTDOT] = "has a \"..\" component",
	    [VP_DOT] = "has a \".\" component",
	    [VP_EMPTY] = "has an empty component (\"//\")",
	    [VP_TRAILING_SLASH] = "ends with \"/\"",
	};
	char canon[PF_PATH_BUF + 2]; /* no allocation: a check that cannot fail for memory */
	enum value_problem vp;
	bool fixable;

	/* A memfd's name is the user's string, "/" and ".." included. */
	if (m != PF_MATCH_SUFFIX && strncmp(v, "/memfd:", 7) == 0)
		return 0;
	if (strlen(v) + 2 > sizeof(canon)) {
		snprintf(err, err_len,
			 "\"%.64s...\" is %zu bytes: it can never match (the kernel reports paths "
			 "of at most %d)",
			 v, strlen(v), PF_PATH_BUF);
		return -EINVAL;
	}
	vp = value_problem(m, v, canon, &fixable);
	if (vp == VP_RELATIVE)
		snprintf(err, err_len,
			 "\"%s\" %s: it can never match (the kernel reports absolute "
			 "paths)",
			 v, why[vp]);
	else if (vp == VP_DOTDOT)
		snprintf(err, err_len,
			 "\"%s\" %s: it can never match (the kernel reports resolved "
			 "paths; \"..\" is not resolved here, through a symlink it leads "
			 "elsewhere: write what readlink -f prints in the container)",
			 v, why[vp]);
	else if (vp && fixable)
		snprintf(err, err_len,
			 "\"%s\" %s: it can never match (the kernel reports resolved "
			 "paths): write \"%s\"",
			 v, why[vp], canon);
	else if (vp)
		snprintf(err, err_len,
			 "\"%s\" %s: it can never match (the kernel reports resolved "
			 "paths of files)",
			 v, why[vp]);
	return vp ? -EINVAL : 0;
}

/* Why one value of a binding is refused by a condition using its parameter (0: it is not). */
static int binding_value_refused(const struct pf_policy *tpl, const struct pf_binding_values *bv,
				 size_t v, char *err, size_t err_len)
{
	const char *val = bv->values.v[v];
	size_t at = bv->pos ? bv->pos[v].index : v, len = strlen(val);
	char why[2 * PF_EXACT_MAX + 256];

	for (size_t r = 0; r < tpl->n_rules; r++) {
		for (size_t c = 0; c < tpl->rules[r].n_conds; c++) {
			const struct pf_policy_cond *pc = &tpl->rules[r].conds[c];

			if (!pc->param || strcmp(pc->param, bv->param))
				continue;
			/* Prefix and Postfix values are LPM trie keys: shorter than exact ones. */
			if (pc->match != PF_MATCH_EXACT && len > PF_AFFIX_MAX) {
				snprintf(err, err_len,
					 "spec.values.%s[%zu]: value is %zu bytes, longer than the "
					 "%d-byte limit of %s values (template \"%s\" line %d)",
					 bv->param, at, len, PF_AFFIX_MAX, pf_policy_cond_op(pc),
					 tpl->name, pc->line);
				return -EINVAL;
			}
			if (pf_value_check(pc->match, val, why, sizeof(why))) {
				snprintf(err, err_len,
					 "spec.values.%s[%zu]: %s (%s value of template \"%s\" "
					 "line %d)",
					 bv->param, at, why, pf_policy_cond_op(pc), tpl->name,
					 pc->line);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int pf_binding_check(const struct pf_policy *tpl, const struct pf_policy *b, char *err,
		     size_t err_len, int *line, int *col)
{
	for (size_t i = 0; i < b->n_values; i++) {
		const struct pf_binding_values *bv = &b->values[i];
		size_t first = SIZE_MAX; /* file index of the first refused value */
		char msg[2 * PF_EXACT_MAX + 512];

		if (!pf_strset_has(&tpl->params, bv->param)) {
			snprintf(err, err_len,
				 "spec.values.%s: template \"%s\" has no parameter \"%s\"",
				 bv->param, tpl->name, bv->param);
			*line = bv->line;
			*col = bv->col;
			return -EINVAL;
		}
		/* values are sorted: report the refused one written first */
		for (size_t v = 0; v < bv->values.n; v++) {
			size_t at = bv->pos ? bv->pos[v].index : v;

			if (at >= first || !binding_value_refused(tpl, bv, v, msg, sizeof(msg)))
				continue;
			first = at;
			snprintf(err, err_len, "%s", msg);
			*line = bv->pos ? bv->pos[v].line : bv->line;
			*col = bv->pos ? bv->pos[v].col : bv->col;
		}
		if (first != SIZE_MAX)
			return -EINVAL;
	}
	return 0;
}

enum pf_binding_state pf_binding_accept(const struct pf_policy *tpl, const struct pf_policy *b,
					struct pf_binding_why *why)
{
	why->msg[0] = 0;
	why->line = why->col = 0;
	if (!tpl || strcmp(tpl->name, b->template_ref) != 0) {
		snprintf(why->msg, sizeof(why->msg),
			 "template \"%s\" not found (yet): the binding waits for it",
			 b->template_ref);
		return PF_BINDING_WAITING;
	}
	if (pf_binding_check(tpl, b, why->msg, sizeof(why->msg), &why->line, &why->col))
		return PF_BINDING_REJECTED;
	return PF_BINDING_ACTIVE;
}

const char *pf_binding_state_name(enum pf_binding_state s)
{
	switch (s) {
	case PF_BINDING_ACTIVE:
		return "active";
	case PF_BINDING_WAITING:
		return "waiting-for-template";
	default:
		return "rejected";
	}
}

static int copy_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int pf_template_instantiate(const struct pf_policy *tpl, const struct pf_policy *const *bindings,
			    size_t n, struct pf_policy *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof(*out));
	out->type = PF_POLICY_TRACING; /* concrete: every value known */
	out->mode = tpl->mode;
	out->any_view = tpl->any_view;
	out->line = tpl->line;
	out->col = tpl->col;
	if (copy_str(&out->name, tpl->name) || copy_str(&out->kind, tpl->kind) ||
	    copy_str(&out->hook, tpl->hook) || copy_str(&out->file, tpl->file))
		goto nomem;
	out->rules = calloc(tpl->n_rules ? tpl->n_rules : 1, sizeof(*out->rules));
	if (!out->rules)
		goto nomem;
	out->n_rules = tpl->n_rules;
	for (size_t r = 0; r < tpl->n_rules; r++) {
		const struct pf_policy_rule *tr = &tpl->rules[r];
		struct pf_policy_rule * or = &out->rules[r];

		* or = *tr;
		for (size_t c = 0; c < PF_MAX_CONDS; c++) {
			const struct pf_policy_cond *tc = &tr->conds[c];
			struct pf_policy_cond *oc = & or->conds[c];

			memset(&oc->values, 0, sizeof(oc->values));
			oc->param = NULL;
			if (c >= tr->n_conds)
				continue;
			if (pf_strset_copy(&oc->values, &tc->values) < 0)
				goto nomem;
			/* The union of every binding's values: order-independent by construction.
			 */
			for (size_t b = 0; tc->param && b < n; b++) {
				const struct pf_strset *bv =
				    pf_binding_values(bindings[b], tc->param);

				if (bv && pf_strset_union(&oc->values, bv) < 0)
					goto nomem;
			}
		}
	}
	return 0;
nomem:
	pf_policy_free(out);
	snprintf(err, err_len, "out of memory");
	return -ENOMEM;
}

void pf_policy_free(struct pf_policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->namespace);
	free(p->kind);
	free(p->hook);
	free(p->file);
	pf_selector_free(&p->pods);
	free(p->target.kind);
	free(p->target.name);
	pf_strset_free(&p->containers);
	for (size_t i = 0; i < p->n_rules; i++) {
		for (size_t j = 0; j < PF_MAX_CONDS; j++) {
			pf_strset_free(&p->rules[i].conds[j].values);
			free(p->rules[i].conds[j].param);
		}
	}
	free(p->rules);
	pf_strset_free(&p->params);
	free(p->template_ref);
	for (size_t i = 0; i < p->n_values; i++) {
		free(p->values[i].param);
		pf_strset_free(&p->values[i].values);
		free(p->values[i].pos);
	}
	free(p->values);
	memset(p, 0, sizeof(*p));
}

void pf_policy_list_free(struct pf_policy_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		pf_policy_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
