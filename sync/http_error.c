/*
 * http_error.c - the words of an HTTP failure: a remote's error answer as
 * one line (in the remote's words: the client's error_line), a transport
 * failure with the URL and libcurl's own detail, and
 * which transport failures are the set-up's fault rather than the network's.
 */
#include "http.h"
#include "http_internal.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See http_internal.h. */
void http_path_without_query(const char *path, char *out, size_t outlen)
{
	size_t n = strcspn(path, "?");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

/* See http.h. */
void http_describe_error(const struct http_client *c, const char *method, const char *path,
			 const struct http_response *resp, char *err, size_t errlen)
{
	char p[256];
	http_path_without_query(path, p, sizeof p);
	char remote[512] = "";
	if (resp->body.len > 0) {
		if (c->error_line)
			c->error_line(resp->body.data, resp->body.len, remote, sizeof remote);
		if (!remote[0]) {
			/* not the documented error shape: show the start, printable only */
			size_t j = 0;
			for (size_t i = 0; i < resp->body.len && j < 120; i++) {
				unsigned char ch = (unsigned char)resp->body.data[i];
				remote[j++] = (ch >= 32 && ch < 127) ? (char)ch : ' ';
			}
			remote[j] = '\0';
		}
	}
	snprintf(err, errlen, "%s %s %s: HTTP %ld%s%s", c->name, method, p, resp->status, remote[0] ? " " : "",
		 remote);
	log_mask_secrets(err);
}

/* See http_internal.h. */
void http_shown_url(const struct http_client *c, const char *path, char *out, size_t outlen)
{
	char p[512];
	http_path_without_query(path, p, sizeof p);
	size_t ulen = strlen(c->base_url) + strlen(p) + 1;
	char *url = xmalloc(ulen);
	snprintf(url, ulen, "%s%s", c->base_url, p);
	/* scheme, host, port and path only: never a user, password or query */
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *upath = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &upath, 0);
		snprintf(out, outlen, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
			 upath ? upath : "");
	} else {
		snprintf(out, outlen, "%s", p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(upath);
	curl_url_cleanup(u);
	free(url);
}

/* See http_internal.h. */
int http_transport_is_setup_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return 1;
	default:
		return 0;
	}
}

/* See http_internal.h. */
void http_describe_transport(const struct http_client *c, const char *method, const char *path, CURLcode rc,
			     const char *detail, char *err, size_t errlen)
{
	char url[768];
	http_shown_url(c, path, url, sizeof url);
	char d[CURL_ERROR_SIZE];
	snprintf(d, sizeof d, "%s", detail ? detail : "");
	size_t n = strlen(d);
	while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r' || d[n - 1] == ' '))
		d[--n] = '\0';
	for (char *q = d; *q; q++)
		if ((unsigned char)*q < 32)
			*q = ' ';
	snprintf(err, errlen, "%s %s %s: %s (curl error %d)%s%s", c->name, method, url, curl_easy_strerror(rc),
		 (int)rc, d[0] ? ": " : "", d);
	log_mask_secrets(err);
}

/* See http.h. */
void http_client_host(const struct http_client *c, char *out, size_t outlen)
{
	out[0] = '\0';
	CURLU *u = curl_url();
	char *host = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, c->base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		snprintf(out, outlen, "%s", host);
	curl_free(host);
	curl_url_cleanup(u);
}
