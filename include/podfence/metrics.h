/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's HTTP endpoint (--metrics-addr): /healthz, /readyz and
 * Prometheus /metrics, served by libmicrohttpd from the agent's own event
 * loop (its epoll descriptor joins the loop's; no thread), so a handler
 * reads the engine without locks. Plus a writer of the Prometheus text
 * exposition format (version 0.0.4).
 */
#ifndef PODFENCE_METRICS_H
#define PODFENCE_METRICS_H

#include <stddef.h>
#include <stdio.h>

struct pf_http;

struct pf_http_reply {
	unsigned status;	  /* 200, 503, 404 */
	const char *content_type; /* static string */
	char *body;		  /* malloc'd, taken over */
	size_t len;
};

/* Called for each GET or HEAD request with its path; fills out (status 404 if left 0). */
typedef void (*pf_http_handler)(void *ctx, const char *path, struct pf_http_reply *out);

/*
 * Listens on addr ("HOST:PORT", ":PORT" for every IPv4 address, "[V6]:PORT";
 * port 0 picks one: pf_http_port). -EINVAL with why in err for a bad address,
 * another negative errno when it cannot listen.
 */
int pf_http_start(struct pf_http **out, const char *addr, pf_http_handler fn, void *ctx, char *err,
		  size_t err_len);
/* Readable when a connection needs service: then pf_http_run(). */
int pf_http_fd(const struct pf_http *h);
/* Serves what is ready, without blocking; also call it now and then for timeouts. */
void pf_http_run(struct pf_http *h);
unsigned pf_http_port(const struct pf_http *h);
void pf_http_stop(struct pf_http *h);

/* Prometheus text: one family (# HELP, # TYPE) then its samples. */
struct pf_prom {
	FILE *f;
	char *buf;
	size_t len;
};

int pf_prom_open(struct pf_prom *p);
/* type: "counter" or "gauge". */
void pf_prom_family(struct pf_prom *p, const char *name, const char *type, const char *help);
/* A sample of the last family, with one label (label NULL: none); values are escaped. */
void pf_prom_sample(struct pf_prom *p, const char *name, const char *label, const char *value,
		    double v);
/* Ends the text: the buffer (malloc'd) goes to the reply. -ENOMEM if it could not be written. */
int pf_prom_close(struct pf_prom *p, struct pf_http_reply *out);

#endif /* PODFENCE_METRICS_H */
