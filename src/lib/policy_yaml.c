// SPDX-License-Identifier: Apache-2.0
/*
 * Policy files -> struct pf_policy: Tetragon TracingPolicy /
 * TracingPolicyNamespaced for exec control and egress (connect hooks), and
 * podfence's PolicyTemplate (the same hook syntax, values left open) and
 * PolicyBinding. The reader is strict: anything
 * podfence cannot enforce exactly as Tetragon would is an error naming its field, because a policy
 * silently enforced differently than written is worse than one refused.
 * Validation errors go to diags and parsing goes on (every error of a file is
 * reported); functions only return a negative errno for allocation failures.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "podfence/policy.h"
#include "podfence/yaml.h"

#define PATH_LEN 256
/* Tetragon's limit on selectors per hook. */
#define MAX_SELECTORS 5
/* The exec hooks take one argument (struct linux_binprm *). */
#define EXEC_ARG 0
/* pf_rule.err is a __u8 in the kernel ABI. */
#define MAX_ERRNO_U8 255

/* Why known Tetragon fields are refused, by section. */
#define WHY_SELECTOR                                                                               \
	"podfence selectors match the exec path (matchArgs) and the calling binary "               \
	"(matchBinaries)"
#define WHY_ARG	   "podfence reads the executed file's path only"
#define WHY_RETURN "podfence acts before the exec, there is no return value"
#define WHY_SPEC   "podfence enforces exec hooks and connect hooks: kprobes and lsmhooks only"
/* The same on connect hooks. */
#define WHY_NET_SELECTOR                                                                           \
	"podfence selectors on connect hooks match the destination, protocol and family "          \
	"(matchArgs)"
#define WHY_NET_ARG    "podfence reads the destination, protocol and family only"
#define WHY_NET_RETURN "podfence acts before the connection, there is no return value"

/* The kind of values a template parameter holds: its first use decides. */
enum param_kind {
	PARAM_UNUSED = 0,
	PARAM_PATHS, /* Equal, Prefix, Postfix, In (and Not) */
	PARAM_CIDRS, /* DAddr, SAddr (and Not) */
	PARAM_PORTS, /* DPort, SPort (and Not) */
};

struct param_use {
	unsigned n;	      /* conditions using the parameter */
	enum param_kind kind; /* of the first one */
	const char *op;	      /* its operator, and where (for the message on a mix) */
	int line;
};

struct tp {
	struct pf_diags *diags;
	struct pf_ydoc *d;
	struct pf_policy *p;
	const struct pf_policy_list *prev; /* policies of earlier documents of the file */
	unsigned n_hooks;		   /* hook entries (exec or not) */
	struct param_use *param_uses;	   /* template: per parameter (sorted index) */
};

enum hook_kind {
	HOOK_UNSUPPORTED = 0,
	HOOK_EXEC,
	HOOK_TCP_CONNECT,    /* kprobe tcp_connect(sock): TCP only */
	HOOK_SOCKET_CONNECT, /* security_socket_connect, LSM socket_connect(socket, sockaddr, len)
			      */
};

/* Arguments a connect hook may declare (index: its position). */
#define NET_ARGS 3

/* One kprobes[]/lsmhooks[] entry while its selectors are read. */
struct hook {
	const char *call;
	enum hook_kind kind;
	bool arg_declared;
	const char *arg_type[NET_ARGS]; /* connect hooks: the type declared per index */
	unsigned group;
};

/* A known field podfence does not honour: an error, or a warning when harmless. */
struct field_rule {
	const char *key;
	const char *why;
	bool warn;
};

struct op {
	const char *name;
	enum pf_match match;
	bool negate;
};

struct op_table {
	const struct op *ops;
	const char *expected;
};

static const char *const exec_kprobes[] = {"security_bprm_creds_for_exec", "security_bprm_check",
					   NULL};
static const char *const exec_lsmhooks[] = {"bprm_check_security", "bprm_creds_for_exec", NULL};
static const char *const net_kprobes[] = {"tcp_connect", "security_socket_connect", NULL};
static const char *const net_lsmhooks[] = {"socket_connect", NULL};

static const struct op arg_ops[] = {
    {"Equal", PF_MATCH_EXACT, false},	 {"NotEqual", PF_MATCH_EXACT, true},
    {"Prefix", PF_MATCH_PREFIX, false},	 {"NotPrefix", PF_MATCH_PREFIX, true},
    {"Postfix", PF_MATCH_SUFFIX, false}, {"NotPostfix", PF_MATCH_SUFFIX, true},
    {NULL, PF_MATCH_NONE, false},
};

static const struct op bin_ops[] = {
    {"In", PF_MATCH_EXACT, false},	 {"NotIn", PF_MATCH_EXACT, true},
    {"Prefix", PF_MATCH_PREFIX, false},	 {"NotPrefix", PF_MATCH_PREFIX, true},
    {"Postfix", PF_MATCH_SUFFIX, false}, {"NotPostfix", PF_MATCH_SUFFIX, true},
    {NULL, PF_MATCH_NONE, false},
};

static const struct op_table arg_table = {
    arg_ops, "Equal, NotEqual, Prefix, NotPrefix, Postfix or NotPostfix"};
static const struct op_table bin_table = {bin_ops,
					  "In, NotIn, Prefix, NotPrefix, Postfix or NotPostfix"};

/* ---- small helpers ---------------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Case-insensitive look-alike among names, for a "did you mean" hint. */
static const char *case_alike(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (strcasecmp(s, *names) == 0)
			return *names;
	return NULL;
}

static void key_path(char *buf, const char *base, const char *key)
{
	if (snprintf(buf, PATH_LEN, "%s%s%s", base, *base ? "." : "", key) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
}

static void idx_path(char *buf, const char *base, size_t i)
{
	if (snprintf(buf, PATH_LEN, "%s[%zu]", base, i) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
}

/* YAML null (Kubernetes treats an explicit null like an absent field). */
static bool y_null(yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};

	return !n ||
	       (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		in_list(pf_y_str(n), nulls));
}

static yaml_node_t *field(struct tp *t, yaml_node_t *map, const char *key)
{
	yaml_node_t *n = pf_y_get(t->d, map, key);

	return y_null(n) ? NULL : n;
}

/* The key node of a mapping entry (errors about a field point at its name). */
static yaml_node_t *key_node(struct tp *t, yaml_node_t *map, const char *key)
{
	if (!pf_y_is_map(map))
		return NULL;
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(&t->d->doc, pr->key);
		const char *s = pf_y_str(k);

		if (s && strcmp(s, key) == 0)
			return k;
	}
	return NULL;
}

static bool expect_map(struct tp *t, yaml_node_t *n, const char *path)
{
	if (pf_y_is_map(n))
		return true;
	pf_y_error(t->diags, t->d, n, "%s: must be a mapping", path);
	return false;
}

static bool expect_seq(struct tp *t, yaml_node_t *n, const char *path)
{
	if (pf_y_is_seq(n))
		return true;
	pf_y_error(t->diags, t->d, n, "%s: must be a list", path);
	return false;
}

/* A string field; NULL when absent (an error if required) or not a scalar (an error). */
static const char *str_field(struct tp *t, yaml_node_t *map, const char *path, const char *key,
			     bool required)
{
	yaml_node_t *n = field(t, map, key);

	if (!n) {
		if (required)
			pf_y_error(t->diags, t->d, map, "%s%s%s: required", path, *path ? "." : "",
				   key);
		return NULL;
	}
	if (!pf_y_is_scalar(n)) {
		pf_y_error(t->diags, t->d, n, "%s%s%s: must be a string", path, *path ? "." : "",
			   key);
		return NULL;
	}
	return pf_y_str(n);
}

static bool parse_long(const char *s, long *out)
{
	char *end;

	if (!s || !*s)
		return false;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const t[] = {"true", "True", "TRUE", NULL};
	static const char *const f[] = {"false", "False", "FALSE", NULL};

	*out = in_list(s, t);
	return *out || in_list(s, f);
}

static const struct field_rule *find_rule(const struct field_rule *rules, const char *key)
{
	for (; key && rules && rules->key; rules++)
		if (strcmp(rules->key, key) == 0)
			return rules;
	return NULL;
}

/*
 * Reports known-but-unsupported fields with their reason, then unknown and
 * duplicate keys. Returns false when an error was reported.
 */
static bool check_fields(struct tp *t, yaml_node_t *map, const char *path, const char *const *ok,
			 const struct field_rule *rules)
{
	const char *known[48];
	size_t n = 0;
	bool good = true;

	for (; *ok && n < 47; ok++)
		known[n++] = *ok;
	for (const struct field_rule *r = rules; r && r->key && n < 47; r++)
		known[n++] = r->key;
	known[n] = NULL;
	if (!pf_y_is_map(map))
		return false;
	/* in document order, so that messages read top-down */
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(&t->d->doc, pr->key);
		const struct field_rule *r = find_rule(rules, pf_y_str(k));

		if (!r)
			continue;
		if (r->warn) {
			pf_y_warn(t->diags, t->d, k, "%s.%s: ignored (%s)", path, r->key, r->why);
			continue;
		}
		pf_y_error(t->diags, t->d, k, "%s.%s: field \"%s\" is not supported (%s)", path,
			   r->key, r->key, r->why);
		good = false;
	}
	return pf_y_check_keys(t->diags, t->d, map, path, known) == 0 && good;
}

/* ---- values ------------------------------------------------------------ */

/*
 * Limits come from the kernel maps: exact values are hashed keys, affixes LPM
 * trie keys. m is PF_MATCH_NONE for a binding's values: their operators are
 * the template's, checked with it (pf_binding_check).
 */
