/*
 * http.c - libcurl client with pacing, retries and bounded responses.
 */
#include "http.h"
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <yajl/yajl_tree.h>

#define DEFAULT_MAX_BODY (32u * 1024 * 1024)

void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

/* The body of an answer, capped (struct http_sink is the transfer's). */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_sink *t = userdata;
	size_t n = size * nmemb;
	if (buf_append(&t->resp->body, ptr, n)) {
		t->too_large = 1;
		return 0; /* abort the transfer */
	}
	return n;
}

/* Copy the value of header "name" when line is that header. */
static void header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t len = (size_t)(end - v);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

/* The headers that say how long to wait before trying again. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_sink *t = userdata;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (e.g. after 100 Continue): forget old headers */
		t->retry_after[0] = t->ratelimit_reset[0] = '\0';
	}
	header_value(ptr, n, "Retry-After", t->retry_after, sizeof t->retry_after);
	header_value(ptr, n, "X-RateLimit-Reset", t->ratelimit_reset, sizeof t->ratelimit_reset);
	return n;
}

int http_client_init(struct http_client *c, const char *name, const char *base_url, enum http_auth auth,
		     const char *secret, double rps, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	c->name = name;
	if (!config_url_allowed(base_url)) {
		snprintf(err, errlen, "%s URL '%s' refused: https:// only (http:// only to loopback)", name, base_url);
		return -1;
	}
	c->base_url = xstrdup(base_url);
	c->rps = rps > 0 ? rps : 1;
	c->max_body = DEFAULT_MAX_BODY;
	c->max_attempts = 8;
	c->backoff_base_ms = 500;
	c->max_wait_ms = 120000;
	c->total_timeout_s = 120;
	c->low_speed_time_s = 30;
	c->curl = curl_easy_init();
	if (!c->curl) {
		snprintf(err, errlen, "%s: cannot initialise libcurl", name);
		free(c->base_url);
		return -1;
	}
	CURL *h = c->curl;
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	/* list pages are a few hundred KiB: fewer, larger reads */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "refsync/" REFSYNC_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (auth == HTTP_AUTH_BASIC_USER) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, secret);
		curl_easy_setopt(h, CURLOPT_PASSWORD, "");
	} else {
		size_t n = strlen(secret) + 32;
		char *hdr = xmalloc(n);
		snprintf(hdr, n, "Authorization: Token %s", secret);
		c->headers = curl_slist_append(c->headers, hdr);
		explicit_bzero(hdr, n);
		free(hdr);
	}
	return 0;
}

void http_client_free(struct http_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	/* one of the headers carries the API key */
	for (struct curl_slist *l = c->headers; l; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(c->headers);
	free(c->base_url);
	memset(c, 0, sizeof *c);
}

void http_response_init(struct http_response *r)
{
	r->status = 0;
	buf_init(&r->body, DEFAULT_MAX_BODY);
	r->retry_after_ms = -1;
	r->maybe_sent = 0;
}

void http_response_free(struct http_response *r)
{
	buf_free(&r->body);
}

char *http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(e ? e : "");
	curl_free(e);
	return r;
}

void http_path_with_id(struct buf *p, const char *before, const char *id, const char *after)
{
	char *e = http_escape(id);
	buf_printf(p, "%s%s%s", before, e, after);
	free(e);
}

int64_t http_parse_retry_after(const char *value, int64_t now_epoch_ms)
{
	if (!value || !*value)
		return -1;
	const char *p = value;
	while (isdigit((unsigned char)*p))
		p++;
	if (p != value && *p == '\0') {
		long long s = strtoll(value, NULL, 10);
		if (s > 86400)
			s = 86400;
		return (int64_t)s * 1000;
	}
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	int64_t wait = (int64_t)t * 1000 - now_epoch_ms;
	return wait < 0 ? 0 : wait;
}

int64_t http_parse_ratelimit_reset(const char *value, int64_t now_epoch_ms)
{
	if (!value || !*value)
		return -1;
	char *end;
	double v = strtod(value, &end);
	/* a server's header: refuse anything that is not a plain, sane number */
	if (end == value || *end != '\0' || !(v >= 0) || v > 1e14)
		return -1;
	int64_t wait;
	if (v > 1e12) /* epoch milliseconds */
		wait = (int64_t)v - now_epoch_ms;
	else if (v > 1e9) /* epoch seconds */
		wait = (int64_t)(v * 1000) - now_epoch_ms;
	else /* seconds from now */
		wait = (int64_t)(v * 1000);
	return wait < 0 ? 0 : wait;
}

/* Wait for the token bucket (capacity one request: strict pacing). */
/* The spacing of requests: a hair over 1/rps, so that no 1-second window,
 * however it is placed, holds more than rps requests. */
