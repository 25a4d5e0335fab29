// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel tier: egress (net.bpf.h). Real sockets from a process in a bound
 * cgroup, inside a network namespace of its own (loopback up, listeners on
 * it): allowed TCP connects and UDP sends go through, the others fail with
 * EPERM (or the rule's errno); IPv4, IPv6 and IPv4-mapped; an allowlist of
 * CIDRs with a more specific deny inside it; port ranges; a protocol; raw
 * and ping sockets refused; an unbound cgroup untouched; missing rules
 * deny; and a connect storm while rules and bindings change.
 *
 * This file opens its own store: its maps hold only this file's cgroups.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "pf_kfixture.h"
#include "pf_test.h"
#include "podfence/kstore.h"
#include "podfence/netaddr.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif

#define LISTEN_PORT 1500

static struct pf_kstore *nstore;

enum probe_op {
	OP_CONNECT,  /* connect(2) */
	OP_SENDTO,   /* sendto(2) on an unconnected socket */
	OP_FASTOPEN, /* sendto(MSG_FASTOPEN) on a TCP socket: a connect */
	OP_SOCKET,   /* socket(2) alone (raw, ping) */
};

struct probe {
	const char *what;
	int family, type, protocol;
	enum probe_op op;
	const char *addr;
	int port;
	int want; /* 0: goes through the hook (any result but EPERM/EACCES); else that errno */
};

/* Outcome of one probe: the errno of the call, 0 on success. */
static int probe_run(const struct probe *p)
{
	struct sockaddr_storage ss = {};
	struct timeval tv = {.tv_sec = 2};
	socklen_t len;
	int fd, rc, err;

	fd = socket(p->family, p->type | SOCK_CLOEXEC, p->protocol);
	if (fd < 0)
		return errno;
	if (p->op == OP_SOCKET) {
		close(fd);
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (p->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(p->port);
		inet_pton(AF_INET, p->addr, &sin->sin_addr);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p->port);
		inet_pton(AF_INET6, p->addr, &sin6->sin6_addr);
		len = sizeof(*sin6);
	}
	if (p->op == OP_CONNECT)
		rc = connect(fd, (struct sockaddr *)&ss, len);
	else
		rc = sendto(fd, "x", 1, p->op == OP_FASTOPEN ? MSG_FASTOPEN : 0,
			    (struct sockaddr *)&ss, len);
	err = rc < 0 ? errno : 0;
	close(fd);
	return err;
}

/*
 * Kernels before 5.18 cannot choose a cgroup program's errno: there (the
 * compat build of the programs) every refusal is EPERM.
 */
static bool refusals_are_eperm;

static bool probe_ok(const struct probe *p, int got)
{
	if (p->want)
		return got == (refusals_are_eperm ? EPERM : p->want);
	return got != EPERM && got != EACCES;
}

/* Loopback up in a fresh network namespace, with TCP listeners on it. */
static int netns_with_listeners(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(LISTEN_PORT)};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(LISTEN_PORT)};
	int one = 1, fd, fd6, err = pf_kfix_netns_lo();

	if (err)
		return err;
	/* ICMP ping sockets for every group: refused by podfence, not by this switch */
	fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0 2147483647", 12) != 12)
		return -EIO;
	close(fd);
	/* Listeners stay open for the child's life: connects need no accept(). */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || fd6 < 0)
		return -errno;
	sin6.sin6_addr = in6addr_loopback;
	setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 1024) ||
	    bind(fd6, (struct sockaddr *)&sin6, sizeof(sin6)) || listen(fd6, 1024))
		return -errno;
	return 0;
}

static int cg_join(const struct pf_sandbox_cg *cg)
{
	char path[PATH_MAX + 16];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -EIO;
}

struct probe_job {
	const struct pf_sandbox_cg *cg;
	const struct probe *probes;
	size_t n;
};

