/*
 * crosschq.c - the calls refsync makes to the Crosschq Partner API and the
 * body it sends (crosschq-api.md section 1; section-2 calls only as probed
 * capabilities). Every path ends with a slash: Crosschq requires it.
 */
#include "crosschq.h"
#include "json_write.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#define REQUESTS_PATH "/partners/reference-request/"
#define PROSPECTS_PATH "/partners/prospects/"

char *crosschq_auth_value(const char *scheme, const char *key)
{
	size_t n = strlen(key) + (scheme ? strlen(scheme) + 2 : 1);
	char *v = xmalloc(n);
	if (scheme && *scheme)
		snprintf(v, n, "%s %s", scheme, key);
	else
		snprintf(v, n, "%s", key);
	return v;
}

/* See crosschq.h. */
int crosschq_client_init(struct http_client *cq, const char *base_url, const char *auth, double rps, char *err,
			 size_t n)
{
	if (http_client_init(cq, "Crosschq", base_url, HTTP_AUTH_HEADER, auth, rps, err, n))
		return -1;
	cq->error_line = crosschq_error_line;
	return 0;
}

/* A phone number as Crosschq's example writes it (+15551234567), or NULL
 * when the Lever value cannot be read as one (then none is sent). */
static const char *e164(const char *phone, char *out, size_t n)
{
	if (!phone)
		return NULL;
	size_t j = 0;
	for (const char *p = phone; *p && j + 1 < n; p++) {
		if (*p == '+' && j == 0)
			out[j++] = '+';
		else if (*p >= '0' && *p <= '9')
			out[j++] = *p;
		else if (!strchr(" -().\t", *p))
			return NULL; /* letters, extensions: not a plain number */
	}
	out[j] = '\0';
	size_t digits = j - (out[0] == '+');
	return out[0] == '+' && digits >= 8 && digits <= 15 ? out : NULL;
}

static void gen_key(yajl_gen g, const char *key)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

static void gen_bool(yajl_gen g, const char *key, int v)
{
	gen_key(g, key);
	yajl_gen_bool(g, v);
}

char *crosschq_request_body(const struct cq_create_intent *in)
{
	char phone[32];
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	intent_gen_cq_create_head(g, in, "mobile_phone", e164(in->phone, phone, sizeof phone));
	gen_bool(g, "send_past_due_notification", 0);
	gen_bool(g, "send_completed_notification", 0);
	intent_gen_cq_create_tail(g, in);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

/* GET path (freed), idempotent. */
static enum remote_status get(struct http_client *cq, struct buf *path, struct http_response *resp, char *err,
			      size_t n)
{
	enum remote_status s = remote_call(cq, "GET", path->data, NULL, 1, resp, NULL, err, n);
	buf_free(path);
	return s;
}

enum remote_status crosschq_create_request(struct http_client *cq, const struct cq_create_intent *in,
					   char *request_id, size_t id_len, struct http_response *resp, int *maybe_sent,
					   char *err, size_t n)
{
	request_id[0] = '\0';
	/* not idempotent: retried only when Crosschq surely did not act */
	char *body = crosschq_request_body(in);
	enum remote_status s = remote_call(cq, "POST", REQUESTS_PATH, body, 0, resp, maybe_sent, err, n);
	free(body);
	if (s != REMOTE_OK)
		return s;
	const char *d = resp->body.data ? resp->body.data : "";
	if (crosschq_parse_created_id(d, resp->body.len, request_id, id_len)) {
		snprintf(err, n, "Crosschq POST " REQUESTS_PATH ": HTTP %ld without a request_id in the answer",
			 resp->status);
		return REMOTE_BAD;
	}
	return REMOTE_OK;
}

enum remote_status crosschq_get_request(struct http_client *cq, const char *request_id,
					struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, REQUESTS_PATH, request_id, "/");
	return get(cq, &p, resp, err, n);
}

/*
 * A list path: the next page's URL when given (only on our own origin: the
 * key is never sent elsewhere), else base?updated_since=ISO.
 */
static int list_path(struct http_client *cq, const char *base, int64_t since_ms, const char *next, struct buf *p,
		     char *err, size_t n)
{
	buf_init(p, 8192);
	if (next && *next) {
		size_t bl = strlen(cq->base_url);
		const char *rest;
		if (strncmp(next, cq->base_url, bl) == 0 && next[bl] == '/')
			rest = next + bl;
		else if (next[0] == '/')
			rest = next;
		else {
			snprintf(err, n, "Crosschq gave a next page on another origin; not followed (the key is "
				 "only sent to [crosschq] url)");
			buf_free(p);
			return -1;
		}
		buf_appendz(p, rest);
		return 0;
	}
	char iso[40];
	buf_printf(p, "%s?updated_since=", base);
	char *e = http_escape(format_iso8601(since_ms > 0 ? since_ms : 0, 0, iso, sizeof iso));
	buf_appendz(p, e);
	free(e);
	return 0;
}

enum remote_status crosschq_list_requests(struct http_client *cq, int64_t since_ms, const char *next,
					  struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	if (list_path(cq, REQUESTS_PATH, since_ms, next, &p, err, n))
		return REMOTE_REJECTED;
	return get(cq, &p, resp, err, n);
}

enum remote_status crosschq_list_prospects(struct http_client *cq, int64_t since_ms, const char *next,
					   struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	if (list_path(cq, PROSPECTS_PATH, since_ms, next, &p, err, n))
		return REMOTE_REJECTED;
	return get(cq, &p, resp, err, n);
}

enum remote_status crosschq_set_hired(struct http_client *cq, const char *request_id, int hired,
				      struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, REQUESTS_PATH, request_id, "/");
	/* sets a state: repeating it is harmless */
	enum remote_status s = remote_call(cq, "PATCH", p.data, hired ? "{\"hired\":true}" : "{\"hired\":false}", 1,
					   resp, NULL, err, n);
	buf_free(&p);
	return s;
}

enum remote_status crosschq_cancel_request(struct http_client *cq, const char *request_id,
					   struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, REQUESTS_PATH, request_id, "/cancel/");
	enum remote_status s = remote_call(cq, "POST", p.data, "{}", 1, resp, NULL, err, n);
	buf_free(&p);
	return s;
}

enum remote_status crosschq_link_prospect(struct http_client *cq, const char *prospect_id, const char *ats_id,
					  struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, PROSPECTS_PATH, prospect_id, "/");
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "ats_id", ats_id);
	yajl_gen_map_close(g);
	char *body = json_gen_finish(g);
	enum remote_status s = remote_call(cq, "PATCH", p.data, body, 1, resp, NULL, err, n);
	free(body);
	buf_free(&p);
	return s;
}

enum remote_status crosschq_get_jobroles(struct http_client *cq, struct http_response *resp, char *err, size_t n)
{
	return remote_call(cq, "GET", "/api/v2/settings/jobrole/", NULL, 1, resp, NULL, err, n);
}

enum remote_status crosschq_get_account_config(struct http_client *cq, struct http_response *resp, char *err,
					       size_t n)
{
	return remote_call(cq, "GET", "/partners/config/", NULL, 1, resp, NULL, err, n);
}

enum remote_status crosschq_options(struct http_client *cq, const char *request_id, const char *tail,
				    struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, REQUESTS_PATH, request_id, tail);
	enum remote_status s = remote_call(cq, "OPTIONS", p.data, NULL, 1, resp, NULL, err, n);
	buf_free(&p);
	return s;
}
