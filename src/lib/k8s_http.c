// SPDX-License-Identifier: Apache-2.0
/*
 * The API server's address and credentials on a libcurl handle (k8s_http.h),
 * shared by the watcher (k8s_watch.c) and the writer (k8s_write.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s_http.h"

#define BACKOFF_FIRST_MS 800
#define BACKOFF_MAX_MS	 30000

static int dup_field(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

int pf_k8s_config_copy(struct pf_k8s_config *dst, const struct pf_k8s_config *src)
{
	int err = 0;

	memset(dst, 0, sizeof(*dst));
	err |= dup_field(&dst->server, src->server);
	err |= dup_field(&dst->ca_file, src->ca_file);
	err |= dup_field(&dst->ca_pem, src->ca_pem);
	err |= dup_field(&dst->token, src->token);
	err |= dup_field(&dst->token_file, src->token_file);
	err |= dup_field(&dst->cert_file, src->cert_file);
	err |= dup_field(&dst->key_file, src->key_file);
	err |= dup_field(&dst->cert_pem, src->cert_pem);
	err |= dup_field(&dst->key_pem, src->key_pem);
	if (err) {
		pf_k8s_config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

static char *token_now(const struct pf_k8s_config *cfg)
{
	char buf[8192];
	FILE *f;
	size_t n;

	if (!cfg->token_file)
		return cfg->token ? strdup(cfg->token) : NULL;
	/* Re-read every time: projected service account tokens rotate. */
	f = fopen(cfg->token_file, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = 0;
	return strdup(buf);
}

/* PEM bytes: CURL_BLOB_COPY, so that the blob need not outlive the call. */
static void set_blob(CURL *c, CURLoption opt, char *pem)
{
	struct curl_blob b = {pem, strlen(pem), CURL_BLOB_COPY};

	curl_easy_setopt(c, opt, &b);
}

void pf_k8s_http_auth(CURL *c, const struct pf_k8s_config *cfg, struct curl_slist **hdrs)
{
	char auth[8300], *token = token_now(cfg);

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		*hdrs = curl_slist_append(*hdrs, auth);
		free(token);
	}
	if (cfg->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->ca_pem)
		set_blob(c, CURLOPT_CAINFO_BLOB, cfg->ca_pem);
	if (cfg->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file);
	if (cfg->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file);
	if (cfg->cert_pem)
		set_blob(c, CURLOPT_SSLCERT_BLOB, cfg->cert_pem);
	if (cfg->key_pem)
		set_blob(c, CURLOPT_SSLKEY_BLOB, cfg->key_pem);
}

long pf_k8s_backoff_next(long ms)
{
	long next = ms ? ms * 2 : BACKOFF_FIRST_MS;

	return next > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : next;
}

long pf_k8s_jitter(long ms, unsigned *seed)
{
	return ms * 8 / 10 + (long)(rand_r(seed) % (unsigned)(ms * 4 / 10 + 1));
}
