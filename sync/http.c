/*
 * http.c - libcurl client with pacing, retries and bounded responses.
 */
#include "http.h"
#include "http_internal.h"
#include "config.h"
#include "log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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
size_t http_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_sink *t = userdata;
	size_t n = size * nmemb;
	if (buf_append(&t->resp->body, ptr, n)) {
		t->too_large = 1;
		return 0; /* abort the transfer */
	}
	return n;
}

/* The headers that say how long to wait before trying again. */
size_t http_on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_sink *t = userdata;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (e.g. after 100 Continue): forget old headers */
		t->retry_after[0] = t->ratelimit_reset[0] = '\0';
		if (t->resp) {
			t->resp->allow[0] = '\0';
			t->resp->date_ms = 0;
		}
	}
	if (t->resp) {
		char date[64] = "";
		http_header_value(ptr, n, "Allow", t->resp->allow, sizeof t->resp->allow);
		http_header_value(ptr, n, "Date", date, sizeof date);
		time_t when = date[0] ? curl_getdate(date, NULL) : (time_t)-1;
		if (when > 0)
			t->resp->date_ms = (int64_t)when * 1000;
	}
	http_header_value(ptr, n, "Retry-After", t->retry_after, sizeof t->retry_after);
	http_header_value(ptr, n, "X-RateLimit-Reset", t->ratelimit_reset, sizeof t->ratelimit_reset);
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
	c->wait_budget_ms = 600000;
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
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
	c->headers = curl_slist_append(NULL, "Accept: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (auth == HTTP_AUTH_BASIC_USER) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, secret);
		curl_easy_setopt(h, CURLOPT_PASSWORD, "");
	} else {
		size_t n = strlen(secret) + 32;
		char *hdr = xmalloc(n);
		snprintf(hdr, n, "Authorization: %s", secret);
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
	r->allow[0] = '\0';
	r->date_ms = 0;
}

void http_response_free(struct http_response *r)
{
	buf_free(&r->body);
}

/* Wait for the token bucket (capacity one request: strict pacing). */
/* The spacing of requests: a hair over 1/rps, so that no 1-second window,
 * however it is placed, holds more than rps requests. */
int64_t http_pace_interval(const struct http_client *c)
{
	return (int64_t)(1000.0 / c->rps) + 1;
}

void http_pace_wait(struct http_client *c)
{
	int64_t now = monotonic_ms();
	if (c->next_slot_ms > now)
		sleep_ms(c->next_slot_ms - now);
}

/* See http_internal.h. */
int http_on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)clientp;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return interrupted() != 0;
}

