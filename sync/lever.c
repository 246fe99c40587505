/*
 * lever.c - Lever Data API v1 requests.
 */
#include "lever.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static enum remote_status get(struct http_client *lv, struct buf *path, struct http_response *resp, char *err,
			      size_t n)
{
	enum remote_status s = remote_call(lv, "GET", path->data, NULL, 1, resp, NULL, err, n);
	buf_free(path);
	return s;
}

enum remote_status lever_fetch_stages(struct http_client *lv, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_appendz(&p, "/stages");
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_archive_reasons(struct http_client *lv, struct http_response *resp, char *err,
					       size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_appendz(&p, "/archive_reasons");
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_postings(struct http_client *lv, int64_t since_ms, const char *token,
					struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_printf(&p, "/postings?confidentiality=all&limit=%d", PAGE_LIMIT);
	if (since_ms > 0)
		buf_printf(&p, "&updated_at_start=%lld", (long long)since_ms);
	add_offset(&p, token);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_opportunities(struct http_client *lv, enum lever_window w, int64_t since_ms,
					     int64_t until_ms, const char *token, struct http_response *resp,
					     char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_printf(&p, "/opportunities?confidentiality=all&" OPPORTUNITY_EXPAND "&limit=%d", PAGE_LIMIT);
	const char *field = w == LEVER_UPDATED ? "updated_at" : w == LEVER_CREATED ? "created_at" : NULL;
	if (field && since_ms > 0)
		buf_printf(&p, "&%s_start=%lld", field, (long long)since_ms);
	if (field && until_ms > 0)
		buf_printf(&p, "&%s_end=%lld", field, (long long)until_ms);
	add_offset(&p, token);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_deleted(struct http_client *lv, int64_t since_ms, int64_t until_ms,
				       const char *token, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_printf(&p, "/opportunities/deleted?limit=%d", PAGE_LIMIT);
	if (since_ms > 0)
		buf_printf(&p, "&deleted_at_start=%lld", (long long)since_ms);
	if (until_ms > 0)
		buf_printf(&p, "&deleted_at_end=%lld", (long long)until_ms);
	add_offset(&p, token);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_opportunity(struct http_client *lv, const char *id, struct http_response *resp,
					   char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	char *e = http_escape(id);
	buf_printf(&p, "/opportunities/%s?" OPPORTUNITY_EXPAND, e);
	free(e);
	return get(lv, &p, resp, err, n);
}

enum remote_status lever_fetch_user(struct http_client *lv, const char *id, struct http_response *resp,
				    char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	char *e = http_escape(id);
	buf_printf(&p, "/users/%s", e);
	free(e);
	return get(lv, &p, resp, err, n);
}
