// SPDX-License-Identifier: Apache-2.0
/*
 * Egress policies: connect hooks (tcp_connect, security_socket_connect, the
 * socket_connect LSM hook) read into the model, their values checked and
 * stored canonical, what is refused and where, templates and bindings of
 * egress values, and policies mixing exec and connect hooks.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include "pf_failalloc.h"
#include "pf_test.h"
#include "podfence/compile.h"
#include "podfence/evaluate.h"
#include "podfence/netaddr.h"
#include "podfence/policy.h"

/* Lines 1-5. */
#define HDR                                                                                        \
	"apiVersion: cilium.io/v1alpha1\n"                                                         \
	"kind: TracingPolicy\n"                                                                    \
	"metadata:\n"                                                                              \
	"  name: p\n"                                                                              \
	"spec:\n"
/* Lines 6-12: the selector follows at line 13. */
#define TCP_HOOK                                                                                   \
	"  kprobes:\n"                                                                             \
	"  - call: tcp_connect\n"                                                                  \
	"    syscall: false\n"                                                                     \
	"    args:\n"                                                                              \
	"    - index: 0\n"                                                                         \
	"      type: sock\n"                                                                       \
	"    selectors:\n"
/* Lines 6-13: the selector follows at line 14. */
#define SC_HOOK                                                                                    \
	"  kprobes:\n"                                                                             \
	"  - call: security_socket_connect\n"                                                      \
	"    args:\n"                                                                              \
	"    - index: 0\n"                                                                         \
	"      type: socket\n"                                                                     \
	"    - index: 1\n"                                                                         \
	"      type: sockaddr\n"                                                                   \
	"    selectors:\n"
/* One line. */
#define SEL "    - matchArgs:\n"
/* Three lines: operator at column 19 of the second, first value at column 18 of the third. */
#define ARG(idx, op, vals)                                                                         \
	"      - index: " idx "\n"                                                                 \
	"        operator: " op "\n"                                                               \
	"        values: [" vals "]\n"
#define DENY                                                                                       \
	"      matchActions:\n"                                                                    \
	"      - action: Override\n"                                                               \
	"        argError: -1\n"

static int parse(const char *text, struct pf_policy_list *l, struct pf_diags *d)
{
	return pf_policy_parse_buf("t.yaml", text, strlen(text), l, d);
}

/* The diagnostic of severity sev whose message contains needle; prints all when absent. */
static const struct pf_diag *diag(const struct pf_diags *d, enum pf_severity sev,
				  const char *needle)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].sev == sev && d->v[i].msg && strstr(d->v[i].msg, needle))
			return &d->v[i];
	fprintf(stderr, "    no %s containing \"%s\" among:\n", sev ? "warning" : "error", needle);
	for (size_t i = 0; i < d->n; i++) {
		pf_diag_format(&d->v[i], buf, sizeof(buf));
		fprintf(stderr, "      %s\n", buf);
	}
	return NULL;
}

/* Parses text expecting success and exactly one policy; returns it or NULL. */
static struct pf_policy *parse_one(const char *text, struct pf_policy_list *l, struct pf_diags *d)
{
	if (!ASSERT_OK(parse(text, l, d), "parse") || !ASSERT_EQ(l->n, 1, "one policy")) {
		pf_diags_print(d, stderr);
		return NULL;
	}
	return &l->v[0];
}

/* ---- the hooks, read into the model ------------------------------------ */