static void pace(struct http_client *c)
{
	int64_t interval = http_pace_interval(c);
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

/* Whether url has the origin (scheme, host, port) of the client's base URL. */
static int same_origin(const struct http_client *c, const char *url)
{
	CURLU *a = curl_url(), *b = curl_url();
	int same = 0;
	if (a && b && curl_url_set(a, CURLUPART_URL, c->base_url, 0) == CURLUE_OK &&
	    curl_url_set(b, CURLUPART_URL, url, 0) == CURLUE_OK) {
		static const CURLUPart parts[] = { CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT };
		same = 1;
		for (size_t i = 0; i < 3 && same; i++) {
			char *x = NULL, *y = NULL;
			unsigned flags = parts[i] == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0;
			same = curl_url_get(a, parts[i], &x, flags) == CURLUE_OK &&
			       curl_url_get(b, parts[i], &y, flags) == CURLUE_OK && strcasecmp(x, y) == 0;
			curl_free(x);
			curl_free(y);
		}
	}
	curl_url_cleanup(a);
	curl_url_cleanup(b);
	return same;
}

/*
 * A redirect (lever-api.md section 4: "301, follow Location"). Returns 2 with
 * the absolute target in sink->location when it is to be followed (the same
 * origin as base_url, so credentials never go elsewhere), or 1 with
 * *result = HTTP_REDIRECT_REFUSED and err set.
 */
static int judge_redirect(struct http_client *c, CURL *h, const char *method, const char *shown,
			  struct http_sink *sink, int redirects, enum http_result *result, char *err, size_t errlen)
{
	char *target = NULL;
	curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &target);
	long status = sink->resp->status;
	if (target && same_origin(c, target) && redirects < HTTP_MAX_REDIRECTS &&
	    strlen(target) < sizeof sink->location) {
		snprintf(sink->location, sizeof sink->location, "%s", target);
		return 2;
	}
	char origin[256] = "";
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	if (target && u && curl_url_set(u, CURLUPART_URL, target, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		char *port = NULL;
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		snprintf(origin, sizeof origin, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
		curl_free(port);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (!target)
		snprintf(err, errlen, "%s %s %s: HTTP %ld without a Location", c->name, method, shown, status);
	else if (origin[0] && !same_origin(c, target))
		snprintf(err, errlen, "%s %s %s: HTTP %ld redirected to another origin (%s): not followed, "
			 "credentials are only ever sent to %s", c->name, method, shown, status, origin, c->base_url);
	else
		snprintf(err, errlen, "%s %s %s: HTTP %ld: more than %d redirects, or an unusable Location", c->name,
			 method, shown, status, HTTP_MAX_REDIRECTS);
	*result = HTTP_REDIRECT_REFUSED;
	return 1;
}

/* Judge one attempt, sync or concurrent alike (see http_internal.h). */
int http_judge_attempt(struct http_client *c, CURL *h, const char *method, const char *path, int idempotent,
		       CURLcode rc, struct http_sink *sink, int attempt, int redirects, enum http_result *result,
		       int64_t *wait, char *err, size_t errlen)
{
	struct http_response *resp = sink->resp;
	char shown[256];
	http_path_without_query(path, shown, sizeof shown);
	int retry = 0;
	*wait = -1;
	if (sink->too_large) {
		snprintf(err, errlen, "%s %s %s: response larger than %zu bytes", c->name, method, shown, c->max_body);
		*result = HTTP_BAD_RESPONSE;
		return 1;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK && interrupted()) {
		snprintf(err, errlen, "%s %s %s: dropped: the run was interrupted", c->name, method, shown);
		*result = HTTP_UNAVAILABLE;
		return 1;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		char url[768];
		http_shown_url(c, path, url, sizeof url);
		snprintf(err, errlen, "%s %s %s: timed out (no data for %ld s, or no complete answer within %ld s)",
			 c->name, method, url, c->low_speed_time_s, c->total_timeout_s);
		retry = idempotent;
	} else if (rc != CURLE_OK && http_transport_is_setup_error(rc)) {
		/* waiting will not make a certificate trusted or a name resolve */
		http_describe_transport(c, method, path, rc, sink->errbuf, err, errlen);
		*result = HTTP_SETUP_ERROR;
		return 1;
	} else if (rc != CURLE_OK) {
		http_describe_transport(c, method, path, rc, sink->errbuf, err, errlen);
		retry = idempotent || surely_not_sent(rc);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		long st = resp->status;
		if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308)
			return judge_redirect(c, h, method, shown, sink, redirects, result, err, errlen);
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
	if (retry && *wait > c->max_wait_ms) {
		/* a wait no run sits through: the next run tries again */
		size_t l = strlen(err);
		snprintf(err + l, errlen - l, " (asked to wait %lld s)", (long long)(*wait / 1000));
		retry = 0;
		resp->maybe_sent = resp->maybe_sent || !idempotent;
	}
	if (retry && attempt < c->max_attempts) {
		if (*wait < 0)
			*wait = jittered_backoff(c, attempt);
		if (c->waited_ms + *wait > c->wait_budget_ms) {
			size_t l = strlen(err);
			snprintf(err + l, errlen - l, "; not retried: waiting %.1f s more would exceed the %lld s this run "
				 "may wait on %s ([sync] remote_wait_seconds)", (double)*wait / 1000.0,
				 (long long)(c->wait_budget_ms / 1000), c->name);
			retry = 0;
			resp->maybe_sent = resp->maybe_sent || !idempotent;
		}
	}
	if (!retry || attempt >= c->max_attempts) {
		/* a call that is not idempotent was retried only when the server surely
		 * did not act (429, 503, refused connections): so it did not */
		*result = HTTP_UNAVAILABLE;
		log_mask_secrets(err);
		snprintf(c->last_failure, sizeof c->last_failure, "%s", err);
		return 1;
	}
	c->waited_ms += *wait;
	log_info("%s; retrying in %.1f s (attempt %d of %d)", err, (double)*wait / 1000.0, attempt + 1,
		 c->max_attempts);
	c->retries++;
	return 0;
}

/*
 * Send method to base_url + path (path starts with '/' and may carry a
 * query). body is a JSON text or NULL. idempotent: 0 for calls that must not
 * be repeated blindly (Lever notes and opportunity creation); those are
 * retried only when the server surely did not act (connection refused, 429,
 * 503), and otherwise come back HTTP_UNAVAILABLE with maybe_sent = 1.
 * On HTTP_UNAVAILABLE/HTTP_BAD_RESPONSE err says what happened
 * ("Lever GET /stages: HTTP 503 ..." or the transport error).
 */
static enum http_result http_request(struct http_client *c, const char *method, const char *path,
				     const char *body, int idempotent, struct http_response *resp, char *err,
				     size_t errlen)
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
	/* an interrupted run drops a call that is safe to repeat; one that is not
	 * (it was claimed as sending) is carried out */
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_on_progress);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, idempotent ? 0L : 1L);
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
	int redirects = 0;
	for (int attempt = 1;; attempt++) {
		struct http_sink t = { .resp = resp };
		buf_reset(&resp->body);
		resp->status = 0;
		resp->retry_after_ms = -1;
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, t.errbuf);
		if (interrupted() && (idempotent || attempt > 1)) {
			char shown[256];
			http_path_without_query(path, shown, sizeof shown);
			snprintf(err, errlen, "%s %s %s: not sent: the run was interrupted", c->name, method, shown);
			result = HTTP_UNAVAILABLE;
			break;
		}
		pace(c);
		c->requests++;
		CURLcode rc = curl_easy_perform(h);
		int64_t wait;
		int j = http_judge_attempt(c, h, method, path, idempotent, rc, &t, attempt, redirects, &result, &wait, err,
					   errlen);
		if (j == 2) {
			/* followed at once, same method and body; not an attempt */
			free(url);
			url = xstrdup(t.location);
			curl_easy_setopt(h, CURLOPT_URL, url);
			redirects++;
			attempt--;
			continue;
		}
		if (j)
			break;
		sleep_ms(wait);
		/* a server that asked us to wait gets a fresh slot after it */
		int64_t now = monotonic_ms();
		if (c->next_slot_ms < now)
			c->next_slot_ms = now;
	}
	/* t (and its error buffer) is gone: libcurl must not write there */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(extra);
	free(url);
	log_mask_secrets(err);
	return result;
}

