// SPDX-License-Identifier: Apache-2.0
/*
 * The reference evaluator (see evaluate.h): straight from the model, no
 * compiled rules, no value sets. Deliberately simple: linear scans.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "podfence/evaluate.h"

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return lx <= ls && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* Whether subject is matched by one of the values under the condition's operator. */
static bool in_values(enum pf_match m, const struct pf_strset *values, const char *subject)
{
	for (size_t i = 0; values && i < values->n; i++) {
		const char *v = values->v[i];

		switch (m) {
		case PF_MATCH_EXACT:
			/* the kernel compares at most PF_EXACT_MAX bytes: longer paths equal
			 * nothing */
			if (strlen(subject) <= PF_EXACT_MAX && strcmp(subject, v) == 0)
				return true;
			break;
		case PF_MATCH_PREFIX:
			if (has_prefix(subject, v))
				return true;
			break;
		case PF_MATCH_SUFFIX:
			if (has_suffix(subject, v))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

static bool cond_holds(const struct pf_policy_cond *c, const struct pf_eval_policy *ep,
		       const struct pf_eval_query *q)
{
	const char *subject = c->subject == PF_SUBJ_CALLER ? q->caller : q->path;
	bool in = false;

	/* An unknown calling binary is in no set: only the negated operators hold. */
	if (subject) {
		in = in_values(c->match, &c->values, subject);
		/* A parameter holds the union of the values of every binding. */
		for (size_t i = 0; c->param && !in && i < ep->n_bindings; i++)
			in = in_values(c->match, pf_binding_values(ep->bindings[i], c->param),
				       subject);
	}
	return in != c->negate;
}

/* Whether the address is in one of the CIDRs (canonical, as the model stores them). */
static bool addr_in(const struct pf_strset *values, const struct pf_eval_connect *c)
{
	for (size_t i = 0; values && i < values->n; i++) {
		uint8_t family, net[16];
		unsigned len, bits_ok = 0;

		if (pf_cidr_parse(values->v[i], &family, net, &len) || family != c->family)
			continue;
		while (bits_ok < len &&
		       !((c->addr[bits_ok / 8] ^ net[bits_ok / 8]) & (0x80u >> (bits_ok % 8))))
			bits_ok++;
		if (bits_ok == len)
			return true;
	}
	return false;
}

static bool port_in(const struct pf_strset *values, uint16_t port)
{
	for (size_t i = 0; values && i < values->n; i++) {
		uint16_t lo, hi;

		if (!pf_port_range_parse(values->v[i], &lo, &hi) && port >= lo && port <= hi)
			return true;
	}
	return false;
}

static bool net_cond_holds(const struct pf_policy_cond *c, const struct pf_eval_policy *ep,
			   const struct pf_eval_connect *conn)
{
	bool addr = c->match == PF_MATCH_CIDR;
	bool in = addr ? addr_in(&c->values, conn) : port_in(&c->values, conn->port);

	for (size_t i = 0; c->param && !in && i < ep->n_bindings; i++) {
		const struct pf_strset *v = pf_binding_values(ep->bindings[i], c->param);

		in = addr ? addr_in(v, conn) : port_in(v, conn->port);
	}
	return in != c->negate;
}

/* Whether an egress selector holds for the connection (a raw socket: a denying one does). */
static bool net_rule_holds(const struct pf_policy_rule *r, const struct pf_eval_policy *ep,
			   const struct pf_eval_connect *conn)
{
	const struct pf_net_match *m = &r->net;

	if (conn->raw)
		return r->actions & PF_ACT_DENY;
	if (m->families && !(m->families & conn->family))
		return false;
	if (m->protocols && !(m->protocols & conn->protocol))
		return false;
	if (m->has_addr && !net_cond_holds(&m->addr, ep, conn))
		return false;
	return !m->has_port || net_cond_holds(&m->port, ep, conn);
}

/* Evaluates one applying policy (or template instance): fills its verdict. */
static int eval_policy(struct pf_eval_policy *ep, const struct pf_eval_query *q)
{
	const struct pf_policy *p = ep->policy;
	bool monitor = p->mode == PF_MODE_MONITOR;
	/* What cannot be checked: every selector that denies matches, no other does. */
	bool unusable = q->path_unresolved || (q->foreign_view && !p->any_view);
	unsigned groups = 0;

	for (size_t i = 0; i < p->n_rules; i++)
		if (i == 0 || p->rules[i].group != p->rules[i - 1].group)
			groups++;
	ep->matched = calloc(groups ? groups : 1, sizeof(*ep->matched));
	if (!ep->matched)
		return -ENOMEM;
	ep->n_groups = groups;
	for (size_t g = 0; g < groups; g++)
		ep->matched[g] = -1;
	for (size_t i = 0, g = 0; i < p->n_rules; i++) {
		const struct pf_policy_rule *r = &p->rules[i];
		bool all = true;

		if (i > 0 && r->group != p->rules[i - 1].group)
			g++;
		/* a connection is judged by connect hooks only, an exec by exec hooks only */
		if ((r->profile == PF_PROFILE_NET) != !!q->connect)
			continue;
		if (ep->matched[g] >= 0)
			continue; /* the first matching selector of the hook entry acts */
		if (q->connect) {
			all = net_rule_holds(r, ep, q->connect);
			/* a raw socket is refused, never reported alone: a monitor keeps it */
			if (q->connect->raw && monitor)
				all = false;
		} else if (unusable) {
			all = r->actions & PF_ACT_DENY;
		}
		for (size_t c = 0; c < r->n_conds && all && !unusable && !q->connect; c++)
			all = cond_holds(&r->conds[c], ep, q);
		if (!all)
			continue;
		ep->matched[g] = (long)i;
		if (r->actions & PF_ACT_DENY) {
			if (monitor) {
				ep->would_block = true;
				ep->reports = true;
			} else {
				if (!ep->blocks)
					ep->err = r->err > 0 ? r->err : EPERM;
				ep->blocks = true;
				ep->kills |= !!(r->actions & PF_ACT_KILL);
			}
		}
		if (r->actions & PF_ACT_POST)
			ep->reports = true;
	}
	return 0;
}

static int push_policy(struct pf_eval_result *out, const struct pf_policy *p)
{
	struct pf_eval_policy *v = realloc(out->v, (out->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	out->v = v;
	memset(&v[out->n], 0, sizeof(*v));
	v[out->n++].policy = p;
	return 0;
}

static int push_ignored(struct pf_eval_result *out, const struct pf_policy *b, const char *why)
{
	struct pf_eval_binding *v = realloc(out->ignored, (out->n_ignored + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	out->ignored = v;
	v[out->n_ignored].binding = b;
	snprintf(v[out->n_ignored].why, sizeof(v->why), "%s", why);
	out->n_ignored++;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct pf_policy *pa = *(const struct pf_policy *const *)a;
	const struct pf_policy *pb = *(const struct pf_policy *const *)b;
	int c = strcmp(pa->kind, pb->kind);

	if (!c)
		c = strcmp(pa->namespace ? pa->namespace : "", pb->namespace ? pb->namespace : "");
	return c ? c : strcmp(pa->name, pb->name);
}

/* What the kernel holds for a failed-closed container: one rule denying every exec. */
static void fail_closed_verdict(struct pf_eval_result *out)
{
	if (!out->fail_closed)
		return;
	out->blocked = true;
	out->killed = false;
	out->err = EPERM;
}

static int evaluate_one(const struct pf_policy *const *pols, size_t n,
			const struct pf_eval_query *q, struct pf_eval_result *out);

static bool same_instance(const struct pf_eval_policy *a, const struct pf_eval_policy *b)
{
	if (a->policy != b->policy || a->n_bindings != b->n_bindings)
		return false;
	for (size_t i = 0; i < a->n_bindings; i++)
		if (a->bindings[i] != b->bindings[i])
			return false;
	return true;
}

/* Moves into out what r has that out has not (r is left empty). */
static int merge_result(struct pf_eval_result *out, struct pf_eval_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		bool dup = false;
		struct pf_eval_policy *v;

		for (size_t j = 0; j < out->n && !dup; j++)
			dup = same_instance(&out->v[j], &r->v[i]);
		if (dup) {
			free(r->v[i].matched);
			free(r->v[i].bindings);
			continue;
		}
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!v) {
			free(r->v[i].matched);
			free(r->v[i].bindings);
			continue; /* freed: the verdict below stays right */
		}
		out->v = v;
		out->v[out->n++] = r->v[i];
	}
	if (r->fail_closed && !out->fail_closed) {
		out->fail_closed = true;
		memcpy(out->fail_why, r->fail_why, sizeof(out->fail_why));
	}
	if (r->blocked && !out->blocked)
		out->err = r->err;
	out->blocked |= r->blocked;
	out->killed |= r->killed;
	free(r->v);
	free(r->ignored);
	memset(r, 0, sizeof(*r));
	return 0;
}

int pf_evaluate(const struct pf_policy *const *pols, size_t n, const struct pf_eval_query *q,
		struct pf_eval_result *out)
{
	struct pf_eval_query one;
	int err;

	if (q->container || !q->n_pod_containers)
		return evaluate_one(pols, n, q, out);
	/* A container not identified yet: whichever of the pod's it is, it is held to all. */
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < q->n_pod_containers; i++) {
		struct pf_eval_result r;

		one = *q;
		one.container = q->pod_containers[i];
		err = evaluate_one(pols, n, &one, i ? &r : out);
		if (!err && i)
			err = merge_result(out, &r);
		if (err) {
			pf_eval_result_free(out);
			return err;
		}
	}
	fail_closed_verdict(out);
	return 0;
}

static int evaluate_one(const struct pf_policy *const *pols, size_t n,
			const struct pf_eval_query *q, struct pf_eval_result *out)
{
	const struct pf_policy **sorted = calloc(n + 1, sizeof(*sorted));
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, pols, n * sizeof(*sorted));
	/* Tracing policies, then templates, each by key: the compiler's order. */
	qsort(sorted, n, sizeof(*sorted), cmp_key);

	for (size_t i = 0; i < n && !err; i++)
		if (sorted[i]->type == PF_POLICY_TRACING &&
		    pf_policy_selects(sorted[i], q->pod_namespace, q->pod_labels, q->pod_workload,
				      q->container))
			err = push_policy(out, sorted[i]);

	for (size_t t = 0; t < n && !err; t++) {
		const struct pf_policy *tpl = sorted[t], *refused = NULL;
		size_t first = out->n;

		if (tpl->type != PF_POLICY_TEMPLATE)
			continue;
		for (size_t i = 0; i < n && !err; i++) {
			const struct pf_policy *b = sorted[i];
			struct pf_binding_why why;
			char where[700];

			if (b->type != PF_POLICY_BINDING || strcmp(b->template_ref, tpl->name) ||
			    !pf_policy_selects(b, q->pod_namespace, q->pod_labels, q->pod_workload,
					       q->container))
				continue;
			if (pf_binding_accept(tpl, b, &why) != PF_BINDING_ACTIVE) {
				snprintf(where, sizeof(where), "%s:%d:%d: %s", b->file, why.line,
					 why.col, why.msg);
				err = push_ignored(out, b, where);
				if (!refused)
					refused = b;
				continue;
			}
			if (out->n == first && (err = push_policy(out, tpl)))
				break;
			struct pf_eval_policy *ep = &out->v[first];
			const struct pf_policy **v =
			    realloc(ep->bindings, (ep->n_bindings + 1) * sizeof(*v));

			if (!v) {
				err = -ENOMEM;
				break;
			}
			v[ep->n_bindings++] = b;
			ep->bindings = v;
		}
		/* Refused, and no other binding of the template for this container. */
		if (refused && out->n == first && !out->fail_closed) {
			out->fail_closed = true;
			snprintf(out->fail_why, sizeof(out->fail_why),
				 "PolicyBinding %s/%s is refused by template \"%s\" and no other "
				 "binding of it selects this container",
				 refused->namespace, refused->name, tpl->name);
		}
	}

	/* Bindings whose template does not exist. */
	for (size_t i = 0; i < n && !err; i++) {
		const struct pf_policy *b = sorted[i];

		struct pf_binding_why why;

		if (b->type == PF_POLICY_BINDING &&
		    pf_policy_selects(b, q->pod_namespace, q->pod_labels, q->pod_workload,
				      q->container) &&
		    pf_binding_accept(pf_policies_find_template(sorted, n, b->template_ref), b,
				      &why) == PF_BINDING_WAITING)
			err = push_ignored(out, b, why.msg);
	}

	for (size_t i = 0; i < out->n && !err; i++) {
		struct pf_eval_policy *ep = &out->v[i];

		err = eval_policy(ep, q);
		if (ep->blocks) {
			if (!out->blocked)
				out->err = ep->err;
			out->blocked = true;
			out->killed |= ep->kills;
		}
	}
	fail_closed_verdict(out);
	free(sorted);
	if (err)
		pf_eval_result_free(out);
	return err;
}

void pf_eval_result_free(struct pf_eval_result *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].matched);
		free(r->v[i].bindings);
	}
	free(r->v);
	free(r->ignored);
	memset(r, 0, sizeof(*r));
}

