// SPDX-License-Identifier: Apache-2.0
/*
 * Writes to the API server in the background (see k8s.h): a queue of merge
 * patches, latest wins per object, and one thread that sends them with
 * libcurl. The thread owns the only curl handle, reused from request to
 * request so that its connection (and TLS session) is kept alive.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include "podfence/k8s.h"
#include "podfence/log.h"
#include "k8s_http.h"

#define REQUEST_TIMEOUT_S 30
#define REPLY_MAX	  (64 * 1024) /* a Status is small; the object echoed back is not read */
#define MERGE_PATCH	  "application/merge-patch+json"

struct put {
	char *path, *name, *patch, *create;
	struct put *next;
};

struct pf_k8s_writer {
	struct pf_k8s_config cfg; /* a copy: the thread outlives the caller's */
	CURL *curl;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a put, or stop (CLOCK_MONOTONIC) */
	pthread_cond_t idle; /* the thread finished a put */
	bool stopping;
	struct put *head, **tail;
	bool busy; /* the thread holds one put, off the queue */
	struct pf_k8s_writer_state state;
};

/* What one request answered. */
struct reply {
	const char *method, *url;
	long retry_after_s;
	char *body;
	size_t len;
	char err[CURL_ERROR_SIZE];
};

/* ---- the queue ---- */

static void put_free(struct put *p)
{
	if (!p)
		return;
	free(p->path);
	free(p->name);
	free(p->patch);
	free(p->create);
	free(p);
}

static bool same_object(const struct put *a, const struct put *b)
{
	return strcmp(a->path, b->path) == 0 && strcmp(a->name, b->name) == 0;
}

int pf_k8s_writer_put(struct pf_k8s_writer *w, const char *path, const char *name,
		      const char *patch_json, const char *create_json)
{
	struct put *p, *q;
	int err = 0;

	if (!w || !path || !name || !*name || !patch_json || !create_json)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->path = strdup(path);
	p->name = strdup(name);
	p->patch = strdup(patch_json);
	p->create = strdup(create_json);
	if (!p->path || !p->name || !p->patch || !p->create) {
		err = -ENOMEM;
		goto cleanup;
	}
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		err = -ESHUTDOWN;
		goto cleanup;
	}
	for (q = w->head; q && !same_object(q, p); q = q->next)
		;
	if (q) {
		/* A newer state of the same object: it takes the pending one's place. */
		struct put tmp = *q;

		q->patch = p->patch;
		q->create = p->create;
		p->patch = tmp.patch;
		p->create = tmp.create;
	} else {
		*w->tail = p;
		w->tail = &p->next;
		w->state.pending++;
		p = NULL;
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
cleanup:
	put_free(p);
	return err;
}

/* Whether a newer put of p's object waits in the queue (a retry of p would be stale). */
static bool superseded(struct pf_k8s_writer *w, const struct put *p)
{
	bool newer = false;

	pthread_mutex_lock(&w->lock);
	for (struct put *q = w->head; q && !newer; q = q->next)
		newer = same_object(q, p);
	pthread_mutex_unlock(&w->lock);
	return newer;
}

void pf_k8s_writer_state(struct pf_k8s_writer *w, struct pf_k8s_writer_state *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->state;
	pthread_mutex_unlock(&w->lock);
}

static void deadline_in(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int pf_k8s_writer_flush(struct pf_k8s_writer *w, int timeout_ms)
{
	struct timespec ts;
	int err = 0;

	deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&w->lock);
	while (w->state.pending && !err)
		err = pthread_cond_timedwait(&w->idle, &w->lock, &ts);
	err = w->state.pending ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&w->lock);
	return err;
}