/* The classification of an exchange already made (result and resp as
 * http_request left them; err is kept for a transport failure). */
static enum remote_status remote_classify(struct http_client *c, const char *method, const char *path,
					  enum http_result r, const struct http_response *resp, char *err,
					  size_t errlen)
{
	if (r == HTTP_UNAVAILABLE)
		return REMOTE_DOWN;
	if (r == HTTP_BAD_RESPONSE)
		return REMOTE_BAD;
	if (r == HTTP_REDIRECT_REFUSED)
		return REMOTE_REDIRECTED;
	if (r == HTTP_SETUP_ERROR)
		return REMOTE_SETUP;
	long s = resp->status;
	if (s >= 200 && s < 300)
		return REMOTE_OK;
	http_describe_error(c, method, path, resp, err, errlen);
	if (s == 401)
		return REMOTE_AUTH;
	if (s == 403)
		return REMOTE_FORBIDDEN;
	if (s == 404)
		return REMOTE_NOT_FOUND;
	if (s == 409)
		return REMOTE_CONFLICT;
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

const char *remote_config_hint(enum remote_status s)
{
	switch (s) {
	case REMOTE_AUTH:
		return "the API key was refused; check it (and, for Lever, that it has confidential access) and run "
		       "'refsync check'";
	case REMOTE_FORBIDDEN:
		return "access refused: the key has no permission for this endpoint, or the data is confidential and "
		       "the key has no confidential access (the key itself was accepted); grant it, then run 'refsync check'";
	case REMOTE_REDIRECTED:
		return "if the service moved, set its url in the config; run 'refsync check'";
	case REMOTE_SETUP:
		return "not retried: check the url in the config, the host's name and its certificate (the system's "
		       "trusted CAs), then run 'refsync check'";
	default:
		return NULL;
	}
}

