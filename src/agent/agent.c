// SPDX-License-Identifier: Apache-2.0
/*
 * `podfence agent`: loads (or takes over) the kernel side, feeds it policies
 * and pods from watched directories, writes events, answers the control
 * socket. Stopping it, even with SIGKILL, leaves the pinned programs and
 * maps enforcing the last state.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "podfence/compile.h"
#include "podfence/control.h"
#include "podfence/dirwatch.h"
#include "podfence/engine.h"
#include "podfence/events.h"
#include "podfence/k8s.h"
#include "podfence/kstore.h"
#include "podfence/log.h"
#include "podfence/metrics.h"
#include "podfence/pod.h"
#include "podfence/policy.h"
#include "podfence/runtime.h"
#include "../cli/commands.h"
#include "agent.h"

/* Changes are applied this long after the last file event (editors write in bursts). */
#define DEBOUNCE_MS 50
#define TICK_MS	    100
#define RETRY_MS    500

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void policy_file_changed(void *ctx, const char *path)
{
	struct agent *a = ctx;
	struct pf_policy_list pols = {};
	struct pf_diags diags = {};
	int err;

	err = pf_policy_parse_file(path, &pols, &diags);
	if (err && !diags.n_errors)
		pf_diags_error(&diags, path, 0, 0, "cannot read: %s", strerror(-err));
	/*
	 * An empty file is far more often a write caught halfway than a wish to
	 * drop every policy in it: rejected, so the previous version keeps
	 * enforcing. Deleting the file removes its policies.
	 */
	for (size_t i = 0; i < pols.n; i++) {
		char msg[256];
		size_t n_values;

		if (pf_policy_validate(&pols.v[i], &n_values, msg, sizeof(msg)))
			pf_diags_error(&diags, path, pols.v[i].line, pols.v[i].col, "policy %s: %s",
				       pols.v[i].name, msg);
	}
	if (!err && !diags.n_errors && pols.n == 0)
		pf_diags_error(
		    &diags, path, 0, 0,
		    "defines no policy: rejected (delete the file to remove its policies)");
	if (diags.n)
		pf_diags_print(&diags, stderr);
	if (diags.n_errors)
		pf_warn("%s rejected: %zu error(s); its previous version stays in force", path,
			diags.n_errors);
	else
		pf_info("%s: %zu polic%s", path, pols.n, pols.n == 1 ? "y" : "ies");
	pf_engine_policy_file(a->engine, path, &pols, &diags);
	pf_policy_list_free(&pols);
	pf_diags_free(&diags);
}

static void policy_file_removed(void *ctx, const char *path)
{
	struct agent *a = ctx;

	pf_info("%s removed", path);
	pf_engine_policy_file_removed(a->engine, path);
}

static void pod_file_changed(void *ctx, const char *path)
{
	struct agent *a = ctx;
	struct pf_pod_list pods = {};
	struct pf_diags diags = {};
	int err;

	err = pf_pod_parse_file(path, &pods, &diags);
	if (err && !diags.n_errors)
		pf_diags_error(&diags, path, 0, 0, "cannot read: %s", strerror(-err));
	if (diags.n)
		pf_diags_print(&diags, stderr);
	pf_engine_pod_file(a->engine, path, &pods, &diags);
	pf_pod_list_free(&pods);
	pf_diags_free(&diags);
}

static void pod_file_removed(void *ctx, const char *path)
{
	struct agent *a = ctx;

	pf_info("%s removed", path);
	pf_engine_pod_file_removed(a->engine, path);
}

/* The first capability the BPF object needs that the agent lacks (NULL: none). */
static const char *missing_capability(void)
{
	static const struct {
		int cap;
		const char *name;
	} needed[] = {{39 /* CAP_BPF */, "CAP_BPF"},
		      {38 /* CAP_PERFMON */, "CAP_PERFMON"},
		      {12 /* CAP_NET_ADMIN */, "CAP_NET_ADMIN"}};
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return NULL;
	if (data[0].effective & (1u << 21 /* CAP_SYS_ADMIN */))
		return NULL;
	for (size_t i = 0; i < sizeof(needed) / sizeof(*needed); i++)
		if (!(data[needed[i].cap / 32].effective & (1u << (needed[i].cap % 32))))
			return needed[i].name;
	return NULL;
}