static bool value_ok(struct tp *t, yaml_node_t *n, const char *path, enum pf_match m)
{
	const char *s = pf_y_str(n);
	bool affix = m == PF_MATCH_PREFIX || m == PF_MATCH_SUFFIX;
	size_t len, max = affix ? PF_AFFIX_MAX : PF_EXACT_MAX;
	char why[2 * PF_EXACT_MAX + 256];

	if (!s) {
		pf_y_error(t->diags, t->d, n, "%s: must be a string", path);
		return false;
	}
	len = strlen(s);
	if (len == 0) {
		pf_y_error(t->diags, t->d, n, "%s: empty value", path);
		return false;
	}
	if (len > max) {
		pf_y_error(t->diags, t->d, n,
			   "%s: value is %zu bytes, longer than the %zu-byte limit of %s (%s)",
			   path, len, max,
			   max == PF_EXACT_MAX ? "exact values" : "prefix/postfix values",
			   max == PF_EXACT_MAX ? "PF_EXACT_MAX" : "PF_AFFIX_MAX");
		return false;
	}
	/* the kernel reports resolved paths: "/usr/bin/../bin/true" never matches */
	if (m != PF_MATCH_NONE && pf_value_check(m, s, why, sizeof(why))) {
		pf_y_error(t->diags, t->d, n, "%s: %s", path, why);
		return false;
	}
	return true;
}

static enum param_kind match_kind(enum pf_match m)
{
	if (m == PF_MATCH_CIDR)
		return PARAM_CIDRS;
	return m == PF_MATCH_PORT ? PARAM_PORTS : PARAM_PATHS;
}

/* A template condition's open values: the parameter a binding fills in. */
static int parse_values_from(struct tp *t, yaml_node_t *entry, const char *path,
			     struct pf_policy_cond *c)
{
	static const char *const kinds[] = {
	    [PARAM_PATHS] = "paths", [PARAM_CIDRS] = "CIDRs", [PARAM_PORTS] = "ports"};
	yaml_node_t *vf = field(t, entry, "valuesFrom");
	struct param_use *u;
	const char *name;
	size_t i;

	if (!vf)
		return 0;
	name = pf_y_str(vf);
	if (t->p->type != PF_POLICY_TEMPLATE) {
		pf_y_error(t->diags, t->d, vf,
			   "%s.valuesFrom: only a podfence.io PolicyTemplate has parameters", path);
		return 0;
	}
	for (i = 0; name && i < t->p->params.n; i++)
		if (strcmp(t->p->params.v[i], name) == 0)
			break;
	if (!name || i == t->p->params.n) {
		pf_y_error(t->diags, t->d, vf,
			   "%s.valuesFrom: \"%s\" is not a parameter of this template (declare it "
			   "in spec.parameters)",
			   path, name ? name : "");
		return 0;
	}
	u = &t->param_uses[i];
	/* a binding's value is checked against every use: of two kinds, none would pass */
	if (u->n && u->kind != match_kind(c->match)) {
		pf_y_error(t->diags, t->d, vf,
			   "%s.valuesFrom: parameter \"%s\" holds %s (%s, line %d): a %s value "
			   "cannot be one (use another parameter)",
			   path, name, kinds[u->kind], u->op, u->line, pf_policy_cond_op(c));
		return 0;
	}
	if (!u->n++) {
		u->kind = match_kind(c->match);
		u->op = pf_policy_cond_op(c);
		u->line = pf_y_line(vf);
	}
	c->param = strdup(name);
	return c->param ? 0 : -ENOMEM;
}

/*
 * Adds a value as stored: egress values in their canonical spelling (the
 * value was checked), so that "127.0.0.1" and "127.0.0.1/32" are one value.
 */
static int add_value(struct pf_policy_cond *c, enum pf_match m, const char *v)
{
	char canon[PF_NET_VALUE_MAX];
	int err;

	if (m == PF_MATCH_CIDR || m == PF_MATCH_PORT) {
		err = pf_net_value_canon(m, v, canon, sizeof(canon), NULL, 0);
		if (err)
			return err == -ENOSPC ? -EINVAL : err;
		v = canon;
	}
	err = pf_strset_add(&c->values, v);
	return err < 0 ? err : 0;
}

static int parse_values(struct tp *t, yaml_node_t *entry, const char *path, enum pf_match m,
			struct pf_policy_cond *c)
{
	yaml_node_t *vals = field(t, entry, "values");
	char vpath[PATH_LEN], ipath[PATH_LEN];
	int err;

	key_path(vpath, path, "values");
	err = parse_values_from(t, entry, path, c);
	if (err)
		return err;
	if (!vals) {
		if (!c->param)
			pf_y_error(t->diags, t->d, entry, "%s: required%s", vpath,
				   t->p->type == PF_POLICY_TEMPLATE ? " (or valuesFrom)" : "");
		return 0;
	}
	if (!pf_y_is_seq(vals) || (pf_y_seq_len(vals) == 0 && !c->param)) {
		pf_y_error(t->diags, t->d, vals, "%s: must be a non-empty list of strings", vpath);
		return 0;
	}
	for (size_t i = 0; i < pf_y_seq_len(vals); i++) {
		yaml_node_t *v = pf_y_seq_at(t->d, vals, i);

		idx_path(ipath, vpath, i);
		if (!value_ok(t, v, ipath, m))
			continue;
		err = add_value(c, m, pf_y_str(v));
		if (err)
			return err;
	}
	return 0;
}

/* ---- selectors --------------------------------------------------------- */

static const struct op *find_op(struct tp *t, yaml_node_t *entry, const char *path,
				const struct op_table *tab, yaml_node_t **at)
{
	const char *name = str_field(t, entry, path, "operator", true);
	const char *names[8], *alike;
	size_t n = 0;

	*at = field(t, entry, "operator");
	if (!name)
		return NULL;
	for (const struct op *o = tab->ops; o->name; o++) {
		if (strcmp(o->name, name) == 0)
			return o;
		names[n++] = o->name;
	}
	names[n] = NULL;
	alike = case_alike(name, names);
	pf_y_error(t->diags, t->d, *at, "%s.operator: \"%s\" is not supported (expected %s)%s%s%s",
		   path, name, tab->expected, alike ? "; did you mean \"" : "", alike ? alike : "",
		   alike ? "\"?" : "");
	return NULL;
}

/*
 * One matchArgs/matchBinaries entry -> one condition. Entries past
 * PF_MAX_CONDS are still validated (into a scratch condition) so that all
 * their errors show, and the selector reports the count.
 */
static int parse_cond(struct tp *t, yaml_node_t *e, const char *path, const struct op_table *tab,
		      enum pf_subject subj, struct pf_policy_rule *r, size_t *n)
{
	struct pf_policy_cond scratch = {0}, *c;
	const struct op *op;
	yaml_node_t *at;
	int err;

	c = *n < PF_MAX_CONDS ? &r->conds[*n] : &scratch;
	(*n)++;
	op = find_op(t, e, path, tab, &at);
	if (!op)
		return 0;
	c->subject = subj;
	c->match = op->match;
	c->negate = op->negate;
	c->line = pf_y_line(at);
	c->col = pf_y_col(at);
	err = parse_values(t, e, path, op->match, c);
	if (c == &scratch) {
		pf_strset_free(&scratch.values);
		free(scratch.param);
	} else
		r->n_conds = *n;
	return err;
}

static bool arg_index_ok(struct tp *t, yaml_node_t *e, const char *path, const struct hook *h)
{
	yaml_node_t *in = field(t, e, "index");
	long idx = 0;

	/* Tetragon decodes a missing index as 0 */
	if (in && !parse_long(pf_y_str(in), &idx)) {
		pf_y_error(t->diags, t->d, in, "%s.index: must be an integer", path);
		return false;
	}
	if (idx != EXEC_ARG || !h->arg_declared) {
		pf_y_error(t->diags, t->d, in ? in : e,
			   "%s.index: %ld does not name a declared argument (declare args: "
			   "[{index: 0, type: linux_binprm}])",
			   path, idx);
		return false;
	}
	return true;
}

static int parse_match_list(struct tp *t, yaml_node_t *sel, const char *path, const char *key,
			    const struct hook *h, struct pf_policy_rule *r, size_t *n)
{
	static const char *const arg_ok[] = {"index", "operator", "values", "valuesFrom", NULL};
	static const char *const bin_ok[] = {"operator", "values", "valuesFrom", NULL};
	static const struct field_rule arg_rules[] = {
	    {"args", "one argument per matchArgs entry", false},
	    {NULL, NULL, false},
	};
	static const struct field_rule bin_rules[] = {
	    {"followChildren", "podfence matches the calling binary itself", false},
	    {NULL, NULL, false},
	};
	bool is_args = strcmp(key, "matchArgs") == 0;
	yaml_node_t *list = field(t, sel, key);
	char lpath[PATH_LEN], epath[PATH_LEN];
	int err;

	key_path(lpath, path, key);
	if (!list || !expect_seq(t, list, lpath))
		return 0;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		yaml_node_t *e = pf_y_seq_at(t->d, list, i);

		idx_path(epath, lpath, i);
		if (!expect_map(t, e, epath))
			continue;
		check_fields(t, e, epath, is_args ? arg_ok : bin_ok,
			     is_args ? arg_rules : bin_rules);
		if (is_args && !arg_index_ok(t, e, epath, h))
			continue;
		err = parse_cond(t, e, epath, is_args ? &arg_table : &bin_table,
				 is_args ? PF_SUBJ_EXEC_PATH : PF_SUBJ_CALLER, r, n);
		if (err)
			return err;
	}
	return 0;
}

/* Override's argError: a negative errno, stored positive. */
static void parse_arg_error(struct tp *t, yaml_node_t *a, const char *path,
			    struct pf_policy_rule *r)
{
	yaml_node_t *n = field(t, a, "argError");
	long v;

	if (!n) {
		pf_y_error(
		    t->diags, t->d, a,
		    "%s.argError: required with Override (a negative errno, e.g. -1 for EPERM)",
		    path);
		return;
	}
	if (!parse_long(pf_y_str(n), &v) || v >= 0 || v < -MAX_ERRNO_U8) {
		pf_y_error(t->diags, t->d, n,
			   "%s.argError: \"%s\" is not a negative errno between -1 and -%d", path,
			   pf_y_str(n) ? pf_y_str(n) : "", MAX_ERRNO_U8);
		return;
	}
	r->err = (int)-v;
}

/* Post options only shape Tetragon's event; they never change the verdict. */
#define WHY_POST "podfence events carry the exec path and policy"

struct action_seen {
	bool post, nopost, override;
};