/* Sleeps ms, or less when the writer stops; returns whether it stops. */
static bool nap(struct pf_k8s_writer *w, long ms)
{
	struct timespec ts;
	bool stop;

	deadline_in(&ts, ms);
	pthread_mutex_lock(&w->lock);
	while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &ts) != ETIMEDOUT)
		;
	stop = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static bool stopping(struct pf_k8s_writer *w)
{
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/* ---- one request ---- */

static size_t on_body(char *buf, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	size_t take = size * n;
	char *grown;

	/* Only a Status's message is read: the rest of a long answer is let go. */
	if (r->len + take > REPLY_MAX)
		take = REPLY_MAX - r->len;
	if (!take)
		return size * n;
	grown = realloc(r->body, r->len + take + 1);
	if (!grown)
		return 0; /* abort: the caller reports it */
	memcpy(grown + r->len, buf, take);
	r->body = grown;
	r->len += take;
	r->body[r->len] = 0;
	return size * n;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;

	if (size * n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
		r->retry_after_s = strtol(buf + 12, NULL, 10);
	return size * n;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	return stopping(ctx); /* non-zero aborts */
}

static void reply_reset(struct reply *r, const char *method, const char *url)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->url = url;
}

/* Sends body to url with method; returns the HTTP status, or -1 (r->err says why). */
static long request(struct pf_k8s_writer *w, const char *method, const char *url, const char *type,
		    const char *body, struct reply *r)
{
	struct curl_slist *hdrs = NULL;
	char ctype[64];
	long code = -1;
	CURL *c = w->curl;
	CURLcode rc;

	reply_reset(r, method, url);
	/* A reset keeps the handle's open connections: only the options go. */
	curl_easy_reset(c);
	pf_k8s_http_auth(c, &w->cfg, &hdrs);
	snprintf(ctype, sizeof(ctype), "Content-Type: %s", type);
	hdrs = curl_slist_append(hdrs, ctype);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	/* No "Expect: 100-continue" round trip before a body of more than 1 KiB. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method); /* POSTFIELDS + PATCH: a PATCH */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "podfence");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)REQUEST_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else if (!r->err[0])
		snprintf(r->err, sizeof(r->err), "%s", curl_easy_strerror(rc));
	/* r outlives no request: curl must not write there when it closes connections later. */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return code;
}

/*
 * PATCH, then POST when the object does not exist, then PATCH again when
 * another agent created it between the two: the HTTP status of the last.
 */
static long write_once(struct pf_k8s_writer *w, const struct put *p, const char *obj_url,
		       const char *coll_url, struct reply *r)
{
	long code = request(w, "PATCH", obj_url, MERGE_PATCH, p->patch, r);

	if (code != 404)
		return code;
	code = request(w, "POST", coll_url, "application/json", p->create, r);
	if (code != 409)
		return code;
	return request(w, "PATCH", obj_url, MERGE_PATCH, p->patch, r);
}

/*
 * Retried: the server's trouble (5xx, 429, no answer), and 404 or 409 as
 * the last answer: the collection missing (its CRD not installed yet) or
 * the object deleted between POST's 409 and the PATCH. Any other 4xx is
 * this write's own fault and will not change by sending it again.
 */
static bool retryable(long code)
{
	return code < 0 || code >= 500 || code == 429 || code == 404 || code == 409;
}

static void set_error(struct pf_k8s_writer *w, const struct reply *r, long code, bool retry)
{
	struct json_object *st = r->body ? json_tokener_parse(r->body) : NULL;
	const char *reason = pf_k8s_str(st, "reason"), *msg = pf_k8s_str(st, "message");
	char what[64], line[sizeof(w->state.last_error)];

	if (code > 0)
		snprintf(what, sizeof(what), "HTTP %ld%s%s", code, reason ? " " : "",
			 reason ? reason : "");
	snprintf(line, sizeof(line), "%s %s: %s%s%s%s", r->method, r->url + strlen(w->cfg.server),
		 code > 0 ? what : r->err, code > 0 && msg ? ": " : "", code > 0 && msg ? msg : "",
		 retry ? " (retrying)" : "");
	json_object_put(st);
	pthread_mutex_lock(&w->lock);
	memcpy(w->state.last_error, line, sizeof(line));
	w->state.errors++;
	pthread_mutex_unlock(&w->lock);
	/* A dropped write is a loss worth a warning; a retried one is the weather. */
	if (retry)
		pf_debug("k8s writer: %s", line);
	else
		pf_warn("k8s writer: %s", line);
}