/* Child: joins the cgroup, then a network namespace of its own; reports each errno. */
static void probe_child(void *ctx, int report_fd)
{
	struct probe_job *j = ctx;
	int got[64] = {};

	if (cg_join(j->cg)) {
		got[0] = -1;
	} else if (netns_with_listeners()) {
		got[0] = -2;
	} else {
		for (size_t i = 0; i < j->n && i < 64; i++)
			got[i] = probe_run(&j->probes[i]);
	}
	if (write(report_fd, got, sizeof(got)) != sizeof(got))
		_exit(2);
	_exit(0);
}

static bool run_probes(const struct pf_sandbox_cg *cg, const struct probe *probes, size_t n)
{
	struct probe_job j = {cg, probes, n};
	struct pf_exec_result res;
	int got[64] = {};
	ssize_t len = 0;
	bool ok = true;

	if (!ASSERT_OK(pf_sandbox_fork(probe_child, &j, got, sizeof(got), &len, &res), "fork") ||
	    !ASSERT_EQ(len, (ssize_t)sizeof(got), "child's report") ||
	    !ASSERT_TRUE(got[0] >= 0, "child joined its cgroup and network namespace"))
		return false;
	for (size_t i = 0; i < n; i++) {
		char what[160];

		snprintf(what, sizeof(what), "%s (got %s)", probes[i].what, strerror(got[i]));
		ok &= ASSERT_TRUE(probe_ok(&probes[i], got[i]), what);
	}
	return ok;
}

/* The prefix lengths of values, added to the ruleset that uses their set. */
static int lens_add(struct pf_net_ruleset *rs, enum pf_match match, const struct pf_strset *set)
{
	struct pf_net_shared l = {rs->v4_lens, rs->v6_lens, rs->port_lens};
	int err = pf_net_lens_add(&l, match, set);

	rs->v4_lens = l.v4_lens;
	rs->v6_lens = l.v6_lens;
	rs->port_lens = l.port_lens;
	return err;
}

/* IPv4 CIDRs kept in the ruleset itself (the ruleset's first inline ones), as the engine keeps
 * them. */
static bool addrs_inline(uint32_t *ref, const char *const *values, size_t n,
			 struct pf_net_ruleset *rs)
{
	struct pf_net_shared l = {};
	struct pf_strset set = {};
	int err = 0;

	for (size_t i = 0; i < n && err >= 0; i++)
		err = pf_strset_add(&set, values[i]);
	if (err >= 0)
		err = pf_net_addrs_inline_add(&l, &set, ref);
	memcpy(rs->v4, l.v4, sizeof(rs->v4));
	pf_strset_free(&set);
	return ASSERT_OK(err < 0 ? err : 0, "CIDRs inline");
}

static bool set_write(uint32_t *id, enum pf_match match, const char *const *values, size_t n,
		      struct pf_net_ruleset *rs)
{
	struct pf_strset set = {};
	char msg[256] = "";
	uint8_t tiers;
	int err = 0;

	for (size_t i = 0; i < n && err >= 0; i++)
		err = pf_strset_add(&set, values[i]);
	if (err >= 0)
		err = pf_kstore_alloc_set_id(nstore, id);
	if (!err)
		err = pf_kstore_set_write(nstore, *id, match, &set, &tiers, msg, sizeof(msg));
	if (!err)
		err = lens_add(rs, match, &set);
	pf_strset_free(&set);
	return ASSERT_OK(err < 0 ? err : 0, msg[0] ? msg : "set written");
}

/* The egress rules the tests share (group = policy). */
struct net_policy {
	uint32_t policy_id[5];
	uint32_t allow, deny, ports, watch; /* set ids (deny: inline CIDRs) */
	struct pf_net_ruleset rs;
};