static void parse_action(struct tp *t, yaml_node_t *a, const char *path, struct pf_policy_rule *r,
			 struct action_seen *seen)
{
	static const char *const ok[] = {"action", "argError", NULL};
	static const char *const names[] = {"Override", "Sigkill", "Post", "NoPost", NULL};
	static const struct field_rule rules[] = {
	    {"rateLimit", WHY_POST, true},
	    {"rateLimitScope", WHY_POST, true},
	    {"imaHash", WHY_POST, true},
	    {"kernelStackTrace", WHY_POST, true},
	    {"userStackTrace", WHY_POST, true},
	    {"argSig", "Sigkill always sends SIGKILL", false},
	    {NULL, NULL, false},
	};
	const char *name, *alike;

	if (!expect_map(t, a, path))
		return;
	check_fields(t, a, path, ok, rules);
	name = str_field(t, a, path, "action", true);
	if (!name)
		return;
	if (strcmp(name, "Override") == 0) {
		if (seen->override)
			pf_y_error(t->diags, t->d, a, "%s: only one Override per selector", path);
		seen->override = true;
		r->actions |= PF_ACT_DENY;
		parse_arg_error(t, a, path, r);
		return;
	}
	if (field(t, a, "argError"))
		pf_y_error(t->diags, t->d, key_node(t, a, "argError"),
			   "%s.argError: only Override takes argError", path);
	if (strcmp(name, "Sigkill") == 0) {
		r->actions |= PF_ACT_DENY | PF_ACT_KILL;
	} else if (strcmp(name, "Post") == 0) {
		seen->post = true;
	} else if (strcmp(name, "NoPost") == 0) {
		seen->nopost = true;
	} else {
		alike = case_alike(name, names);
		pf_y_error(t->diags, t->d, field(t, a, "action"),
			   "%s.action: \"%s\" is not supported (expected Override, Sigkill, Post "
			   "or NoPost)%s%s%s",
			   path, name, alike ? "; did you mean \"" : "", alike ? alike : "",
			   alike ? "\"?" : "");
	}
}

/* Tetragon posts an event for every matched selector unless NoPost says otherwise. */
static void parse_actions(struct tp *t, yaml_node_t *sel, const char *path,
			  struct pf_policy_rule *r)
{
	yaml_node_t *list = field(t, sel, "matchActions");
	struct action_seen seen = {0};
	char lpath[PATH_LEN], apath[PATH_LEN];

	r->actions = PF_ACT_POST;
	key_path(lpath, path, "matchActions");
	if (!list || !expect_seq(t, list, lpath))
		return;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		idx_path(apath, lpath, i);
		parse_action(t, pf_y_seq_at(t->d, list, i), apath, r, &seen);
	}
	if (seen.post && seen.nopost)
		pf_y_error(t->diags, t->d, list, "%s: Post and NoPost contradict each other",
			   lpath);
	if (seen.nopost)
		r->actions &= ~(unsigned)PF_ACT_POST;
	/* Sigkill alone still needs an errno for the backends that fail the exec */
	if ((r->actions & PF_ACT_DENY) && r->err == 0)
		r->err = EPERM;
}

static struct pf_policy_rule *add_rule(struct tp *t, yaml_node_t *at, const struct hook *h)
{
	struct pf_policy *p = t->p;
	struct pf_policy_rule *v = realloc(p->rules, (p->n_rules + 1) * sizeof(*v));

	if (!v)
		return NULL;
	p->rules = v;
	v = &p->rules[p->n_rules++];
	memset(v, 0, sizeof(*v));
	v->group = h->group;
	v->profile = h->kind == HOOK_EXEC ? PF_PROFILE_EXEC : PF_PROFILE_NET;
	/* tcp_connect sees TCP connections only: its rules say so to the compiler */
	if (h->kind == HOOK_TCP_CONNECT)
		v->net.protocols = PF_NET_TCP;
	v->actions = PF_ACT_POST;
	v->line = pf_y_line(at);
	v->col = pf_y_col(at);
	return v;
}

/* ---- connect hooks: selectors ----------------------------------------- */

enum net_op_kind {
	NET_ADDR,
	NET_PORT,
	NET_FAMILY,
	NET_PROTO,
};

struct net_op {
	const char *name;
	enum net_op_kind kind;
	bool negate;
	bool source; /* SAddr, SPort: of a sock, the connection's source; of a sockaddr, its own */
};

static const struct net_op net_ops[] = {
    {"DAddr", NET_ADDR, false, false},	  {"NotDAddr", NET_ADDR, true, false},
    {"SAddr", NET_ADDR, false, true},	  {"NotSAddr", NET_ADDR, true, true},
    {"DPort", NET_PORT, false, false},	  {"NotDPort", NET_PORT, true, false},
    {"SPort", NET_PORT, false, true},	  {"NotSPort", NET_PORT, true, true},
    {"Family", NET_FAMILY, false, false}, {"Protocol", NET_PROTO, false, false},
    {NULL, NET_ADDR, false, false},
};

/* What a matchArgs entry of a connect hook reads. */
enum net_arg {
	ARG_SOCK,     /* tcp_connect's struct sock *: DAddr/DPort are the destination */
	ARG_SOCKET,   /* the struct socket * of socket_connect: not connected yet */
	ARG_SOCKADDR, /* the address connected to: SAddr/SPort (Tetragon's names) */
};

#define ALL_FAMILIES  (PF_NET_INET | PF_NET_INET6)
#define ALL_PROTOCOLS (PF_NET_TCP | PF_NET_UDP)

/* Family and Protocol operators of one selector, ANDed (as Tetragon). */
struct net_acc {
	uint8_t families, protocols;
};

static const char *net_op_named(enum net_op_kind kind, bool negate, bool source)
{
	for (const struct net_op *o = net_ops; o->name; o++)
		if (o->kind == kind && o->negate == negate && o->source == source)
			return o->name;
	return "";
}

static const char *net_args_hint(const struct hook *h)
{
	return h->kind == HOOK_TCP_CONNECT
		   ? "[{index: 0, type: sock}]"
		   : "[{index: 0, type: socket}, {index: 1, type: sockaddr}]";
}

static const char *net_ops_expected(enum net_arg arg)
{
	switch (arg) {
	case ARG_SOCK:
		return "DAddr, NotDAddr, DPort, NotDPort, Protocol or Family";
	case ARG_SOCKET:
		return "Protocol or Family";
	default:
		return "SAddr, NotSAddr, SPort, NotSPort or Family";
	}
}

/* The argument a matchArgs entry names (-1: an error was reported). */
static int net_arg_index(struct tp *t, yaml_node_t *e, const char *path, const struct hook *h)
{
	yaml_node_t *in = field(t, e, "index");
	long idx = 0;

	/* Tetragon decodes a missing index as 0 */
	if (in && !parse_long(pf_y_str(in), &idx)) {
		pf_y_error(t->diags, t->d, in, "%s.index: must be an integer", path);
		return -1;
	}
	if (idx < 0 || idx >= NET_ARGS || !h->arg_type[idx]) {
		pf_y_error(t->diags, t->d, in ? in : e,
			   "%s.index: %ld does not name a declared argument (declare args: %s)",
			   path, idx, net_args_hint(h));
		return -1;
	}
	if (idx == 2) {
		pf_y_error(t->diags, t->d, in,
			   "%s.index: argument 2 (the address length) cannot be matched (%s)", path,
			   WHY_NET_ARG);
		return -1;
	}
	return (int)idx;
}

/* An operator podfence does not know, with the closest it does. */
static void net_op_unknown(struct tp *t, yaml_node_t *at, const char *path, const char *name,
			   enum net_arg arg)
{
	static const char *const privs[] = {"DPortPriv", "NotDPortPriv", "SPortPriv",
					    "NotSPortPriv", NULL};
	const char *names[16], *alike;
	size_t n = 0;

	for (const struct net_op *o = net_ops; o->name; o++)
		names[n++] = o->name;
	names[n] = NULL;
	/* the privileged ports are one range: the destination port's operator of this argument */
	if (in_list(name, privs)) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: \"%s\" is not supported (expected %s): write %s with "
			   "values [\"0-1023\"]%s",
			   path, name, net_ops_expected(arg),
			   net_op_named(NET_PORT, strncmp(name, "Not", 3) == 0, arg != ARG_SOCK),
			   arg == ARG_SOCKET ? " on the sockaddr argument (index 1)" : "");
		return;
	}
	alike = case_alike(name, names);
	pf_y_error(t->diags, t->d, at, "%s.operator: \"%s\" is not supported (expected %s)%s%s%s",
		   path, name, net_ops_expected(arg), alike ? "; did you mean \"" : "",
		   alike ? alike : "", alike ? "\"?" : "");
}

/* Whether the operator reads the destination, protocol or family where it is written. */
static bool net_op_allowed(struct tp *t, yaml_node_t *at, const char *path, const struct net_op *op,
			   enum net_arg arg)
{
	bool addr_port = op->kind == NET_ADDR || op->kind == NET_PORT;
	const char *what = op->kind == NET_ADDR ? "address" : "port";

	if (arg == ARG_SOCK && op->source) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: %s of a sock is the connection's source (its local %s): "
			   "podfence matches the destination (use %s)",
			   path, op->name, what, net_op_named(op->kind, op->negate, false));
		return false;
	}
	if (arg == ARG_SOCKET && addr_port) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: %s of the socket (index 0) means nothing before it is "
			   "connected: match the destination with %s of the sockaddr argument "
			   "(index 1)",
			   path, op->name, net_op_named(op->kind, op->negate, true));
		return false;
	}
	if (arg == ARG_SOCKADDR && addr_port && !op->source) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: %s is not an operator of a sockaddr (the %s it holds is "
			   "%s, as in Tetragon); did you mean \"%s\"?",
			   path, op->name, what, op->kind == NET_ADDR ? "SAddr" : "SPort",
			   net_op_named(op->kind, op->negate, true));
		return false;
	}
	if (arg == ARG_SOCKADDR && op->kind == NET_PROTO) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: a sockaddr has no protocol: use Protocol on the socket "
			   "argument (index 0)",
			   path);
		return false;
	}
	return true;
}

struct net_name {
	const char *name;
	uint8_t bit;
};

