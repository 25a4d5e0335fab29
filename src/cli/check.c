// SPDX-License-Identifier: Apache-2.0
/*
 * `podfence check`: parse, resolve and compile policy files without touching
 * the kernel. The files given are checked together, as the agent would hold
 * them: templates and bindings resolve across files, the same object defined
 * twice resolves to the file that sorts first. With pods, overlapping
 * bindings are reported; --explain prints what each policy compiles to;
 * --simulate runs the reference evaluator on one exec.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uthash.h>
#include "podfence/compile.h"
#include "podfence/dirwatch.h"
#include "podfence/evaluate.h"
#include "podfence/pod.h"
#include "podfence/policy.h"
#include "commands.h"

struct paths {
	char **v;
	size_t n;
};

static int paths_add(struct paths *p, const char *s)
{
	char **v = realloc(p->v, (p->n + 1) * sizeof(*v));

	if (!v || !(v[p->n] = strdup(s)))
		return -ENOMEM;
	p->v = v;
	p->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory stands for its policy/pod files (as the agent watches it). */
static int expand(struct paths *out, const char *arg)
{
	struct stat st;
	struct dirent *de;
	char buf[4096];
	DIR *d;
	int err = 0;

	if (stat(arg, &st) || !S_ISDIR(st.st_mode))
		return paths_add(out, arg);
	d = opendir(arg);
	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		if (!pf_dirwatch_is_input(de->d_name))
			continue;
		snprintf(buf, sizeof(buf), "%s/%s", arg, de->d_name);
		err = paths_add(out, buf);
	}
	closedir(d);
	return err;
}

/* Objects in force, by key: the same key in a later file is reported, not used. */
struct key_ent {
	char *key;
	const struct pf_policy *p;
	UT_hash_handle hh;
};

struct check {
	struct pf_diags diags;
	struct key_ent *keys;
	struct pf_policy_list *lists; /* per policy file */
	size_t n_lists;
	const struct pf_policy **active; /* in force: one per key */
	size_t n_active;
	struct pf_pod_list pods;
	bool explain;
};

/* Files in path order; a key already in force from an earlier file is reported, not used. */
static int load_policies(struct check *c, struct paths *files)
{
	qsort(files->v, files->n, sizeof(*files->v), cmp_str);
	c->lists = calloc(files->n + 1, sizeof(*c->lists));
	if (!c->lists)
		return -ENOMEM;
	c->n_lists = files->n;
	for (size_t f = 0; f < files->n; f++) {
		struct pf_policy_list *l = &c->lists[f];
		int err = pf_policy_parse_file(files->v[f], l, &c->diags);

		if (err && err != -EINVAL && !c->diags.n_errors)
			pf_diags_error(&c->diags, files->v[f], 0, 0, "cannot read: %s",
				       strerror(-err));
		for (size_t i = 0; i < l->n; i++) {
			const struct pf_policy *p = &l->v[i];
			const struct pf_policy **v;
			struct key_ent *k = calloc(1, sizeof(*k)), *dup;

			if (!k || !(k->key = pf_policy_key(p))) {
				free(k);
				return -ENOMEM;
			}
			HASH_FIND_STR(c->keys, k->key, dup);
			if (dup) {
				pf_diags_warn(
				    &c->diags, p->file, p->line, p->col,
				    "%s %s is also defined in %s:%d: that definition is in "
				    "force (the file whose path sorts first wins)",
				    p->kind, p->name, dup->p->file, dup->p->line);
				free(k->key);
				free(k);
				continue;
			}
			k->p = p;
			HASH_ADD_KEYPTR(hh, c->keys, k->key, strlen(k->key), k);
			v = realloc(c->active, (c->n_active + 1) * sizeof(*v));
			if (!v)
				return -ENOMEM;
			c->active = v;
			c->active[c->n_active++] = p;
		}
	}
	return 0;
}

