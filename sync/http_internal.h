/*
 * http_internal.h - what http.c shares with http_multi.c only.
 */
#ifndef REFSYNC_HTTP_INTERNAL_H
#define REFSYNC_HTTP_INTERNAL_H

#include "http.h"

/* Redirects followed for one request at most. */
#define HTTP_MAX_REDIRECTS 5

/* libcurl callbacks: the capped body, and the headers kept (userdata: struct http_sink). */
size_t http_on_body(char *ptr, size_t size, size_t nmemb, void *userdata);
size_t http_on_header(char *ptr, size_t size, size_t nmemb, void *userdata);

/* CURLOPT_XFERINFOFUNCTION of a transfer that may be dropped (an idempotent
 * call): non-zero, which ends it, once the run is interrupted (util.h). */
int http_on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);

/* The spacing of requests in ms: a hair over 1/rps. */
int64_t http_pace_interval(const struct http_client *c);

/*
 * Judge one attempt at method path. Returns 1 when the exchange is over
 * (*result: a response to look at, a response too large, a redirect refused,
 * or given up with err set), 2 when a same-origin redirect is to be followed
 * to sink->location (not counted as an attempt; redirects counts those
 * followed so far), or 0 when it is to be tried again after *wait ms (err
 * says why; the retry is counted, logged and charged to the client's wait
 * budget). A call that is not idempotent is tried again only when the
 * server surely did not act.
 */
int http_judge_attempt(struct http_client *c, CURL *h, const char *method, const char *path, int idempotent,
		       CURLcode rc, struct http_sink *sink, int attempt, int redirects, enum http_result *result,
		       int64_t *wait, char *err, size_t errlen);

/* Copy path without its query string (it may hold an email address) into out. */
void http_path_without_query(const char *path, char *out, size_t outlen);

/*
 * The URL of base_url + path as shown in messages: scheme, host, port and
 * path only (no user, password or query), into out.
 */
void http_shown_url(const struct http_client *c, const char *path, char *out, size_t outlen);

/*
 * Whether a transport error is the set-up's fault and will not heal by
 * waiting: a certificate that does not verify, a host name that does not
 * resolve, a URL libcurl cannot use. Those fail at the first attempt.
 */
int http_transport_is_setup_error(CURLcode rc);

/*
 * Describe a transport failure as "<Name> <METHOD> <url>: <curl's text>
 * (curl error N): <libcurl's detail>" into err; detail is the transfer's
 * CURLOPT_ERRORBUFFER (may be "" or NULL).
 */
void http_describe_transport(const struct http_client *c, const char *method, const char *path, CURLcode rc,
			     const char *detail, char *err, size_t errlen);

#endif