PF_TEST(netpolicy_tcp_connect_parsed_canonical)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	const struct pf_policy_rule *r;
	const struct pf_policy *p;

	p = parse_one(HDR TCP_HOOK SEL ARG("0", "NotDAddr",
					   "127.0.0.1, \"::1\", 10.0.0.0/8, 127.0.0.1/32, "
					   "\"::ffff:192.168.0.0/112\"")
			  ARG("0", "DPort", "\"443\", \"8000:8080\", \"0080\", \"8000-8080\"")
			      ARG("0", "Family", "AF_INET, \"10\"") DENY,
		      &l, &d);
	if (!p || !ASSERT_EQ(p->n_rules, 1, "one selector"))
		goto out;
	ASSERT_STREQ(p->hook, "tcp_connect", "hook as written");
	ASSERT_EQ(d.n, 0, "no diagnostic");
	r = &p->rules[0];
	ASSERT_EQ(r->profile, PF_PROFILE_NET, "a connect hook's rule is egress");
	ASSERT_EQ(r->n_conds, 0, "no exec condition");
	ASSERT_EQ(r->group, 0, "first hook entry");
	ASSERT_EQ(r->line, 13, "selector line");
	ASSERT_EQ(r->actions, PF_ACT_DENY | PF_ACT_POST, "Override + default Post");
	ASSERT_EQ(r->err, EPERM, "argError -1");
	ASSERT_TRUE(r->net.has_addr, "address");
	ASSERT_EQ(r->net.addr.subject, PF_SUBJ_DADDR, "address subject");
	ASSERT_EQ(r->net.addr.match, PF_MATCH_CIDR, "CIDR match");
	ASSERT_TRUE(r->net.addr.negate, "NotDAddr negates");
	ASSERT_STREQ(pf_policy_cond_op(&r->net.addr), "NotDAddr", "operator name");
	ASSERT_EQ(r->net.addr.line, 15, "operator line");
	ASSERT_EQ(r->net.addr.col, 19, "operator column");
	/* the same destinations written twice are one value; mapped IPv4 is IPv4 */
	ASSERT_EQ(r->net.addr.values.n, 4, "canonical values, duplicates merged");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "127.0.0.1/32"), "address alone: /32");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "::1/128"), "IPv6 address alone: /128");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "10.0.0.0/8"), "CIDR as written");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "192.168.0.0/16"), "IPv4-mapped: IPv4");
	ASSERT_TRUE(r->net.has_port, "port");
	ASSERT_EQ(r->net.port.subject, PF_SUBJ_DPORT, "port subject");
	ASSERT_EQ(r->net.port.match, PF_MATCH_PORT, "port match");
	ASSERT_FALSE(r->net.port.negate, "DPort");
	ASSERT_STREQ(pf_policy_cond_op(&r->net.port), "DPort", "operator name");
	ASSERT_EQ(r->net.port.line, 18, "operator line");
	ASSERT_EQ(r->net.port.values.n, 3, "ranges merged whatever the separator");
	ASSERT_TRUE(pf_strset_has(&r->net.port.values, "8000-8080"), "range");
	ASSERT_TRUE(pf_strset_has(&r->net.port.values, "80"), "leading zero dropped");
	ASSERT_TRUE(pf_strset_has(&r->net.port.values, "443"), "port");
	ASSERT_EQ(r->net.families, 0, "both families written: 0");
	ASSERT_EQ(r->net.family_line, 21, "Family line");
	ASSERT_EQ(r->net.family_col, 19, "Family column");
	ASSERT_EQ(r->net.protocols, PF_NET_TCP, "tcp_connect sees TCP only");
	ASSERT_EQ(r->net.protocol_line, 0, "no Protocol written");
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(netpolicy_socket_connect_kprobe_and_lsm)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	const struct pf_policy_rule *r;
	const struct pf_policy *p;

	/* two hook entries: groups 0 and 1; the first has two selectors */
	p = parse_one(HDR SC_HOOK SEL ARG("1", "SAddr", "\"fd00::/8\"")
			  ARG("1", "NotSPort", "\"53\"") ARG("1", "Family", "AF_INET6")
			      ARG("0", "Protocol", "UDP") DENY
		      "    - matchActions:\n"
		      "      - action: Sigkill\n"
		      "  lsmhooks:\n"
		      "  - hook: socket_connect\n"
		      "    args:\n"
		      "    - {index: 0, type: sock}\n"
		      "    - {index: 1, type: sockaddr}\n"
		      "    selectors:\n" SEL ARG("0", "Protocol", "tcp, \"17\"") DENY,
		      &l, &d);
	if (!p || !ASSERT_EQ(p->n_rules, 3, "three selectors"))
		goto out;
	r = &p->rules[0];
	ASSERT_EQ(r->profile, PF_PROFILE_NET, "egress");
	ASSERT_EQ(r->group, 0, "hook entry 0");
	ASSERT_TRUE(r->net.has_addr && r->net.has_port, "address and port");
	ASSERT_STREQ(pf_policy_cond_op(&r->net.addr), "SAddr", "the sockaddr's name");
	ASSERT_TRUE(r->net.addr.sockaddr_op, "written on the sockaddr");
	ASSERT_FALSE(r->net.addr.negate, "SAddr");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "fd00::/8"), "IPv6 CIDR");
	ASSERT_STREQ(pf_policy_cond_op(&r->net.port), "NotSPort", "port operator");
	ASSERT_TRUE(r->net.port.negate, "NotSPort negates");
	ASSERT_TRUE(pf_strset_has(&r->net.port.values, "53"), "port");
	ASSERT_EQ(r->net.families, PF_NET_INET6, "Family AF_INET6");
	ASSERT_EQ(r->net.protocols, PF_NET_UDP, "Protocol UDP");
	ASSERT_EQ(r->net.protocol_line, 25, "Protocol line");
	r = &p->rules[1];
	ASSERT_EQ(r->profile, PF_PROFILE_NET, "egress");
	ASSERT_EQ(r->group, 0, "same hook entry");
	ASSERT_FALSE(r->net.has_addr || r->net.has_port, "every destination");
	ASSERT_EQ(r->net.protocols, 0, "TCP and UDP by default");
	ASSERT_EQ(r->net.families, 0, "both families by default");
	ASSERT_EQ(r->actions, PF_ACT_DENY | PF_ACT_KILL | PF_ACT_POST, "Sigkill");
	r = &p->rules[2];
	ASSERT_EQ(r->group, 1, "the LSM hook entry");
	ASSERT_EQ(r->profile, PF_PROFILE_NET, "socket_connect LSM hook: egress");
	ASSERT_EQ(r->net.protocols, 0, "TCP and UDP written: 0");
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(netpolicy_no_selectors_and_namespaced)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	const struct pf_policy *p;

	p = parse_one(HDR "  kprobes:\n  - call: tcp_connect\n", &l, &d);
	if (p && ASSERT_EQ(p->n_rules, 1, "one catch-all rule")) {
		ASSERT_EQ(p->rules[0].profile, PF_PROFILE_NET, "egress");
		ASSERT_EQ(p->rules[0].actions, PF_ACT_POST, "Post only");
		ASSERT_EQ(p->rules[0].net.protocols, PF_NET_TCP, "TCP");
	}
	ASSERT_NOT_NULL(diag(&d, PF_SEV_WARNING,
			     "spec.kprobes[0]: no selectors: every connect matches and is only "
			     "reported, nothing is blocked"),
			"warning");
	pf_policy_list_free(&l);
	pf_diags_clear(&d);
	p = parse_one("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\n"
		      "metadata: {name: p, namespace: shop}\nspec:\n"
		      "  podSelector: {matchLabels: {app: web}}\n"
		      "  options: [{name: policy-mode, value: monitor}]\n" TCP_HOOK SEL ARG(
			  "0", "DAddr", "169.254.169.254") DENY,
		      &l, &d);
	if (p) {
		ASSERT_STREQ(p->namespace, "shop", "namespaced");
		ASSERT_EQ(p->mode, PF_MODE_MONITOR, "monitor");
		ASSERT_TRUE(pf_strset_has(&p->rules[0].net.addr.values, "169.254.169.254/32"),
			    "value");
	}
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

/* ---- what is refused, and where ----------------------------------------- */