static bool net_policy_make(struct net_policy *np)
{
	static const char *const allow[] = {"127.0.0.0/8", "::1/128"};
	static const char *const deny[] = {"127.0.0.2/32", "127.9.0.0/16"};
	static const char *const ports[] = {"1000-1999", "53"};
	static const char *const watch[] = {"127.0.0.3/32"};
	struct pf_net_rule *r = np->rs.rules;

	memset(np, 0, sizeof(*np));
	for (int i = 0; i < 5; i++)
		if (!ASSERT_OK(pf_kstore_alloc_policy_id(nstore, &np->policy_id[i]), "policy id") ||
		    !ASSERT_OK(pf_kstore_counters_create(nstore, np->policy_id[i]), "counters"))
			return false;
	if (!set_write(&np->allow, PF_MATCH_CIDR, allow, 2, &np->rs) ||
	    !addrs_inline(&np->deny, deny, 2, &np->rs) ||
	    !set_write(&np->ports, PF_MATCH_PORT, ports, 2, &np->rs) ||
	    !set_write(&np->watch, PF_MATCH_CIDR, watch, 1, &np->rs))
		return false;
	/* an allowlist of destinations: NotDAddr -> deny */
	r[0] = (struct pf_net_rule){.policy_id = np->policy_id[0],
				    .addr_set = np->allow,
				    .negate = PF_NET_NOT_ADDR,
				    .actions = PF_ACT_DENY,
				    .group = 0};
	/* a more specific deny inside it, its CIDRs inline (the allowlist's: a set) */
	r[1] = (struct pf_net_rule){.policy_id = np->policy_id[1],
				    .addr_set = np->deny,
				    .actions = PF_ACT_DENY,
				    .group = 1};
	/* an allowlist of ports: NotDPort -> deny */
	r[2] = (struct pf_net_rule){.policy_id = np->policy_id[2],
				    .port_set = np->ports,
				    .negate = PF_NET_NOT_PORT,
				    .actions = PF_ACT_DENY,
				    .group = 2};
	/* UDP to one port, with its own errno (Override argError); the port kept inline */
	np->rs.ports[0] = (struct pf_net_port_range){1999, 1999};
	r[3] = (struct pf_net_rule){.policy_id = np->policy_id[3],
				    .port_set = pf_net_inline_ref(0, 1),
				    .protocols = PF_NET_UDP,
				    .actions = PF_ACT_DENY,
				    .err = EACCES,
				    .group = 3};
	/* monitor mode: reported, never blocked */
	r[4] = (struct pf_net_rule){.policy_id = np->policy_id[4],
				    .addr_set = np->watch,
				    .actions = PF_ACT_DENY,
				    .flags = PF_RULE_MONITOR,
				    .group = 4};
	np->rs.n_rules = 5;
	np->rs.flags = PF_NRS_NO_RAW;
	return true;
}

/* A bound workload: its exec ruleset (no exec rule, egress rules flagged) and egress rules. */
static bool workload_write(uint32_t wl_id, const struct pf_net_ruleset *nrs)
{
	struct pf_ruleset rs = {.generation = 1, .flags = PF_RS_NET};
	char msg[256] = "";

	return ASSERT_OK(pf_kstore_net_ruleset_write(nstore, wl_id, nrs, msg, sizeof(msg)),
			 msg[0] ? msg : "egress rules") &&
	       ASSERT_OK(pf_kstore_ruleset_write(nstore, wl_id, &rs, msg, sizeof(msg)),
			 msg[0] ? msg : "exec ruleset");
}

struct net_events {
	uint64_t cgroup_id;
	int blocked_10_1_2_3, monitored_127_0_0_3, mapped_blocked, raw_blocked;
};