/* Bytes of kernel memory one value takes (hash element or LPM trie node, allocator-rounded). */
static size_t value_bytes(enum pf_match m, const char *value)
{
	size_t len = strlen(value);

	if (m != PF_MATCH_EXACT)
		return pf_kernel_entry_bytes(PF_KENTRY_AFFIX, len);
	return pf_kernel_entry_bytes(PF_KENTRY_EXACT, len);
}

static void print_actions(unsigned actions, int err)
{
	const char *sep = "";

	if (actions & PF_ACT_KILL) {
		printf("Sigkill");
		sep = "+";
	} else if (actions & PF_ACT_DENY) {
		printf("Override(errno %d)", err);
		sep = "+";
	}
	if (actions & PF_ACT_POST)
		printf("%sPost", sep);
	else if (!*sep)
		printf("NoPost (matches, does nothing)");
}

/* An egress selector: its address and port conditions, protocol and family. */
static void explain_net(const struct pf_net_match *m, size_t *values, size_t *bytes)
{
	const struct pf_policy_cond *c[2] = {m->has_addr ? &m->addr : NULL,
					     m->has_port ? &m->port : NULL};
	bool any = false;

	for (int i = 0; i < 2; i++) {
		if (!c[i])
			continue;
		printf("%s%s %s %zu value%s%s%s", any ? " AND " : "", i ? "port" : "destination",
		       pf_policy_cond_op(c[i]), c[i]->values.n, c[i]->values.n == 1 ? "" : "s",
		       c[i]->param ? " + parameter " : "", c[i]->param ? c[i]->param : "");
		*values += c[i]->values.n;
		/* an LPM trie node per CIDR, a few per port range (kmalloc-64 each) */
		*bytes += c[i]->values.n * 64;
		any = true;
	}
	if (m->protocols)
		printf("%s%s", any ? " AND " : "",
		       m->protocols == PF_NET_TCP   ? "TCP"
		       : m->protocols == PF_NET_UDP ? "UDP"
						    : "");
	else
		printf("%sTCP or UDP", any ? " AND " : "");
	if (m->families)
		printf(" AND %s", m->families == PF_NET_INET ? "IPv4" : "IPv6");
	printf(" (connects and unconnected sends)");
}

