/*
 * crosschq.c - Crosschq Partner API v2 requests.
 */
#include "crosschq.h"
#include "jstream.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_LIMIT 100

static enum remote_status get(struct http_client *cq, struct buf *path, struct http_response *resp, char *err,
			      size_t n)
{
	enum remote_status s = remote_call(cq, "GET", path->data, NULL, 1, resp, NULL, err, n);
	buf_free(path);
	return s;
}

/* "/api/v2/<what>/?limit=100[&updated_since=ISO][&cursor=...]" */
static enum remote_status list(struct http_client *cq, const char *what, int64_t since_ms, const char *cursor,
			       struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	buf_printf(&p, "/api/v2/%s/?limit=%d", what, PAGE_LIMIT);
	if (since_ms > 0) {
		char iso[40];
		format_iso8601(since_ms, 0, iso, sizeof iso);
		buf_printf(&p, "&updated_since=%s", iso);
	}
	if (cursor && *cursor) {
		char *c = http_escape(cursor);
		buf_printf(&p, "&cursor=%s", c);
		free(c);
	}
	return get(cq, &p, resp, err, n);
}

enum remote_status crosschq_fetch_templates(struct http_client *cq, const char *cursor,
					    struct http_response *resp, char *err, size_t n)
{
	return list(cq, "templates", 0, cursor, resp, err, n);
}

enum remote_status crosschq_fetch_requests(struct http_client *cq, int64_t since_ms, const char *cursor,
					   struct http_response *resp, char *err, size_t n)
{
	return list(cq, "requests", since_ms, cursor, resp, err, n);
}

enum remote_status crosschq_fetch_prospects(struct http_client *cq, int64_t since_ms, const char *cursor,
					    struct http_response *resp, char *err, size_t n)
{
	return list(cq, "prospects", since_ms, cursor, resp, err, n);
}

enum remote_status crosschq_find_request(struct http_client *cq, const char *external_id,
					 struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	char *e = http_escape(external_id);
	buf_printf(&p, "/api/v2/requests/?external_id=%s", e);
	free(e);
	return get(cq, &p, resp, err, n);
}

enum remote_status crosschq_create_request(struct http_client *cq, const char *body, struct http_response *resp,
					   char *err, size_t n)
{
	/* idempotent: Crosschq answers 200 with the existing request for a used external_id */
	return remote_call(cq, "POST", "/api/v2/requests/", body, 1, resp, NULL, err, n);
}

int crosschq_status_is_open(const char *status)
{
	return status && (strcmp(status, "sent") == 0 || strcmp(status, "in_progress") == 0);
}

char *crosschq_request_body(const struct crosschq_request_spec *s)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "external_id", s->external_id);
	json_gen_pair(g, "template_id", s->template_id);
	yajl_gen_string(g, (const unsigned char *)"candidate", 9);
	yajl_gen_map_open(g);
	json_gen_pair(g, "first_name", s->first_name);
	json_gen_pair(g, "last_name", s->last_name ? s->last_name : "");
	json_gen_pair(g, "email", s->email);
	json_gen_pair(g, "phone", s->phone);
	yajl_gen_map_close(g);
	json_gen_pair(g, "job_title", s->job_title);
	yajl_gen_string(g, (const unsigned char *)"requester", 9);
	yajl_gen_map_open(g);
	json_gen_pair(g, "name", s->requester_name);
	json_gen_pair(g, "email", s->requester_email);
	yajl_gen_map_close(g);
	yajl_gen_string(g, (const unsigned char *)"hiring_manager", 14);
	if (s->hiring_manager_email) {
		yajl_gen_map_open(g);
		json_gen_pair(g, "name", s->hiring_manager_name);
		json_gen_pair(g, "email", s->hiring_manager_email);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	json_gen_pair(g, "ats", "lever");
	json_gen_pair(g, "ats_candidate_url", s->candidate_url);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

/* "/api/v2/<what>/<id>/<tail>" */
enum remote_status crosschq_set_hired(struct http_client *cq, const char *request_id, int hired, int64_t hired_at_ms,
				      const char *source, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/api/v2/requests/", request_id, "/");
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"hired", 5);
	yajl_gen_bool(g, hired);
	char iso[40];
	json_gen_pair(g, "hired_at", hired && hired_at_ms > 0 ? format_iso8601(hired_at_ms, 0, iso, sizeof iso) : NULL);
	json_gen_pair(g, "hired_source", source);
	yajl_gen_map_close(g);
	char *body = json_gen_finish(g);
	enum remote_status s = remote_call(cq, "PATCH", p.data, body, 1, resp, NULL, err, n);
	free(body);
	buf_free(&p);
	return s;
}

enum remote_status crosschq_cancel_request(struct http_client *cq, const char *request_id,
					   struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/api/v2/requests/", request_id, "/cancel/");
	enum remote_status s = remote_call(cq, "POST", p.data, "{}", 1, resp, NULL, err, n);
	buf_free(&p);
	return s;
}

enum remote_status crosschq_link_prospect(struct http_client *cq, const char *prospect_id, const char *ats_id,
					  int64_t exported_at_ms, struct http_response *resp, char *err, size_t n)
{
	struct buf p;
	buf_init(&p, 4096);
	http_path_with_id(&p, "/api/v2/prospects/", prospect_id, "/");
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "ats_id", ats_id);
	char iso[40];
	json_gen_pair(g, "ats_exported_at", format_iso8601(exported_at_ms, 0, iso, sizeof iso));
	yajl_gen_map_close(g);
	char *body = json_gen_finish(g);
	enum remote_status s = remote_call(cq, "PATCH", p.data, body, 1, resp, NULL, err, n);
	free(body);
	buf_free(&p);
	return s;
}