int pf_eval_connect_parse(const char *s, struct pf_eval_connect *out)
{
	char host[64], cidr[80];
	const char *rest, *colon;
	unsigned len;
	size_t n;
	char *end;
	unsigned long port;

	memset(out, 0, sizeof(*out));
	if (!strcmp(s, "raw://")) {
		out->raw = true;
		out->family = PF_NET_INET;
		return 0;
	}
	if (!strncmp(s, "tcp://", 6))
		out->protocol = PF_NET_TCP;
	else if (!strncmp(s, "udp://", 6))
		out->protocol = PF_NET_UDP;
	else
		return -EINVAL;
	rest = s + 6;
	if (*rest == '[') {
		colon = strstr(rest, "]:");
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - rest - 1);
		rest++;
		colon++;
	} else {
		colon = strrchr(rest, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - rest);
	}
	if (!n || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, rest, n);
	host[n] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return -EINVAL;
	out->port = (uint16_t)port;
	/* the model's own parser: a host is a full-length CIDR, a mapped one IPv4 */
	snprintf(cidr, sizeof(cidr), "%s", host);
	if (pf_cidr_parse(cidr, &out->family, out->addr, &len))
		return -EINVAL;
	return (out->family == PF_NET_INET && len == 32) || len == 128 ? 0 : -EINVAL;
}