static int64_t pace_interval(const struct http_client *c)
{
	return (int64_t)(1000.0 / c->rps) + 1;
}

static void pace(struct http_client *c)
{
	int64_t interval = pace_interval(c);
	int64_t now = monotonic_ms();
	if (c->next_slot_ms > now)
		sleep_ms(c->next_slot_ms - now);
	now = monotonic_ms();
	c->next_slot_ms = (c->next_slot_ms > now ? c->next_slot_ms : now) + interval;
}

static int64_t jittered_backoff(const struct http_client *c, int attempt)
{
	int64_t d = c->backoff_base_ms;
	for (int i = 1; i < attempt && d < c->max_wait_ms; i++)
		d *= 2;
	if (d > 60000)
		d = 60000;
	unsigned r = 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
		r = (unsigned)monotonic_ms();
	/* between half and all of d ("equal jitter") */
	return d / 2 + (int64_t)(r % (unsigned)(d / 2 + 1));
}

static int retryable_status(long s)
{
	return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

/* Transport errors after which the server surely did not act on the request. */
static int surely_not_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static void path_without_query(const char *path, char *out, size_t outlen)
{
	size_t n = strcspn(path, "?");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

void http_describe_error(const struct http_client *c, const char *method, const char *path,
			 const struct http_response *resp, char *err, size_t errlen)
{
	char p[256];
	path_without_query(path, p, sizeof p);
	char remote[512] = "";
	if (resp->body.len > 0) {
		char ebuf[64];
		yajl_val v = yajl_tree_parse(resp->body.data, ebuf, sizeof ebuf);
		if (v && YAJL_IS_OBJECT(v)) {
			const char *code_path[] = { "code", NULL }, *msg_path[] = { "message", NULL },
				   *detail_path[] = { "detail", NULL };
			yajl_val code = yajl_tree_get(v, code_path, yajl_t_string);
			yajl_val msg = yajl_tree_get(v, msg_path, yajl_t_string);
			yajl_val detail = yajl_tree_get(v, detail_path, yajl_t_string);
			if (code && msg)
				snprintf(remote, sizeof remote, "%s: %s", YAJL_GET_STRING(code), YAJL_GET_STRING(msg));
			else if (msg)
				snprintf(remote, sizeof remote, "%s", YAJL_GET_STRING(msg));
			else if (detail)
				snprintf(remote, sizeof remote, "%s", YAJL_GET_STRING(detail));
		}
		yajl_tree_free(v);
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

/*
 * Judge one attempt at method path, sync or concurrent alike. Returns 1
 * when the exchange is over (*result: a response to look at, a response too
 * large, or given up with err set), or 0 when it is to be tried again after
 * *wait ms (err says why; the retry is counted and logged). A call that is
 * not idempotent is tried again only when the server surely did not act.
 */
static int judge_attempt(struct http_client *c, CURL *h, const char *method, const char *path, int idempotent,
			 CURLcode rc, const struct http_sink *sink, int attempt, enum http_result *result,
			 int64_t *wait, char *err, size_t errlen)
{
	struct http_response *resp = sink->resp;
	char shown[256];
	path_without_query(path, shown, sizeof shown);
	int retry = 0;
	*wait = -1;
	if (sink->too_large) {
		snprintf(err, errlen, "%s %s %s: response larger than %zu bytes", c->name, method, shown, c->max_body);
		*result = HTTP_BAD_RESPONSE;
		return 1;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "%s %s %s: timed out (no data for %ld s, or no complete answer within %ld s)",
			 c->name, method, shown, c->low_speed_time_s, c->total_timeout_s);
		retry = idempotent;
	} else if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s %s %s: %s", c->name, method, shown, curl_easy_strerror(rc));
		retry = idempotent || surely_not_sent(rc);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		if (!retryable_status(resp->status)) {
			*result = HTTP_RESPONSE;
			return 1;
		}
		http_describe_error(c, method, path, resp, err, errlen);
		/* 429 and 503 mean "not processed"; others only retried when safe */
		retry = idempotent || resp->status == 429 || resp->status == 503;
		int64_t now = now_ms();
		*wait = http_parse_retry_after(sink->retry_after, now);
		if (*wait < 0)
			*wait = http_parse_ratelimit_reset(sink->ratelimit_reset, now);
		resp->retry_after_ms = *wait;
	}
	if (!retry)
		resp->maybe_sent = 1;
	if (!retry || attempt >= c->max_attempts) {
		if (retry)
			resp->maybe_sent = resp->maybe_sent || !idempotent;
		*result = HTTP_UNAVAILABLE;
		log_mask_secrets(err);
		return 1;
	}
	if (*wait < 0)
		*wait = jittered_backoff(c, attempt);
	if (*wait > c->max_wait_ms)
		*wait = c->max_wait_ms;
	log_info("%s; retrying in %.1f s (attempt %d of %d)", err, (double)*wait / 1000.0, attempt + 1,
		 c->max_attempts);
	c->retries++;
	return 0;
}

enum http_result http_request(struct http_client *c, const char *method, const char *path, const char *body,
			      int idempotent, struct http_response *resp, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	size_t ulen = strlen(c->base_url) + strlen(path) + 1;
	char *url = xmalloc(ulen);
	snprintf(url, ulen, "%s%s", c->base_url, path);

	CURL *h = c->curl;
	struct curl_slist *headers = c->headers;
	struct curl_slist *extra = NULL;
	if (body) {
		extra = curl_slist_append(NULL, "Content-Type: application/json");
		for (struct curl_slist *s = c->headers; s; s = s->next)
			extra = curl_slist_append(extra, s->data);
		headers = extra;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	/* libcurl silently sends a request again when a reused connection dies
	 * before the answer; for a call that must not be repeated, a fresh
	 * connection leaves it nothing to repeat (a failure then surfaces here,
	 * in doubt, and is looked up instead) */
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, idempotent ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->total_timeout_s);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	} else {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
	}

	enum http_result result = HTTP_UNAVAILABLE;
	resp->maybe_sent = 0;
	for (int attempt = 1;; attempt++) {
		struct http_sink t = { .resp = resp };
		buf_reset(&resp->body);
		resp->status = 0;
		resp->retry_after_ms = -1;
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
		pace(c);
		c->requests++;
		CURLcode rc = curl_easy_perform(h);
		int64_t wait;
		if (judge_attempt(c, h, method, path, idempotent, rc, &t, attempt, &result, &wait, err, errlen))
			break;
		sleep_ms(wait);
		/* a server that asked us to wait gets a fresh slot after it */
		int64_t now = monotonic_ms();
		if (c->next_slot_ms < now)
			c->next_slot_ms = now;
	}
	curl_slist_free_all(extra);
	free(url);
	log_mask_secrets(err);
	return result;
}

enum remote_status remote_classify(struct http_client *c, const char *method, const char *path,
				   enum http_result r, const struct http_response *resp, char *err, size_t errlen)
{
	if (r == HTTP_UNAVAILABLE)
		return REMOTE_DOWN;
	if (r == HTTP_BAD_RESPONSE)
		return REMOTE_BAD;
	long s = resp->status;
	if (s >= 200 && s < 300)
		return REMOTE_OK;
	http_describe_error(c, method, path, resp, err, errlen);
	if (s == 401 || s == 403)
		return REMOTE_AUTH;
	if (s == 404)
		return REMOTE_NOT_FOUND;
	if (s == 409)
		return REMOTE_CONFLICT;
	if (s == 400 && resp->body.data && strstr(resp->body.data, "nvalid offset"))
		return REMOTE_BAD_OFFSET;
	return REMOTE_REJECTED;
}

enum remote_status remote_call(struct http_client *c, const char *method, const char *path, const char *body,
			       int idempotent, struct http_response *resp, int *maybe_sent, char *err,
			       size_t errlen)
{
	enum http_result r = http_request(c, method, path, body, idempotent, resp, err, errlen);
	if (maybe_sent)
		*maybe_sent = r == HTTP_UNAVAILABLE && resp->maybe_sent;
	return remote_classify(c, method, path, r, resp, err, errlen);
}

enum remote_status http_async_status(struct http_client *c, const struct http_async *a, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", a->err);
	return remote_classify(c, "GET", a->path, a->result, &a->resp, err, errlen);
}

const char *remote_status_name(enum remote_status s)
{
	static const char *names[] = { "ok", "unavailable", "unauthorized", "not found", "conflict",
				       "rejected", "invalid offset", "bad response" };
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* ---- concurrent GETs ----------------------------------------------------- */

void http_multi_init(struct http_multi *m, struct http_client *c)
{
	memset(m, 0, sizeof *m);
	m->c = c;
	m->multi = curl_multi_init();
}

void http_multi_free(struct http_multi *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->items[i]->easy)
			curl_multi_remove_handle(m->multi, m->items[i]->easy);
	if (m->multi)
		curl_multi_cleanup(m->multi);
	free(m->items);
	memset(m, 0, sizeof *m);
}

void http_async_free(struct http_async *a)
{
	if (a->easy)
		curl_easy_cleanup(a->easy);
	a->easy = NULL;
	free(a->path);
	a->path = NULL;
	http_response_free(&a->resp);
}

void http_multi_get(struct http_multi *m, struct http_async *a, const char *path)
{
	free(a->path);
	a->path = xstrdup(path);
	if (!a->resp.body.max)
		http_response_init(&a->resp);
	a->attempt = 0;
	a->state = 0;
	a->not_before = 0;
	a->err[0] = '\0';
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->items = xrealloc(m->items, m->cap * sizeof *m->items);
	}
	m->items[m->n++] = a;
}