/* The values of a Family or Protocol operator as enum pf_net_family/proto bits (0: error). */
static uint8_t net_bits(struct tp *t, yaml_node_t *e, const char *path, const struct net_op *op)
{
	static const struct net_name families[] = {
	    {"AF_INET", PF_NET_INET},
	    {"AF_INET6", PF_NET_INET6},
	    {"2", PF_NET_INET},
	    {"10", PF_NET_INET6},
	    {NULL, 0},
	};
	static const struct net_name protocols[] = {
	    {"IPPROTO_TCP", PF_NET_TCP}, {"IPPROTO_UDP", PF_NET_UDP}, {"TCP", PF_NET_TCP},
	    {"UDP", PF_NET_UDP},	 {"tcp", PF_NET_TCP},	      {"udp", PF_NET_UDP},
	    {"6", PF_NET_TCP},		 {"17", PF_NET_UDP},	      {NULL, 0},
	};
	const struct net_name *names = op->kind == NET_FAMILY ? families : protocols;
	yaml_node_t *vals = field(t, e, "values");
	char vpath[PATH_LEN];
	uint8_t bits = 0;
	bool good = true;

	key_path(vpath, path, "values");
	if (field(t, e, "valuesFrom"))
		pf_y_error(t->diags, t->d, field(t, e, "valuesFrom"),
			   "%s.valuesFrom: %s takes its values in the policy (valuesFrom is for "
			   "the address and port operators)",
			   path, op->name);
	if (!vals || !pf_y_is_seq(vals) || pf_y_seq_len(vals) == 0) {
		pf_y_error(t->diags, t->d, vals ? vals : e,
			   "%s: must be a non-empty list of strings", vpath);
		return 0;
	}
	for (size_t i = 0; i < pf_y_seq_len(vals); i++) {
		yaml_node_t *v = pf_y_seq_at(t->d, vals, i);
		const char *s = pf_y_str(v);
		size_t k;

		for (k = 0; s && names[k].name; k++)
			if (strcmp(s, names[k].name) == 0)
				break;
		if (s && names[k].name) {
			bits |= names[k].bit;
			continue;
		}
		pf_y_error(
		    t->diags, t->d, v,
		    op->kind == NET_FAMILY
			? "%s[%zu]: \"%s\" is not a supported family (expected AF_INET or "
			  "AF_INET6, or 2 or 10)"
			: "%s[%zu]: \"%s\" is not a supported protocol (expected TCP or UDP: "
			  "IPPROTO_TCP, IPPROTO_UDP, TCP, UDP, tcp, udp, 6 or 17)",
		    vpath, i, s ? s : "");
		good = false;
	}
	return good ? bits : 0;
}

/* Family, Protocol: ANDed with those before them in the selector. */
static void net_filter(struct tp *t, yaml_node_t *e, yaml_node_t *at, const char *path,
		       const struct net_op *op, const struct hook *h, struct pf_policy_rule *r,
		       struct net_acc *acc)
{
	bool family = op->kind == NET_FAMILY;
	uint8_t bits = net_bits(t, e, path, op), *into = family ? &acc->families : &acc->protocols;
	int *line = family ? &r->net.family_line : &r->net.protocol_line;
	int *col = family ? &r->net.family_col : &r->net.protocol_col;

	if (!bits)
		return;
	if (!*line) {
		*line = pf_y_line(at);
		*col = pf_y_col(at);
	}
	if (!(*into & bits)) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: this %s excludes every value the one of line %d allows: "
			   "the selector can never match",
			   path, op->name, *line);
		return;
	}
	*into &= bits;
	if (!family && h->kind == HOOK_TCP_CONNECT && !(*into & PF_NET_TCP))
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: Protocol without TCP can never match on tcp_connect (it "
			   "sees TCP connections only; for UDP use security_socket_connect or the "
			   "socket_connect LSM hook)",
			   path);
}

/* DAddr, SAddr, DPort, SPort (and Not): one of each kind per selector. */
static int net_values(struct tp *t, yaml_node_t *e, yaml_node_t *at, const char *path,
		      const struct net_op *op, struct pf_policy_rule *r)
{
	bool addr = op->kind == NET_ADDR;
	struct pf_policy_cond scratch = {0}, *c = addr ? &r->net.addr : &r->net.port;
	bool *has = addr ? &r->net.has_addr : &r->net.has_port;
	int err;

	/* Tetragon would AND them: one list (or two selectors) says the same plainly */
	if (*has) {
		pf_y_error(t->diags, t->d, at,
			   "%s.operator: a second %s operator in one selector (%s, line %d): "
			   "podfence takes one per selector (one list of values, or two selectors)",
			   path, addr ? "address" : "port", pf_policy_cond_op(c), c->line);
		c = &scratch; /* its values are still checked */
	}
	*has = true;
	c->subject = addr ? PF_SUBJ_DADDR : PF_SUBJ_DPORT;
	c->match = addr ? PF_MATCH_CIDR : PF_MATCH_PORT;
	c->negate = op->negate;
	c->sockaddr_op = op->source;
	c->line = pf_y_line(at);
	c->col = pf_y_col(at);
	err = parse_values(t, e, path, c->match, c);
	pf_strset_free(&scratch.values);
	free(scratch.param);
	return err;
}

/* One matchArgs entry of a connect hook. */
static int parse_net_arg(struct tp *t, yaml_node_t *e, const char *path, const struct hook *h,
			 struct pf_policy_rule *r, struct net_acc *acc)
{
	const struct net_op *op = NULL;
	enum net_arg arg;
	const char *name;
	yaml_node_t *at;
	int idx;

	idx = net_arg_index(t, e, path, h);
	if (idx < 0)
		return 0;
	arg = h->kind == HOOK_TCP_CONNECT ? ARG_SOCK : idx == 0 ? ARG_SOCKET : ARG_SOCKADDR;
	name = str_field(t, e, path, "operator", true);
	at = field(t, e, "operator");
	if (!name)
		return 0;
	for (const struct net_op *o = net_ops; o->name && !op; o++)
		if (strcmp(o->name, name) == 0)
			op = o;
	if (!op) {
		net_op_unknown(t, at, path, name, arg);
		return 0;
	}
	if (!net_op_allowed(t, at, path, op, arg))
		return 0;
	if (op->kind == NET_FAMILY || op->kind == NET_PROTO) {
		net_filter(t, e, at, path, op, h, r, acc);
		return 0;
	}
	return net_values(t, e, at, path, op, r);
}

static int parse_net_selector(struct tp *t, yaml_node_t *sel, const char *path,
			      const struct hook *h, struct pf_policy_rule *r)
{
	static const char *const arg_ok[] = {"index", "operator", "values", "valuesFrom", NULL};
	static const struct field_rule arg_rules[] = {
	    {"args", "one argument per matchArgs entry", false},
	    {NULL, NULL, false},
	};
	struct net_acc acc = {ALL_FAMILIES, ALL_PROTOCOLS};
	yaml_node_t *list = field(t, sel, "matchArgs");
	char lpath[PATH_LEN], epath[PATH_LEN];
	int err;

	if (field(t, sel, "matchBinaries"))
		pf_y_error(t->diags, t->d, key_node(t, sel, "matchBinaries"),
			   "%s.matchBinaries: not supported on connect hooks yet (podfence matches "
			   "the destination, protocol and family: select the workload with "
			   "podSelector and containerSelector)",
			   path);
	key_path(lpath, path, "matchArgs");
	if (list && !expect_seq(t, list, lpath))
		list = NULL;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		yaml_node_t *e = pf_y_seq_at(t->d, list, i);

		idx_path(epath, lpath, i);
		if (!expect_map(t, e, epath))
			continue;
		check_fields(t, e, epath, arg_ok, arg_rules);
		err = parse_net_arg(t, e, epath, h, r, &acc);
		if (err)
			return err;
	}
	/* "both" has one spelling in the model: 0 */
	r->net.families = acc.families == ALL_FAMILIES ? 0 : acc.families;
	if (h->kind != HOOK_TCP_CONNECT)
		r->net.protocols = acc.protocols == ALL_PROTOCOLS ? 0 : acc.protocols;
	return 0;
}

static int parse_selector(struct tp *t, yaml_node_t *sel, const char *path, const struct hook *h)
{
	static const char *const ok[] = {"matchArgs", "matchBinaries", "matchActions", NULL};
	static const struct field_rule rules[] = {
	    {"matchPIDs", WHY_SELECTOR, false},
	    {"matchNamespaces", WHY_SELECTOR, false},
	    {"matchNamespaceChanges", WHY_SELECTOR, false},
	    {"matchCapabilities", WHY_SELECTOR, false},
	    {"matchCapabilityChanges", WHY_SELECTOR, false},
	    {"matchReturnArgs", WHY_SELECTOR, false},
	    {"matchReturnActions", WHY_SELECTOR, false},
	    {"matchData", WHY_SELECTOR, false},
	    {"matchParentBinaries", WHY_SELECTOR, false},
	    {"matchWorkloads", WHY_SELECTOR, false},
	    {NULL, NULL, false},
	};
	static const struct field_rule net_rules[] = {
	    {"matchPIDs", WHY_NET_SELECTOR, false},
	    {"matchNamespaces", WHY_NET_SELECTOR, false},
	    {"matchNamespaceChanges", WHY_NET_SELECTOR, false},
	    {"matchCapabilities", WHY_NET_SELECTOR, false},
	    {"matchCapabilityChanges", WHY_NET_SELECTOR, false},
	    {"matchReturnArgs", WHY_NET_SELECTOR, false},
	    {"matchReturnActions", WHY_NET_SELECTOR, false},
	    {"matchData", WHY_NET_SELECTOR, false},
	    {"matchParentBinaries", WHY_NET_SELECTOR, false},
	    {"matchWorkloads", WHY_NET_SELECTOR, false},
	    {NULL, NULL, false},
	};
	struct pf_policy_rule *r = add_rule(t, sel, h);
	size_t n = 0;
	int err;

	if (!r)
		return -ENOMEM;
	if (!expect_map(t, sel, path))
		return 0;
	if (h->kind != HOOK_EXEC) {
		check_fields(t, sel, path, ok, net_rules);
		err = parse_net_selector(t, sel, path, h, r);
		if (err)
			return err;
		parse_actions(t, sel, path, r);
		return 0;
	}
	check_fields(t, sel, path, ok, rules);
	err = parse_match_list(t, sel, path, "matchArgs", h, r, &n);
	if (!err)
		err = parse_match_list(t, sel, path, "matchBinaries", h, r, &n);
	if (err)
		return err;
	if (n > PF_MAX_CONDS)
		pf_y_error(t->diags, t->d, sel,
			   "%s: %zu conditions (matchArgs and matchBinaries entries), at most %d "
			   "are supported",
			   path, n, PF_MAX_CONDS);
	parse_actions(t, sel, path, r);
	return 0;
}

