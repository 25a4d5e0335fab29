// SPDX-License-Identifier: Apache-2.0
/*
 * List + watch of Kubernetes resources, one thread each, with the
 * reflector's semantics (see k8s.h). HTTP and TLS are libcurl's; JSON is
 * json-c's, through the stream decoder (k8s_stream.c).
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
#include <unistd.h>
#include <sys/eventfd.h>
#include <curl/curl.h>
#include "podfence/k8s.h"
#include "podfence/log.h"
#include "k8s_http.h"

#define LIST_LIMIT	   500
#define WATCH_TIMEOUT_S	   300 /* the server ends a watch after this; we watch again */
#define WATCH_STALL_S	   90  /* no byte for this long (bookmarks come every minute): dead */
#define LIST_TIMEOUT_S	   60
#define WATCH_TOO_SHORT_MS 1000 /* a watch that ends sooner, with no event, is an error */

struct pf_k8s_watcher;

struct res_thread {
	struct pf_k8s_watcher *w;
	size_t index;
	struct pf_k8s_resource res;
	pthread_t thread;
	bool started;
	struct pf_k8s_resource_state state; /* under w->lock */
};

struct pf_k8s_watcher {
	struct pf_k8s_config cfg; /* a copy: the threads outlive the caller's */
	struct res_thread *threads;
	size_t n;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* stop */
	bool stopping;
	struct pf_k8s_item *head, **tail;
	int efd;
};

/* ---- the queue ---- */

static void push(struct res_thread *t, enum pf_k8s_change change, struct json_object *obj)
{
	struct pf_k8s_watcher *w = t->w;
	struct pf_k8s_item *it = calloc(1, sizeof(*it));
	uint64_t one = 1;

	if (!it) {
		json_object_put(obj);
		return;
	}
	it->resource = t->index;
	it->change = change;
	it->object = obj;
	pthread_mutex_lock(&w->lock);
	*w->tail = it;
	w->tail = &it->next;
	pthread_mutex_unlock(&w->lock);
	if (write(w->efd, &one, sizeof(one)) != sizeof(one))
		pf_debug("k8s: eventfd write failed");
}

struct pf_k8s_item *pf_k8s_watcher_take(struct pf_k8s_watcher *w)
{
	struct pf_k8s_item *it;
	uint64_t n;