PF_TEST(netpolicy_refusals_name_field_and_position)
{
	static const struct {
		const char *text, *needle;
		int line, col;
	} cases[] = {
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.0.0.0/8") "      matchBinaries:\n"
							      "      - {operator: In, values: "
							      "[/usr/bin/curl]}\n" DENY,
	     "spec.kprobes[0].selectors[0].matchBinaries: not supported on connect hooks yet", 17,
	     7},
	    {HDR TCP_HOOK SEL ARG("0", "SAddr", "10.0.0.0/8") DENY,
	     "matchArgs[0].operator: SAddr of a sock is the connection's source (its local "
	     "address): podfence matches the destination (use DAddr)",
	     15, 19},
	    {HDR TCP_HOOK SEL ARG("0", "NotSPort", "\"22\"") DENY,
	     "NotSPort of a sock is the connection's source (its local port): podfence matches "
	     "the destination (use NotDPort)",
	     15, 19},
	    {HDR SC_HOOK SEL ARG("0", "DAddr", "10.0.0.0/8") DENY,
	     "DAddr of the socket (index 0) means nothing before it is connected: match the "
	     "destination with SAddr of the sockaddr argument (index 1)",
	     16, 19},
	    {HDR SC_HOOK SEL ARG("0", "NotSPort", "\"22\"") DENY,
	     "match the destination with NotSPort of the sockaddr argument", 16, 19},
	    {HDR SC_HOOK SEL ARG("1", "DPort", "\"22\"") DENY,
	     "DPort is not an operator of a sockaddr (the port it holds is SPort, as in "
	     "Tetragon); did you mean \"SPort\"?",
	     16, 19},
	    {HDR SC_HOOK SEL ARG("1", "Protocol", "TCP") DENY,
	     "a sockaddr has no protocol: use Protocol on the socket argument (index 0)", 16, 19},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.0.0.0/8") ARG("0", "NotDAddr", "10.1.0.0/16")
		 DENY,
	     "matchArgs[1].operator: a second address operator in one selector (DAddr, line 15)",
	     18, 19},
	    {HDR SC_HOOK SEL ARG("1", "SPort", "\"80\"") ARG("1", "NotSPort", "\"443\"") DENY,
	     "a second port operator in one selector (SPort, line 16)", 19, 19},
	    {HDR TCP_HOOK SEL ARG("0", "Family", "AF_UNIX") DENY,
	     "matchArgs[0].values[0]: \"AF_UNIX\" is not a supported family (expected AF_INET or "
	     "AF_INET6, or 2 or 10)",
	     16, 18},
	    {HDR SC_HOOK SEL ARG("0", "Protocol", "TCP, SCTP") DENY,
	     "matchArgs[0].values[1]: \"SCTP\" is not a supported protocol", 17, 23},
	    {HDR TCP_HOOK SEL ARG("0", "Protocol", "IPPROTO_UDP") DENY,
	     "matchArgs[0].operator: Protocol without TCP can never match on tcp_connect", 15, 19},
	    {HDR TCP_HOOK SEL ARG("0", "Family", "AF_INET") ARG("0", "Family", "\"10\"") DENY,
	     "matchArgs[1].operator: this Family excludes every value the one of line 15 allows: "
	     "the selector can never match",
	     18, 19},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.0.0.0/8") "      matchNamespaces:\n"
							      "      - {namespace: Net, operator: "
							      "In, values: [host_ns]}\n" DENY,
	     "selectors[0].matchNamespaces: field \"matchNamespaces\" is not supported (podfence "
	     "selectors on connect hooks match the destination",
	     17, 7},
	    {HDR TCP_HOOK SEL ARG("0", "Equal", "/x") DENY,
	     "operator: \"Equal\" is not supported (expected DAddr, NotDAddr, DPort, NotDPort, "
	     "Protocol or Family)",
	     15, 19},
	    {HDR TCP_HOOK SEL ARG("0", "notdaddr", "10.0.0.0/8") DENY, "did you mean \"NotDAddr\"?",
	     15, 19},
	    {HDR SC_HOOK SEL ARG("1", "SPortPriv", "") DENY,
	     "\"SPortPriv\" is not supported (expected SAddr, NotSAddr, SPort, NotSPort or "
	     "Family): write SPort with values [\"0-1023\"]",
	     16, 19},
	    {HDR TCP_HOOK SEL ARG("0", "NotDPortPriv", "") DENY,
	     "\"NotDPortPriv\" is not supported (expected DAddr, NotDAddr, DPort, NotDPort, "
	     "Protocol or Family): write NotDPort with values [\"0-1023\"]",
	     15, 19},
	    {HDR TCP_HOOK SEL ARG("1", "DAddr", "10.0.0.0/8") DENY,
	     "matchArgs[0].index: 1 does not name a declared argument (declare args: [{index: 0, "
	     "type: sock}])",
	     14, 16},
	    {HDR "  kprobes:\n  - call: security_socket_connect\n    args:\n    - index: 0\n"
		 "      type: socket\n    selectors:\n" SEL ARG("1", "SAddr", "10.0.0.0/8") DENY,
	     "index: 1 does not name a declared argument (declare args: [{index: 0, type: "
	     "socket}, {index: 1, type: sockaddr}])",
	     13, 16},
	    {HDR "  kprobes:\n  - call: tcp_connect\n    args:\n    - index: 0\n"
		 "      type: sockaddr\n",
	     "spec.kprobes[0].args[0].type: \"sockaddr\" is not supported for argument 0 of "
	     "tcp_connect (expected sock: the connecting socket)",
	     10, 13},
	    {HDR
	     "  lsmhooks:\n  - hook: socket_connect\n    args:\n    - {index: 0, type: socket}\n"
	     "    - {index: 1, type: file}\n",
	     "spec.lsmhooks[0].args[1].type: \"file\" is not supported for argument 1 of "
	     "socket_connect (expected sockaddr: the destination)",
	     10, 24},
	    {HDR "  kprobes:\n  - call: tcp_connect\n    args:\n    - index: 1\n      type: sock\n",
	     "spec.kprobes[0].args[0].index: 1 is out of range (tcp_connect takes one argument: "
	     "index 0, type sock)",
	     9, 14},
	    {HDR "  kprobes:\n  - call: security_socket_connect\n    args:\n"
		 "    - {index: 0, type: socket}\n    - {index: 2, type: int}\n    selectors:\n" SEL
		     ARG("2", "Equal", "\"16\"") DENY,
	     "matchArgs[0].index: argument 2 (the address length) cannot be matched", 13, 16},
	    {HDR "  kprobes:\n  - call: tcp_connect\n    syscall: true\n",
	     "spec.kprobes[0].syscall: true is not supported (connect hooks are kernel functions, "
	     "not syscalls)",
	     8, 14},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.1.2.3/8") DENY,
	     "matchArgs[0].values[0]: \"10.1.2.3/8\" has host bits set beyond its /8 prefix: did "
	     "you mean \"10.0.0.0/8\" (the network) or \"10.1.2.3/32\" (the one address)?",
	     16, 18},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "\"::ffff:10.1.0.0/104\"") DENY,
	     "has host bits set beyond its /8 prefix: did you mean \"10.0.0.0/8\"", 16, 18},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.0.0.0/33") DENY,
	     "\"10.0.0.0/33\": prefix length /33 is longer than the 32 bits of an IPv4 address", 16,
	     18},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.0.0.0/8, example.com") DENY,
	     "values[1]: \"example.com\" is not an IP address or CIDR", 16, 30},
	    {HDR TCP_HOOK SEL ARG("0", "DPort", "\"70000\"") DENY,
	     "\"70000\": port 70000 is out of range (0 to 65535)", 16, 18},
	    {HDR TCP_HOOK SEL ARG("0", "DPort", "\"8080-8000\"") DENY,
	     "\"8080-8000\" is a reversed range: write \"8000-8080\"", 16, 18},
	    {HDR TCP_HOOK SEL ARG("0", "DPort", "http") DENY,
	     "\"http\" is not a port or port range (expected e.g. \"443\", \"8000-8080\" or "
	     "\"8000:8080\")",
	     16, 18},
	    {HDR TCP_HOOK SEL "      - index: 0\n        operator: DAddr\n" DENY,
	     "matchArgs[0].values: required", 14, 9},
	    {HDR TCP_HOOK SEL ARG("0", "DAddr", "10.0.0.0/8") "        valuesFrom: x\n" DENY,
	     "valuesFrom: only a podfence.io PolicyTemplate has parameters", 17, 21},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_policy_list l = {};
		struct pf_diags d = {};
		const struct pf_diag *e;

		ASSERT_EQ(parse(cases[i].text, &l, &d), -EINVAL, cases[i].needle);
		ASSERT_EQ(l.n, 0, "no policy out of a rejected file");
		e = diag(&d, PF_SEV_ERROR, cases[i].needle);
		if (ASSERT_NOT_NULL(e, cases[i].needle)) {
			ASSERT_STREQ(e->file, "t.yaml", cases[i].needle);
			ASSERT_EQ(e->line, cases[i].line, cases[i].needle);
			ASSERT_EQ(e->col, cases[i].col, cases[i].needle);
		}
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

