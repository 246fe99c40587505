/*
 * lever.c - Lever Data API v1 requests.
 */
#include "lever.h"
#include "json_read.h"
#include "json_write.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define PAGE_LIMIT 100
#define OPPORTUNITY_EXPAND "expand=owner&expand=stage&expand=applications"

/* Append "&offset=<token>" when token is set. */
static void add_offset(struct buf *path, const char *token)
{
	if (token && *token) {
		char *t = http_escape(token);
		buf_printf(path, "&offset=%s", t);
		free(t);
	}
}

/* Lever's error answer {"code": ..., "message": ...} (or a message alone) as
 * one line into out; out stays "" for another shape. */
static void lever_error_line(const char *body, size_t len, char *out, size_t n)
{
	(void)len;
	char ebuf[64];
	yajl_val v = yajl_tree_parse(body, ebuf, sizeof ebuf);
	if (v && YAJL_IS_OBJECT(v)) {
		const char *code = json_string(v, "code"), *msg = json_string(v, "message");
		if (code && msg)
			snprintf(out, n, "%s: %s", code, msg);
		else if (msg)
			snprintf(out, n, "%s", msg);
	}
	yajl_tree_free(v);
}

/* See lever.h. */
int lever_client_init(struct http_client *lv, const char *base_url, const char *key, double rps, char *err,
		      size_t n)
{
	if (http_client_init(lv, "Lever", base_url, HTTP_AUTH_BASIC_USER, key, rps, err, n))
		return -1;
	lv->error_line = lever_error_line;
	return 0;
}

/* See lever.h. */
enum remote_status lever_offset_status(enum remote_status s, const struct http_response *resp)
{
	/* lever-api.md section 2: "Invalid offset token: ...", whatever the status */
	if (s != REMOTE_OK && resp->body.data && memmem(resp->body.data, resp->body.len, "Invalid offset token", 20))
		return REMOTE_BAD_OFFSET;
	return s;
}

static enum remote_status get(struct http_client *lv, struct buf *path, struct http_response *resp, char *err,
			      size_t n)
{
	enum remote_status s = remote_call(lv, "GET", path->data, NULL, 1, resp, NULL, err, n);
	buf_free(path);
	return lever_offset_status(s, resp);
}

const char *lever_stages_path(void)
{
	return "/stages";
}

const char *lever_archive_reasons_path(void)
{
	return "/archive_reasons";
}