static void explain_policy(const struct pf_policy *p)
{
	size_t bytes = 0, values = 0, groups = 0;

	printf("%s %s%s%s (%s:%d)\n", p->kind, p->namespace ? p->namespace : "",
	       p->namespace ? "/" : "", p->name, p->file, p->line);
	if (p->type == PF_POLICY_BINDING) {
		printf("  template:  %s\n", p->template_ref);
		for (size_t i = 0; i < p->n_values; i++) {
			for (size_t v = 0; v < p->values[i].values.n; v++)
				bytes += value_bytes(PF_MATCH_EXACT, p->values[i].values.v[v]);
			printf("  values:    %s: %zu\n", p->values[i].param, p->values[i].values.n);
		}
		goto selection;
	}
	printf("  hook:      %s (podfence: one program per hook for every policy)\n", p->hook);
	printf("  mode:      %s\n", p->mode == PF_MODE_MONITOR ? "monitor" : "enforce");
	printf("  path view: %s\n",
	       p->any_view ? "task (podfence.io/path-view): also matched outside the container's "
			     "view (see the warning)"
			   : "container (an exec outside the container's view is denied)");
	for (size_t r = 0; r < p->n_rules; r++) {
		const struct pf_policy_rule *pr = &p->rules[r];

		if (r == 0 || pr->group != p->rules[r - 1].group)
			printf("  hook entry %zu (first matching selector acts):\n", groups++);
		printf("    selector %zu (line %d): ", r, pr->line);
		if (pr->profile == PF_PROFILE_NET) {
			explain_net(&pr->net, &values, &bytes);
			printf(" -> ");
			print_actions(pr->actions, pr->err);
			/* cgroup programs choose their errno from 5.18 (docs/kernels.md) */
			if ((pr->actions & PF_ACT_DENY) && !(pr->actions & PF_ACT_KILL) &&
			    pr->err != 1)
				printf(" (EPERM on kernels before 5.18)");
			printf("\n");
			continue;
		}
		if (!pr->n_conds)
			printf("every exec");
		for (size_t i = 0; i < pr->n_conds; i++) {
			const struct pf_policy_cond *pc = &pr->conds[i];

			printf("%s%s %s %zu value%s%s%s", i ? " AND " : "",
			       pc->subject == PF_SUBJ_CALLER ? "caller" : "path",
			       pf_policy_cond_op(pc), pc->values.n, pc->values.n == 1 ? "" : "s",
			       pc->param ? " + parameter " : "", pc->param ? pc->param : "");
			for (size_t v = 0; v < pc->values.n; v++)
				bytes += value_bytes(pc->match, pc->values.v[v]);
			values += pc->values.n;
		}
		printf(" -> ");
		print_actions(pr->actions, pr->err);
		printf("\n");
	}
	printf("  kernel:    %zu rule%s of %zu bytes in each selected workload's ruleset; "
	       "%zu value%s ~%zu bytes (shared with any policy holding the same values)\n",
	       p->n_rules, p->n_rules == 1 ? "" : "s", sizeof(struct pf_rule), values,
	       values == 1 ? "" : "s", bytes);
	if (p->type == PF_POLICY_TEMPLATE) {
		printf("  params:   ");
		for (size_t i = 0; i < p->params.n; i++)
			printf(" %s", p->params.v[i]);
		printf(" (values per instance: bytes as above per distinct value)\n");
		return;
	}
selection:
	printf("  selects:   %s%s, pods: ", p->namespace ? "namespace " : "every namespace",
	       p->namespace ? p->namespace : "");
	if (p->target.kind)
		printf("of %s %s (targetRef)", p->target.kind, p->target.name);
	else
		printf("%s", !p->pods.present ? "every pod (no podSelector)"
			     : p->pods.n      ? "podSelector"
					      : "every pod (empty podSelector)");
	printf(", containers: ");
	if (!p->containers.n)
		printf("every container");
	for (size_t i = 0; i < p->containers.n; i++)
		printf("%s%s", i ? ", " : "", p->containers.v[i]);
	printf("\n");
	if (p->type == PF_POLICY_BINDING)
		printf("  kernel:    ~%zu bytes of values per distinct union of bindings\n", bytes);
}

static void validate(struct check *c)
{
	for (size_t i = 0; i < c->n_active; i++) {
		const struct pf_policy *p = c->active[i], *tpl;
		char msg[512];
		size_t n;

		if (p->type == PF_POLICY_BINDING) {
			struct pf_binding_why why;

			tpl = pf_policies_find_template(c->active, c->n_active, p->template_ref);
			switch (pf_binding_accept(tpl, p, &why)) {
			case PF_BINDING_WAITING:
				pf_diags_warn(&c->diags, p->file, p->line, p->col,
					      "PolicyBinding %s/%s: template \"%s\" is not in the "
					      "files checked: the binding waits for it",
					      p->namespace, p->name, p->template_ref);
				break;
			case PF_BINDING_REJECTED:
				pf_diags_error(&c->diags, p->file, why.line, why.col, "%s",
					       why.msg);
				break;
			case PF_BINDING_ACTIVE:
				break;
			}
		} else if (pf_policy_validate(p, &n, msg, sizeof(msg))) {
			pf_diags_error(&c->diags, p->file, p->line, p->col, "%s %s: %s", p->kind,
				       p->name, msg);
		}
		if (p->any_view && p->type != PF_POLICY_BINDING)
			pf_diags_warn(
			    &c->diags, p->file, p->line, p->col,
			    "%s %s: podfence.io/path-view: task: paths are matched as the "
			    "executing process sees them, also from a mount namespace, "
			    "chroot or detached mount of its own, where it can give a "
			    "forbidden binary an allowed name; only for workloads that nest "
			    "containers (docs/security.md)",
			    p->kind, p->name);
		if (c->explain)
			explain_policy(p);
	}
}