/* The corpus file's case: Tetragon's example with matchBinaries on tcp_connect. */
PF_TEST(netpolicy_match_binaries_is_the_one_error)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};

	ASSERT_EQ(
	    parse(HDR TCP_HOOK SEL ARG("0", "NotDAddr", "127.0.0.0/8") "      matchBinaries:\n"
								       "      - operator: In\n"
								       "        values: "
								       "[/usr/bin/curl]\n"
								       "      matchActions:\n"
								       "      - action: "
								       "Sigkill\n",
		  &l, &d),
	    -EINVAL, "refused");
	ASSERT_EQ(d.n_errors, 1, "one error: matchBinaries, not its entries");
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

/* ---- values ------------------------------------------------------------- */

PF_TEST(netpolicy_values_canonical_spelling)
{
	static const struct {
		enum pf_match m;
		const char *in, *canon;
	} ok[] = {
	    {PF_MATCH_CIDR, "10.0.0.0/8", "10.0.0.0/8"},
	    {PF_MATCH_CIDR, "127.0.0.1", "127.0.0.1/32"},
	    {PF_MATCH_CIDR, "0.0.0.0/0", "0.0.0.0/0"},
	    {PF_MATCH_CIDR, "10.0.0.0/08", "10.0.0.0/8"},
	    {PF_MATCH_CIDR, "fd00::/8", "fd00::/8"},
	    {PF_MATCH_CIDR, "FD00:0:0::/8", "fd00::/8"},
	    {PF_MATCH_CIDR, "::1", "::1/128"},
	    {PF_MATCH_CIDR, "::/0", "::/0"},
	    {PF_MATCH_CIDR, "::ffff:10.0.0.0/104", "10.0.0.0/8"},
	    {PF_MATCH_CIDR, "::ffff:1.2.3.4", "1.2.3.4/32"},
	    {PF_MATCH_CIDR, "::ffff:0:0/96", "0.0.0.0/0"},
	    {PF_MATCH_CIDR, "2001:db8:0:0:0:0:0:1/128", "2001:db8::1/128"},
	    {PF_MATCH_PORT, "80", "80"},
	    {PF_MATCH_PORT, "0", "0"},
	    {PF_MATCH_PORT, "65535", "65535"},
	    {PF_MATCH_PORT, "8000-8080", "8000-8080"},
	    {PF_MATCH_PORT, "8000:8080", "8000-8080"},
	    {PF_MATCH_PORT, "53-53", "53"},
	    {PF_MATCH_PORT, "0443", "443"},
	};
	static const struct {
		enum pf_match m;
		const char *in, *why;
	} bad[] = {
	    {PF_MATCH_CIDR, "10.1.2.3/8",
	     "\"10.1.2.3/8\" has host bits set beyond its /8 prefix: did you mean \"10.0.0.0/8\" "
	     "(the network) or \"10.1.2.3/32\" (the one address)?"},
	    {PF_MATCH_CIDR, "fd00::1/8",
	     "did you mean \"fd00::/8\" (the network) or "
	     "\"fd00::1/128\" (the one address)?"},
	    {PF_MATCH_CIDR, "::ffff:10.0.0.0/80", "did you mean \"::/80\""},
	    {PF_MATCH_CIDR, "10.0.0.0/33", "prefix length /33 is longer than the 32 bits"},
	    {PF_MATCH_CIDR, "fd00::/129", "longer than the 128 bits of an IPv6 address"},
	    {PF_MATCH_CIDR, "10.0.0.0/", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "10.0.0.0/+8", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "10.0.0.0/ 8", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "10.0.0.0/8/8", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "/8", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "10.0.0", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "010.0.0.1", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "fe80::1%eth0", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, " 10.0.0.0/8", "is not an IP address or CIDR"},
	    {PF_MATCH_CIDR, "", "is not an IP address or CIDR"},
	    {PF_MATCH_PORT, "65536", "\"65536\": port 65536 is out of range (0 to 65535)"},
	    {PF_MATCH_PORT, "1-99999", "port 99999 is out of range"},
	    {PF_MATCH_PORT, "8080-8000", "\"8080-8000\" is a reversed range: write \"8000-8080\""},
	    {PF_MATCH_PORT, "8080:8000", "write \"8000-8080\""},
	    {PF_MATCH_PORT, "-80", "is not a port or port range"},
	    {PF_MATCH_PORT, "80-", "is not a port or port range"},
	    {PF_MATCH_PORT, "1-2-3", "is not a port or port range"},
	    {PF_MATCH_PORT, "+80", "is not a port or port range"},
	    {PF_MATCH_PORT, "", "is not a port or port range"},
	    {PF_MATCH_PORT, "1234567890", "is not a port or port range"},
	};
	char out[PF_NET_VALUE_MAX], err[512];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ASSERT_OK(pf_value_check(ok[i].m, ok[i].in, err, sizeof(err)), ok[i].in);
		if (ASSERT_OK(
			pf_net_value_canon(ok[i].m, ok[i].in, out, sizeof(out), err, sizeof(err)),
			ok[i].in))
			ASSERT_STREQ(out, ok[i].canon, ok[i].in);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ASSERT_EQ(pf_value_check(bad[i].m, bad[i].in, err, sizeof(err)), -EINVAL,
			  bad[i].in);
		ASSERT_STRSTR(err, bad[i].why, bad[i].in);
		ASSERT_EQ(
		    pf_net_value_canon(bad[i].m, bad[i].in, out, sizeof(out), err, sizeof(err)),
		    -EINVAL, bad[i].in);
	}
	/* the longest IPv6 spelling fits PF_NET_VALUE_MAX; a short buffer is no overflow */
	ASSERT_OK(pf_net_value_canon(PF_MATCH_CIDR, "1111:2222:3333:4444:5555:6666:7777:8888", out,
				     sizeof(out), err, sizeof(err)),
		  "longest");
	ASSERT_STREQ(out, "1111:2222:3333:4444:5555:6666:7777:8888/128", "longest");
	ASSERT_EQ(pf_net_value_canon(PF_MATCH_CIDR, "10.0.0.0/8", out, 5, err, sizeof(err)),
		  -ENOSPC, "short buffer");
	ASSERT_EQ(
	    pf_net_value_canon(PF_MATCH_EXACT, "/bin/true", out, sizeof(out), err, sizeof(err)),
	    -EINVAL, "not an egress match");
	/* exec values are untouched by the egress checks */
	ASSERT_OK(pf_value_check(PF_MATCH_EXACT, "/usr/bin/true", err, sizeof(err)), "exec");
}

