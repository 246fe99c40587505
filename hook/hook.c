/*
 * hook.c - refsync-hook's routing and responses: picks the handler from
 * PATH_INFO, and turns a struct hook_response into CGI output. The handlers
 * are in hook_lever.c (Lever's webhooks), hook_crosschq.c (Crosschq's
 * webhook) and hook_answer.c (the answer page).
 */
#include "hook_internal.h"
#include "log.h"
#include "spool.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_parse.h>
#include <unistd.h>

/* Pages are small; this only bounds what a hostile database row could do. */
#define RESPONSE_BODY_MAX (256 * 1024)
/* Webhook bodies are shallow; deeper ones are refused before building a tree. */
#define JSON_MAX_DEPTH 16

/* The reason phrase of the statuses refsync-hook answers with. */
static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	default: return "Internal Server Error";
	}
}

void hook_set_status(struct hook_response *resp, int status, const char *content_type)
{
	resp->status = status;
	resp->reason = reason_phrase(status);
	resp->content_type = content_type;
	resp->html = 0;
	resp->allow = NULL;
	resp->www_authenticate = NULL;
	buf_reset(&resp->body);
}

void hook_reply_text(struct hook_response *resp, int status, const char *fmt, ...)
{
	va_list ap;
	hook_set_status(resp, status, "text/plain; charset=utf-8");
	va_start(ap, fmt);
	vsnprintf(resp->note, sizeof resp->note, fmt, ap);
	va_end(ap);
	if (buf_appendz(&resp->body, resp->note) || buf_appendz(&resp->body, "\n"))
		buf_reset(&resp->body);
}

void hook_server_error(struct hook_response *resp, const char *detail)
{
	hook_set_status(resp, 500, "text/plain; charset=utf-8");
	buf_appendz(&resp->body, "internal error: see the web server's error log\n");
	snprintf(resp->note, sizeof resp->note, "%s", detail);
}

int hook_spool_put(const struct config *cfg, const char *name, const struct buf *record, int *already,
		   struct hook_response *resp)
{
	char err[1024];
	*already = 0;
	if (spool_init(cfg->spool, err, sizeof err) ||
	    spool_put(cfg->spool, name, record->data, record->len, already, err, sizeof err)) {
		log_err("%s", err);
		hook_server_error(resp, "the spool cannot be written");
		return -1;
	}
	return 0;
}

int hook_spool_put_seen(const struct config *cfg, const char *name, const struct buf *record,
			struct hook_response *resp)
{
	char err[1024];
	int already;
	if (spool_init(cfg->spool, err, sizeof err) ||
	    spool_put_seen(cfg->spool, name, record->data, record->len, &already, err, sizeof err)) {
		log_err("%s", err);
		hook_server_error(resp, "the spool cannot be written");
		return -1;
	}
	return 0;
}

void hook_queue(const struct config *cfg, const char *name, const struct buf *record, const char *what,
		const char *id, struct hook_response *resp)
{
	int already;
	if (hook_spool_put(cfg, name, record, &already, resp))
		return;
	if (already)
		hook_reply_text(resp, 200, "already queued: %s", name);
	else
		hook_reply_text(resp, 200, "accepted: %s (%s %s)", name, what, id);
}

int hook_content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* yajl callback of the strict pre-parse: one level deeper; 0 (stop) past the limit. */
static int on_open(void *ctx)
{
	int *depth = ctx;
	return ++*depth <= JSON_MAX_DEPTH;
}

/* yajl callback of the strict pre-parse: one level up. */
static int on_close(void *ctx)
{
	int *depth = ctx;
	--*depth;
	return 1;
}

/*
 * Parse body (len bytes) as one JSON value. The text is first checked with
 * yajl's strict defaults (no comments, no trailing garbage, valid UTF-8, no
 * NUL byte) and a depth limit, since yajl_tree_parse allows comments and
 * stops at a NUL. Returns the tree (free with yajl_tree_free) or NULL.
 */
static yajl_val hook_parse_json(const char *body, size_t len)
{
	static const yajl_callbacks callbacks = {
		.yajl_start_map = on_open,
		.yajl_end_map = on_close,
		.yajl_start_array = on_open,
		.yajl_end_array = on_close,
	};
	int depth = 0;
	yajl_handle h = yajl_alloc(&callbacks, NULL, &depth);
	if (!h)
		return NULL;
	int ok = yajl_parse(h, (const unsigned char *)body, len) == yajl_status_ok &&
		 yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	if (!ok)
		return NULL;
	char *text = xstrndup(body, len);
	yajl_val tree = yajl_tree_parse(text, NULL, 0);
	free(text);
	return tree;
}

/* See hook_internal.h. */
yajl_val hook_body_object(const struct hook_request *req, struct hook_response *resp, const char *expected)
{
	if (req->body_unreadable) {
		hook_reply_text(resp, 400, "the body does not match its Content-Length");
		return NULL;
	}
	yajl_val tree = hook_parse_json(req->body ? req->body : "", req->body ? req->body_len : 0);
	if (tree && YAJL_IS_OBJECT(tree))
		return tree;
	yajl_tree_free(tree);
	hook_reply_text(resp, 400, "malformed JSON: expected one JSON object%s", expected);
	return NULL;
}