static int on_net_event(void *ctx, const struct pf_event *ev, size_t size)
{
	struct net_events *s = ctx;
	const struct pf_net_event *ne = (const void *)ev;
	static const uint8_t a10[4] = {10, 1, 2, 3}, a127[4] = {127, 0, 0, 3};

	if (size < sizeof(*ne) || !(ev->flags & PF_EV_NET) || ev->cgroup_id != s->cgroup_id)
		return 0;
	if (ne->hook == PF_NET_HOOK_SOCKET && (ne->flags & PF_EV_BLOCKED))
		s->raw_blocked++;
	if (ne->family == AF_INET && !memcmp(ne->addr, a10, 4) && ne->port == LISTEN_PORT &&
	    (ne->flags & PF_EV_BLOCKED) && ne->protocol == IPPROTO_TCP)
		s->blocked_10_1_2_3++;
	if (ne->family == AF_INET && !memcmp(ne->addr, a10, 4) && ne->port == 53 &&
	    ne->hook == PF_NET_HOOK_SENDMSG && (ne->flags & PF_EV_BLOCKED))
		s->mapped_blocked++;
	if (ne->family == AF_INET && !memcmp(ne->addr, a127, 4) && (ne->flags & PF_EV_MONITOR) &&
	    !(ne->flags & PF_EV_BLOCKED) && ne->n_policies == 1)
		s->monitored_127_0_0_3++;
	return 0;
}