/* The parsers the compiler and the evaluator use, on stored (canonical) values. */
PF_TEST(netpolicy_parsers_of_canonical_values)
{
	uint8_t family, addr[16], want6[16] = {0xfd};
	uint16_t lo, hi;
	unsigned len;

	if (ASSERT_OK(pf_cidr_parse("10.0.0.0/8", &family, addr, &len), "IPv4")) {
		ASSERT_EQ(family, PF_NET_INET, "family");
		ASSERT_EQ(len, 8, "prefix");
		ASSERT_TRUE(addr[0] == 10 && addr[1] == 0 && addr[3] == 0, "address bytes");
		ASSERT_EQ(addr[4] | addr[15], 0, "rest zero");
	}
	if (ASSERT_OK(pf_cidr_parse("1.2.3.4/32", &family, addr, &len), "host")) {
		ASSERT_TRUE(addr[0] == 1 && addr[1] == 2 && addr[2] == 3 && addr[3] == 4, "bytes");
		ASSERT_EQ(len, 32, "prefix");
	}
	if (ASSERT_OK(pf_cidr_parse("fd00::/8", &family, addr, &len), "IPv6")) {
		ASSERT_EQ(family, PF_NET_INET6, "family");
		ASSERT_EQ(len, 8, "prefix");
		ASSERT_EQ(memcmp(addr, want6, 16), 0, "address bytes");
	}
	if (ASSERT_OK(pf_cidr_parse("::ffff:1.2.3.4", &family, addr, &len), "mapped")) {
		ASSERT_EQ(family, PF_NET_INET, "mapped: IPv4");
		ASSERT_EQ(len, 32, "prefix");
		ASSERT_TRUE(addr[0] == 1 && addr[3] == 4, "bytes");
	}
	ASSERT_EQ(pf_cidr_parse("10.0.0.0/33", &family, addr, &len), -EINVAL, "too long");
	ASSERT_EQ(pf_cidr_parse("nope", &family, addr, &len), -EINVAL, "not a CIDR");
	if (ASSERT_OK(pf_port_range_parse("8000-8080", &lo, &hi), "range"))
		ASSERT_TRUE(lo == 8000 && hi == 8080, "ends");
	if (ASSERT_OK(pf_port_range_parse("53", &lo, &hi), "port"))
		ASSERT_TRUE(lo == 53 && hi == 53, "one port");
	if (ASSERT_OK(pf_port_range_parse("8000:8080", &lo, &hi), "Tetragon's range"))
		ASSERT_TRUE(lo == 8000 && hi == 8080, "ends");
	ASSERT_EQ(pf_port_range_parse("65536", &lo, &hi), -EINVAL, "out of range");
	ASSERT_EQ(pf_port_range_parse("9-8", &lo, &hi), -EINVAL, "reversed");
}

/* ---- templates and bindings --------------------------------------------- */

/* Lines 1-13. */
#define TEMPLATE                                                                                   \
	"apiVersion: podfence.io/v1alpha1\n"                                                       \
	"kind: PolicyTemplate\n"                                                                   \
	"metadata: {name: egress}\n"                                                               \
	"spec:\n"                                                                                  \
	"  parameters: [{name: cidrs}, {name: ports}]\n"                                           \
	"  kprobes:\n"                                                                             \
	"  - call: security_socket_connect\n"                                                      \
	"    args: [{index: 0, type: socket}, {index: 1, type: sockaddr}]\n"                       \
	"    selectors:\n"                                                                         \
	"    - matchArgs: [{index: 1, operator: NotSAddr, valuesFrom: cidrs, values: ["            \
	"127.0.0.0/8]}]\n"                                                                         \
	"      matchActions: [{action: Override, argError: -1}]\n"                                 \
	"    - matchArgs: [{index: 1, operator: NotSPort, valuesFrom: ports}]\n"                   \
	"      matchActions: [{action: Override, argError: -1}]\n"

/* A binding of template egress; its values from line 8 of the document on. */
#define BINDING(name, values)                                                                      \
	"apiVersion: podfence.io/v1alpha1\n"                                                       \
	"kind: PolicyBinding\n"                                                                    \
	"metadata: {name: " name ", namespace: shop}\n"                                            \
	"spec:\n"                                                                                  \
	"  templateRef: egress\n"                                                                  \
	"  podSelector: {matchLabels: {app: web}}\n"                                               \
	"  values:\n" values

