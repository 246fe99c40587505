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

#endif