PF_TEST(net_connects_and_sends_judged_by_destination_port_and_protocol)
{
	const struct probe probes[] = {
	    {"TCP 127.0.0.1 (allowed, listener)", AF_INET, SOCK_STREAM, 0, OP_CONNECT, "127.0.0.1",
	     LISTEN_PORT, 0},
	    {"TCP [::1] (allowed, listener)", AF_INET6, SOCK_STREAM, 0, OP_CONNECT, "::1",
	     LISTEN_PORT, 0},
	    {"TCP [::ffff:127.0.0.1] (mapped, allowed)", AF_INET6, SOCK_STREAM, 0, OP_CONNECT,
	     "::ffff:127.0.0.1", LISTEN_PORT, 0},
	    {"TCP 10.1.2.3 (outside the allowlist)", AF_INET, SOCK_STREAM, 0, OP_CONNECT,
	     "10.1.2.3", LISTEN_PORT, EPERM},
	    {"TCP [fd00::5] (outside)", AF_INET6, SOCK_STREAM, 0, OP_CONNECT, "fd00::5",
	     LISTEN_PORT, EPERM},
	    {"TCP [::ffff:10.1.2.3] (mapped, outside)", AF_INET6, SOCK_STREAM, 0, OP_CONNECT,
	     "::ffff:10.1.2.3", LISTEN_PORT, EPERM},
	    {"TCP 127.0.0.2 (deny inside the allowlist)", AF_INET, SOCK_STREAM, 0, OP_CONNECT,
	     "127.0.0.2", LISTEN_PORT, EPERM},
	    {"TCP 127.9.4.4 (deny /16 inside)", AF_INET, SOCK_STREAM, 0, OP_CONNECT, "127.9.4.4",
	     LISTEN_PORT, EPERM},
	    {"TCP 127.0.0.4 (allowed, listener on any)", AF_INET, SOCK_STREAM, 0, OP_CONNECT,
	     "127.0.0.4", LISTEN_PORT, 0},
	    {"TCP port 2000 (outside the port ranges)", AF_INET, SOCK_STREAM, 0, OP_CONNECT,
	     "127.0.0.1", 2000, EPERM},
	    {"TCP port 1000 (range's first)", AF_INET, SOCK_STREAM, 0, OP_CONNECT, "127.0.0.1",
	     1000, 0},
	    {"TCP port 999 (before the range)", AF_INET, SOCK_STREAM, 0, OP_CONNECT, "127.0.0.1",
	     999, EPERM},
	    {"UDP sendto 127.0.0.1:53", AF_INET, SOCK_DGRAM, 0, OP_SENDTO, "127.0.0.1", 53, 0},
	    {"UDP sendto 127.0.0.1:2000", AF_INET, SOCK_DGRAM, 0, OP_SENDTO, "127.0.0.1", 2000,
	     EPERM},
	    {"UDP sendto 10.1.2.3:53", AF_INET, SOCK_DGRAM, 0, OP_SENDTO, "10.1.2.3", 53, EPERM},
	    {"UDP sendto 127.0.0.1:1999 (UDP rule, its errno)", AF_INET, SOCK_DGRAM, 0, OP_SENDTO,
	     "127.0.0.1", 1999, EACCES},
	    {"TCP 127.0.0.1:1999 (the UDP rule does not apply)", AF_INET, SOCK_STREAM, 0,
	     OP_CONNECT, "127.0.0.1", 1999, 0},
	    {"UDP connect 10.1.2.3:53", AF_INET, SOCK_DGRAM, 0, OP_CONNECT, "10.1.2.3", 53, EPERM},
	    {"UDP6 sendto [::ffff:10.1.2.3]:53 (mapped send)", AF_INET6, SOCK_DGRAM, 0, OP_SENDTO,
	     "::ffff:10.1.2.3", 53, EPERM},
	    {"UDP6 sendto [::1]:53", AF_INET6, SOCK_DGRAM, 0, OP_SENDTO, "::1", 53, 0},
	    {"UDP6 sendto [fd00::5]:53", AF_INET6, SOCK_DGRAM, 0, OP_SENDTO, "fd00::5", 53, EPERM},
	    {"TCP Fast Open sendto 10.1.2.3", AF_INET, SOCK_STREAM, 0, OP_FASTOPEN, "10.1.2.3",
	     LISTEN_PORT, EPERM},
	    {"raw socket", AF_INET, SOCK_RAW, IPPROTO_ICMP, OP_SOCKET, NULL, 0, EPERM},
	    {"raw IPv6 socket", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, OP_SOCKET, NULL, 0, EPERM},
	    {"ping socket", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, OP_SOCKET, NULL, 0, EPERM},
	    {"TCP 127.0.0.3 (monitored: reported, allowed)", AF_INET, SOCK_STREAM, 0, OP_CONNECT,
	     "127.0.0.3", LISTEN_PORT, 0},
	};
	/* The same calls from a cgroup nothing binds: no refusal at all. */
	const struct probe unbound[] = {
	    {"unbound: TCP 10.1.2.3", AF_INET, SOCK_STREAM, 0, OP_CONNECT, "10.1.2.3", LISTEN_PORT,
	     0},
	    {"unbound: UDP sendto 10.1.2.3:53", AF_INET, SOCK_DGRAM, 0, OP_SENDTO, "10.1.2.3", 53,
	     0},
	    {"unbound: raw socket", AF_INET, SOCK_RAW, IPPROTO_ICMP, OP_SOCKET, NULL, 0, 0},
	    {"unbound: ping socket", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, OP_SOCKET, NULL, 0, 0},
	    {"unbound: TCP 127.0.0.2", AF_INET, SOCK_STREAM, 0, OP_CONNECT, "127.0.0.2",
	     LISTEN_PORT, 0},
	};
	struct pf_sandbox_cg cg = {}, free_cg = {};
	struct net_events seen = {};
	struct pf_policy_counters cnt;
	struct net_policy np;
	uint32_t wl_id = 0;

	if (!pf_kfix_store(&nstore) || !net_policy_make(&np) ||
	    !ASSERT_OK(pf_sandbox_cg_create(&cg, NULL, "net"), "cgroup") ||
	    !ASSERT_OK(pf_sandbox_cg_create(&free_cg, NULL, "net-unbound"), "unbound cgroup") ||
	    !ASSERT_OK(pf_kstore_alloc_wl_id(nstore, false, &wl_id), "wl id") ||
	    !workload_write(wl_id, &np.rs) ||
	    !ASSERT_OK(pf_kstore_cgroup_bind(nstore, cg.id, wl_id, 0, 0, NULL, 0), "bind"))
		goto out;
	seen.cgroup_id = cg.id;
	if (!ASSERT_TRUE(pf_kstore_events_open(nstore, on_net_event, &seen) >= 0, "events"))
		goto out;

	refusals_are_eperm = pf_kstore_compat(nstore);
	run_probes(&cg, probes, sizeof(probes) / sizeof(*probes));
	run_probes(&free_cg, unbound, sizeof(unbound) / sizeof(*unbound));

	for (int i = 0; i < 30 && (seen.blocked_10_1_2_3 < 3 || !seen.monitored_127_0_0_3); i++)
		pf_kstore_events_poll(nstore, 100);
	ASSERT_EQ(seen.blocked_10_1_2_3, 3,
		  "events: TCP to 10.1.2.3:1500 blocked (connect, mapped, Fast Open)");
	ASSERT_EQ(seen.mapped_blocked, 2, "events: UDP to 10.1.2.3:53 blocked (v4 and mapped)");
	ASSERT_EQ(seen.monitored_127_0_0_3, 1, "event: 127.0.0.3 reported by the monitor policy");
	ASSERT_EQ(seen.raw_blocked, 3, "events: raw and ping sockets refused");
	if (ASSERT_OK(pf_kstore_counters_read(nstore, np.policy_id[1], &cnt), "counters")) {
		ASSERT_EQ(cnt.blocked, 2, "the deny inside the allowlist blocked twice");
		ASSERT_EQ(cnt.matched, 2, "and matched nothing else");
	}
	if (ASSERT_OK(pf_kstore_counters_read(nstore, np.policy_id[4], &cnt), "counters")) {
		ASSERT_EQ(cnt.blocked, 0, "monitor: nothing blocked");
		ASSERT_EQ(cnt.reported, 1, "monitor: one reported");
	}
out:
	pf_sandbox_cg_destroy(&cg);
	pf_sandbox_cg_destroy(&free_cg);
	if (wl_id) {
		pf_kstore_ruleset_delete(nstore, wl_id);
		pf_kstore_net_ruleset_delete(nstore, wl_id);
	}
}

