// SPDX-License-Identifier: Apache-2.0
/*
 * The agent's HTTP endpoint: addresses, answers served from the caller's own
 * epoll loop (no thread of its own), and the Prometheus text writer's escaping.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <curl/curl.h>
#include "pf_test.h"
#include "podfence/metrics.h"

static void answer(void *ctx, const char *path, struct pf_http_reply *out)
{
	struct pf_prom p;

	(*(int *)ctx)++;
	if (strcmp(path, "/metrics") != 0)
		return; /* 404 */
	if (pf_prom_open(&p))
		return;
	pf_prom_family(&p, "x_total", "counter", "a counter");
	pf_prom_sample(&p, "x_total", "policy", "a\"b\\c\nd", 3);
	pf_prom_sample(&p, "x_total", NULL, NULL, 4);
	pf_prom_close(&p, out);
}

struct fetch {
	char url[128];
	long code;
	char body[512];
	size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	struct fetch *f = ctx;
	size_t take = size * n;

	if (take > sizeof(f->body) - 1 - f->len)
		take = sizeof(f->body) - 1 - f->len;
	memcpy(f->body + f->len, data, take);
	f->len += take;
	f->body[f->len] = 0;
	return size * n;
}

static void *fetch_thread(void *arg)
{
	struct fetch *f = arg;
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->code);
	curl_easy_cleanup(c);
	return NULL;
}

/* One GET, answered by pf_http_run() from this thread's epoll loop. */
static bool get(struct pf_http *h, const char *path, struct fetch *f)
{
	struct epoll_event ev = {.events = EPOLLIN};
	pthread_t t;
	int ep = epoll_create1(0), spins = 0;
	bool done = false;

	memset(f, 0, sizeof(*f));
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u%s", pf_http_port(h), path);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pf_http_fd(h), &ev) ||
	    pthread_create(&t, NULL, fetch_thread, f))
		return false;
	while (!done && spins++ < 500) {
		struct epoll_event out;

		if (epoll_wait(ep, &out, 1, 10) > 0)
			pf_http_run(h);
		pf_http_run(h);
		done = pthread_tryjoin_np(t, NULL) == 0;
	}
	if (!done)
		pthread_join(t, NULL);
	close(ep);
	return true;
}

PF_TEST(http_answers_from_the_callers_loop)
{
	struct pf_http *h = NULL;
	struct fetch f;
	char err[256];
	int calls = 0;

	if (!ASSERT_OK(pf_http_start(&h, "127.0.0.1:0", answer, &calls, err, sizeof(err)), err))
		return;
	ASSERT_TRUE(pf_http_port(h) > 0, "port 0 picks one");
	if (ASSERT_TRUE(get(h, "/metrics", &f), "GET /metrics")) {
		ASSERT_EQ(f.code, 200, "status");
		ASSERT_STRSTR(f.body, "# HELP x_total a counter\n# TYPE x_total counter\n",
			      "family");
		/* backslash, double quote and newline escaped as the exposition format says */
		ASSERT_STRSTR(f.body, "x_total{policy=\"a\\\"b\\\\c\\nd\"} 3\n", "escaped label");
		ASSERT_STRSTR(f.body, "\nx_total 4\n", "no label");
	}
	if (ASSERT_TRUE(get(h, "/nothing", &f), "GET /nothing"))
		ASSERT_EQ(f.code, 404, "unknown path");
	ASSERT_EQ(calls, 2, "handler calls");
	pf_http_stop(h);
}

PF_TEST(http_address_errors)
{
	static const char *const bad[] = {"9617", "host:", ":port", "[::1]9617", ":99999", NULL};
	struct pf_http *h;
	char err[256];
	int calls = 0;

	for (size_t i = 0; bad[i]; i++) {
		ASSERT_EQ(pf_http_start(&h, bad[i], answer, &calls, err, sizeof(err)), -EINVAL,
			  bad[i]);
		ASSERT_STRSTR(err, "--metrics-addr", bad[i]);
		ASSERT_TRUE(h == NULL, "nothing started");
	}
}
