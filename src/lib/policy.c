// SPDX-License-Identifier: Apache-2.0
/*
 * The policy model (policy.h): keys, selection, template instances, and
 * ownership. The YAML reader is policy_yaml.c.
 */
#include <arpa/inet.h>
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
	/* [negate][sockaddr_op] */
	static const char *const addr_ops[2][2] = {{"DAddr", "SAddr"}, {"NotDAddr", "NotSAddr"}};
	static const char *const port_ops[2][2] = {{"DPort", "SPort"}, {"NotDPort", "NotSPort"}};
	static const char *const arg_ops[2][4] = {
	    {"", "Equal", "Prefix", "Postfix"},
	    {"", "NotEqual", "NotPrefix", "NotPostfix"},
	};
	static const char *const bin_ops[2][4] = {
	    {"", "In", "Prefix", "Postfix"},
	    {"", "NotIn", "NotPrefix", "NotPostfix"},
	};

	if (c->subject == PF_SUBJ_DADDR)
		return addr_ops[c->negate][c->sockaddr_op];
	if (c->subject == PF_SUBJ_DPORT)
		return port_ops[c->negate][c->sockaddr_op];
	return (c->subject == PF_SUBJ_CALLER ? bin_ops : arg_ops)[c->negate][c->match & 3];
}

/* ---- egress values ------------------------------------------------------ */

struct cidr {
	uint8_t family; /* PF_NET_INET, PF_NET_INET6 */
	uint8_t addr[16];
	unsigned len, max;
};

/* n decimal digits and nothing else (strtoul would take a sign and spaces). */
static bool scan_uint(const char *s, size_t n, unsigned long *out)
{
	unsigned long v = 0;

	/* at most nine digits: no overflow, and a longer number is out of range anyway */
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int cidr_format(const struct cidr *c, char *out, size_t out_len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family == PF_NET_INET ? AF_INET : AF_INET6, c->addr, a, sizeof(a)))
		return -EINVAL;
	return snprintf(out, out_len, "%s/%u", a, c->len) < (int)out_len ? 0 : -ENOSPC;
}

/* Clears the host bits beyond the prefix; returns whether some were set. */
static bool cidr_mask(struct cidr *c)
{
	bool set = false;

	for (unsigned bit = c->len; bit < c->max; bit++) {
		uint8_t m = 0x80u >> (bit % 8);

		set |= !!(c->addr[bit / 8] & m);
		c->addr[bit / 8] &= (uint8_t)~m;
	}
	return set;
}

/* Address and prefix as written, an IPv4-mapped one made IPv4; host bits kept. */
static int cidr_scan(const char *s, struct cidr *c, char *err, size_t err_len)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char addr[INET6_ADDRSTRLEN];
	unsigned long len;

	memset(c, 0, sizeof(*c));
	if (alen >= sizeof(addr))
		goto syntax;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	/* inet_pton: no zone ("%eth0"), no leading zeros in IPv4, no spaces */
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = PF_NET_INET;
		c->max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = PF_NET_INET6;
		c->max = 128;
	} else {
		goto syntax;
	}
	len = c->max;
	if (slash && !scan_uint(slash + 1, strlen(slash + 1), &len))
		goto syntax;
	if (len > c->max) {
		snprintf(err, err_len,
			 "\"%s\": prefix length /%s is longer than the %u bits of an %s address", s,
			 slash + 1, c->max, c->max == 32 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	c->len = (unsigned)len;
	/*
	 * The kernel judges a connect to ::ffff:a.b.c.d as one to a.b.c.d (an
	 * IPv4 destination): the value is that IPv4 CIDR. A shorter prefix covers
	 * more than the mapped range: its host bits are set (the ffff).
	 */
	if (c->family == PF_NET_INET6 && c->len >= 96 && !memcmp(c->addr, mapped, sizeof(mapped))) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = PF_NET_INET;
		c->max = 32;
		c->len -= 96;
	}
	return 0;
syntax:
	snprintf(err, err_len,
		 "\"%s\" is not an IP address or CIDR (expected e.g. \"10.0.0.0/8\", "
		 "\"192.0.2.1\", \"fd00::/8\" or \"::1\")",
		 s);
	return -EINVAL;
}

