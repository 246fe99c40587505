/*
 * http.h - the HTTP client shared by the Lever and Crosschq clients: one
 * libcurl handle per remote for the whole run (connections reused), https
 * only except to loopback, connect/total/low-speed timeouts, a token-bucket
 * rate limit, retries with exponential backoff and jitter for transport
 * errors and 408/429/500/502/503/504 (honouring Retry-After and
 * X-RateLimit-Reset), and a cap on the response size.
 */
#ifndef REFSYNC_HTTP_H
#define REFSYNC_HTTP_H

#include "util.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

enum http_auth { HTTP_AUTH_BASIC_USER, HTTP_AUTH_HEADER };

struct http_client {
	CURL *curl;
	struct curl_slist *headers;
	char *base_url;         /* e.g. https://api.lever.co/v1 (no trailing slash) */
	const char *name;       /* "Lever" or "Crosschq", for messages */
	double rps;             /* requests per second allowed */
	int64_t next_slot_ms;   /* monotonic time of the next allowed request */
	size_t max_body;        /* response cap in bytes */
	int max_attempts;       /* tries per request, first included */
	int64_t backoff_base_ms;
	int64_t max_wait_ms;    /* longest single wait; a server asking for more is retried next run */
	int64_t wait_budget_ms; /* the most this run waits on this remote in all ([sync] remote_wait_seconds) */
	int64_t waited_ms;      /* waited so far in this run */
	long total_timeout_s;
	long low_speed_time_s;
	/* counters for the run record and benchmarks */
	long requests;          /* attempts sent, retries included */
	long retries;
	char last_failure[1024]; /* the message of the last request given up as unavailable, "" when none */
	/* The remote's own words: turns an error answer's body (len bytes, NUL
	 * after them) into one line in out (n bytes), or leaves out "" when the
	 * body is not the remote's error shape. Set by the remote's client
	 * (lever_client_init, crosschq_client_init); the transport knows no
	 * vendor's error body. NULL: the start of the body is shown. */
	void (*error_line)(const char *body, size_t len, char *out, size_t n);
};

/* The outcome of http_request. */
enum http_result {
	HTTP_RESPONSE = 0,      /* a final response: look at status (2xx, 3xx, or a non-retryable 4xx) */
	HTTP_UNAVAILABLE = -1,  /* gave up after retries: network trouble or 429/5xx persisted */
	HTTP_BAD_RESPONSE = -2, /* the response broke a limit (too large) */
	HTTP_REDIRECT_REFUSED = -3, /* a redirect to another origin (or too many): not followed, err says */
	HTTP_SETUP_ERROR = -4   /* a failure that waiting will not heal (certificate refused, unknown host): not retried */
};

struct http_response {
	long status;
	struct buf body;        /* capped at the client's max_body */
	int64_t retry_after_ms; /* from the last retryable answer, -1 when none */
	int maybe_sent;         /* HTTP_UNAVAILABLE after the request may have reached the server */
	char allow[128];        /* the Allow header of the final answer (OPTIONS probes), or "" */
	int64_t date_ms;        /* its Date header: the server's clock (epoch ms, whole seconds), 0 when none */
};

/*
 * Set up a client for base_url. secret is the API key: for
 * HTTP_AUTH_BASIC_USER it is the Basic username with an empty password
 * (Lever), for HTTP_AUTH_HEADER it is the whole value of the Authorization
 * header (Crosschq: the key, or "Token <key>"). Returns 0, or -1 with err set (the message holds no secret).
 */
int http_client_init(struct http_client *c, const char *name, const char *base_url,
		     enum http_auth auth, const char *secret, double rps, char *err, size_t errlen);
void http_client_free(struct http_client *c);
/* Wait until c may make its next request, without taking the slot: a caller
 * that records "sending" before a call waits first, so that nothing but the
 * call itself lies between the record and the request. */
void http_pace_wait(struct http_client *c);

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/*
 * Describe a final non-2xx response as "<Name> <METHOD> <path>: HTTP <status>
 * <remote message>" into err. The remote's message is c->error_line's line,
 * else the printable start of the body; the query string is left out (it may
 * hold an email address).
 */
void http_describe_error(const struct http_client *c, const char *method, const char *path,
			 const struct http_response *resp, char *err, size_t errlen);

/* Percent-encode s for a query string into a malloc'd string. */
char *http_escape(const char *s);

/* Append before, then id percent-encoded, then after to the path p. */
void http_path_with_id(struct buf *p, const char *before, const char *id, const char *after);

/*
 * When the response header line (n bytes, as libcurl hands it over, with its
 * CRLF, not NUL-terminated) is the header name (case-insensitive), copy its
 * value without surrounding spaces, tabs, CR and LF into out (outlen > 0,
 * always NUL-terminated); a value that does not fit or holds a control
 * character other than a tab (a NUL included) is stored as "" (unparsable).
 * Otherwise out is left alone.
 */