/* ---- hooks ------------------------------------------------------------- */

static void parse_args(struct tp *t, yaml_node_t *entry, const char *path, struct hook *h)
{
	static const char *const ok[] = {"index", "type", "label", NULL};
	static const struct field_rule rules[] = {
	    {"sizeArgIndex", WHY_ARG, false}, {"returnCopy", WHY_ARG, false},
	    {"maxData", WHY_ARG, false},      {"resolve", WHY_ARG, false},
	    {"btfType", WHY_ARG, false},      {NULL, NULL, false},
	};
	static const char *const types[] = {"linux_binprm", "file", NULL};
	yaml_node_t *args = field(t, entry, "args");
	char apath[PATH_LEN], epath[PATH_LEN];

	key_path(apath, path, "args");
	if (!args || !expect_seq(t, args, apath))
		return;
	for (size_t i = 0; i < pf_y_seq_len(args); i++) {
		yaml_node_t *a = pf_y_seq_at(t->d, args, i), *in;
		const char *type;
		long idx = 0;

		idx_path(epath, apath, i);
		if (!expect_map(t, a, epath))
			continue;
		check_fields(t, a, epath, ok, rules);
		in = field(t, a, "index");
		if (in && !parse_long(pf_y_str(in), &idx)) {
			pf_y_error(t->diags, t->d, in, "%s.index: must be an integer", epath);
			continue;
		}
		if (idx != EXEC_ARG) {
			pf_y_error(t->diags, t->d, in ? in : a,
				   "%s.index: %ld is out of range (%s takes one argument: index 0)",
				   epath, idx, h->call);
			continue;
		}
		if (h->arg_declared)
			pf_y_error(t->diags, t->d, in ? in : a,
				   "%s.index: argument 0 declared twice", epath);
		h->arg_declared = true;
		type = str_field(t, a, epath, "type", true);
		if (type && !in_list(type, types))
			pf_y_error(t->diags, t->d, field(t, a, "type"),
				   "%s.type: \"%s\" is not supported (expected linux_binprm or "
				   "file: the executed file)",
				   epath, type);
	}
}

struct net_arg_decl {
	const char *const *types;
	const char *expected;
};

/*
 * Connect hooks' arguments: tcp_connect(struct sock *); socket_connect and
 * security_socket_connect(struct socket *, struct sockaddr *, int addrlen).
 */
static void parse_net_args(struct tp *t, yaml_node_t *entry, const char *path, struct hook *h)
{
	static const char *const ok[] = {"index", "type", "label", NULL};
	static const struct field_rule rules[] = {
	    {"sizeArgIndex", WHY_NET_ARG, false}, {"returnCopy", WHY_NET_ARG, false},
	    {"maxData", WHY_NET_ARG, false},	  {"resolve", WHY_NET_ARG, false},
	    {"btfType", WHY_NET_ARG, false},	  {NULL, NULL, false},
	};
	/* per index: accepted types (the first is the one declared), and what it is */
	static const char *const sock_types[] = {"sock", NULL};
	static const char *const socket_types[] = {"socket", "sock", NULL};
	static const char *const sockaddr_types[] = {"sockaddr", NULL};
	static const char *const int_types[] = {"int", NULL};
	static const struct net_arg_decl tcp[] = {{sock_types, "sock: the connecting socket"}};
	static const struct net_arg_decl sc[] = {
	    {socket_types, "socket (or sock): the connecting socket"},
	    {sockaddr_types, "sockaddr: the destination"},
	    {int_types, "int: the address length"},
	};
	const struct net_arg_decl *decl = h->kind == HOOK_TCP_CONNECT ? tcp : sc;
	long n_args = h->kind == HOOK_TCP_CONNECT ? 1 : NET_ARGS;
	yaml_node_t *args = field(t, entry, "args");
	char apath[PATH_LEN], epath[PATH_LEN];

	key_path(apath, path, "args");
	if (!args || !expect_seq(t, args, apath))
		return;
	for (size_t i = 0; i < pf_y_seq_len(args); i++) {
		yaml_node_t *a = pf_y_seq_at(t->d, args, i), *in;
		const char *type;
		long idx = 0;

		idx_path(epath, apath, i);
		if (!expect_map(t, a, epath))
			continue;
		check_fields(t, a, epath, ok, rules);
		in = field(t, a, "index");
		if (in && !parse_long(pf_y_str(in), &idx)) {
			pf_y_error(t->diags, t->d, in, "%s.index: must be an integer", epath);
			continue;
		}
		if (idx < 0 || idx >= n_args) {
			pf_y_error(
			    t->diags, t->d, in ? in : a,
			    "%s.index: %ld is out of range (%s takes %s)", epath, idx, h->call,
			    h->kind == HOOK_TCP_CONNECT
				? "one argument: index 0, type sock"
				: "three arguments: index 0 (socket), 1 (sockaddr), 2 (int)");
			continue;
		}
		if (h->arg_type[idx])
			pf_y_error(t->diags, t->d, in ? in : a,
				   "%s.index: argument %ld declared twice", epath, idx);
		type = str_field(t, a, epath, "type", true);
		if (!type)
			continue;
		if (!in_list(type, decl[idx].types)) {
			pf_y_error(t->diags, t->d, field(t, a, "type"),
				   "%s.type: \"%s\" is not supported for argument %ld of %s "
				   "(expected %s)",
				   epath, type, idx, h->call, decl[idx].expected);
			continue;
		}
		if (!h->arg_type[idx])
			h->arg_type[idx] = decl[idx].types[0];
	}
}

static void parse_syscall(struct tp *t, yaml_node_t *entry, const char *path, const struct hook *h)
{
	yaml_node_t *n = field(t, entry, "syscall");
	bool v;

	if (!n)
		return;
	if (!parse_bool(pf_y_str(n), &v))
		pf_y_error(t->diags, t->d, n, "%s.syscall: must be true or false", path);
	else if (v)
		pf_y_error(t->diags, t->d, n,
			   "%s.syscall: true is not supported (%s hooks are kernel functions, "
			   "not syscalls)",
			   path, h->kind == HOOK_EXEC ? "exec" : "connect");
}

static int parse_selectors(struct tp *t, yaml_node_t *entry, const char *path, const struct hook *h)
{
	yaml_node_t *sels = field(t, entry, "selectors");
	char spath[PATH_LEN], epath[PATH_LEN];
	size_t n = pf_y_seq_len(sels);
	int err;

	key_path(spath, path, "selectors");
	if (sels && !expect_seq(t, sels, spath))
		return 0;
	if (n == 0) {
		/* Tetragon: no selector means every call matches and is posted */
		pf_y_warn(t->diags, t->d, entry,
			  "%s: no selectors: every %s matches and is only reported, nothing is "
			  "blocked",
			  path, h->kind == HOOK_EXEC ? "exec" : "connect");
		return add_rule(t, entry, h) ? 0 : -ENOMEM;
	}
	if (n > MAX_SELECTORS)
		pf_y_error(t->diags, t->d, sels, "%s: %zu selectors, at most %d are supported",
			   spath, n, MAX_SELECTORS);
	for (size_t i = 0; i < n; i++) {
		idx_path(epath, spath, i);
		err = parse_selector(t, pf_y_seq_at(t->d, sels, i), epath, h);
		if (err)
			return err;
	}
	return 0;
}

static enum hook_kind hook_kind(const char *call, bool lsm)
{
	if (in_list(call, lsm ? exec_lsmhooks : exec_kprobes))
		return HOOK_EXEC;
	if (lsm)
		return in_list(call, net_lsmhooks) ? HOOK_SOCKET_CONNECT : HOOK_UNSUPPORTED;
	if (call && strcmp(call, "tcp_connect") == 0)
		return HOOK_TCP_CONNECT;
	return in_list(call, net_kprobes) ? HOOK_SOCKET_CONNECT : HOOK_UNSUPPORTED;
}

/* "a, b, c" */
static void join(char *buf, size_t len, const char *const *names)
{
	buf[0] = 0;
	for (size_t i = 0; names[i]; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? ", " : "", names[i]);
}

static int parse_hook(struct tp *t, yaml_node_t *entry, const char *path, bool lsm)
{
	static const char *const kprobe_ok[] = {"call",	   "syscall", "args", "selectors",
						"message", "tags",    NULL};
	static const char *const lsm_ok[] = {"hook", "args", "selectors", "message", "tags", NULL};
	static const struct field_rule kprobe_rules[] = {
	    {"return", WHY_RETURN, false},
	    {"returnArg", WHY_RETURN, false},
	    {"returnArgAction", WHY_RETURN, false},
	    {"ignore", "exec hooks always exist", false},
	    {"data", "podfence reads the executed file's path only", false},
	    {NULL, NULL, false},
	};
	static const struct field_rule net_kprobe_rules[] = {
	    {"return", WHY_NET_RETURN, false},
	    {"returnArg", WHY_NET_RETURN, false},
	    {"returnArgAction", WHY_NET_RETURN, false},
	    {"ignore", "connect hooks always exist", false},
	    {"data", WHY_NET_ARG, false},
	    {NULL, NULL, false},
	};
	const char *key = lsm ? "hook" : "call";
	struct hook h = {.group = t->n_hooks++};
	char exec_hooks[128], net_hooks[128];

	if (!expect_map(t, entry, path))
		return 0;
	h.call = str_field(t, entry, path, key, true);
	h.kind = hook_kind(h.call, lsm);
	/*
	 * Fields, arguments and selectors of another hook mean other things:
	 * the hook is the one error worth reporting then.
	 */
	if (h.call && h.kind == HOOK_UNSUPPORTED) {
		join(exec_hooks, sizeof(exec_hooks), lsm ? exec_lsmhooks : exec_kprobes);
		join(net_hooks, sizeof(net_hooks), lsm ? net_lsmhooks : net_kprobes);
		pf_y_error(t->diags, t->d, field(t, entry, key),
			   "%s.%s: \"%s\" is not supported (podfence enforces exec hooks: %s; "
			   "and connect hooks: %s)",
			   path, key, h.call, exec_hooks, net_hooks);
		return 0;
	}
	check_fields(t, entry, path, lsm ? lsm_ok : kprobe_ok,
		     lsm		   ? NULL
		     : h.kind == HOOK_EXEC ? kprobe_rules
					   : net_kprobe_rules);
	if (!h.call)
		return 0;
	if (!t->p->hook) {
		t->p->hook = strdup(h.call);
		if (!t->p->hook)
			return -ENOMEM;
	}
	if (!lsm)
		parse_syscall(t, entry, path, &h);
	if (h.kind == HOOK_EXEC)
		parse_args(t, entry, path, &h);
	else
		parse_net_args(t, entry, path, &h);
	return parse_selectors(t, entry, path, &h);
}