/*
 * The value of key in object obj. Returns 1 and *out when present once,
 * 0 when absent (or obj is not an object), -1 when the key is repeated
 * (a body with two "signature"s is ambiguous, so it is refused).
 */
int hook_object_get(yajl_val obj, const char *key, yajl_val *out)
{
	int found = 0;
	*out = NULL;
	if (!YAJL_IS_OBJECT(obj))
		return 0;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		if (strcmp(obj->u.object.keys[i], key) != 0)
			continue;
		if (found)
			return -1;
		found = 1;
		*out = obj->u.object.values[i];
	}
	return found;
}

/* A string member of obj: 1 and *out, 0 when absent or null, -1 otherwise. */
int hook_object_string(yajl_val obj, const char *key, const char **out)
{
	yajl_val v;
	int r = hook_object_get(obj, key, &v);
	*out = NULL;
	if (r <= 0)
		return r;
	if (YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_STRING(v))
		return -1;
	*out = YAJL_GET_STRING(v);
	return 1;
}

void hook_sha256_hex32_n(const void *data, size_t len, char out[33])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void hook_sha256_hex32(const char *s, char out[33])
{
	hook_sha256_hex32_n(s, strlen(s), out);
}

void hook_handle(const struct config *cfg, const struct hook_request *req, struct hook_response *resp)
{
	const char *path = req->path_info ? req->path_info : "";
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, RESPONSE_BODY_MAX);
	hook_set_status(resp, 500, "text/plain; charset=utf-8");

	if (!cfg)
		hook_server_error(resp, "the configuration could not be loaded");
	else if (strcmp(path, "/lever/stage-change") == 0)
		hook_lever(cfg, req, "stage-change", resp);
	else if (strcmp(path, "/lever/hired") == 0)
		hook_lever(cfg, req, "hired", resp);
	else if (strcmp(path, "/answer") == 0)
		hook_answer(cfg, req, resp);
	else if (strcmp(path, "/crosschq") == 0)
		hook_crosschq(cfg, req, resp);
	else
		hook_reply_text(resp, 404, "no such route (expected /lever/stage-change, /lever/hired, /crosschq or "
					   "/answer)");

	/* The path is logged only when it is one of ours (it is request data). */
	int known = strcmp(path, "/lever/stage-change") == 0 || strcmp(path, "/lever/hired") == 0 ||
		    strcmp(path, "/answer") == 0 || strcmp(path, "/crosschq") == 0;
	enum log_level level = resp->status >= 500 ? LOG_ERR : resp->status >= 400 ? LOG_NOTICE : LOG_INFO;
	log_msg(level, "%.16s %s: %d %s", req->method ? req->method : "-", known ? path : "(unknown path)",
		resp->status, resp->note);
}

void hook_response_format(const struct hook_response *resp, char **out, size_t *len)
{
	struct buf b;
	buf_init(&b, RESPONSE_BODY_MAX + 4096);
	buf_printf(&b, "Status: %d %s\r\n", resp->status, resp->reason ? resp->reason : reason_phrase(resp->status));
	buf_printf(&b, "Content-Type: %s\r\n", resp->content_type ? resp->content_type : "text/plain");
	if (resp->allow)
		buf_printf(&b, "Allow: %s\r\n", resp->allow);
	if (resp->www_authenticate)
		buf_printf(&b, "WWW-Authenticate: %s\r\n", resp->www_authenticate);
	buf_appendz(&b, "Cache-Control: no-store\r\n"
			"X-Robots-Tag: noindex, nofollow\r\n"
			"X-Content-Type-Options: nosniff\r\n");
	if (resp->html)
		buf_appendz(&b, "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
				"form-action 'self'; base-uri 'none'; frame-ancestors 'none'\r\n"
				"Referrer-Policy: no-referrer\r\n"
				"X-Frame-Options: DENY\r\n");
	buf_appendz(&b, "\r\n");
	if (resp->body.len)
		buf_append(&b, resp->body.data, resp->body.len);
	*len = b.len;
	*out = b.data ? b.data : xstrdup("");
}

/* See hook.h. */
void hook_read_body(struct hook_request *req, struct buf *b, const char *content_length, int fd)
{
	const char *cl = content_length;
	if (str_empty(cl))
		return;
	size_t n = strlen(cl);
	if (strspn(cl, "0123456789") != n) {
		req->body_unreadable = 1;
		return;
	}
	/* compare as text first: no overflow for a 30-digit length */
	while (*cl == '0' && cl[1] != '\0')
		cl++;
	if (strlen(cl) > 7 || strtoul(cl, NULL, 10) > HOOK_BODY_MAX) {
		req->body_too_large = 1;
		return;
	}
	size_t want = strtoul(cl, NULL, 10);
	char chunk[8192];
	while (b->len < want) {
		size_t ask = want - b->len < sizeof chunk ? want - b->len : sizeof chunk;
		ssize_t got = read(fd, chunk, ask);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || buf_append(b, chunk, (size_t)got)) {
			req->body_unreadable = 1;
			return;
		}
	}
	req->body = b->data;
	req->body_len = b->len;
}

void hook_response_free(struct hook_response *resp)
{
	buf_free(&resp->body);
}