/* Start a waiting transfer: a duplicate of the client's handle (same auth,
 * headers, timeouts and protocol limits). */
static void async_start(struct http_multi *m, struct http_async *a)
{
	struct http_client *c = m->c;
	if (!a->easy) {
		a->easy = curl_easy_duphandle(c->curl);
		if (!a->easy) {
			a->state = 2;
			a->result = HTTP_UNAVAILABLE;
			snprintf(a->err, sizeof a->err, "%s: cannot create a transfer", c->name);
			return;
		}
	}
	size_t ulen = strlen(c->base_url) + strlen(a->path) + 1;
	char *url = xmalloc(ulen);
	snprintf(url, ulen, "%s%s", c->base_url, a->path);
	curl_easy_setopt(a->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(a->easy, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(a->easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(a->easy, CURLOPT_TIMEOUT, c->total_timeout_s);
	curl_easy_setopt(a->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(a->easy, CURLOPT_LOW_SPEED_TIME, c->low_speed_time_s);
	memset(&a->sink, 0, sizeof a->sink);
	a->sink.resp = &a->resp;
	curl_easy_setopt(a->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(a->easy, CURLOPT_WRITEDATA, &a->sink);
	curl_easy_setopt(a->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(a->easy, CURLOPT_HEADERDATA, &a->sink);
	buf_reset(&a->resp.body);
	a->resp.status = 0;
	a->resp.retry_after_ms = -1;
	a->attempt++;
	a->state = 1;
	c->requests++;
	curl_multi_add_handle(m->multi, a->easy);
}

/* A transfer ended: finish it, or schedule its retry. Returns 1 when finished. */
static int async_done(struct http_multi *m, struct http_async *a, CURLcode rc)
{
	struct http_client *c = m->c;
	curl_multi_remove_handle(m->multi, a->easy);
	int64_t wait;
	if (judge_attempt(c, a->easy, "GET", a->path, 1, rc, &a->sink, a->attempt, &a->result, &wait, a->err,
			  sizeof a->err)) {
		a->state = 2;
		return 1;
	}
	a->state = 0;
	a->not_before = monotonic_ms() + wait;
	/* 429 and 503 speak of the key (Lever's limit is per key), not of this
	 * one request: no transfer starts before the wait is over */
	if ((a->resp.status == 429 || a->resp.status == 503) && c->next_slot_ms < a->not_before)
		c->next_slot_ms = a->not_before;
	return 0;
}

struct http_async *http_multi_next(struct http_multi *m)
{
	struct http_client *c = m->c;
	int64_t interval = pace_interval(c);
	for (;;) {
		/* hand back a finished transfer first */
		for (size_t i = 0; i < m->n; i++) {
			struct http_async *a = m->items[i];
			if (a->state == 2) {
				m->items[i] = m->items[--m->n];
				return a;
			}
		}
		if (m->n == 0)
			return NULL;
		/* start what may start: one rate budget for all transfers */
		int64_t now = monotonic_ms(), next_wake = now + 1000;
		for (size_t i = 0; i < m->n; i++) {
			struct http_async *a = m->items[i];
			if (a->state != 0)
				continue;
			if (a->not_before > now) {
				if (a->not_before < next_wake)
					next_wake = a->not_before;
				continue;
			}
			if (c->next_slot_ms > now) {
				if (c->next_slot_ms < next_wake)
					next_wake = c->next_slot_ms;
				break;
			}
			c->next_slot_ms = now + interval;
			async_start(m, a);
			if (a->state == 2)
				break;
		}
		int running = 0;
		curl_multi_perform(m->multi, &running);
		CURLMsg *msg;
		int left;
		int finished = 0;
		while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (size_t i = 0; i < m->n; i++) {
				struct http_async *a = m->items[i];
				if (a->easy == msg->easy_handle && a->state == 1) {
					finished |= async_done(m, a, msg->data.result);
					break;
				}
			}
		}
		if (finished)
			continue;
		now = monotonic_ms();
		int64_t timeout = next_wake - now;
		if (timeout < 0)
			timeout = 0;
		if (timeout > 1000)
			timeout = 1000;
		curl_multi_poll(m->multi, NULL, 0, (int)timeout, NULL);
	}
}