	if (read(w->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pf_debug("k8s: eventfd read failed");
	pthread_mutex_lock(&w->lock);
	it = w->head;
	w->head = NULL;
	w->tail = &w->head;
	pthread_mutex_unlock(&w->lock);
	return it;
}

void pf_k8s_items_free(struct pf_k8s_item *it)
{
	while (it) {
		struct pf_k8s_item *next = it->next;

		json_object_put(it->object);
		free(it);
		it = next;
	}
}

int pf_k8s_watcher_fd(const struct pf_k8s_watcher *w)
{
	return w->efd;
}

void pf_k8s_watcher_state(struct pf_k8s_watcher *w, size_t resource,
			  struct pf_k8s_resource_state *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->threads[resource].state;
	pthread_mutex_unlock(&w->lock);
}

static void set_error(struct res_thread *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_error(struct res_thread *t, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->w->lock);
	va_start(ap, fmt);
	vsnprintf(t->state.last_error, sizeof(t->state.last_error), fmt, ap);
	va_end(ap);
	t->state.errors++;
	pthread_mutex_unlock(&t->w->lock);
}

/* Sleeps ms, or less when the watcher stops; returns whether it stops. */
static bool nap(struct pf_k8s_watcher *w, long ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &ts) == 0)
		;
	stop = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static bool stopping(struct pf_k8s_watcher *w)
{
	bool stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/* ---- one request ---- */

struct request {
	struct res_thread *t;
	struct pf_k8s_stream *stream;
	int (*on_value)(struct request *rq, struct json_object *v);
	char err[256];
	int decode_err;
	long retry_after_s;
	/* list */
	struct json_object *list;
	/* watch */
	char rv[64];
	bool relist; /* 410: list again */
	bool got_event;
	int status_code; /* an ERROR event's code */
};

static size_t on_body(char *buf, size_t size, size_t n, void *ctx)
{
	struct request *rq = ctx;
	int rc;

	rc = pf_k8s_stream_feed(rq->stream, buf, size * n, rq->err, sizeof(rq->err));
	if (rc) {
		rq->decode_err = rc;
		return 0; /* abort the transfer */
	}
	return size * n;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ctx)
{
	struct request *rq = ctx;

	if (size * n > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
		rq->retry_after_s = strtol(buf + 12, NULL, 10);
	return size * n;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct request *rq = ctx;

	return stopping(rq->t->w); /* non-zero aborts */
}

static int stream_value(void *ctx, struct json_object *v)
{
	struct request *rq = ctx;

	return rq->on_value(rq, v);
}

/* GET url; the body goes to rq->on_value. Returns the HTTP status, or -1 (rq->err says why). */
static long get(struct request *rq, const char *url, long timeout_s, long stall_s)
{
	const struct pf_k8s_config *cfg = &rq->t->w->cfg;
	struct curl_slist *hdrs = NULL;
	long code = -1;
	CURL *c;
	CURLcode rc;

	rq->stream = pf_k8s_stream_new(stream_value, rq);
	c = curl_easy_init();
	if (!c || !rq->stream) {
		snprintf(rq->err, sizeof(rq->err), "out of memory");
		goto out;
	}
	pf_k8s_http_auth(c, cfg, &hdrs);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "podfence");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rq);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rq);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, rq);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rq->decode_err) {
		if (!rq->err[0]) /* else it says why */
			snprintf(rq->err, sizeof(rq->err), "stopped reading");
	} else if (rc == CURLE_OK && pf_k8s_stream_partial(rq->stream))
		snprintf(rq->err, sizeof(rq->err), "the response ended inside an object");
	else if (rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT)
		snprintf(rq->err, sizeof(rq->err), "%s", curl_easy_strerror(rc));
	else if (rc == CURLE_OPERATION_TIMEDOUT && !rq->got_event && code == 200)
		snprintf(rq->err, sizeof(rq->err), "%s", curl_easy_strerror(rc));
	if (rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT && code == 200)
		code = -1;
out:
	curl_slist_free_all(hdrs);
	if (c)
		curl_easy_cleanup(c);
	pf_k8s_stream_free(rq->stream);
	rq->stream = NULL;
	return code;
}

/* ---- list ---- */

static int list_value(struct request *rq, struct json_object *v)
{
	if (rq->list) {
		snprintf(rq->err, sizeof(rq->err), "more than one value in a list response");
		return -EBADMSG;
	}
	rq->list = json_object_get(v);
	return 0;
}

/* (curl_easy_escape ignores its handle since libcurl 7.82; Debian 12 has 7.88.) */
static void url_of(const struct pf_k8s_config *cfg, const struct pf_k8s_resource *r, char *url,
		   size_t len, const char *extra)
{
	char *fs = r->field_selector ? curl_easy_escape(NULL, r->field_selector, 0) : NULL;

	snprintf(url, len, "%s%s?%s%s%s", cfg->server, r->path, fs ? "fieldSelector=" : "",
		 fs ? fs : "", extra);
	curl_free(fs);
}

/*
 * Every page of the list; REPLACE queued with all the items. Returns 0,
 * or the HTTP status of a failed page (-1: no answer).
 */
