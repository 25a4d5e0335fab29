// SPDX-License-Identifier: Apache-2.0
/*
 * The reference evaluator on connections (docs/policy.md 9): connect hooks
 * judge connections only, exec hooks execs only; CIDR and port membership;
 * the union of a template's bindings; a deny inside an allowlist; protocol
 * of tcp_connect; IPv4-mapped destinations; raw sockets.
 */
#include <string.h>
#include "pf_test.h"
#include "podfence/evaluate.h"
#include "podfence/policy.h"

static const char *const egress_policies =
    "apiVersion: podfence.io/v1alpha1\n"
    "kind: PolicyTemplate\n"
    "metadata: {name: egress}\n"
    "spec:\n"
    "  parameters: [{name: cidrs}, {name: ports}]\n"
    "  kprobes:\n"
    "  - call: security_socket_connect\n"
    "    args: [{index: 0, type: socket}, {index: 1, type: sockaddr}]\n"
    "    selectors:\n"
    "    - matchArgs: [{index: 1, operator: NotSAddr, valuesFrom: cidrs}]\n"
    "      matchActions: [{action: Override, argError: -1}]\n"
    "    - matchArgs: [{index: 1, operator: NotSPort, valuesFrom: ports}]\n"
    "      matchActions: [{action: Override, argError: -13}]\n"
    "---\n"
    "apiVersion: podfence.io/v1alpha1\n"
    "kind: PolicyBinding\n"
    "metadata: {name: a, namespace: shop}\n"
    "spec:\n"
    "  templateRef: egress\n"
    "  podSelector: {matchLabels: {app: web}}\n"
    "  values: {cidrs: [10.0.0.0/8], ports: ['443']}\n"
    "---\n"
    "apiVersion: podfence.io/v1alpha1\n"
    "kind: PolicyBinding\n"
    "metadata: {name: b, namespace: shop}\n"
    "spec:\n"
    "  templateRef: egress\n"
    "  podSelector: {matchLabels: {app: web}}\n"
    "  values: {cidrs: ['fd00::/8'], ports: ['8000:8080']}\n"
    "---\n"
    "apiVersion: cilium.io/v1alpha1\n"
    "kind: TracingPolicy\n"
    "metadata: {name: no-db}\n"
    "spec:\n"
    "  kprobes:\n"
    "  - call: tcp_connect\n"
    "    args: [{index: 0, type: sock}]\n"
    "    selectors:\n"
    "    - matchArgs: [{index: 0, operator: DAddr, values: [10.9.0.0/16]}]\n"
    "      matchActions: [{action: Override, argError: -1}]\n"
    "  - call: security_bprm_check\n"
    "    args: [{index: 0, type: file}]\n"
    "    selectors:\n"
    "    - matchArgs: [{index: 0, operator: Equal, values: [/bin/nc]}]\n"
    "      matchActions: [{action: Override, argError: -1}]\n";

/* The verdict on one call: 0 allowed, else the errno. */
static int verdict(const struct pf_policy_list *l, const char *conn, const char *path)
{
	const struct pf_policy *v[8];
	struct pf_labels labels = {};
	struct pf_eval_connect c;
	struct pf_eval_query q = {
	    .pod_namespace = "shop", .pod_labels = &labels, .container = "web", .path = path};
	struct pf_eval_result r;
	int ret;

	for (size_t i = 0; i < l->n && i < 8; i++)
		v[i] = &l->v[i];
	if (conn) {
		if (pf_eval_connect_parse(conn, &c))
			return -1;
		q.connect = &c;
		q.path = NULL;
	}
	pf_labels_set(&labels, "app", "web");
	if (pf_evaluate(v, l->n, &q, &r)) {
		pf_labels_free(&labels);
		return -2;
	}
	ret = r.blocked ? r.err : 0;
	pf_eval_result_free(&r);
	pf_labels_free(&labels);
	return ret;
}

PF_TEST(evaluator_connects_union_deny_inside_protocol_mapped_raw)
{
	struct pf_policy_list l = {};
	struct pf_diags d = {};

	if (!ASSERT_OK(
		pf_policy_parse_buf("e.yaml", egress_policies, strlen(egress_policies), &l, &d),
		"parse")) {
		pf_diags_print(&d, stderr);
		goto out;
	}
	ASSERT_EQ(verdict(&l, "tcp://10.1.2.3:443", NULL), 0, "binding a's CIDR and port");
	ASSERT_EQ(verdict(&l, "tcp://10.1.2.3:8080", NULL), 0, "a's CIDR, b's port (union)");
	ASSERT_EQ(verdict(&l, "udp://[fd00::1]:443", NULL), 0, "b's CIDR, a's port");
	ASSERT_EQ(verdict(&l, "tcp://10.1.2.3:22", NULL), 13, "a port in neither: -13");
	ASSERT_EQ(verdict(&l, "tcp://192.0.2.1:443", NULL), 1, "an address in neither");
	ASSERT_EQ(verdict(&l, "tcp://[::ffff:10.1.2.3]:443", NULL), 0, "mapped: IPv4 CIDRs");
	ASSERT_EQ(verdict(&l, "tcp://[::ffff:192.0.2.1]:443", NULL), 1, "mapped outside");
	ASSERT_EQ(verdict(&l, "tcp://10.9.1.1:443", NULL), 1, "deny inside the allowlist");
	ASSERT_EQ(verdict(&l, "udp://10.9.1.1:443", NULL), 0, "tcp_connect: TCP only");
	ASSERT_EQ(verdict(&l, "tcp://10.8.255.255:8000", NULL), 0, "just outside the deny");
	ASSERT_EQ(verdict(&l, "raw://", NULL), 1, "raw socket under enforcing egress rules");
	/* exec hooks judge execs only, connect hooks connections only */
	ASSERT_EQ(verdict(&l, NULL, "/bin/nc"), 1, "the exec hook of the same policy");
	ASSERT_EQ(verdict(&l, NULL, "/bin/sh"), 0, "no connect selector matches an exec");
	ASSERT_EQ(verdict(&l, "tcp://[2001:db8::1]:1", NULL), 1, "IPv6 outside");
out:
	pf_policy_list_free(&l);
	pf_diags_free(&d);
}

PF_TEST(evaluator_connect_parse)
{
	struct pf_eval_connect c;

	ASSERT_OK(pf_eval_connect_parse("tcp://[fd00::1]:53", &c), "IPv6 in brackets");
	ASSERT_EQ(c.family, PF_NET_INET6, "family");
	ASSERT_EQ(c.port, 53, "port");
	ASSERT_OK(pf_eval_connect_parse("udp://[::ffff:1.2.3.4]:7", &c), "mapped");
	ASSERT_EQ(c.family, PF_NET_INET, "mapped is IPv4");
	ASSERT_EQ(c.addr[0], 1, "IPv4 bytes first");
	ASSERT_EQ(pf_eval_connect_parse("tcp://10.0.0.0/8:1", &c), -EINVAL, "a CIDR is no host");
	ASSERT_EQ(pf_eval_connect_parse("tcp://1.2.3.4:65536", &c), -EINVAL, "port range");
	ASSERT_EQ(pf_eval_connect_parse("icmp://1.2.3.4:1", &c), -EINVAL, "scheme");
}