static int on_event(void *ctx, const struct pf_event *ev, size_t size)
{
	struct agent *a = ctx;
	struct json_object *o;

	if (size >= offsetof(struct pf_event, n_policies) && (ev->flags & PF_EV_LEARN)) {
		agent_learn_record(a, ev, size);
		return 0;
	}
	if (size >= offsetof(struct pf_event, n_policies) && (ev->flags & PF_EV_NET)) {
		const struct pf_net_event *nev = (const void *)ev;

		if (size < sizeof(*nev))
			return 0;
		/* Sigkill on a connect hook: refused in the kernel, the caller killed here. */
		if ((nev->flags & PF_EV_KILLED) && nev->tgid > 1)
			kill((pid_t)nev->tgid, SIGKILL);
		o = pf_net_event_json(nev, a->engine);
	} else if (size < sizeof(*ev) - sizeof(ev->path)) {
		return 0;
	} else {
		o = pf_event_json(ev, a->engine);
	}
	if (!o)
		return 0;
	fprintf(a->events, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(a->events);
	json_object_put(o);
	a->events_written++;
	return 0;
}

static void handle_client(struct agent *a)
{
	struct json_object *reply;
	char req[512];
	const char *s;
	int fd;

	fd = accept4(a->ctlfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (pf_control_read_request(fd, req, sizeof(req)) == 0) {
		if (strcmp(req, "status") == 0) {
			reply = agent_status_json(a);
		} else if (strncmp(req, "learn ", 6) == 0) {
			reply = agent_learn_request(a, req + 6);
		} else {
			reply = json_object_new_object();
			json_object_object_add(reply, "error",
					       json_object_new_string("unknown request"));
		}
		s = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		pf_control_write_all(fd, s, strlen(s));
		pf_control_write_all(fd, "\n", 1);
		json_object_put(reply);
	}
	close(fd);
}

static void apply_changes(struct agent *a)
{
	int n = pf_engine_sync(a->engine);

	if (n)
		pf_debug("%d pod(s) updated", n);
}

static void rescan_inputs(struct agent *a)
{
	if (a->policies_watch)
		pf_dirwatch_rescan(a->policies_watch);
	if (a->pods_watch)
		pf_dirwatch_rescan(a->pods_watch);
	apply_changes(a);
}

static int epoll_add(int epfd, int fd, int tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

enum {
	TAG_SIGNAL,
	TAG_CONTROL,
	TAG_EVENTS,
	TAG_POLICIES,
	TAG_PODS,
	TAG_RUNTIME,
	TAG_API,
	TAG_HTTP
};

/* What the API watches learnt: into the engine, then the kernel. */
static void api_apply(struct agent *a)
{
	struct pf_k8s_item *items = pf_k8s_watcher_take(a->api);

	if (!items)
		return;
	a->api_rejected += pf_k8s_source_apply(a->api_source, items);
	apply_changes(a);
	/* Applied to the kernel now: what readiness and the sync time say. */
	for (struct pf_k8s_item *it = items; it; it = it->next) {
		a->api_synced[it->resource] = time(NULL);
		if (it->change == PF_K8S_REPLACE)
			a->api_applied[it->resource] = true;
	}
	pf_k8s_items_free(items);
}

/* The API server's address and credentials; then one watch per resource. */
static int api_start(struct agent *a)
{
	struct pf_k8s_config cfg;
	char err[512] = "", host[256];
	int ret;

	if (!a->kubeconfig && !a->in_cluster)
		return 0;
	ret = a->kubeconfig ? pf_k8s_config_kubeconfig(a->kubeconfig, &cfg, err, sizeof(err))
			    : pf_k8s_config_in_cluster(PF_K8S_SA_DIR, &cfg, err, sizeof(err));
	if (ret) {
		pf_err("Kubernetes API: %s", err);
		return ret;
	}
	if (!a->node_name)
		a->node_name = getenv("NODE_NAME");
	if (!a->node_name && gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = 0;
		a->node_name = strdup(host);
	}
	snprintf(a->pod_selector, sizeof(a->pod_selector), "spec.nodeName=%s",
		 a->node_name ? a->node_name : "");
	pf_k8s_resources(a->pod_selector, a->api_res);
	a->api_source = pf_k8s_source_new(a->engine);
	ret = a->api_source ? pf_k8s_watcher_start(&a->api, &cfg, a->api_res, PF_K8S_RES__MAX)
			    : -ENOMEM;
	/* This node's learning findings go to PolicyProposal objects. */
	if (!ret)
		ret = pf_k8s_writer_start(&a->proposal_writer, &cfg);
	if (!ret)
		pf_info("Kubernetes API %s: pods of node %s, policies of the cluster", cfg.server,
			a->node_name);
	pf_k8s_config_free(&cfg);
	return ret;
}

static void runtime_container(void *ctx, const struct pf_runtime_container *c)
{
	struct agent *a = ctx;
	int err = pf_engine_runtime_container(a->engine, c);

	if (err)
		pf_err("runtime: container %s of pod %s/%s: %s", c->id, c->pod_namespace,
		       c->pod_name, strerror(-err));
}

static void runtime_container_gone(void *ctx, const char *id)
{
	struct agent *a = ctx;

	pf_engine_runtime_container_gone(a->engine, id);
}

static uint32_t self_mntns_inum(void)
{
	struct stat sb;

	return stat("/proc/self/ns/mnt", &sb) ? 0 : (uint32_t)sb.st_ino;
}

/* Whether the agent holds capability `cap` in its effective set (/proc/self/status). */
static bool has_capability(int cap)
{
	unsigned long long eff = 0;
	char line[128];
	FILE *f = fopen("/proc/self/status", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "CapEff: %llx", &eff) == 1;
	fclose(f);
	return found && (eff >> cap & 1);
}

/*
 * The node's mount namespace, where the runtime runs: pid 1's (the agent
 * runs in a container of its own with the host PID namespace). Reading it
 * takes CAP_SYS_PTRACE: without it, that is what is missing. With it and
 * still refused, pid 1 is outside the agent's user namespace (the agent
 * and its runtime run nested, in a VM's or a sandbox's container): the
 * runtime is then taken to run in the agent's own mount namespace.
 */
static uint32_t node_mntns_inum(void)
{
	struct stat sb;
	int refused;

	if (getpid() == 1) {
		pf_err("the agent is pid 1 of a PID namespace of its own: it needs the host PID "
		       "namespace (hostPID: true) to tell the runtime's execs from a container's");
		return 0;
	}
	if (stat("/proc/1/ns/mnt", &sb) == 0)
		return (uint32_t)sb.st_ino;
	refused = errno;
	if ((refused == EACCES || refused == EPERM) && !has_capability(CAP_SYS_PTRACE)) {
		pf_err("/proc/1/ns/mnt: %s: the node's mount namespace needs CAP_SYS_PTRACE",
		       strerror(refused));
		return 0;
	}
	pf_info("pid 1's mount namespace is not readable (%s, with CAP_SYS_PTRACE): the runtime "
		"is taken to run in the agent's own",
		strerror(refused));
	return self_mntns_inum();
}

static int setup(struct agent *a)
{
	struct pf_dirwatch_ops pol_ops = {policy_file_changed, policy_file_removed, a};
	struct pf_dirwatch_ops pod_ops = {pod_file_changed, pod_file_removed, a};
	struct pf_runtime_watch_ops rt_ops = {runtime_container, runtime_container_gone, a};
	sigset_t mask;
	int err = 0, rbfd;

	a->started = time(NULL);
	a->events = stdout;
	if (a->events_path) {
		a->events = fopen(a->events_path, "ae");
		if (!a->events) {
			pf_err("open events file %s: %s", a->events_path, strerror(errno));
			return -errno;
		}
	}
	a->kopts.node_mntns_inum = node_mntns_inum();
	if (!a->kopts.node_mntns_inum)
		return -EPERM;
	/* The agent in the node's own mount namespace (not a container) may mount bpffs. */
	err = pf_kstore_mount_prerequisites(a->kopts.pin_dir,
					    a->kopts.node_mntns_inum == self_mntns_inum());
	if (err)
		return err;
	err = pf_kstore_open(&a->ks, &a->kopts, &a->took_over);
	if (err) {
		/*
		 * Without some capability the kernel answers EPERM or, for a
		 * program it then verifies as unprivileged, EINVAL: name it.
		 */
		const char *missing = missing_capability();

		pf_err("cannot load the BPF programs: %s%s%s%s", strerror(-err),
		       missing ? ": missing " : "", missing ? missing : "",
		       err == -EPERM || missing
			   ? " (needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, or CAP_SYS_ADMIN)"
			   : "");
		return err;
	}
	a->engine = pf_engine_new(pf_kstore_store(a->ks), a->cgroup_root);
	if (!a->engine)
		return -ENOMEM;
	/* Before the first sync: learning containers are bound from the start. */
	err = agent_learn_setup(a);
	if (err)
		return err;
	if (a->policies_dir)
		err = pf_dirwatch_open(&a->policies_watch, a->policies_dir, &pol_ops);
	if (!err && a->pods_dir)
		err = pf_dirwatch_open(&a->pods_watch, a->pods_dir, &pod_ops);
	if (err) {
		pf_err("watch %s / %s: %s", a->policies_dir, a->pods_dir, strerror(-err));
		return err;
	}
	err = api_start(a);
	if (err)
		return err;
	err = pf_runtime_watch_open(&a->runtime_watch, a->runtime_dirs, a->n_runtime_dirs, &rt_ops);
	if (err) {
		pf_err("watch the runtimes' state: %s", strerror(-err));
		return err;
	}
	rbfd = pf_kstore_events_open(a->ks, on_event, a);
	if (rbfd < 0)
		return rbfd;
	a->ctlfd = pf_control_listen(a->socket_path);
	if (a->ctlfd < 0) {
		pf_err("control socket %s: %s", a->socket_path, strerror(-a->ctlfd));
		return a->ctlfd;
	}
	if (a->metrics_addr) {
		char why[512];

		err = pf_http_start(&a->http, a->metrics_addr, agent_http_request, a, why,
				    sizeof(why));
		if (err) {
			pf_err("%s", why);
			return err;
		}
		pf_info("metrics: /healthz, /readyz, /metrics on %s (port %u)", a->metrics_addr,
			pf_http_port(a->http));
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (a->sigfd < 0 || a->epfd < 0)
		return -errno;
	if ((err = epoll_add(a->epfd, a->sigfd, TAG_SIGNAL)) ||
	    (err = epoll_add(a->epfd, a->ctlfd, TAG_CONTROL)) ||
	    (err = epoll_add(a->epfd, rbfd, TAG_EVENTS)) ||
	    (a->policies_watch &&
	     (err = epoll_add(a->epfd, pf_dirwatch_fd(a->policies_watch), TAG_POLICIES))) ||
	    (a->pods_watch &&
	     (err = epoll_add(a->epfd, pf_dirwatch_fd(a->pods_watch), TAG_PODS))) ||
	    (a->api && (err = epoll_add(a->epfd, pf_k8s_watcher_fd(a->api), TAG_API))) ||
	    (a->http && (err = epoll_add(a->epfd, pf_http_fd(a->http), TAG_HTTP))) ||
	    (err = epoll_add(a->epfd, pf_runtime_watch_fd(a->runtime_watch), TAG_RUNTIME)))
		return err;

	/* Initial state: every input, then (after a takeover) drop what nothing needs. */
	rescan_inputs(a);
	if (a->took_over) {
		err = pf_engine_takeover_gc(a->engine);
		if (err)
			pf_warn("cleaning up the previous agent's state: %s", strerror(-err));
	}
	pf_engine_collect(a->engine);
	a->ready = true;
	pf_info("ready: policies from %s, pods from %s%s, control socket %s",
		a->policies_dir ? a->policies_dir : "-", a->pods_dir ? a->pods_dir : "-",
		a->api ? " and the Kubernetes API" : "", a->socket_path);
	return 0;
}

static int run(struct agent *a)
{
	struct epoll_event evs[8];
	struct signalfd_siginfo si;

	for (;;) {
		int n = epoll_wait(a->epfd, evs, 8, TICK_MS);
		long long now;

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_SIGNAL:
				if (read(a->sigfd, &si, sizeof(si)) != sizeof(si))
					break;
				if (si.ssi_signo == SIGHUP) {
					a->rescan_due_ms = now_ms();
					break;
				}
				pf_info("signal %u: exiting; pinned programs keep enforcing",
					si.ssi_signo);
				return 0;
			case TAG_CONTROL:
				handle_client(a);
				break;
			case TAG_EVENTS:
				pf_kstore_events_poll(a->ks, 0);
				break;
			case TAG_API:
				api_apply(a);
				break;
			case TAG_HTTP:
				pf_http_run(a->http);
				break;
			case TAG_RUNTIME:
				/* Not debounced: the runtime creates the cgroup right after. */
				pf_runtime_watch_drain(a->runtime_watch);
				break;
			case TAG_POLICIES:
			case TAG_PODS:
				if (pf_dirwatch_drain(evs[i].data.u32 == TAG_PODS
							  ? a->pods_watch
							  : a->policies_watch))
					a->rescan_due_ms = now_ms() + DEBOUNCE_MS;
				break;
			}
		}
		now = now_ms();
		if (a->rescan_due_ms && now >= a->rescan_due_ms) {
			a->rescan_due_ms = 0;
			rescan_inputs(a);
		}
		if (now >= a->next_retry_ms) {
			a->next_retry_ms = now + RETRY_MS;
			pf_runtime_watch_retry(a->runtime_watch);
			pf_engine_retry_pending(a->engine);
		}
		if (pf_engine_has_garbage(a->engine))
			pf_engine_collect(a->engine);
		agent_learn_tick(a, now);
		pf_http_run(a->http); /* its connection timeouts */
	}
}

static void teardown(struct agent *a)
{
	if (a->socket_path && a->ctlfd > 0)
		unlink(a->socket_path);
	pf_http_stop(a->http);
	pf_dirwatch_close(a->policies_watch);
	pf_dirwatch_close(a->pods_watch);
	pf_runtime_watch_close(a->runtime_watch);
	pf_k8s_watcher_stop(a->api); /* its threads first: they queue for the engine */
	pf_k8s_source_free(a->api_source);
	if (a->proposal_writer)
		pf_k8s_writer_stop(a->proposal_writer);
	pf_engine_free(a->engine);
	agent_learn_teardown(a); /* after the engine, which asks it */
	pf_kstore_close(a->ks);
	if (a->events && a->events != stdout)
		fclose(a->events);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: podfence agent [--policies DIR] [--pods DIR] [--kubeconfig FILE | "
	    "--in-cluster]\n"
	    "                      [OPTIONS]\n"
	    "\n"
	    "Loads podfence's BPF programs (or takes over pinned ones), enforces the policies\n"
	    "in DIR on the pods in DIR, and keeps both in sync while files change.\n"
	    "\n"
	    "Options:\n"
	    "  --policies DIR       policy files (.yaml/.yml/.json), watched\n"
	    "  --pods DIR           Pod manifests (kubectl get pod -o yaml|json), watched\n"
	    "  --kubeconfig FILE    the Kubernetes API (its current context): this node's pods,\n"
	    "                       the cluster's TracingPolicies, PolicyTemplates, "
	    "PolicyBindings\n"
	    "  --in-cluster         the same, from the pod's service account\n"
	    "  --node-name NAME     this node (default: $NODE_NAME, then the host name)\n"
	    "  --metrics-addr ADDR  serve /healthz, /readyz and Prometheus /metrics on ADDR\n"
	    "                       (HOST:PORT, :PORT, [IPV6]:PORT)\n"
	    "  --events FILE        append events as JSON lines (default: stdout)\n"
	    "  --state-dir DIR      what the agent keeps across restarts: learning's records\n"
	    "                       (default %s)\n"
	    "  --socket PATH        control socket (default %s)\n"
	    "  --pin-dir DIR        pinned state (default %s)\n"
	    "  --backend NAME       auto (default), lsm, fmod_ret, tracepoint or tracepoint-late\n"
	    "  --cgroup-root DIR    cgroup2 mount (default: from /proc/self/mountinfo)\n"
	    "  --runtime-state DIR  a container runtime's bundle directory, watched to bind\n"
	    "                       each container's cgroup at creation (default: %s\n"
	    "                       and %s; \"none\": only the pods'\n"
	    "                       status identifies containers); repeatable\n"
	    "  --map-size MAP=N     size a map at start (cg_workload, wl_rules_s, wl_rules_l,\n"
	    "                       exact_s, exact_m, exact_l, prefix_trie, suffix_trie,\n"
	    "                       pol_counters, cg_expect, learned); repeatable\n"
	    "  -v, --verbose        debug logging\n"
	    "  -h, --help           this help\n",
	    PF_STATE_DIR_DEFAULT, PF_SOCKET_DEFAULT, PF_PIN_DIR_DEFAULT,
	    PF_RUNTIME_STATE_CONTAINERD, PF_RUNTIME_STATE_CRIO);
}

static int parse_map_size(struct pf_kstore_opts *o, const char *arg)
{
	char name[32];
	const char *eq = strchr(arg, '=');
	enum pf_kmap m;
	char *end;
	unsigned long v;

	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return -EINVAL;
	memcpy(name, arg, eq - arg);
	name[eq - arg] = 0;
	v = strtoul(eq + 1, &end, 10);
	if (*end || !v || v > (1UL << 30) || pf_kmap_parse(name, &m))
		return -EINVAL;
	o->max_entries[m] = v;
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"policies", required_argument, NULL, 'P'},
	    {"pods", required_argument, NULL, 'p'},
	    {"events", required_argument, NULL, 'e'},
	    {"socket", required_argument, NULL, 's'},
	    {"pin-dir", required_argument, NULL, 'd'},
	    {"backend", required_argument, NULL, 'b'},
	    {"cgroup-root", required_argument, NULL, 'c'},
	    {"map-size", required_argument, NULL, 'm'},
	    {"runtime-state", required_argument, NULL, 'r'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"in-cluster", no_argument, NULL, 'i'},
	    {"node-name", required_argument, NULL, 'n'},
	    {"metrics-addr", required_argument, NULL, 'M'},
	    {"state-dir", required_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct agent a = {
	    .kopts = {.pin_dir = PF_PIN_DIR_DEFAULT, .attach = true},
	    .socket_path = PF_SOCKET_DEFAULT,
	    .state_dir = PF_STATE_DIR_DEFAULT,
	    .ctlfd = -1,
	};
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			a.policies_dir = optarg;
			break;
		case 'p':
			a.pods_dir = optarg;
			break;
		case 'e':
			a.events_path = optarg;
			break;
		case 's':
			a.socket_path = optarg;
			break;
		case 'd':
			a.kopts.pin_dir = optarg;
			break;
		case 'c':
			a.cgroup_root = optarg;
			break;
		case 'k':
			a.kubeconfig = optarg;
			break;
		case 'i':
			a.in_cluster = true;
			break;
		case 'n':
			a.node_name = optarg;
			break;
		case 'S':
			a.state_dir = optarg;
			break;
		case 'M':
			a.metrics_addr = optarg;
			break;
		case 'r':
			a.runtime_dirs_given = true;
			if (strcmp(optarg, "none") == 0)
				break;
			if (a.n_runtime_dirs == RUNTIME_DIRS_MAX) {
				fprintf(stderr, "Error: more than %d --runtime-state directories\n",
					RUNTIME_DIRS_MAX);
				return 1;
			}
			a.runtime_dirs[a.n_runtime_dirs++] = optarg;
			break;
		case 'v':
			pf_log_set_level(PF_LOG_DEBUG);
			break;
		case 'b':
			if (pf_backend_parse(optarg, &a.kopts.backend)) {
				fprintf(stderr, "Error: unknown backend \"%s\"\n", optarg);
				return 1;
			}
			break;
		case 'm':
			if (parse_map_size(&a.kopts, optarg)) {
				fprintf(
				    stderr,
				    "Error: --map-size wants MAP=N with a known map, got \"%s\"\n",
				    optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if ((!a.policies_dir || !a.pods_dir) && !a.kubeconfig && !a.in_cluster) {
		fprintf(stderr,
			"Error: --policies and --pods, or the Kubernetes API (--kubeconfig, "
			"--in-cluster), are required\n");
		usage(stderr);
		return 1;
	}
	if (!a.runtime_dirs_given) {
		a.runtime_dirs[a.n_runtime_dirs++] = PF_RUNTIME_STATE_CONTAINERD;
		a.runtime_dirs[a.n_runtime_dirs++] = PF_RUNTIME_STATE_CRIO;
	}
	pf_log_route_libbpf();
	err = setup(&a);
	if (!err)
		err = run(&a);
	teardown(&a);
	return err ? 1 : 0;
}
