/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every request to the API server shares, whoever makes it (the
 * watcher's GETs, the writer's PATCH and POST): the configuration copied
 * into a thread's own, and a libcurl handle authenticated with it.
 */
#ifndef PODFENCE_K8S_HTTP_H
#define PODFENCE_K8S_HTTP_H

#include <curl/curl.h>
#include "podfence/k8s.h"

/* Copies every field of src (NULL stays NULL); -ENOMEM, dst freed, when one cannot be. */
int pf_k8s_config_copy(struct pf_k8s_config *dst, const struct pf_k8s_config *src);

/*
 * Authenticates handle c with cfg: the bearer token appended to *hdrs (a
 * token file is read again now: projected tokens rotate), the CA and the
 * client certificate and key set as files or PEM bytes.
 */
void pf_k8s_http_auth(CURL *c, const struct pf_k8s_config *cfg, struct curl_slist **hdrs);

/* Errors back off 0.8 s doubling to 30 s: the next wait after `ms` (0: the first). */
long pf_k8s_backoff_next(long ms);
/* ms with +-20% jitter, so that a fleet of agents does not retry in step. */
long pf_k8s_jitter(long ms, unsigned *seed);

#endif /* PODFENCE_K8S_HTTP_H */