/* With pods: which bindings of one template overlap on a container, and rule capacity. */
static void check_pods(struct check *c)
{
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct pf_pod *pod = &c->pods.v[i];

		const char **names = calloc(pod->n_containers + 1, sizeof(*names));

		for (size_t k = 0; k < pod->n_containers && names; k++)
			names[k] = pod->containers[k].name;
		for (size_t k = 0; k <= pod->n_containers; k++) {
			const char *cont = k < pod->n_containers ? pod->containers[k].name : NULL;
			struct pf_eval_query q = {
			    .pod_namespace = pod->namespace,
			    .pod_labels = &pod->labels,
			    .pod_workload = &pod->workload,
			    .container = cont,
			    .path = "/",
			    .pod_containers = names,
			    .n_pod_containers = names ? pod->n_containers : 0,
			};
			struct pf_eval_result r;
			size_t rules = 0;

			if (pf_evaluate(c->active, c->n_active, &q, &r))
				continue;
			for (size_t j = 0; j < r.n; j++) {
				const struct pf_eval_policy *ep = &r.v[j];

				for (size_t k = 0; k < ep->policy->n_rules; k++)
					rules += ep->policy->rules[k].profile == PF_PROFILE_EXEC;
				if (ep->n_bindings < 2)
					continue;
				char names[512] = "";
				for (size_t b = 0; b < ep->n_bindings; b++)
					snprintf(names + strlen(names),
						 sizeof(names) - strlen(names), "%s%s/%s",
						 b ? ", " : "", ep->bindings[b]->namespace,
						 ep->bindings[b]->name);
				pf_diags_warn(&c->diags, pod->file, 0, 0,
					      "pod %s/%s%s%s: bindings %s of template %s overlap: "
					      "their values are united",
					      pod->namespace, pod->name, cont ? " container " : "",
					      cont ? cont : "", names, ep->policy->name);
			}
			if (rules > PF_MAX_RULES && cont)
				pf_diags_error(
				    &c->diags, pod->file, 0, 0,
				    "pod %s/%s container %s: %zu selectors apply, at most "
				    "%d per container",
				    pod->namespace, pod->name, cont, rules, PF_MAX_RULES);
			else if (rules > PF_MAX_RULES)
				pf_diags_warn(
				    &c->diags, pod->file, 0, 0,
				    "pod %s/%s: its containers' %zu selectors together are "
				    "more than %d: a container not identified yet denies "
				    "every exec",
				    pod->namespace, pod->name, rules, PF_MAX_RULES);
			pf_eval_result_free(&r);
		}
		free(names);
	}
}

static int load_pods(struct check *c, const struct paths *files)
{
	for (size_t f = 0; f < files->n; f++) {
		int err = pf_pod_parse_file(files->v[f], &c->pods, &c->diags);

		if (err && err != -EINVAL)
			pf_diags_error(&c->diags, files->v[f], 0, 0, "cannot read: %s",
				       strerror(-err));
	}
	return 0;
}

/* The kind of hook entry g (counted as the evaluator counts them) of p. */
static enum pf_profile group_profile(const struct pf_policy *p, size_t g)
{
	for (size_t i = 0, k = 0; i < p->n_rules; i++) {
		if (i > 0 && p->rules[i].group != p->rules[i - 1].group)
			k++;
		if (k == g)
			return p->rules[i].profile;
	}
	return PF_PROFILE_EXEC;
}