static int parse_hooks(struct tp *t, yaml_node_t *spec, const char *key, bool lsm)
{
	yaml_node_t *list = field(t, spec, key);
	char lpath[PATH_LEN], epath[PATH_LEN];
	int err;

	key_path(lpath, "spec", key);
	if (!list || !expect_seq(t, list, lpath))
		return 0;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		idx_path(epath, lpath, i);
		err = parse_hook(t, pf_y_seq_at(t->d, list, i), epath, lsm);
		if (err)
			return err;
	}
	return 0;
}

/* ---- pod and container selectors ---------------------------------------- */

static int add_label_req(struct tp *t, struct pf_selector *s, const char *key, enum pf_sel_op op,
			 const char *value)
{
	struct pf_strset vals = {0};
	int err = 0;

	if (value)
		err = pf_strset_add(&vals, value);
	if (err >= 0)
		err = pf_selector_add(s, key, op, &vals);
	pf_strset_free(&vals);
	return err < 0 ? err : 0;
}

static int parse_match_labels(struct tp *t, yaml_node_t *sel, const char *path,
			      struct pf_selector *s)
{
	yaml_node_t *ml = field(t, sel, "matchLabels");
	char mpath[PATH_LEN];
	int err;

	key_path(mpath, path, "matchLabels");
	if (!ml || !expect_map(t, ml, mpath))
		return 0;
	for (yaml_node_pair_t *pr = ml->data.mapping.pairs.start; pr < ml->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(&t->d->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(&t->d->doc, pr->value);

		if (!pf_y_str(k) || !pf_y_str(v)) {
			pf_y_error(t->diags, t->d, pf_y_str(k) ? v : k,
				   "%s: labels must be string keys and values", mpath);
			continue;
		}
		err = add_label_req(t, s, pf_y_str(k), PF_SEL_IN, pf_y_str(v));
		if (err)
			return err;
	}
	return 0;
}

static bool sel_op(const char *name, enum pf_sel_op *op)
{
	static const char *const names[] = {"In", "NotIn", "Exists", "DoesNotExist", NULL};

	for (int i = 0; names[i]; i++) {
		if (strcmp(name, names[i]) == 0) {
			*op = (enum pf_sel_op)i;
			return true;
		}
	}
	return false;
}

/* Values of a label requirement: In/NotIn need some, Exists/DoesNotExist none. */
static int parse_req_values(struct tp *t, yaml_node_t *e, const char *path, const char *opname,
			    bool want, struct pf_strset *vals)
{
	yaml_node_t *v = field(t, e, "values");
	size_t n = pf_y_seq_len(v);
	int err;

	if (v && !pf_y_is_seq(v)) {
		pf_y_error(t->diags, t->d, v, "%s.values: must be a list of strings", path);
		return 0;
	}
	if (want && n == 0)
		pf_y_error(t->diags, t->d, v ? v : e,
			   "%s.values: operator %s needs at least one value", path, opname);
	if (!want && n > 0)
		pf_y_error(t->diags, t->d, v, "%s.values: operator %s takes no values", path,
			   opname);
	for (size_t i = 0; want && i < n; i++) {
		yaml_node_t *s = pf_y_seq_at(t->d, v, i);

		if (!pf_y_str(s)) {
			pf_y_error(t->diags, t->d, s, "%s.values[%zu]: must be a string", path, i);
			continue;
		}
		err = pf_strset_add(vals, pf_y_str(s));
		if (err < 0)
			return err;
	}
	return 0;
}

static int parse_expr(struct tp *t, yaml_node_t *e, const char *path, struct pf_selector *s)
{
	static const char *const ok[] = {"key", "operator", "values", NULL};
	struct pf_strset vals = {0};
	const char *key, *opname;
	enum pf_sel_op op;
	int err;

	if (!expect_map(t, e, path))
		return 0;
	check_fields(t, e, path, ok, NULL);
	key = str_field(t, e, path, "key", true);
	opname = str_field(t, e, path, "operator", true);
	if (!key || !opname)
		return 0;
	if (!sel_op(opname, &op)) {
		pf_y_error(t->diags, t->d, field(t, e, "operator"),
			   "%s.operator: \"%s\" is not a selector operator (expected In, NotIn, "
			   "Exists or DoesNotExist)",
			   path, opname);
		return 0;
	}
	err = parse_req_values(t, e, path, opname, op == PF_SEL_IN || op == PF_SEL_NOT_IN, &vals);
	if (!err)
		err = pf_selector_add(s, key, op, &vals);
	pf_strset_free(&vals);
	return err;
}

static int parse_exprs(struct tp *t, yaml_node_t *sel, const char *path, struct pf_selector *s)
{
	yaml_node_t *list = field(t, sel, "matchExpressions");
	char lpath[PATH_LEN], epath[PATH_LEN];
	int err;

	key_path(lpath, path, "matchExpressions");
	if (!list || !expect_seq(t, list, lpath))
		return 0;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		idx_path(epath, lpath, i);
		err = parse_expr(t, pf_y_seq_at(t->d, list, i), epath, s);
		if (err)
			return err;
	}
	return 0;
}

static int parse_label_selector(struct tp *t, yaml_node_t *sel, const char *path,
				struct pf_selector *s)
{
	static const char *const ok[] = {"matchLabels", "matchExpressions", NULL};
	int err;

	if (!expect_map(t, sel, path))
		return 0;
	s->present = true;
	check_fields(t, sel, path, ok, NULL);
	err = parse_match_labels(t, sel, path, s);
	if (!err)
		err = parse_exprs(t, sel, path, s);
	return err;
}

/*
 * containerSelector is a label selector over the single key "name". Only
 * "name In (...)" maps to a set of names; two requirements would be ANDed
 * (an intersection that may be empty, and empty means every container), so
 * at most one is accepted.
 */
static int parse_containers(struct tp *t, yaml_node_t *spec)
{
	yaml_node_t *cs = field(t, spec, "containerSelector");
	const char *path = "spec.containerSelector";
	struct pf_selector s = {0};
	int err;

	if (!cs)
		return 0;
	err = parse_label_selector(t, cs, path, &s);
	if (err || s.n == 0)
		goto cleanup;
	if (s.n > 1)
		pf_y_error(t->diags, t->d, cs,
			   "%s: %zu requirements, only one (key name, operator In) is supported",
			   path, s.n);
	if (strcmp(s.reqs[0].key, "name") != 0 || s.reqs[0].op != PF_SEL_IN)
		pf_y_error(t->diags, t->d, cs,
			   "%s: only key \"name\" with operator In (container names) is supported",
			   path);
	err = pf_strset_union(&t->p->containers, &s.reqs[0].values);
	err = err < 0 ? err : 0;
cleanup:
	pf_selector_free(&s);
	return err;
}

/* ---- options, metadata, document ------------------------------------- */

static void parse_option(struct tp *t, yaml_node_t *o, const char *path)
{
	static const char *const ok[] = {"name", "value", NULL};
	/* Tetragon PR 4279's proof of concept: not a released format, and it changes meaning. */
	static const char *const poc[] = {"binding", "values", "policy-template-ref", "arg-type",
					  NULL};
	const char *name, *value;

	if (!expect_map(t, o, path))
		return;
	check_fields(t, o, path, ok, NULL);
	name = str_field(t, o, path, "name", true);
	if (!name)
		return;
	if (in_list(name, poc)) {
		pf_y_error(t->diags, t->d, field(t, o, "name"),
			   "%s.name: option \"%s\" belongs to Tetragon's template proof of concept "
			   "(PR 4279), not a released format: write a podfence.io/v1alpha1 "
			   "PolicyTemplate and PolicyBinding instead (docs/policy.md)",
			   path, name);
		return;
	}
	if (strcmp(name, "policy-mode") != 0) {
		pf_y_warn(t->diags, t->d, field(t, o, "name"),
			  "%s.name: option \"%s\" has no effect in podfence (ignored)", path, name);
		return;
	}
	value = str_field(t, o, path, "value", true);
	if (value && strcmp(value, "enforce") == 0)
		t->p->mode = PF_MODE_ENFORCE;
	else if (value && strcmp(value, "monitor") == 0)
		t->p->mode = PF_MODE_MONITOR;
	else if (value)
		pf_y_error(t->diags, t->d, field(t, o, "value"),
			   "%s.value: \"%s\" is not a policy mode (expected enforce or monitor)",
			   path, value);
}

static void parse_options(struct tp *t, yaml_node_t *spec)
{
	yaml_node_t *list = field(t, spec, "options");
	char epath[PATH_LEN];

	if (!list || !expect_seq(t, list, "spec.options"))
		return;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		idx_path(epath, "spec.options", i);
		parse_option(t, pf_y_seq_at(t->d, list, i), epath);
	}
}

static bool spec_node(struct tp *t, yaml_node_t *root, yaml_node_t **spec)
{
	*spec = field(t, root, "spec");
	if (!*spec) {
		pf_y_error(t->diags, t->d, root, "spec: required");
		return false;
	}
	return expect_map(t, *spec, "spec");
}

static void no_exec_hook(struct tp *t, yaml_node_t *spec)
{
	if (t->n_hooks == 0)
		pf_y_error(t->diags, t->d, spec,
			   "spec: no exec hook and no connect hook (expected kprobes or lsmhooks "
			   "on security_bprm_creds_for_exec, security_bprm_check, "
			   "bprm_check_security or bprm_creds_for_exec; or on tcp_connect, "
			   "security_socket_connect or socket_connect)");
}