/* One put, until written, dropped, superseded by a newer one, or the writer stops. */
static void write_put(struct pf_k8s_writer *w, const struct put *p, unsigned *seed)
{
	char *esc = curl_easy_escape(w->curl, p->name, 0);
	char *obj_url = NULL, *coll_url = NULL;
	struct reply r = {0};
	long code, backoff = 0, wait_ms;

	if (!esc || asprintf(&obj_url, "%s%s/%s", w->cfg.server, p->path, esc) < 0)
		obj_url = NULL;
	if (obj_url && asprintf(&coll_url, "%s%s", w->cfg.server, p->path) < 0)
		coll_url = NULL;
	if (!coll_url) {
		reply_reset(&r, "PATCH", w->cfg.server);
		snprintf(r.err, sizeof(r.err), "out of memory");
		set_error(w, &r, -1, false);
		goto cleanup;
	}
	for (;;) {
		code = write_once(w, p, obj_url, coll_url, &r);
		if (code >= 200 && code < 300) {
			pthread_mutex_lock(&w->lock);
			w->state.written++;
			pthread_mutex_unlock(&w->lock);
			break;
		}
		if (stopping(w))
			break; /* aborted by stop: not an error of the server's */
		set_error(w, &r, code, retryable(code));
		if (!retryable(code))
			break;
		backoff = pf_k8s_backoff_next(backoff);
		wait_ms = code == 429 && r.retry_after_s > 0 ? r.retry_after_s * 1000
							     : pf_k8s_jitter(backoff, seed);
		if (nap(w, wait_ms) || superseded(w, p))
			break;
	}
cleanup:
	reply_reset(&r, NULL, NULL);
	curl_free(esc);
	free(obj_url);
	free(coll_url);
}

static void *writer_thread(void *arg)
{
	struct pf_k8s_writer *w = arg;
	unsigned seed = (unsigned)(time(NULL) ^ (uintptr_t)w);
	struct put *p;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stopping) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		p = w->head;
		w->head = p->next;
		if (!w->head)
			w->tail = &w->head;
		w->busy = true;
		pthread_mutex_unlock(&w->lock);

		write_put(w, p, &seed);
		put_free(p);

		pthread_mutex_lock(&w->lock);
		w->busy = false;
		w->state.pending--;
		pthread_cond_broadcast(&w->idle);
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/* ---- life ---- */

int pf_k8s_writer_start(struct pf_k8s_writer **out, const struct pf_k8s_config *cfg)
{
	struct pf_k8s_writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t attr;
	int err;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&w->lock, NULL);
	/* Waits measured on the monotonic clock: a clock step must not stall a retry. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &attr);
	pthread_cond_init(&w->idle, &attr);
	pthread_condattr_destroy(&attr);
	w->tail = &w->head;
	err = pf_k8s_config_copy(&w->cfg, cfg);
	if (err)
		goto cleanup;
	if (!w->cfg.server) {
		err = -EINVAL;
		goto cleanup;
	}
	w->curl = curl_easy_init();
	if (!w->curl) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = -pthread_create(&w->thread, NULL, writer_thread, w);
	if (err)
		goto cleanup;
	w->started = true;
	*out = w;
	return 0;
cleanup:
	pf_k8s_writer_stop(w);
	return err;
}

void pf_k8s_writer_stop(struct pf_k8s_writer *w)
{
	struct put *p;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	while ((p = w->head)) {
		w->head = p->next;
		put_free(p);
	}
	if (w->curl)
		curl_easy_cleanup(w->curl);
	pf_k8s_config_free(&w->cfg);
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