/* --simulate NS/POD[/CONTAINER] PATH|tcp://ADDR:PORT|udp://...|raw://: the verdict, and why. */
static int simulate(struct check *c, const char *who, const char *path, const char *parent)
{
	char ns[256], name[256], cont[256] = "";
	const struct pf_pod *pod = NULL;
	struct pf_eval_result r;
	struct pf_eval_query q;
	const char **names;
	struct pf_eval_connect conn;
	bool is_connect = strstr(path, "://") != NULL;
	int err, n = sscanf(who, "%255[^/]/%255[^/]/%255s", ns, name, cont);

	if (n < 2) {
		fprintf(stderr, "Error: --simulate wants NAMESPACE/POD[/CONTAINER], got \"%s\"\n",
			who);
		return 1;
	}
	for (size_t i = 0; i < c->pods.n && !pod; i++)
		if (!strcmp(c->pods.v[i].namespace, ns) && !strcmp(c->pods.v[i].name, name))
			pod = &c->pods.v[i];
	if (!pod) {
		fprintf(stderr, "Error: pod %s/%s is in none of the --pods files\n", ns, name);
		return 1;
	}
	if (is_connect && pf_eval_connect_parse(path, &conn)) {
		fprintf(stderr,
			"Error: --simulate: \"%s\" is no connection (tcp://ADDR:PORT, "
			"udp://[IPV6]:PORT, raw://)\n",
			path);
		return 1;
	}
	if (!*cont && pod->n_containers == 1)
		snprintf(cont, sizeof(cont), "%s", pod->containers[0].name);
	names = calloc(pod->n_containers + 1, sizeof(*names));
	if (!names)
		return 1;
	for (size_t k = 0; k < pod->n_containers; k++)
		names[k] = pod->containers[k].name;
	/* No container named: one not identified yet, held to every container's policies. */
	q = (struct pf_eval_query){
	    .pod_namespace = ns,
	    .pod_labels = &pod->labels,
	    .pod_workload = &pod->workload,
	    .container = *cont ? cont : NULL,
	    .path = path,
	    .caller = parent,
	    .pod_containers = names,
	    .n_pod_containers = pod->n_containers,
	    .connect = is_connect ? &conn : NULL,
	};
	err = pf_evaluate(c->active, c->n_active, &q, &r);
	free(names);
	if (err)
		return 1;
	if (is_connect)
		printf("%s %s in pod %s/%s (%s %s) container %s\n", conn.raw ? "socket" : "connect",
		       path, ns, name, pod->workload.kind, pod->workload.name,
		       *cont ? cont : "(not identified: every container's policies)");
	else
		printf("exec %s by %s in pod %s/%s (%s %s) container %s\n", path,
		       parent ? parent : "(any binary)", ns, name, pod->workload.kind,
		       pod->workload.name,
		       *cont ? cont : "(not identified: every container's policies)");
	if (!r.n)
		printf("  no policy applies\n");
	for (size_t i = 0; i < r.n; i++) {
		const struct pf_eval_policy *ep = &r.v[i];
		const struct pf_policy *p = ep->policy;

		printf("  %s %s%s%s (%s)", p->kind, p->namespace ? p->namespace : "",
		       p->namespace ? "/" : "", p->name,
		       p->mode == PF_MODE_MONITOR ? "monitor" : "enforce");
		for (size_t b = 0; b < ep->n_bindings; b++)
			printf("%s%s/%s", b ? ", " : " via bindings ", ep->bindings[b]->namespace,
			       ep->bindings[b]->name);
		if (ep->n_bindings > 1)
			printf(" [overlap: values united]");
		printf(": %s\n", ep->blocks	   ? (ep->kills ? "BLOCKS (Sigkill)" : "BLOCKS")
				 : ep->would_block ? "would block (monitor)"
				 : ep->reports	   ? "reports"
						   : "allows");
		for (size_t g = 0; g < ep->n_groups; g++) {
			long m = ep->matched[g];

			if (m < 0) {
				/* entries of the other kind (exec, connect) say nothing here */
				if (group_profile(p, g) ==
				    (is_connect ? PF_PROFILE_NET : PF_PROFILE_EXEC))
					printf("    hook entry %zu: no selector matches\n", g);
				continue;
			}
			printf("    hook entry %zu: selector %ld (line %d) matches -> ", g, m,
			       p->rules[m].line);
			print_actions(p->rules[m].actions, p->rules[m].err);
			printf("\n");
		}
	}
	for (size_t i = 0; i < r.n_ignored; i++)
		printf("  binding %s/%s takes no part: %s\n", r.ignored[i].binding->namespace,
		       r.ignored[i].binding->name, r.ignored[i].why);
	if (r.fail_closed)
		printf("  failed closed, every exec denied: %s\n", r.fail_why);
	printf("verdict: %s\n",
	       r.blocked ? (r.killed ? "blocked (Sigkill)" : "blocked") : "allowed");
	pf_eval_result_free(&r);
	return 0;
}