static int parse_tracing_spec(struct tp *t, yaml_node_t *root)
{
	static const char *const ok[] = {"kprobes",	      "lsmhooks", "podSelector",
					 "containerSelector", "options",  NULL};
	static const struct field_rule rules[] = {
	    {"tracepoints", WHY_SPEC, false},
	    {"uprobes", WHY_SPEC, false},
	    {"usdts", WHY_SPEC, false},
	    {"enforcers", WHY_SPEC, false},
	    {"lists", WHY_SPEC, false},
	    {"loader", WHY_SPEC, false},
	    {NULL, NULL, false},
	};
	yaml_node_t *spec, *ps;
	int err;

	if (!spec_node(t, root, &spec))
		return 0;
	check_fields(t, spec, "spec", ok, rules);
	parse_options(t, spec);
	ps = field(t, spec, "podSelector");
	err = ps ? parse_label_selector(t, ps, "spec.podSelector", &t->p->pods) : 0;
	if (!err)
		err = parse_containers(t, spec);
	if (!err)
		err = parse_hooks(t, spec, "kprobes", false);
	if (!err)
		err = parse_hooks(t, spec, "lsmhooks", true);
	if (!err)
		no_exec_hook(t, spec);
	return err;
}

/* spec.parameters of a template: [{name, description}] */
static int parse_parameters(struct tp *t, yaml_node_t *spec)
{
	static const char *const ok[] = {"name", "description", NULL};
	yaml_node_t *list = field(t, spec, "parameters");
	char epath[PATH_LEN];
	int err;

	if (!list) {
		pf_y_error(t->diags, t->d, spec, "spec.parameters: required (the open values)");
		return 0;
	}
	if (!expect_seq(t, list, "spec.parameters"))
		return 0;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		yaml_node_t *e = pf_y_seq_at(t->d, list, i);
		const char *name;

		idx_path(epath, "spec.parameters", i);
		if (!expect_map(t, e, epath))
			continue;
		check_fields(t, e, epath, ok, NULL);
		name = str_field(t, e, epath, "name", true);
		if (!name)
			continue;
		if (!*name || pf_strset_has(&t->p->params, name)) {
			pf_y_error(t->diags, t->d, field(t, e, "name"),
				   "%s.name: \"%s\" is empty or declared twice", epath, name);
			continue;
		}
		err = pf_strset_add(&t->p->params, name);
		if (err < 0)
			return err;
	}
	/* the set is sorted: uses are counted per sorted index */
	t->param_uses = calloc(t->p->params.n + 1, sizeof(*t->param_uses));
	return t->param_uses ? 0 : -ENOMEM;
}

static void parse_mode(struct tp *t, yaml_node_t *spec)
{
	const char *mode = str_field(t, spec, "spec", "mode", false);

	if (!mode || strcmp(mode, "enforce") == 0)
		t->p->mode = PF_MODE_ENFORCE;
	else if (strcmp(mode, "monitor") == 0)
		t->p->mode = PF_MODE_MONITOR;
	else
		pf_y_error(t->diags, t->d, field(t, spec, "mode"),
			   "spec.mode: \"%s\" is not a policy mode (expected enforce or monitor)",
			   mode);
}

static int parse_template_spec(struct tp *t, yaml_node_t *root)
{
	static const char *const ok[] = {"parameters", "mode", "kprobes", "lsmhooks", NULL};
	static const struct field_rule rules[] = {
	    {"podSelector", "a template selects no pod: its PolicyBindings do", false},
	    {"containerSelector", "a template selects no container: its PolicyBindings do", false},
	    {"options", "the mode of a template is spec.mode", false},
	    {"tracepoints", WHY_SPEC, false},
	    {"uprobes", WHY_SPEC, false},
	    {"lists", WHY_SPEC, false},
	    {"enforcers", WHY_SPEC, false},
	    {NULL, NULL, false},
	};
	yaml_node_t *spec;
	int err;

	if (!spec_node(t, root, &spec))
		return 0;
	check_fields(t, spec, "spec", ok, rules);
	parse_mode(t, spec);
	err = parse_parameters(t, spec);
	if (!err)
		err = parse_hooks(t, spec, "kprobes", false);
	if (!err)
		err = parse_hooks(t, spec, "lsmhooks", true);
	if (err)
		return err;
	no_exec_hook(t, spec);
	for (size_t i = 0; t->param_uses && i < t->p->params.n; i++)
		if (!t->param_uses[i].n)
			pf_y_warn(t->diags, t->d, field(t, spec, "parameters"),
				  "spec.parameters: \"%s\" is used by no valuesFrom: its values "
				  "change nothing",
				  t->p->params.v[i]);
	return 0;
}

static int cmp_str_elem(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

/* Where each value of the (sorted) set is written first, for the template's checks. */
static int value_positions(struct tp *t, yaml_node_t *list, struct pf_binding_values *bv)
{
	if (!bv->values.n)
		return 0;
	bv->pos = calloc(bv->values.n, sizeof(*bv->pos));
	if (!bv->pos)
		return -ENOMEM;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		yaml_node_t *e = pf_y_seq_at(t->d, list, i);
		const char *s = pf_y_str(e);
		char **at =
		    s ? bsearch(s, bv->values.v, bv->values.n, sizeof(char *), cmp_str_elem) : NULL;
		struct pf_value_pos *pos = at ? &bv->pos[at - bv->values.v] : NULL;

		if (pos && !pos->line)
			*pos = (struct pf_value_pos){i, pf_y_line(e), pf_y_col(e)};
	}
	return 0;
}