PF_TEST(netpolicy_template_two_bindings_union)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	struct pf_policy inst = {}, inst2 = {};
	const struct pf_policy *ab[2], *ba[2];
	const struct pf_policy_rule *r;
	struct pf_binding_why why;
	char err[256];

	if (!ASSERT_OK(
		parse(TEMPLATE "---\n" BINDING(
			  "a",
			  "    cidrs: [10.0.0.0/8, 192.0.2.1]\n"
			  "    ports: [\"443\"]\n") "---\n" BINDING("b",
								    "    cidrs: "
								    "[\"::ffff:10.0.0.0/104\", "
								    "\"fd00::/8\"]\n"
								    "    ports: [\"8000:8080\", "
								    "\"443\"]\n"),
		      &l, &d),
		"parse") ||
	    !ASSERT_EQ(l.n, 3, "template and two bindings")) {
		pf_diags_print(&d, stderr);
		goto out;
	}
	r = &l.v[0].rules[0];
	ASSERT_EQ(r->profile, PF_PROFILE_NET, "template rule: egress");
	ASSERT_STREQ(r->net.addr.param, "cidrs", "valuesFrom");
	ASSERT_EQ(r->net.addr.values.n, 1, "fixed value");
	ASSERT_STREQ(l.v[0].rules[1].net.port.param, "ports", "valuesFrom on the port");
	ASSERT_EQ(pf_binding_accept(&l.v[0], &l.v[1], &why), PF_BINDING_ACTIVE, why.msg);
	ASSERT_EQ(pf_binding_accept(&l.v[0], &l.v[2], &why), PF_BINDING_ACTIVE, why.msg);
	ab[0] = ba[1] = &l.v[1];
	ab[1] = ba[0] = &l.v[2];
	if (!ASSERT_OK(pf_template_instantiate(&l.v[0], ab, 2, &inst, err, sizeof(err)), err) ||
	    !ASSERT_OK(pf_template_instantiate(&l.v[0], ba, 2, &inst2, err, sizeof(err)), err) ||
	    !ASSERT_EQ(inst.n_rules, 2, "the template's selectors"))
		goto out;
	r = &inst.rules[0];
	ASSERT_EQ(r->profile, PF_PROFILE_NET, "instance rule: egress");
	ASSERT_TRUE(r->net.has_addr && !r->net.has_port, "address only");
	ASSERT_TRUE(r->net.addr.param == NULL, "concrete: every value known");
	ASSERT_STREQ(pf_policy_cond_op(&r->net.addr), "NotSAddr", "operator");
	/* fixed + a's + b's, canonical: b's mapped 10.0.0.0/8 is a's */
	ASSERT_EQ(r->net.addr.values.n, 4, "union");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "127.0.0.0/8"), "fixed");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "10.0.0.0/8"), "a and b");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "192.0.2.1/32"), "a, canonical");
	ASSERT_TRUE(pf_strset_has(&r->net.addr.values, "fd00::/8"), "b");
	r = &inst.rules[1];
	ASSERT_TRUE(r->net.has_port && !r->net.has_addr, "port only");
	ASSERT_EQ(r->net.port.values.n, 2, "union");
	ASSERT_TRUE(pf_strset_has(&r->net.port.values, "443"), "both");
	ASSERT_TRUE(pf_strset_has(&r->net.port.values, "8000-8080"), "b, canonical");
	for (size_t i = 0; i < 2; i++) {
		ASSERT_TRUE(pf_strset_equal(&inst.rules[i].net.addr.values,
					    &inst2.rules[i].net.addr.values),
			    "order-independent (addresses)");
		ASSERT_TRUE(pf_strset_equal(&inst.rules[i].net.port.values,
					    &inst2.rules[i].net.port.values),
			    "order-independent (ports)");
	}
	/* the instance owns its values: the template's are untouched */
	ASSERT_EQ(l.v[0].rules[0].net.addr.values.n, 1, "template unchanged");
out:
	pf_policy_free(&inst);
	pf_policy_free(&inst2);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

/* Parses TEMPLATE + one binding; returns pf_binding_check's verdict on it. */
static int check_binding(const char *values, char *err, size_t err_len, int *line, int *col)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	char text[4096];
	int ret = -1;

	snprintf(text, sizeof(text), "%s---\n%s", TEMPLATE, values);
	*line = *col = 0;
	err[0] = 0;
	if (ASSERT_OK(parse(text, &l, &d), "parse") && ASSERT_EQ(l.n, 2, "two objects"))
		ret = pf_binding_check(&l.v[0], &l.v[1], err, err_len, line, col);
	/* the reader leaves the operators' checks to the template: not even a warning */
	ASSERT_EQ(d.n, 0, "no diagnostic from the reader");
	pf_diags_print(&d, stderr);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
	return ret;
}

/* Binding lines: template 1-13, "---" 14, the binding's values from line 22. */
PF_TEST(netpolicy_binding_bad_values_refused_at_their_position)
{
	char err[1024];
	int line, col;

	ASSERT_EQ(check_binding(BINDING("b", "    cidrs:\n"
					     "    - 10.0.0.0/8\n"
					     "    - 10.1.2.3/8\n"
					     "    - bogus\n"),
				err, sizeof(err), &line, &col),
		  -EINVAL, "host bits");
	ASSERT_STRSTR(err,
		      "spec.values.cidrs[1]: \"10.1.2.3/8\" has host bits set beyond its /8 "
		      "prefix: did you mean \"10.0.0.0/8\" (the network) or \"10.1.2.3/32\" (the "
		      "one address)? (NotSAddr value of template \"egress\" line 10)",
		      "message: the first refused value in the file");
	ASSERT_EQ(line, 24, "line of the value");
	ASSERT_EQ(col, 7, "column of the value");

	ASSERT_EQ(check_binding(BINDING("b", "    ports: [\"443\", \"65536\"]\n"), err, sizeof(err),
				&line, &col),
		  -EINVAL, "port out of range");
	ASSERT_STRSTR(err,
		      "spec.values.ports[1]: \"65536\": port 65536 is out of range (0 to 65535) "
		      "(NotSPort value of template \"egress\" line 12)",
		      "message");
	ASSERT_EQ(line, 22, "line");
	ASSERT_EQ(col, 20, "column");

	/* a path is no CIDR: the template's operator decides */
	ASSERT_EQ(check_binding(BINDING("b", "    cidrs: [/usr/bin/true]\n"), err, sizeof(err),
				&line, &col),
		  -EINVAL, "a path");
	ASSERT_STRSTR(err, "\"/usr/bin/true\" is not an IP address or CIDR", "message");

	ASSERT_EQ(check_binding(BINDING("b", "    cidrs: [\"::1\", 127.0.0.1, 10.0.0.0/8]\n"
					     "    ports: [\"53\", \"8000:8080\"]\n"),
				err, sizeof(err), &line, &col),
		  0, "good values, canonical or not");
}