static void usage(void)
{
	printf("Usage: podfence check [options] FILE|DIR...\n\n"
	       "Validates policy files together (templates and bindings resolve across files).\n"
	       "Every problem is printed as file:line:col: error|warning: message.\n"
	       "Exit status 1 if any file has an error.\n\n"
	       "  -p, --pods FILE|DIR     pods to check against (overlapping bindings, capacity)\n"
	       "  -e, --explain           print what each policy compiles to\n"
	       "  -s, --simulate NS/POD[/CONTAINER] PATH|tcp://ADDR:PORT|udp://ADDR:PORT|raw://\n"
	       "                          verdict of the reference evaluator on one exec, connect\n"
	       "                          (IPv6: udp://[fd00::1]:53) or raw socket\n"
	       "      --parent BINARY     the calling process's binary (matchBinaries)\n"
	       "  -q, --quiet             print problems only\n");
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"quiet", no_argument, NULL, 'q'},
	    {"explain", no_argument, NULL, 'e'},
	    {"pods", required_argument, NULL, 'p'},
	    {"simulate", required_argument, NULL, 's'},
	    {"parent", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct paths files = {}, pod_files = {};
	const char *sim = NULL, *parent = NULL;
	struct key_ent *k, *ktmp;
	struct check c = {};
	bool quiet = false;
	int opt, ret = 1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "qep:s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			quiet = true;
			break;
		case 'e':
			c.explain = true;
			break;
		case 'p':
			if (expand(&pod_files, optarg))
				return 1;
			break;
		case 's':
			sim = optarg;
			break;
		case 'P':
			parent = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			return 1;
		}
	}
	/* --simulate takes the exec path as the first operand */
	if (sim && optind < argc)
		optind++;
	if (optind >= argc || (sim && !pod_files.n)) {
		fprintf(stderr, "Error: %s\n",
			sim && optind < argc ? "--simulate needs --pods" : "no policy file given");
		return 1;
	}
	for (int i = optind; i < argc; i++)
		if (expand(&files, argv[i]))
			goto out;
	if (load_policies(&c, &files) || load_pods(&c, &pod_files))
		goto out;
	validate(&c);
	check_pods(&c);
	pf_diags_print(&c.diags, stderr);
	ret = c.diags.n_errors ? 1 : 0;
	if (!ret && !quiet && !sim) {
		size_t counts[3] = {}, values = 0;

		for (size_t i = 0; i < c.n_active; i++) {
			const struct pf_policy *p = c.active[i];

			counts[p->type]++;
			for (size_t r = 0; r < p->n_rules; r++)
				for (size_t k = 0; k < p->rules[r].n_conds; k++)
					values += p->rules[r].conds[k].values.n;
			for (size_t k = 0; k < p->n_values; k++)
				values += p->values[k].values.n;
		}
		printf("ok: %zu file%s: %zu polic%s, %zu template%s, %zu binding%s, %zu value%s\n",
		       files.n, files.n == 1 ? "" : "s", counts[0], counts[0] == 1 ? "y" : "ies",
		       counts[1], counts[1] == 1 ? "" : "s", counts[2], counts[2] == 1 ? "" : "s",
		       values, values == 1 ? "" : "s");
	}
	if (sim)
		ret = simulate(&c, sim, argv[optind - 1], parent) ? 1 : ret;
out:
	for (size_t i = 0; i < c.n_lists; i++)
		pf_policy_list_free(&c.lists[i]);
	free(c.lists);
	free(c.active);
	HASH_ITER (hh, c.keys, k, ktmp) {
		HASH_DEL(c.keys, k);
		free(k->key);
		free(k);
	}
	pf_pod_list_free(&c.pods);
	pf_diags_free(&c.diags);
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	for (size_t i = 0; i < pod_files.n; i++)
		free(pod_files.v[i]);
	free(files.v);
	free(pod_files.v);
	return ret;
}