void http_header_value(const char *line, size_t n, const char *name, char *out, size_t outlen);

/*
 * Parse a Retry-After value (delta seconds or an HTTP date) into a wait in
 * ms relative to now_epoch_ms. Returns -1 when unparsable.
 */
int64_t http_parse_retry_after(const char *value, int64_t now_epoch_ms);

/*
 * Parse X-RateLimit-Reset (epoch seconds, epoch ms, or delta seconds) into a
 * wait in ms. Returns -1 when unparsable.
 */
int64_t http_parse_ratelimit_reset(const char *value, int64_t now_epoch_ms);

/* The host of c's base URL (no port, user or path) into out; "" when it has none. */
void http_client_host(const struct http_client *c, char *out, size_t outlen);

/* Global libcurl set-up and tear-down (once per process). */
void http_global_init(void);
void http_global_cleanup(void);

/* How a remote call ended, as the sync engine needs to know it. */
enum remote_status {
	REMOTE_OK = 0,          /* 2xx */
	REMOTE_DOWN,            /* transient: network, 429/5xx after retries: retry later */
	REMOTE_AUTH,            /* 401: the key is wrong: a config error */
	REMOTE_NOT_FOUND,       /* 404 */
	REMOTE_CONFLICT,        /* 409 */
	REMOTE_REJECTED,        /* another 4xx: permanent for this call */
	REMOTE_BAD_OFFSET,      /* a listing's offset refused: restart it (lever_offset_status says when) */
	REMOTE_BAD,             /* a response we cannot use (too large, malformed) */
	REMOTE_FORBIDDEN,       /* 403: no permission for this endpoint, or confidential data without access */
	REMOTE_REDIRECTED,      /* a redirect not followed (to another origin): a config error */
	REMOTE_SETUP            /* cannot be reached as set up (certificate refused, unknown host): a config error */
};

/*
 * Send method to base_url + path (path starts with '/' and may carry a
 * query; body is a JSON text or NULL) and classify the outcome. idempotent:
 * 0 for calls that must not be repeated blindly (Lever notes and opportunity
 * creation); those are retried only when the server surely did not act
 * (connection refused, 429, 503). On anything but REMOTE_OK, err holds a
 * one-line message naming remote, method, path, status and the remote's
 * message. *maybe_sent (may be NULL) tells, for REMOTE_DOWN, whether the
 * request may have been acted on.
 */
enum remote_status remote_call(struct http_client *c, const char *method, const char *path,
			       const char *body, int idempotent, struct http_response *resp,
			       int *maybe_sent, char *err, size_t errlen);

/* For a status that is a configuration matter (401, 403, a redirect
 * elsewhere), what the admin should do (static text); NULL for the others. */
const char *remote_config_hint(enum remote_status s);

/*
 * Concurrent GETs on one client (libcurl multi): the same pacing (one rate
 * budget for all transfers), retries, Retry-After and caps as http_request.
 * Used by the partitioned backfill, where each time slice is a chain of
 * pages and several chains are in flight at once.
 */
/* Internal: where a transfer writes its answer, and the headers it keeps. */
struct http_sink {
	struct http_response *resp;
	int too_large;
	char retry_after[64], ratelimit_reset[64];
	char location[2048];    /* a redirect to follow */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's detail of a failed transfer (CURLOPT_ERRORBUFFER) */
};

struct http_async {
	void *user;                     /* the caller's */
	struct http_response resp;      /* the final answer when finished */
	enum http_result result;
	char err[1024];
	/* internal */
	char *path;
	char *url;                      /* the URL fetched (base + path, or a redirect's target) */
	CURL *easy;
	int attempt, redirects, state;             /* state: 0 waiting, 1 in flight, 2 finished */
	int64_t not_before;             /* monotonic ms */
	struct http_sink sink;
};

struct http_multi {
	struct http_client *c;
	CURLM *multi;
	struct http_async **items;
	size_t n, cap;
};

void http_multi_init(struct http_multi *m, struct http_client *c);
void http_multi_free(struct http_multi *m);
/* Queue a GET of path (copied) on a; a must stay valid until it is returned finished. */
void http_multi_get(struct http_multi *m, struct http_async *a, const char *path);
/* Drive the transfers until one finishes and return it (result, resp and err
 * filled as by http_request), or NULL when nothing is queued or the run is
 * interrupted (util.h: interrupted() tells which; transfers in flight are
 * dropped, http_multi_free releases them). With wait 0 it never blocks: NULL
 * also when no transfer has finished yet. */
struct http_async *http_multi_next(struct http_multi *m, int wait);
/* Release what a finished (or never started) transfer holds. */
void http_async_free(struct http_async *a);
/* Classify a finished transfer as remote_call would; err gets its message. */
enum remote_status http_async_status(struct http_client *c, const struct http_async *a, char *err, size_t errlen);

#endif