/* Rules that should be there and are not: every connect of the workload is refused. */
PF_TEST(net_missing_rules_fail_closed)
{
	const struct probe probes[] = {
	    {"TCP 127.0.0.1 with the egress rules missing", AF_INET, SOCK_STREAM, 0, OP_CONNECT,
	     "127.0.0.1", LISTEN_PORT, EPERM},
	    {"UDP sendto 127.0.0.1:53 with the egress rules missing", AF_INET, SOCK_DGRAM, 0,
	     OP_SENDTO, "127.0.0.1", 53, EPERM},
	};
	const struct probe no_egress[] = {
	    {"TCP 10.1.2.3 from a workload with exec rules only", AF_INET, SOCK_STREAM, 0,
	     OP_CONNECT, "10.1.2.3", LISTEN_PORT, 0},
	};
	struct pf_ruleset rs = {.generation = 1, .flags = PF_RS_NET};
	struct pf_sandbox_cg cg = {};
	uint32_t wl_id = 0, wl_plain = 0;

	if (!pf_kfix_store(&nstore) ||
	    !ASSERT_OK(pf_sandbox_cg_create(&cg, NULL, "net-fc"), "cg") ||
	    !ASSERT_OK(pf_kstore_alloc_wl_id(nstore, false, &wl_id), "wl id") ||
	    !ASSERT_OK(pf_kstore_alloc_wl_id(nstore, false, &wl_plain), "wl id") ||
	    !ASSERT_OK(pf_kstore_ruleset_write(nstore, wl_id, &rs, NULL, 0), "exec ruleset"))
		goto out;
	/* flagged, no wl_net entry */
	if (ASSERT_OK(pf_kstore_cgroup_bind(nstore, cg.id, wl_id, 0, 0, NULL, 0), "bind"))
		run_probes(&cg, probes, 2);
	/* bound to a workload with no ruleset at all (retired id) */
	pf_kstore_ruleset_delete(nstore, wl_id);
	run_probes(&cg, probes, 2);
	/* a workload with exec rules and no egress rules: connects untouched */
	rs.flags = 0;
	if (ASSERT_OK(pf_kstore_ruleset_write(nstore, wl_plain, &rs, NULL, 0), "plain ruleset") &&
	    ASSERT_OK(pf_kstore_cgroup_bind(nstore, cg.id, wl_plain, 0, 0, NULL, 0), "rebind"))
		run_probes(&cg, no_egress, 1);
out:
	pf_sandbox_cg_destroy(&cg);
	if (wl_id)
		pf_kstore_ruleset_delete(nstore, wl_id);
	if (wl_plain)
		pf_kstore_ruleset_delete(nstore, wl_plain);
}

