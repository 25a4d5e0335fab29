// SPDX-License-Identifier: Apache-2.0
/*
 * Finding the API server: kubeconfig files (the current context's cluster
 * and user) and the in-cluster service account (see k8s.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "podfence/diag.h"
#include "podfence/k8s.h"
#include "podfence/yaml.h"

void pf_k8s_config_free(struct pf_k8s_config *c)
{
	free(c->server);
	free(c->ca_file);
	free(c->ca_pem);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

/* The *-data fields: base64 of PEM text. */
static char *base64_text(const char *b64)
{
	size_t len = strlen(b64);
	unsigned char *out = malloc(len / 4 * 3 + 4);
	int n;

	if (!out)
		return NULL;
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding's zero bytes: PEM text ends at the first NUL. */
	out[n] = 0;
	return (char *)out;
}

/* The entry of list `key` (clusters, users, contexts) whose name is `name`: its inner map. */
static yaml_node_t *named(struct pf_ydoc *d, yaml_node_t *root, const char *key, const char *inner,
			  const char *name)
{
	yaml_node_t *seq = pf_y_get(d, root, key);

	for (size_t i = 0; name && i < pf_y_seq_len(seq); i++) {
		yaml_node_t *e = pf_y_seq_at(d, seq, i);
		const char *n = pf_y_str(pf_y_get(d, e, "name"));

		if (n && strcmp(n, name) == 0)
			return pf_y_get(d, e, inner);
	}
	return NULL;
}

static int take(char **dst, const char *v, bool b64)
{
	if (!v || !*v)
		return 0;
	*dst = b64 ? base64_text(v) : strdup(v);
	return *dst ? 0 : -EINVAL;
}

int pf_k8s_config_kubeconfig(const char *path, struct pf_k8s_config *out, char *err, size_t err_len)
{
	struct pf_diags diags = {};
	struct pf_yfile yf = {};
	struct pf_ydoc *d;
	yaml_node_t *root, *ctx, *cluster, *user;
	const char *cur;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = pf_yfile_load(&yf, path, &diags);
	if (ret || !yf.n_docs) {
		if (diags.n)
			snprintf(err, err_len, "%s:%d:%d: %s", path, diags.v[0].line,
				 diags.v[0].col, diags.v[0].msg);
		else
			snprintf(err, err_len, "%s: %s", path, ret ? strerror(-ret) : "empty");
		ret = ret ? ret : -EINVAL;
		goto out;
	}
	d = &yf.docs[0];
	root = pf_y_root(d);
	cur = pf_y_str(pf_y_get(d, root, "current-context"));
	ctx = named(d, root, "contexts", "context", cur);
	if (!ctx) {
		snprintf(err, err_len, "%s: no context named by current-context (%s)", path,
			 cur ? cur : "missing");
		ret = -EINVAL;
		goto out;
	}
	cluster = named(d, root, "clusters", "cluster", pf_y_str(pf_y_get(d, ctx, "cluster")));
	user = named(d, root, "users", "user", pf_y_str(pf_y_get(d, ctx, "user")));
	if (!cluster || !pf_y_str(pf_y_get(d, cluster, "server"))) {
		snprintf(err, err_len, "%s:%d:%d: context %s: no cluster with a server", path,
			 pf_y_line(ctx), pf_y_col(ctx), cur);
		ret = -EINVAL;
		goto out;
	}
	if ((ret = take(&out->server, pf_y_str(pf_y_get(d, cluster, "server")), false)) ||
	    (ret = take(&out->ca_file, pf_y_str(pf_y_get(d, cluster, "certificate-authority")),
			false)) ||
	    (ret = take(&out->ca_pem, pf_y_str(pf_y_get(d, cluster, "certificate-authority-data")),
			true)) ||
	    (ret = take(&out->token, pf_y_str(pf_y_get(d, user, "token")), false)) ||
	    (ret = take(&out->token_file, pf_y_str(pf_y_get(d, user, "tokenFile")), false)) ||
	    (ret =
		 take(&out->cert_file, pf_y_str(pf_y_get(d, user, "client-certificate")), false)) ||
	    (ret = take(&out->key_file, pf_y_str(pf_y_get(d, user, "client-key")), false)) ||
	    (ret = take(&out->cert_pem, pf_y_str(pf_y_get(d, user, "client-certificate-data")),
			true)) ||
	    (ret = take(&out->key_pem, pf_y_str(pf_y_get(d, user, "client-key-data")), true)))
		snprintf(err, err_len, "%s: context %s: a field is not valid base64 (or no memory)",
			 path, cur);
out:
	if (ret)
		pf_k8s_config_free(out);
	pf_yfile_free(&yf);
	pf_diags_free(&diags);
	return ret;
}

int pf_k8s_config_in_cluster(const char *sa_dir, struct pf_k8s_config *out, char *err,
			     size_t err_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char buf[512];

	memset(out, 0, sizeof(*out));
	if (!host || !*host || !port || !*port) {
		snprintf(err, err_len,
			 "not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set");
		return -ENOENT;
	}
	/* An IPv6 address goes in brackets. */
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
		 port);
	out->server = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/token", sa_dir);
	out->token_file = strdup(buf);
	snprintf(buf, sizeof(buf), "%s/ca.crt", sa_dir);
	out->ca_file = strdup(buf);
	if (!out->server || !out->token_file || !out->ca_file) {
		pf_k8s_config_free(out);
		return -ENOMEM;
	}
	if (access(out->token_file, R_OK)) {
		snprintf(err, err_len, "%s: %s", out->token_file, strerror(errno));
		pf_k8s_config_free(out);
		return -ENOENT;
	}
	return 0;
}