PF_TEST(netpolicy_binding_refused_takes_no_part)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	struct pf_binding_why why;
	struct pf_policy inst = {};
	const struct pf_policy *b[1];
	char err[512];

	if (!ASSERT_OK(parse(TEMPLATE "---\n" BINDING("b", "    cidrs: [10.1.2.3/8]\n"), &l, &d),
		       "parse") ||
	    !ASSERT_EQ(l.n, 2, "two objects"))
		goto out;
	ASSERT_EQ(pf_binding_accept(&l.v[0], &l.v[1], &why), PF_BINDING_REJECTED, "rejected");
	ASSERT_STRSTR(why.msg, "did you mean \"10.0.0.0/8\"", "why");
	ASSERT_EQ(why.line, 22, "line");
	ASSERT_EQ(why.col, 13, "column");
	/* instantiated anyway (a caller's bug): an error, never the value dropped */
	b[0] = &l.v[1];
	ASSERT_EQ(pf_template_instantiate(&l.v[0], b, 1, &inst, err, sizeof(err)), -EINVAL,
		  "instance refused");
	ASSERT_STRSTR(err, "NotSAddr value \"10.1.2.3/8\" has host bits set", "why");
	ASSERT_TRUE(inst.rules == NULL && inst.name == NULL, "nothing left behind");
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(netpolicy_template_refusals)
{
	static const struct {
		const char *text, *needle;
		int line, col;
	} cases[] = {
	    /* a binding's value is checked against every use of its parameter */
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: t}\n"
	     "spec:\n  parameters: [{name: a}]\n  kprobes:\n  - call: security_socket_connect\n"
	     "    args: [{index: 0, type: socket}, {index: 1, type: sockaddr}]\n    selectors:\n"
	     "    - matchArgs: [{index: 1, operator: NotSAddr, valuesFrom: a}]\n"
	     "    - matchArgs: [{index: 1, operator: NotSPort, valuesFrom: a}]\n",
	     "matchArgs[0].valuesFrom: parameter \"a\" holds CIDRs (NotSAddr, line 10): a NotSPort "
	     "value cannot be one (use another parameter)",
	     11, 62},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: t}\n"
	     "spec:\n  parameters: [{name: a}]\n  kprobes:\n  - call: tcp_connect\n"
	     "    args: [{index: 0, type: sock}]\n    selectors:\n"
	     "    - matchArgs: [{index: 0, operator: Family, valuesFrom: a}]\n",
	     "matchArgs[0].valuesFrom: Family takes its values in the policy (valuesFrom is for "
	     "the address and port operators)",
	     10, 60},
	    {"apiVersion: podfence.io/v1alpha1\nkind: PolicyTemplate\nmetadata: {name: t}\n"
	     "spec:\n  parameters: [{name: a}]\n  lsmhooks:\n  - hook: socket_connect\n"
	     "    args: [{index: 0, type: socket}, {index: 1, type: sockaddr}]\n    selectors:\n"
	     "    - matchArgs: [{index: 1, operator: NotSAddr, valuesFrom: b}]\n",
	     "valuesFrom: \"b\" is not a parameter of this template", 10, 62},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pf_policy_list l = {};
		struct pf_diags d = {};
		const struct pf_diag *e;

		ASSERT_EQ(parse(cases[i].text, &l, &d), -EINVAL, cases[i].needle);
		e = diag(&d, PF_SEV_ERROR, cases[i].needle);
		if (ASSERT_NOT_NULL(e, cases[i].needle)) {
			ASSERT_EQ(e->line, cases[i].line, cases[i].needle);
			ASSERT_EQ(e->col, cases[i].col, cases[i].needle);
		}
		pf_policy_list_free(&l);
		pf_diags_free(&d);
	}
}

/* ---- exec and connect hooks in one policy ------------------------------- */

/* Lines 1-5 HDR; kprobes: exec (group 0), tcp_connect denying every connect (1); lsmhooks (2). */
#define MIXED                                                                                      \
	HDR "  kprobes:\n"                                                                         \
	    "  - call: security_bprm_check\n"                                                      \
	    "    args: [{index: 0, type: linux_binprm}]\n"                                         \
	    "    selectors:\n"                                                                     \
	    "    - matchArgs: [{index: 0, operator: Equal, values: [/usr/bin/nc]}]\n"              \
	    "      matchActions: [{action: Override, argError: -1}]\n"                             \
	    "  - call: tcp_connect\n"                                                              \
	    "    selectors:\n"                                                                     \
	    "    - matchActions: [{action: Override, argError: -13}]\n"                            \
	    "  lsmhooks:\n"                                                                        \
	    "  - hook: bprm_check_security\n"                                                      \
	    "    args: [{index: 0, type: file}]\n"                                                 \
	    "    selectors:\n"                                                                     \
	    "    - matchArgs: [{index: 0, operator: Prefix, values: [/tmp/]}]\n"                   \
	    "      matchActions: [{action: Override, argError: -1}]\n"

static bool exec_blocked(const struct pf_policy *p, const char *path)
{
	struct pf_labels labels = {};
	struct pf_eval_result r;
	struct pf_eval_query q = {
	    .pod_namespace = "shop", .pod_labels = &labels, .container = "c", .path = path};
	bool b;

	if (!ASSERT_OK(pf_evaluate(&p, 1, &q, &r), "evaluate"))
		return false;
	b = r.blocked;
	pf_eval_result_free(&r);
	return b;
}

PF_TEST(netpolicy_mixed_exec_and_connect_hooks)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	struct pf_compiled *c = calloc(1, sizeof(*c));
	const struct pf_policy *p;
	size_t n_values = 0;
	uint8_t group = 0;
	char err[256];

	p = parse_one(MIXED, &l, &d);
	if (!c || !p || !ASSERT_EQ(p->n_rules, 3, "three selectors"))
		goto out;
	ASSERT_STREQ(p->hook, "security_bprm_check", "first hook as written");
	ASSERT_EQ(p->rules[0].profile, PF_PROFILE_EXEC, "exec");
	ASSERT_EQ(p->rules[0].group, 0, "group 0");
	ASSERT_EQ(p->rules[1].profile, PF_PROFILE_NET, "connect");
	ASSERT_EQ(p->rules[1].group, 1, "group 1");
	ASSERT_EQ(p->rules[1].err, 13, "argError -13");
	ASSERT_EQ(p->rules[1].net.protocols, PF_NET_TCP, "tcp_connect");
	ASSERT_EQ(p->rules[2].profile, PF_PROFILE_EXEC, "exec");
	ASSERT_EQ(p->rules[2].group, 2, "group 2");
	/* the exec compiler never sees the connect rule: it has no exec condition */
	if (ASSERT_OK(pf_compile_policy(p, 7, &group, true, c, err, sizeof(err)), err) &&
	    ASSERT_EQ(c->n, 2, "the exec rules only")) {
		ASSERT_EQ(c->rules[0].n_conds, 1, "Equal");
		ASSERT_EQ(c->rules[1].n_conds, 1, "Prefix");
		ASSERT_NEQ(c->rules[0].group, c->rules[1].group, "two exec hook entries");
	}
	ASSERT_OK(pf_policy_validate(p, &n_values, err, sizeof(err)), err);
	/* nor does the reference evaluator: "every connect" is not "every exec" */
	ASSERT_FALSE(exec_blocked(p, "/usr/bin/true"), "an exec no exec selector matches");
	ASSERT_TRUE(exec_blocked(p, "/usr/bin/nc"), "exec selector");
	ASSERT_TRUE(exec_blocked(p, "/tmp/x"), "second exec hook entry");
out:
	if (c)
		pf_compiled_free(c);
	free(c);
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

/* A policy of connect hooks only: nothing for the exec compiler, and valid. */
PF_TEST(netpolicy_connect_only_policy_validates)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};
	const struct pf_policy *p;
	size_t n_values;
	char err[256];

	p = parse_one(HDR TCP_HOOK SEL ARG("0", "DAddr", "169.254.169.254/32") DENY, &l, &d);
	if (p) {
		ASSERT_OK(pf_policy_validate(p, &n_values, err, sizeof(err)), err);
		ASSERT_FALSE(exec_blocked(p, "/usr/bin/curl"), "no exec blocked");
	}
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

/* ---- allocation failures -------------------------------------------------- */