/*
 * A connect storm while user space rewrites the workload's rules (new sets,
 * then the rules pointing at them, then the old sets removed after the
 * barrier, as the engine does) and moves the cgroup between two workloads
 * that both forbid the destination: no forbidden connect ever gets through,
 * no allowed one is ever refused.
 */
#define STORM_ROUNDS 3000

struct storm {
	struct pf_sandbox_cg cg;
	uint32_t wl[2];
	atomic_bool stop;
	atomic_ulong writes;
	bool write_failed;
};

static void *storm_writer(void *arg)
{
	static const char *const allow[] = {"127.0.0.0/8"};
	static const char *const ports[] = {"1-65535"};
	struct storm *s = arg;
	unsigned long round = 0;

	while (!atomic_load(&s->stop)) {
		struct pf_net_ruleset rs = {.n_rules = 2, .flags = PF_NRS_NO_RAW};
		struct pf_strset a = {}, p = {};
		uint32_t wl = s->wl[round & 1], old_a = 0, old_p = 0, id_a = 0, id_p = 0;
		struct pf_net_ruleset prev;
		uint8_t tiers;

		pf_strset_add(&a, allow[0]);
		pf_strset_add(&p, ports[0]);
		lens_add(&rs, PF_MATCH_CIDR, &a);
		lens_add(&rs, PF_MATCH_PORT, &p);
		if (!pf_kstore_net_ruleset_read(nstore, wl, &prev)) {
			old_a = prev.rules[round & 1 ? 1 : 0].addr_set;
			old_p = prev.rules[round & 1 ? 0 : 1].port_set;
		}
		if (pf_kstore_alloc_set_id(nstore, &id_a) ||
		    pf_kstore_alloc_set_id(nstore, &id_p) ||
		    pf_kstore_set_write(nstore, id_a, PF_MATCH_CIDR, &a, &tiers, NULL, 0) ||
		    pf_kstore_set_write(nstore, id_p, PF_MATCH_PORT, &p, &tiers, NULL, 0)) {
			s->write_failed = true;
			break;
		}
		/* the same meaning, in another order each round */
		rs.rules[round & 1 ? 1 : 0] = (struct pf_net_rule){.addr_set = id_a,
								   .negate = PF_NET_NOT_ADDR,
								   .actions = PF_ACT_DENY,
								   .group = 0};
		rs.rules[round & 1 ? 0 : 1] = (struct pf_net_rule){.port_set = id_p,
								   .negate = PF_NET_NOT_PORT,
								   .actions = PF_ACT_DENY,
								   .group = 1};
		if (pf_kstore_net_ruleset_write(nstore, wl, &rs, NULL, 0) ||
		    pf_kstore_cgroup_bind(nstore, s->cg.id, wl, 0, 0, NULL, 0)) {
			s->write_failed = true;
			break;
		}
		/* the previous sets of this workload: unused once every program has ended */
		if (old_a && old_p) {
			pf_kstore_barrier(nstore);
			pf_kstore_set_delete(nstore, old_a, PF_MATCH_CIDR, &a);
			pf_kstore_set_delete(nstore, old_p, PF_MATCH_PORT, &p);
		}
		pf_strset_free(&a);
		pf_strset_free(&p);
		atomic_fetch_add(&s->writes, 1);
		round++;
	}
	return NULL;
}