/* A valid CIDR, normalised; its canonical spelling in canon when canon_len. */
static int cidr_value(const char *s, struct cidr *c, char *canon, size_t canon_len, char *err,
		      size_t err_len)
{
	char net[PF_NET_VALUE_MAX], one[PF_NET_VALUE_MAX];
	struct cidr host;
	int ret;

	ret = cidr_scan(s, c, err, err_len);
	if (ret)
		return ret;
	host = *c;
	host.len = host.max;
	/* "10.1.2.3/8" says two things: which one was meant is the author's call */
	if (cidr_mask(c)) {
		if (cidr_format(c, net, sizeof(net)) || cidr_format(&host, one, sizeof(one)))
			return -EINVAL;
		snprintf(err, err_len,
			 "\"%s\" has host bits set beyond its /%u prefix: did you mean \"%s\" (the "
			 "network) or \"%s\" (the one address)?",
			 s, c->len, net, one);
		return -EINVAL;
	}
	return canon_len ? cidr_format(c, canon, canon_len) : 0;
}

/* A valid port or range ("80", "8000-8080", "8000:8080"). */
static int port_value(const char *s, uint16_t *lo, uint16_t *hi, char *err, size_t err_len)
{
	const char *sep = strpbrk(s, "-:");
	size_t n = sep ? (size_t)(sep - s) : strlen(s);
	unsigned long a, b;

	if (!scan_uint(s, n, &a) || (sep && !scan_uint(sep + 1, strlen(sep + 1), &b))) {
		snprintf(err, err_len,
			 "\"%s\" is not a port or port range (expected e.g. \"443\", "
			 "\"8000-8080\" or \"8000:8080\")",
			 s);
		return -EINVAL;
	}
	if (!sep)
		b = a;
	if (a > UINT16_MAX || b > UINT16_MAX) {
		snprintf(err, err_len, "\"%s\": port %lu is out of range (0 to 65535)", s,
			 a > UINT16_MAX ? a : b);
		return -EINVAL;
	}
	/* Tetragon swaps the ends: the intent is plain, the spelling is not */
	if (a > b) {
		snprintf(err, err_len, "\"%s\" is a reversed range: write \"%lu-%lu\"", s, b, a);
		return -EINVAL;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int net_value(enum pf_match m, const char *v, char *out, size_t out_len, char *err,
		     size_t err_len)
{
	uint16_t lo, hi;
	struct cidr c;
	int ret;

	if (m == PF_MATCH_CIDR)
		return cidr_value(v, &c, out, out_len, err, err_len);
	ret = port_value(v, &lo, &hi, err, err_len);
	if (ret || !out_len)
		return ret;
	ret = lo == hi ? snprintf(out, out_len, "%u", lo) : snprintf(out, out_len, "%u-%u", lo, hi);
	return ret < (int)out_len ? 0 : -ENOSPC;
}

int pf_net_value_canon(enum pf_match m, const char *in, char *out, size_t out_len, char *err,
		       size_t err_len)
{
	if (m != PF_MATCH_CIDR && m != PF_MATCH_PORT) {
		snprintf(err, err_len, "not an egress match (%d)", m);
		return -EINVAL;
	}
	if (!out_len)
		return -ENOSPC;
	return net_value(m, in, out, out_len, err, err_len);
}

int pf_cidr_parse(const char *canon, uint8_t *family, uint8_t addr[16], unsigned *prefix_len)
{
	struct cidr c;

	if (!canon || cidr_value(canon, &c, NULL, 0, NULL, 0))
		return -EINVAL;
	*family = c.family;
	memcpy(addr, c.addr, sizeof(c.addr));
	*prefix_len = c.len;
	return 0;
}

int pf_port_range_parse(const char *canon, uint16_t *lo, uint16_t *hi)
{
	return canon ? port_value(canon, lo, hi, NULL, 0) : -EINVAL;
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

	if (m == PF_MATCH_CIDR || m == PF_MATCH_PORT)
		return net_value(m, v, NULL, 0, err, err_len);
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

/*
 * The conditions of a rule that hold values, by slot: an exec rule's conds[],
 * then an egress rule's address and port. NULL for an empty slot.
 */
#define RULE_SLOTS (PF_MAX_CONDS + 2)
static struct pf_policy_cond *rule_cond(struct pf_policy_rule *r, size_t slot)
{
	if (slot < PF_MAX_CONDS)
		return slot < r->n_conds ? &r->conds[slot] : NULL;
	if (slot == PF_MAX_CONDS)
		return r->net.has_addr ? &r->net.addr : NULL;
	return r->net.has_port ? &r->net.port : NULL;
}

static const struct pf_policy_cond *rule_cond_c(const struct pf_policy_rule *r, size_t slot)
{
	return rule_cond((struct pf_policy_rule *)r, slot);
}

/* Why one value of a binding is refused by a condition using its parameter (0: it is not). */
static int binding_value_refused(const struct pf_policy *tpl, const struct pf_binding_values *bv,
				 size_t v, char *err, size_t err_len)
{
	const char *val = bv->values.v[v];
	size_t at = bv->pos ? bv->pos[v].index : v, len = strlen(val);
	char why[2 * PF_EXACT_MAX + 256];

	for (size_t r = 0; r < tpl->n_rules; r++) {
		for (size_t c = 0; c < RULE_SLOTS; c++) {
			const struct pf_policy_cond *pc = rule_cond_c(&tpl->rules[r], c);

			if (!pc || !pc->param || strcmp(pc->param, bv->param))
				continue;
			/* Prefix and Postfix values are LPM trie keys: shorter than exact ones. */
			if ((pc->match == PF_MATCH_PREFIX || pc->match == PF_MATCH_SUFFIX) &&
			    len > PF_AFFIX_MAX) {
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

/*
 * Adds a binding's values to an instance's condition: egress values in their
 * canonical spelling (a binding holds them as written), so that equal
 * destinations make equal sets whoever wrote them.
 */
static int cond_add_values(struct pf_policy_cond *oc, const struct pf_strset *bv, char *err,
			   size_t err_len)
{
	char canon[PF_NET_VALUE_MAX], why[256];
	int ret;

	if (oc->match != PF_MATCH_CIDR && oc->match != PF_MATCH_PORT)
		return pf_strset_union(&oc->values, bv) < 0 ? -ENOMEM : 0;
	for (size_t i = 0; i < bv->n; i++) {
		/* refused bindings take no part: this one was not checked, fail */
		ret =
		    pf_net_value_canon(oc->match, bv->v[i], canon, sizeof(canon), why, sizeof(why));
		if (ret) {
			snprintf(err, err_len, "%s value %s", pf_policy_cond_op(oc), why);
			return -EINVAL;
		}
		if (pf_strset_add(&oc->values, canon) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* One rule of an instance: the template's, with values of its own (fixed + bindings'). */
static int instance_rule(const struct pf_policy_rule *tr, struct pf_policy_rule *dr,
			 const struct pf_policy *const *bindings, size_t n, char *err,
			 size_t err_len)
{
	int ret;

	*dr = *tr;
	/* nothing shared with the template: pf_policy_free() of either frees its own */
	for (size_t c = 0; c < PF_MAX_CONDS; c++) {
		memset(&dr->conds[c].values, 0, sizeof(dr->conds[c].values));
		dr->conds[c].param = NULL;
	}
	memset(&dr->net.addr.values, 0, sizeof(dr->net.addr.values));
	memset(&dr->net.port.values, 0, sizeof(dr->net.port.values));
	dr->net.addr.param = dr->net.port.param = NULL;
	for (size_t c = 0; c < RULE_SLOTS; c++) {
		const struct pf_policy_cond *tc = rule_cond_c(tr, c);
		struct pf_policy_cond *dc = rule_cond(dr, c);

		if (!tc)
			continue;
		if (pf_strset_copy(&dc->values, &tc->values) < 0)
			return -ENOMEM;
		/* The union of every binding's values: order-independent by construction. */
		for (size_t b = 0; tc->param && b < n; b++) {
			const struct pf_strset *bv = pf_binding_values(bindings[b], tc->param);

			ret = bv ? cond_add_values(dc, bv, err, err_len) : 0;
			if (ret)
				return ret;
		}
	}
	return 0;
}

int pf_template_instantiate(const struct pf_policy *tpl, const struct pf_policy *const *bindings,
			    size_t n, struct pf_policy *out, char *err, size_t err_len)
{
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->type = PF_POLICY_TRACING; /* concrete: every value known */
	out->mode = tpl->mode;
	out->any_view = tpl->any_view;
	out->line = tpl->line;
	out->col = tpl->col;
	if (copy_str(&out->name, tpl->name) || copy_str(&out->kind, tpl->kind) ||
	    copy_str(&out->hook, tpl->hook) || copy_str(&out->file, tpl->file))
		goto fail;
	out->rules = calloc(tpl->n_rules ? tpl->n_rules : 1, sizeof(*out->rules));
	if (!out->rules)
		goto fail;
	/* rules not reached yet stay zeroed: pf_policy_free() below may see them */
	out->n_rules = tpl->n_rules;
	for (size_t r = 0; r < tpl->n_rules; r++) {
		ret = instance_rule(&tpl->rules[r], &out->rules[r], bindings, n, err, err_len);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	pf_policy_free(out);
	if (ret == -ENOMEM)
		snprintf(err, err_len, "out of memory");
	return ret;
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
		struct pf_policy_rule *r = &p->rules[i];

		/* every slot, used or not: a rule is zeroed when added */
		for (size_t j = 0; j < PF_MAX_CONDS; j++) {
			pf_strset_free(&r->conds[j].values);
			free(r->conds[j].param);
		}
		pf_strset_free(&r->net.addr.values);
		free(r->net.addr.param);
		pf_strset_free(&r->net.port.values);
		free(r->net.port.param);
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
