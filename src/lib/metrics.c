// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's HTTP endpoint on libmicrohttpd (metrics.h): external epoll
 * mode, so requests are answered by the agent's loop between its other
 * work; a handful of connections at most, each with a short timeout, so a
 * slow scraper cannot hold the loop.
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>
#include "podfence/metrics.h"

#define HTTP_CONNECTIONS_MAX 16
#define HTTP_TIMEOUT_S	     10

struct pf_http {
	struct MHD_Daemon *d;
	pf_http_handler fn;
	void *ctx;
	int epfd;
	unsigned port;
};

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct pf_http *h = cls;
	struct pf_http_reply r = {0};
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "only GET\n";

		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	h->fn(h->ctx, url, &r);
	if (!r.status) {
		free(r.body);
		r.body = strdup("not found: /healthz, /readyz, /metrics\n");
		r.len = r.body ? strlen(r.body) : 0;
		r.status = MHD_HTTP_NOT_FOUND;
		r.content_type = "text/plain; charset=utf-8";
	}
	resp = MHD_create_response_from_buffer(r.len, r.body ? r.body : (void *)"",
					       r.body ? MHD_RESPMEM_MUST_FREE
						      : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r.body);
		return MHD_NO;
	}
	if (r.content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type);
	ret = MHD_queue_response(conn, r.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* "HOST:PORT", ":PORT", "[V6]:PORT" -> a socket address. */
static int parse_addr(const char *addr, struct addrinfo **res, char *err, size_t err_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	char host[256] = "";
	const char *colon, *port;
	int rc;

	if (addr[0] == '[') {
		const char *end = strchr(addr, ']');

		if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, end - addr - 1);
		port = end + 2;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			goto bad;
		memcpy(host, addr, colon - addr);
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		goto bad;
	if (!*host)
		hints.ai_family = AF_INET;
	rc = getaddrinfo(*host ? host : NULL, port, &hints, res);
	if (rc) {
		snprintf(err, err_len, "--metrics-addr %s: %s", addr, gai_strerror(rc));
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, err_len, "--metrics-addr %s: want HOST:PORT, :PORT or [IPV6]:PORT", addr);
	return -EINVAL;
}

int pf_http_start(struct pf_http **out, const char *addr, pf_http_handler fn, void *ctx, char *err,
		  size_t err_len)
{
	struct addrinfo *ai = NULL;
	const union MHD_DaemonInfo *info;
	struct pf_http *h;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int ret;

	*out = NULL;
	ret = parse_addr(addr, &ai, err, err_len);
	if (ret)
		return ret;
	h = calloc(1, sizeof(*h));
	if (!h) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	h->fn = fn;
	h->ctx = ctx;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, answer, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S,
				MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!h->d) {
		ret = errno ? -errno : -EADDRNOTAVAIL;
		snprintf(err, err_len, "--metrics-addr %s: cannot listen: %s", addr,
			 strerror(-ret));
		free(h);
		return ret;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epfd = info ? info->epoll_fd : -1;
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	if (h->epfd < 0) {
		snprintf(err, err_len, "--metrics-addr %s: libmicrohttpd without epoll", addr);
		pf_http_stop(h);
		return -ENOTSUP;
	}
	*out = h;
	return 0;
}

int pf_http_fd(const struct pf_http *h)
{
	return h->epfd;
}

void pf_http_run(struct pf_http *h)
{
	if (h)
		MHD_run(h->d);
}

unsigned pf_http_port(const struct pf_http *h)
{
	return h->port;
}

void pf_http_stop(struct pf_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

int pf_prom_open(struct pf_prom *p)
{
	memset(p, 0, sizeof(*p));
	p->f = open_memstream(&p->buf, &p->len);
	return p->f ? 0 : -ENOMEM;
}

void pf_prom_family(struct pf_prom *p, const char *name, const char *type, const char *help)
{
	fprintf(p->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void pf_prom_sample(struct pf_prom *p, const char *name, const char *label, const char *value,
		    double v)
{
	fputs(name, p->f);
	if (label) {
		fprintf(p->f, "{%s=\"", label);
		/* The exposition format escapes backslash, double quote and newline. */
		for (const char *c = value ? value : ""; *c; c++) {
			if (*c == '\\' || *c == '"')
				fputc('\\', p->f);
			if (*c == '\n')
				fputs("\\n", p->f);
			else
				fputc(*c, p->f);
		}
		fputs("\"}", p->f);
	}
	fprintf(p->f, " %.17g\n", v);
}

int pf_prom_close(struct pf_prom *p, struct pf_http_reply *out)
{
	bool failed = ferror(p->f);

	if (fclose(p->f) || failed) {
		free(p->buf);
		return -ENOMEM;
	}
	out->status = 200;
	out->content_type = "text/plain; version=0.0.4; charset=utf-8";
	out->body = p->buf;
	out->len = p->len;
	return 0;
}