/* spec.values of a binding: {param: [values...]} */
static int parse_binding_values(struct tp *t, yaml_node_t *spec)
{
	yaml_node_t *map = field(t, spec, "values");
	char ppath[PATH_LEN], ipath[PATH_LEN];
	yaml_node_pair_t *pair;

	if (!map) {
		pf_y_error(t->diags, t->d, spec, "spec.values: required (values per parameter)");
		return 0;
	}
	if (!expect_map(t, map, "spec.values"))
		return 0;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(&t->d->doc, pair->key);
		yaml_node_t *list = yaml_document_get_node(&t->d->doc, pair->value);
		struct pf_binding_values *bv, *v;
		const char *name = pf_y_str(k);

		key_path(ppath, "spec.values", name ? name : "?");
		if (!name || !*name) {
			pf_y_error(t->diags, t->d, k, "spec.values: parameter names are strings");
			continue;
		}
		if (!pf_y_is_seq(list)) {
			pf_y_error(t->diags, t->d, list,
				   "%s: must be a list of strings (may be empty)", ppath);
			continue;
		}
		v = realloc(t->p->values, (t->p->n_values + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->p->values = v;
		bv = &v[t->p->n_values++];
		memset(bv, 0, sizeof(*bv));
		bv->line = pf_y_line(k);
		bv->col = pf_y_col(k);
		bv->param = strdup(name);
		if (!bv->param)
			return -ENOMEM;
		for (size_t i = 0; i < pf_y_seq_len(list); i++) {
			yaml_node_t *e = pf_y_seq_at(t->d, list, i);

			idx_path(ipath, ppath, i);
			/* exact limits here; the template's operators decide the rest */
			if (value_ok(t, e, ipath, PF_MATCH_NONE) &&
			    pf_strset_add(&bv->values, pf_y_str(e)) < 0)
				return -ENOMEM;
		}
		if (value_positions(t, list, bv))
			return -ENOMEM;
	}
	return 0;
}

static int parse_binding_containers(struct tp *t, yaml_node_t *spec)
{
	yaml_node_t *list = field(t, spec, "containers");
	char ipath[PATH_LEN];

	if (!list || !expect_seq(t, list, "spec.containers"))
		return 0;
	for (size_t i = 0; i < pf_y_seq_len(list); i++) {
		yaml_node_t *e = pf_y_seq_at(t->d, list, i);
		const char *name = pf_y_str(e);

		idx_path(ipath, "spec.containers", i);
		if (!name || !*name) {
			pf_y_error(t->diags, t->d, e, "%s: must be a container name", ipath);
			continue;
		}
		if (pf_strset_add(&t->p->containers, name) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * spec.targetRef: {kind, name, apiVersion?}, the workload whose pods the
 * binding selects (the pod's controller, a Deployment through its
 * ReplicaSet: pod.h). Exclusive with podSelector: a binding says one way.
 */
static int parse_target_ref(struct tp *t, yaml_node_t *spec, yaml_node_t *pod_selector)
{
	static const char *const ok[] = {"apiVersion", "kind", "name", NULL};
	static const struct field_rule rules[] = {
	    {"namespace", "a targetRef names a workload of the binding's own namespace", false},
	    {NULL, NULL, false},
	};
	yaml_node_t *ref = field(t, spec, "targetRef"), *kn;
	const char *kind, *name;
	char kinds[160] = "";

	if (!ref)
		return 0;
	if (pod_selector) {
		pf_y_error(t->diags, t->d, key_node(t, spec, "targetRef"),
			   "spec.targetRef: a binding selects pods by podSelector or by targetRef, "
			   "not both");
		return 0;
	}
	if (!expect_map(t, ref, "spec.targetRef"))
		return 0;
	check_fields(t, ref, "spec.targetRef", ok, rules);
	kind = str_field(t, ref, "spec.targetRef", "kind", true);
	name = str_field(t, ref, "spec.targetRef", "name", true);
	if (!kind || !name)
		return 0;
	kn = field(t, ref, "kind");
	if (!in_list(kind, pf_workload_kinds)) {
		for (size_t i = 0; pf_workload_kinds[i]; i++)
			snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s%s",
				 i ? ", " : "", pf_workload_kinds[i]);
		pf_y_error(t->diags, t->d, kn,
			   "spec.targetRef.kind: \"%s\" is not a workload kind "
			   "(%s)",
			   kind, kinds);
		return 0;
	}
	if (!*name) {
		pf_y_error(t->diags, t->d, field(t, ref, "name"),
			   "spec.targetRef.name: must name a %s", kind);
		return 0;
	}
	t->p->target.kind = strdup(kind);
	t->p->target.name = strdup(name);
	return t->p->target.kind && t->p->target.name ? 0 : -ENOMEM;
}

static int parse_binding_spec(struct tp *t, yaml_node_t *root)
{
	static const char *const ok[] = {"templateRef", "podSelector", "targetRef",
					 "containers",	"values",      NULL};
	static const struct field_rule rules[] = {
	    {"kprobes", "the rules of a binding are its template's (spec.templateRef)", false},
	    {"lsmhooks", "the rules of a binding are its template's (spec.templateRef)", false},
	    {"containerSelector", "a binding lists container names in spec.containers", false},
	    {NULL, NULL, false},
	};
	yaml_node_t *spec, *ps;
	const char *ref;
	int err;

	if (!spec_node(t, root, &spec))
		return 0;
	check_fields(t, spec, "spec", ok, rules);
	ref = str_field(t, spec, "spec", "templateRef", true);
	if (ref && !*ref)
		pf_y_error(t->diags, t->d, field(t, spec, "templateRef"),
			   "spec.templateRef: must name a PolicyTemplate");
	t->p->template_ref = strdup(ref ? ref : "");
	if (!t->p->template_ref)
		return -ENOMEM;
	ps = field(t, spec, "podSelector");
	err = ps ? parse_label_selector(t, ps, "spec.podSelector", &t->p->pods) : 0;
	if (!err)
		err = parse_target_ref(t, spec, ps);
	if (!err)
		err = parse_binding_containers(t, spec);
	if (!err)
		err = parse_binding_values(t, spec);
	return err;
}

static int parse_spec(struct tp *t, yaml_node_t *root)
{
	switch (t->p->type) {
	case PF_POLICY_TEMPLATE:
		return parse_template_spec(t, root);
	case PF_POLICY_BINDING:
		return parse_binding_spec(t, root);
	default:
		return parse_tracing_spec(t, root);
	}
}

static bool same_ns(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_unique(struct tp *t, yaml_node_t *name_node)
{
	for (size_t i = 0; i < t->prev->n; i++) {
		const struct pf_policy *o = &t->prev->v[i];

		if (strcmp(o->name, t->p->name) == 0 && strcmp(o->kind, t->p->kind) == 0 &&
		    same_ns(o->namespace, t->p->namespace))
			pf_y_error(t->diags, t->d, name_node,
				   "metadata.name: policy \"%s\" is already defined in this file "
				   "(line %d)",
				   o->name, o->line);
	}
}

/*
 * podfence.io/path-view: "container" (default) matches paths only in the
 * container's view; "task" also in whatever view the executing task has
 * chosen (nested containers). An annotation, so the file stays a valid
 * Tetragon policy.
 */
static void parse_path_view(struct tp *t, yaml_node_t *annotations)
{
	const char *key = "podfence.io/path-view";
	yaml_node_t *n = field(t, annotations, key);
	const char *v;

	if (!n)
		return;
	v = str_field(t, annotations, "metadata.annotations", key, false);
	if (!v)
		return;
	if (strcmp(v, "task") == 0)
		t->p->any_view = true;
	else if (strcmp(v, "container") != 0)
		pf_y_error(t->diags, t->d, n,
			   "metadata.annotations.%s: \"%s\" is not a path view (expected "
			   "\"container\", the default, or \"task\")",
			   key, v);
	if (t->p->type == PF_POLICY_BINDING)
		pf_y_warn(t->diags, t->d, n,
			  "metadata.annotations.%s: ignored on a PolicyBinding (set it on the "
			  "template)",
			  key);
}

static int parse_metadata(struct tp *t, yaml_node_t *root)
{
	/* server-populated ObjectMeta fields: a policy read back from the API server has them */
	static const char *const ok[] = {"name",
					 "namespace",
					 "labels",
					 "annotations",
					 "uid",
					 "resourceVersion",
					 "generation",
					 "creationTimestamp",
					 "deletionTimestamp",
					 "deletionGracePeriodSeconds",
					 "managedFields",
					 "finalizers",
					 "ownerReferences",
					 "generateName",
					 "selfLink",
					 NULL};
	yaml_node_t *md = field(t, root, "metadata");
	const char *name, *ns;
	bool namespaced =
	    strcmp(t->p->kind, "TracingPolicyNamespaced") == 0 || t->p->type == PF_POLICY_BINDING;

	if (!md) {
		pf_y_error(t->diags, t->d, root, "metadata: required");
		return 0;
	}
	if (!expect_map(t, md, "metadata"))
		return 0;
	check_fields(t, md, "metadata", ok, NULL);
	if (field(t, md, "labels"))
		expect_map(t, field(t, md, "labels"), "metadata.labels");
	if (field(t, md, "annotations") &&
	    expect_map(t, field(t, md, "annotations"), "metadata.annotations"))
		parse_path_view(t, field(t, md, "annotations"));
	name = str_field(t, md, "metadata", "name", true);
	if (name && !*name)
		pf_y_error(t->diags, t->d, field(t, md, "name"),
			   "metadata.name: must not be empty");
	ns = str_field(t, md, "metadata", "namespace", false);
	if (ns && !namespaced)
		pf_y_warn(t->diags, t->d, field(t, md, "namespace"),
			  "metadata.namespace: ignored, %s is cluster-wide%s", t->p->kind,
			  t->p->type == PF_POLICY_TRACING ? " (use TracingPolicyNamespaced)" : "");
	if (namespaced && (!ns || !*ns))
		ns = "default"; /* as kubectl apply without -n */
	t->p->name = strdup(name ? name : "");
	t->p->namespace = namespaced ? strdup(ns) : NULL;
	if (!t->p->name || (namespaced && !t->p->namespace))
		return -ENOMEM;
	if (name && *name)
		check_unique(t, field(t, md, "name"));
	return 0;
}

/* Returns false when the document is not a policy: nothing else is checked then. */
static bool check_kind(struct tp *t, yaml_node_t *root)
{
	static const struct {
		const char *kind, *api;
		enum pf_policy_type type;
	} kinds[] = {
	    {"TracingPolicy", "cilium.io/v1alpha1", PF_POLICY_TRACING},
	    {"TracingPolicyNamespaced", "cilium.io/v1alpha1", PF_POLICY_TRACING},
	    {"PolicyTemplate", "podfence.io/v1alpha1", PF_POLICY_TEMPLATE},
	    {"PolicyBinding", "podfence.io/v1alpha1", PF_POLICY_BINDING},
	};
	const char *api = str_field(t, root, "", "apiVersion", true);
	const char *kind = str_field(t, root, "", "kind", true);
	size_t i;

	if (!kind)
		return false;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].kind) == 0)
			break;
	/* another kind's apiVersion is right for it: only the kind is worth reporting */
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		pf_y_error(t->diags, t->d, field(t, root, "kind"),
			   "kind: \"%s\" is not a policy kind (expected TracingPolicy, "
			   "TracingPolicyNamespaced, PolicyTemplate or PolicyBinding)",
			   kind);
		return false;
	}
	if (api && strcmp(api, kinds[i].api) != 0) {
		pf_y_error(t->diags, t->d, field(t, root, "apiVersion"),
			   "apiVersion: \"%s\" is not supported for %s (expected %s)", api, kind,
			   kinds[i].api);
		return false;
	}
	t->p->type = kinds[i].type;
	return api != NULL;
}

static int parse_doc(struct pf_diags *diags, struct pf_ydoc *d, struct pf_policy_list *out)
{
	static const char *const ok[] = {"apiVersion", "kind", "metadata", "spec", "status", NULL};
	struct pf_policy p = {0};
	struct tp t = {.diags = diags, .d = d, .p = &p, .prev = out};
	yaml_node_t *root = pf_y_root(d);
	size_t errors = diags->n_errors;
	int err = 0;

	if (!pf_y_is_map(root)) {
		pf_y_error(diags, d, root, "document must be a mapping (a Kubernetes object)");
		return 0;
	}
	if (!check_kind(&t, root))
		return 0;
	pf_y_check_keys(diags, d, root, "", ok);
	p.kind = strdup(pf_y_str(field(&t, root, "kind")));
	p.file = strdup(d->file);
	p.line = pf_y_line(root);
	p.col = pf_y_col(root);
	if (!p.kind || !p.file) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = parse_metadata(&t, root);
	if (!err)
		err = parse_spec(&t, root);
	/* a document with errors is dropped here; the whole file is rejected by the caller */
	if (!err && diags->n_errors == errors)
		err = pf_policy_list_push(out, &p);
cleanup:
	pf_policy_free(&p);
	free(t.param_uses);
	return err;
}

/* ---- public API -------------------------------------------------------- */

static int parse_yfile(struct pf_yfile *yf, struct pf_policy_list *out, struct pf_diags *diags)
{
	struct pf_policy_list tmp = {0};
	size_t errors = diags->n_errors;
	int err = 0;

	for (size_t i = 0; i < yf->n_docs && !err; i++)
		err = parse_doc(diags, &yf->docs[i], &tmp);
	if (!err && yf->n_docs == 0)
		pf_diags_warn(diags, yf->file, 0, 0, "no policy in file");
	if (!err && diags->n_errors > errors)
		err = -EINVAL;
	/* reserve first: moving the policies then cannot fail half-way */
	if (!err)
		err = pf_policy_list_reserve(out, tmp.n);
	for (size_t i = 0; !err && i < tmp.n; i++)
		pf_policy_list_push(out, &tmp.v[i]);
	pf_policy_list_free(&tmp);
	return err;
}

int pf_policy_parse_buf(const char *file, const char *buf, size_t len, struct pf_policy_list *out,
			struct pf_diags *diags)
{
	struct pf_yfile yf;
	int err;

	err = pf_yfile_load_buf(&yf, file, buf, len, diags);
	if (err)
		return err;
	err = parse_yfile(&yf, out, diags);
	pf_yfile_free(&yf);
	return err;
}

int pf_policy_parse_file(const char *path, struct pf_policy_list *out, struct pf_diags *diags)
{
	struct pf_yfile yf;
	int err;

	err = pf_yfile_load(&yf, path, diags);
	if (err)
		return err;
	err = parse_yfile(&yf, out, diags);
	pf_yfile_free(&yf);
	return err;
}