static long do_list(struct res_thread *t, char *rv, size_t rv_len, long *retry_after)
{
	const struct pf_k8s_config *cfg = &t->w->cfg;
	struct json_object *items = json_object_new_array();
	char url[4096], extra[1200], cont[1024] = "";
	long code = 0;

	rv[0] = 0;
	for (;;) {
		struct request rq = {.t = t, .on_value = list_value};
		struct json_object *page_items, *meta = NULL;
		const char *next, *prv;
		char *esc = cont[0] ? curl_easy_escape(NULL, cont, 0) : NULL;

		snprintf(extra, sizeof(extra), "%slimit=%d%s%s", t->res.field_selector ? "&" : "",
			 LIST_LIMIT, esc ? "&continue=" : "", esc ? esc : "");
		curl_free(esc);
		url_of(cfg, &t->res, url, sizeof(url), extra);
		code = get(&rq, url, LIST_TIMEOUT_S, LIST_TIMEOUT_S);
		*retry_after = rq.retry_after_s;
		if (code != 200 || !rq.list || rq.err[0]) {
			if (code != 404)
				set_error(t, "list %s: %s", t->res.path,
					  rq.err[0] ? rq.err
						    : (code > 0 ? "HTTP error" : "no answer"));
			json_object_put(rq.list);
			json_object_put(items);
			return code == 200 ? -1 : code;
		}
		if (json_object_object_get_ex(rq.list, "items", &page_items) &&
		    json_object_is_type(page_items, json_type_array))
			for (size_t i = 0; i < json_object_array_length(page_items); i++)
				json_object_array_add(
				    items,
				    json_object_get(json_object_array_get_idx(page_items, i)));
		json_object_object_get_ex(rq.list, "metadata", &meta);
		prv = pf_k8s_str(meta, "resourceVersion");
		if (prv)
			snprintf(rv, rv_len, "%s", prv);
		next = pf_k8s_str(meta, "continue");
		snprintf(cont, sizeof(cont), "%s", next ? next : "");
		json_object_put(rq.list);
		if (!cont[0])
			break;
	}
	push(t, PF_K8S_REPLACE, items);
	return 0;
}

/* ---- watch ---- */