/*
 * Parse + instantiate; every allocation fails in turn: -ENOMEM or (where the
 * reader can do without, as its duplicate-key check) the complete result;
 * never a leak, a crash or half an instance.
 */
PF_TEST(netpolicy_failing_at_each_allocation)
{
	static const char text[] =
	    TEMPLATE "---\n" BINDING("a", "    cidrs: [10.0.0.0/8]\n"
					  "    ports: [\"443\", \"80:81\"]\n");
	unsigned long fired = 0;

	for (unsigned long k = 0;; k++) {
		struct pf_policy_list l = {};
		struct pf_diags d = {};
		struct pf_policy inst = {};
		const struct pf_policy *b[1];
		char err[256];
		int ret;

		pf_failalloc_arm(k);
		ret = parse(text, &l, &d);
		if (!ret && ASSERT_EQ(l.n, 2, "complete file")) {
			b[0] = &l.v[1];
			ret = pf_template_instantiate(&l.v[0], b, 1, &inst, err, sizeof(err));
		}
		pf_failalloc_disarm();
		ASSERT_TRUE(ret == 0 || (ret == -ENOMEM && k > 0), "complete, or out of memory");
		if (!ret) {
			ASSERT_EQ(inst.rules[0].net.addr.values.n, 2, "complete instance");
			ASSERT_EQ(inst.rules[1].net.port.values.n, 2, "complete instance");
		}
		fired += pf_failalloc_fired();
		pf_policy_free(&inst);
		pf_policy_list_free(&l);
		pf_diags_free(&d);
		if (k > 0 && !pf_failalloc_fired())
			break;
	}
	ASSERT_GE(fired, 20, "allocations made to fail");
}

/*
 * The kernel's form of egress values (netaddr.c): a CIDR one net_values key,
 * its host bits zeroed; a port range its prefixes; the prefix lengths a
 * ruleset looks up; small port lists and IPv4 CIDR lists inline, a larger
 * one or one with an IPv6 value refused (a set).
 */
PF_TEST(netpolicy_values_as_the_kernel_keys_them)
{
	static const uint8_t v4[4] = {10, 0, 0, 0}, v6[16] = {0xfd, 0x00, 0x12};
	struct pf_net_key keys[32];
	struct pf_net_shared sh = {};
	struct pf_strset cidrs = {}, few = {}, many = {};
	uint32_t ref = 0;
	int n;

	n = pf_net_value_keys(PF_MATCH_CIDR, 7, "10.0.0.0/8", keys);
	ASSERT_EQ(n, 1, "a CIDR is one key");
	ASSERT_TRUE(keys[0].set_id == 7 && keys[0].kind == PF_NET_KEY_V4 &&
			keys[0].prefixlen == 8 && !memcmp(keys[0].data, v4, 4),
		    "set, kind, length, address");
	n = pf_net_value_keys(PF_MATCH_CIDR, 7, "fd00:1200::/24", keys);
	ASSERT_TRUE(n == 1 && keys[0].kind == PF_NET_KEY_V6 && keys[0].prefixlen == 24 &&
			!memcmp(keys[0].data, v6, 16),
		    "IPv6, bits past /24 zero");
	n = pf_net_value_keys(PF_MATCH_PORT, 7, "1000-1999", keys);
	ASSERT_TRUE(n > 1 && keys[0].kind == PF_NET_KEY_PORT, "a range is its prefixes");
	ASSERT_EQ(pf_net_value_keys(PF_MATCH_CIDR, 7, "not-a-cidr", keys), -EINVAL, "bad value");

	pf_strset_add(&cidrs, "10.0.0.0/8");
	pf_strset_add(&cidrs, "192.0.2.1/32");
	pf_strset_add(&cidrs, "::1/128");
	pf_strset_add(&cidrs, "fd00::/8");
	ASSERT_OK(pf_net_lens_add(&sh, PF_MATCH_CIDR, &cidrs), "lengths");
	ASSERT_EQ(sh.v4_lens, (1ull << 8) | (1ull << 32), "IPv4 /8 and /32");
	ASSERT_EQ(sh.v6_lens, (1ull << 4) | (1ull << 63), "IPv6 /8 (bit 4) and /128 (bit 63)");

	pf_strset_add(&few, "53");
	pf_strset_add(&few, "8000-8080");
	ASSERT_OK(pf_net_ports_inline_add(&sh, &few, &ref), "2 ranges inline");
	ASSERT_EQ(ref, pf_net_inline_ref(0, 2), "ranges 0 and 1");
	ASSERT_TRUE(sh.n_ports == 2 && sh.ports[1].lo == 8000 && sh.ports[1].hi == 8080,
		    "the range as written");
	for (int p = 1; p <= 4; p++) {
		char v[8];

		snprintf(v, sizeof(v), "%d", p);
		pf_strset_add(&many, v);
	}
	ASSERT_EQ(pf_net_ports_inline_add(&sh, &many, &ref), -ENOSPC, "4 more do not fit in 5");
	ASSERT_EQ(sh.n_ports, 2, "nothing taken");

	ASSERT_EQ(pf_net_addrs_inline_add(&sh, &cidrs, &ref), -ENOSPC, "an IPv6 value: a set");
	ASSERT_EQ(sh.n_v4, 0, "nothing taken");
	pf_strset_free(&few);
	pf_strset_add(&few, "10.0.0.0/8");
	pf_strset_add(&few, "192.0.2.7/32");
	pf_strset_add(&few, "198.51.100.0/24");
	ASSERT_OK(pf_net_addrs_inline_add(&sh, &few, &ref), "3 IPv4 CIDRs inline");
	ASSERT_EQ(ref, pf_net_inline_ref(0, 3), "CIDRs 0, 1 and 2");
	ASSERT_TRUE(sh.v4[0].addr == htonl(0x0a000000) && sh.v4[0].mask == htonl(0xff000000),
		    "10.0.0.0/8: mask /8");
	ASSERT_TRUE(sh.v4[1].addr == htonl(0xc0000207) && sh.v4[1].mask == 0xffffffffu,
		    "192.0.2.7/32");
	ASSERT_TRUE(sh.v4[2].addr == htonl(0xc6336400) && sh.v4[2].mask == htonl(0xffffff00),
		    "198.51.100.0/24");
	pf_strset_free(&many);
	for (int k = 0; k < 14; k++) {
		char v[24];

		snprintf(v, sizeof(v), "10.9.%d.0/24", k);
		pf_strset_add(&many, v);
	}
	ASSERT_EQ(pf_net_addrs_inline_add(&sh, &many, &ref), -ENOSPC, "14 more do not fit in 16");
	ASSERT_EQ(sh.n_v4, 3, "nothing taken");
	pf_strset_free(&cidrs);
	pf_strset_free(&few);
	pf_strset_free(&many);
}