static void storm_child(void *ctx, int report_fd)
{
	const struct probe denied = {"",	 AF_INET,    SOCK_STREAM, 0,
				     OP_CONNECT, "10.9.9.9", 80,	  EPERM};
	/* no listener there: refused by the peer at once, never by podfence */
	const struct probe allowed = {"",	  AF_INET,     SOCK_STREAM,	0,
				      OP_CONNECT, "127.0.0.1", LISTEN_PORT + 1, 0};
	const struct probe udp = {"", AF_INET, SOCK_DGRAM, 0, OP_SENDTO, "10.9.9.9", 53, EPERM};
	struct storm *s = ctx;
	int counts[3] = {}; /* escaped, wrongly refused, calls */

	if (cg_join(&s->cg) || netns_with_listeners()) {
		counts[0] = -1;
	} else {
		for (int i = 0; i < STORM_ROUNDS; i++) {
			counts[0] += probe_run(&denied) != EPERM;
			counts[0] += probe_run(&udp) != EPERM;
			counts[1] += !probe_ok(&allowed, probe_run(&allowed));
			counts[2] += 3;
		}
	}
	if (write(report_fd, counts, sizeof(counts)) != sizeof(counts))
		_exit(2);
	_exit(0);
}

PF_TEST(net_connect_storm_while_rules_and_bindings_change)
{
	struct storm s = {};
	struct pf_exec_result res;
	int counts[3] = {};
	ssize_t len = 0;
	pthread_t writer;
	bool started = false;

	if (!pf_kfix_store(&nstore) ||
	    !ASSERT_OK(pf_sandbox_cg_create(&s.cg, NULL, "net-storm"), "cg"))
		goto out;
	for (int i = 0; i < 2; i++) {
		struct pf_ruleset rs = {.generation = 1, .flags = PF_RS_NET};

		if (!ASSERT_OK(pf_kstore_alloc_wl_id(nstore, false, &s.wl[i]), "wl id") ||
		    !ASSERT_OK(pf_kstore_ruleset_write(nstore, s.wl[i], &rs, NULL, 0), "ruleset"))
			goto out;
	}
	/*
	 * Before the writer's first round the workloads have no egress rules:
	 * flagged, so connects are refused rather than let through.
	 */
	if (!ASSERT_OK(pf_kstore_cgroup_bind(nstore, s.cg.id, s.wl[0], 0, 0, NULL, 0), "bind") ||
	    !ASSERT_OK(pthread_create(&writer, NULL, storm_writer, &s), "writer thread"))
		goto out;
	started = true;
	while (atomic_load(&s.writes) < 2 && !s.write_failed)
		usleep(1000);
	ASSERT_OK(pf_sandbox_fork(storm_child, &s, counts, sizeof(counts), &len, &res), "fork");
out:
	atomic_store(&s.stop, true);
	if (started)
		pthread_join(writer, NULL);
	if (started) {
		ASSERT_FALSE(s.write_failed, "every rule write succeeded");
		ASSERT_EQ(len, (ssize_t)sizeof(counts), "child's report");
		ASSERT_EQ(counts[0], 0, "forbidden connects and sends that got through");
		ASSERT_EQ(counts[1], 0, "allowed connects refused");
		ASSERT_GE((unsigned long)counts[2], 3ul * STORM_ROUNDS, "calls made");
		printf("     %d calls during %lu rule rewrites and rebinds\n", counts[2],
		       (unsigned long)atomic_load(&s.writes));
	}
	pf_sandbox_cg_destroy(&s.cg);
	for (int i = 0; i < 2; i++) {
		if (!s.wl[i])
			continue;
		pf_kstore_ruleset_delete(nstore, s.wl[i]);
		pf_kstore_net_ruleset_delete(nstore, s.wl[i]);
	}
}