static int watch_value(struct request *rq, struct json_object *v)
{
	struct pf_k8s_event ev;
	char err[200];

	if (pf_k8s_event_parse(v, &ev, err, sizeof(err))) {
		snprintf(rq->err, sizeof(rq->err), "%s", err);
		return -EBADMSG;
	}
	rq->got_event = true;
	switch (ev.type) {
	case PF_K8S_ADDED:
	case PF_K8S_MODIFIED:
		push(rq->t, PF_K8S_UPSERT, json_object_get(ev.object));
		break;
	case PF_K8S_DELETED:
		push(rq->t, PF_K8S_REMOVE, json_object_get(ev.object));
		break;
	case PF_K8S_BOOKMARK:
		break;
	case PF_K8S_ERROR:
		rq->status_code = ev.code;
		if (ev.code == 410)
			rq->relist = true;
		snprintf(rq->err, sizeof(rq->err), "watch error %d %s", ev.code,
			 ev.reason ? ev.reason : "");
		return 1; /* stop reading: list again (410) or watch again */
	}
	if (ev.resource_version && ev.type != PF_K8S_ERROR)
		snprintf(rq->rv, sizeof(rq->rv), "%s", ev.resource_version);
	return 0;
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *resource_thread(void *arg)
{
	struct res_thread *t = arg;
	struct pf_k8s_watcher *w = t->w;
	unsigned seed = (unsigned)(time(NULL) ^ (uintptr_t)t);
	char rv[64] = "", url[4096], extra[256];
	long backoff = 0, relist_backoff = 0, wait_ms, retry_after;
	bool just_listed = false;

	while (!stopping(w)) {
		if (!rv[0]) {
			long code = do_list(t, rv, sizeof(rv), &retry_after);

			pthread_mutex_lock(&w->lock);
			t->state.lists++;
			t->state.not_installed = code == 404;
			if (!code) {
				t->state.listed = true;
				snprintf(t->state.resource_version,
					 sizeof(t->state.resource_version), "%s", rv);
			}
			pthread_mutex_unlock(&w->lock);
			if (code) {
				rv[0] = 0;
				backoff = pf_k8s_backoff_next(backoff);
				wait_ms = code == 429 && retry_after > 0
					      ? retry_after * 1000
					      : pf_k8s_jitter(backoff, &seed);
				if (nap(w, wait_ms))
					break;
				continue;
			}
			just_listed = true;
			backoff = 0;
		}
		struct request rq = {.t = t, .on_value = watch_value};
		long start = mono_ms(), code;

		snprintf(rq.rv, sizeof(rq.rv), "%s", rv);
		snprintf(extra, sizeof(extra),
			 "%swatch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
			 t->res.field_selector ? "&" : "", WATCH_TIMEOUT_S, rv);
		url_of(&w->cfg, &t->res, url, sizeof(url), extra);
		code = get(&rq, url, WATCH_TIMEOUT_S + 30, WATCH_STALL_S);
		pthread_mutex_lock(&w->lock);
		t->state.watches++;
		snprintf(t->state.resource_version, sizeof(t->state.resource_version), "%s", rq.rv);
		pthread_mutex_unlock(&w->lock);
		snprintf(rv, sizeof(rv), "%s", rq.rv);
		if (stopping(w))
			break;
		if (rq.relist || code == 410) {
			rv[0] = 0; /* too old: list again, now */
			/* ... unless the list just made was already too old: a server in trouble */
			if (just_listed) {
				relist_backoff = pf_k8s_backoff_next(relist_backoff);
				if (nap(w, pf_k8s_jitter(relist_backoff, &seed)))
					break;
			}
			just_listed = false;
			continue;
		}
		just_listed = false;
		relist_backoff = 0;
		if (code == 200 && !rq.err[0] &&
		    (rq.got_event || mono_ms() - start >= WATCH_TOO_SHORT_MS)) {
			backoff = 0; /* ended normally: watch again from rv */
			continue;
		}
		set_error(t, "watch %s: %s", t->res.path,
			  rq.err[0] ? rq.err : (code > 0 ? "HTTP error" : "no answer"));
		if (rq.decode_err == -EBADMSG)
			rv[0] = 0; /* garbage: start from a fresh list */
		backoff = pf_k8s_backoff_next(backoff);
		wait_ms = code == 429 && rq.retry_after_s > 0 ? rq.retry_after_s * 1000
							      : pf_k8s_jitter(backoff, &seed);
		if (nap(w, wait_ms))
			break;
	}
	return NULL;
}

/* ---- life ---- */

int pf_k8s_watcher_start(struct pf_k8s_watcher **out, const struct pf_k8s_config *cfg,
			 const struct pf_k8s_resource *res, size_t n)
{
	struct pf_k8s_watcher *w = calloc(1, sizeof(*w));
	int err = 0;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->tail = &w->head;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	err = pf_k8s_config_copy(&w->cfg, cfg);
	w->threads = calloc(n ? n : 1, sizeof(*w->threads));
	if (w->efd < 0 || err || !w->threads || !w->cfg.server) {
		err = w->efd < 0 ? -errno : -ENOMEM;
		pf_k8s_watcher_stop(w);
		return err;
	}
	w->n = n;
	for (size_t i = 0; i < n; i++) {
		struct res_thread *t = &w->threads[i];

		t->w = w;
		t->index = i;
		t->res = res[i];
		err = -pthread_create(&t->thread, NULL, resource_thread, t);
		if (err) {
			pf_k8s_watcher_stop(w);
			return err;
		}
		t->started = true;
	}
	*out = w;
	return 0;
}

void pf_k8s_watcher_stop(struct pf_k8s_watcher *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->n; i++)
		if (w->threads[i].started)
			pthread_join(w->threads[i].thread, NULL);
	pf_k8s_items_free(w->head);
	free(w->threads);
	pf_k8s_config_free(&w->cfg);
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