enum remote_status lever_fetch_stages(struct http_client *lv, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_appendz(&p, lever_stages_path());
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_archive_reasons(struct http_client *lv, struct http_response *resp, char *err,
					       size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_appendz(&p, lever_archive_reasons_path());
	return get(lv, &p, resp, err, n);
}

void lever_postings_path(struct buf *p, int64_t since_ms, const char *token)
{
	/* DOCS: updated_at_* may be combined only with confidentiality: no limit, no offset */
	if (since_ms > 0) {
		buf_printf(p, "/postings?confidentiality=all&updated_at_start=%lld", (long long)since_ms);
		return;
	}
	buf_printf(p, "/postings?confidentiality=all&limit=%d", PAGE_LIMIT);
	add_offset(p, token);
}

enum remote_status lever_fetch_postings(struct http_client *lv, int64_t since_ms, const char *token,
					struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	lever_postings_path(&p, since_ms, token);
	return get(lv, &p, resp, err, n);
}

/* The path (and query) of a listing of opportunities with window w. */
static void lever_opportunities_path(struct buf *p, enum lever_window w, int64_t since_ms, int64_t until_ms,
				     const char *token)
{
	buf_printf(p, "/opportunities?confidentiality=all&" OPPORTUNITY_EXPAND "&limit=%d", PAGE_LIMIT);
	const char *field = w == LEVER_UPDATED ? "updated_at" : w == LEVER_CREATED ? "created_at" : NULL;
	if (field && since_ms > 0)
		buf_printf(p, "&%s_start=%lld", field, (long long)since_ms);
	if (field && until_ms > 0)
		buf_printf(p, "&%s_end=%lld", field, (long long)until_ms);
	add_offset(p, token);
}

void lever_opportunities_range_path(struct buf *p, int64_t created_start, int64_t created_end,
				    int64_t updated_start, int64_t updated_end, const char *token)
{
	buf_printf(p, "/opportunities?confidentiality=all&" OPPORTUNITY_EXPAND "&limit=%d", PAGE_LIMIT);
	const char *names[4] = { "created_at_start", "created_at_end", "updated_at_start", "updated_at_end" };
	int64_t values[4] = { created_start, created_end, updated_start, updated_end };
	for (int i = 0; i < 4; i++)
		if (values[i] != LEVER_NO_BOUND)
			buf_printf(p, "&%s=%lld", names[i], (long long)values[i]);
	add_offset(p, token);
}

enum remote_status lever_fetch_opportunities(struct http_client *lv, enum lever_window w, int64_t since_ms,
					     int64_t until_ms, const char *token, struct http_response *resp,
					     char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	lever_opportunities_path(&p, w, since_ms, until_ms, token);
	return get(lv, &p, resp, err, n);
}

void lever_deleted_path(struct buf *p, int64_t since_ms, int64_t until_ms, const char *token)
{
	/* filtered like the other lists: without it confidential deletions are never seen */
	buf_printf(p, "/opportunities/deleted?confidentiality=all&limit=%d", PAGE_LIMIT);
	if (since_ms > 0)
		buf_printf(p, "&deleted_at_start=%lld", (long long)since_ms);
	if (until_ms > 0)
		buf_printf(p, "&deleted_at_end=%lld", (long long)until_ms);
	add_offset(p, token);
}

enum remote_status lever_fetch_deleted(struct http_client *lv, int64_t since_ms, int64_t until_ms,
				       const char *token, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	lever_deleted_path(&p, since_ms, until_ms, token);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_opportunity(struct http_client *lv, const char *id, struct http_response *resp,
					   char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/opportunities/", id, "?" OPPORTUNITY_EXPAND);
	return get(lv, &p, resp, err, n);
}

void lever_user_path(struct buf *p, const char *id)
{
	http_path_with_id(p, "/users/", id, "");
}

/* "?perform_as=<id>" or "" into out. */
static void perform_as_query(struct buf *path, const char *perform_as, int first)
{
	if (perform_as && *perform_as) {
		char *e = http_escape(perform_as);
		buf_printf(path, "%cperform_as=%s", first ? '?' : '&', e);
		free(e);
	}
}

static enum remote_status send_body(struct http_client *lv, const char *method, struct buf *path, char *body,
				    int idempotent, struct http_response *resp, int *maybe_sent, char *err, size_t n)
{
	enum remote_status s = remote_call(lv, method, path->data, body, idempotent, resp, maybe_sent, err, n);
	buf_free(path);
	free(body);
	return s;
}

enum remote_status lever_add_link(struct http_client *lv, const char *id, const char *url, const char *perform_as,
				  struct http_response *resp, int *maybe_sent, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/opportunities/", id, "/addLinks");
	perform_as_query(&p, perform_as, 1);
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_str(g, "links");
	yajl_gen_array_open(g);
	json_gen_str(g, url);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	return send_body(lv, "POST", &p, json_gen_finish(g), 0, resp, maybe_sent, err, n);
}

enum remote_status lever_add_note(struct http_client *lv, const char *id, const char *text, const char *perform_as,
				  struct http_response *resp, int *maybe_sent, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/opportunities/", id, "/notes");
	perform_as_query(&p, perform_as, 1);
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_str(g, "value");
	json_gen_str(g, text);
	json_gen_str(g, "notifyFollowers");
	yajl_gen_bool(g, 1);
	yajl_gen_map_close(g);
	return send_body(lv, "POST", &p, json_gen_finish(g), 0, resp, maybe_sent, err, n);
}

enum remote_status lever_list_notes(struct http_client *lv, const char *id, const char *token,
				    struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/opportunities/", id, "/notes");
	buf_printf(&p, "?limit=%d", PAGE_LIMIT);
	add_offset(&p, token);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_archive(struct http_client *lv, const char *id, const char *reason_id,
				 const char *perform_as, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/opportunities/", id, "/archived");
	perform_as_query(&p, perform_as, 1);
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_str(g, "reason");
	json_gen_str(g, reason_id);
	json_gen_str(g, "cleanInterviews");
	yajl_gen_bool(g, 0);
	yajl_gen_map_close(g);
	/* PUT sets a state: repeating it is harmless */
	return send_body(lv, "PUT", &p, json_gen_finish(g), 1, resp, NULL, err, n);
}

enum remote_status lever_find_by_email(struct http_client *lv, const char *email, struct http_response *resp,
				       char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	char *e = http_escape(email);
	buf_printf(&p, "/opportunities?confidentiality=all&" OPPORTUNITY_EXPAND "&limit=%d&email=%s", PAGE_LIMIT, e);
	free(e);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_create_opportunity(struct http_client *lv, const struct lever_new_opportunity *o,
					    const char *perform_as, struct http_response *resp, int *maybe_sent,
					    char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_appendz(&p, "/opportunities");
	perform_as_query(&p, perform_as, 1);
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_str(g, "name");
	json_gen_str(g, o->name);
	if (o->headline) {
		json_gen_str(g, "headline");
		json_gen_str(g, o->headline);
	}
	json_gen_str(g, "emails");
	yajl_gen_array_open(g);
	if (o->email)
		json_gen_str(g, o->email);
	yajl_gen_array_close(g);
	json_gen_str(g, "phones");
	yajl_gen_array_open(g);
	if (o->phone) {
		yajl_gen_map_open(g);
		json_gen_str(g, "value");
		json_gen_str(g, o->phone);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	json_gen_str(g, "tags");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < o->n_tags; i++)
		json_gen_str(g, o->tags[i]);
	yajl_gen_array_close(g);
	json_gen_str(g, "sources");
	yajl_gen_array_open(g);
	json_gen_str(g, "Crosschq");
	yajl_gen_array_close(g);
	json_gen_str(g, "origin");
	json_gen_str(g, "sourced");
	yajl_gen_map_close(g);
	return send_body(lv, "POST", &p, json_gen_finish(g), 0, resp, maybe_sent, err, n);
}
