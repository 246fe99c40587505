/*
 * lever.h - every call refsync makes to Lever's Data API v1 (lever-api.md):
 * the paths, the query parameters and the bodies live here and nowhere
 * else. Responses are left in resp for the parsers of lever_parse.h.
 */
#ifndef REFSYNC_LEVER_H
#define REFSYNC_LEVER_H

#include "http.h"

#include <stdint.h>

/*
 * Set up lv as the Lever client of base_url: Basic auth with key as the user
 * (lever-api.md section 1), Lever's error bodies ({"code","message"}) read
 * into messages. Returns 0, or -1 with err set (no secret in it); free with
 * http_client_free.
 */
int lever_client_init(struct http_client *lv, const char *base_url, const char *key, double rps, char *err,
		      size_t n);

/* Which time filter a listing of opportunities uses. */
enum lever_window { LEVER_ALL, LEVER_UPDATED, LEVER_CREATED };

/* s, or REMOTE_BAD_OFFSET when resp is Lever's "Invalid offset token" refusal (whatever its status). */
enum remote_status lever_offset_status(enum remote_status s, const struct http_response *resp);

/* The paths of the reads, for concurrent fetching (http_multi). Static strings. */
const char *lever_stages_path(void);
const char *lever_archive_reasons_path(void);
void lever_postings_path(struct buf *path, int64_t since_ms, const char *token);
void lever_deleted_path(struct buf *path, int64_t since_ms, int64_t until_ms, const char *token);
enum remote_status lever_fetch_stages(struct http_client *lv, struct http_response *resp, char *err, size_t n);
enum remote_status lever_fetch_archive_reasons(struct http_client *lv, struct http_response *resp, char *err,
					       size_t n);
/* since_ms 0: every posting, one page at token; else those updated since, in one answer (updated_at
 * goes with confidentiality only, as Lever requires: no limit, no offset). */
enum remote_status lever_fetch_postings(struct http_client *lv, int64_t since_ms, const char *token,
					struct http_response *resp, char *err, size_t n);
/* One page of opportunities, confidential included, owner/stage/applications expanded. */
enum remote_status lever_fetch_opportunities(struct http_client *lv, enum lever_window w, int64_t since_ms,
					     int64_t until_ms, const char *token, struct http_response *resp,
					     char *err, size_t n);
/* The path of a listing filtered by creation and update time together (Lever
 * ANDs the filters; bounds in ms, inclusive; LEVER_NO_BOUND leaves one out). */
#define LEVER_NO_BOUND INT64_MIN
void lever_opportunities_range_path(struct buf *path, int64_t created_start, int64_t created_end,
				    int64_t updated_start, int64_t updated_end, const char *token);
enum remote_status lever_fetch_deleted(struct http_client *lv, int64_t since_ms, int64_t until_ms,
				       const char *token, struct http_response *resp, char *err, size_t n);
enum remote_status lever_fetch_opportunity(struct http_client *lv, const char *id, struct http_response *resp,
					   char *err, size_t n);
/* The path of one user, for concurrent fetching (http_multi). */
void lever_user_path(struct buf *path, const char *id);

/* ---- writes (each is one outbox action; see act.c) ---- */

/* POST /opportunities/:id/addLinks {"links":[url]} (perform_as may be NULL). */
enum remote_status lever_add_link(struct http_client *lv, const char *id, const char *url, const char *perform_as,
				  struct http_response *resp, int *maybe_sent, char *err, size_t n);
/* POST /opportunities/:id/notes {"value": text, "notifyFollowers": true}. Not idempotent. */
enum remote_status lever_add_note(struct http_client *lv, const char *id, const char *text, const char *perform_as,
				  struct http_response *resp, int *maybe_sent, char *err, size_t n);
/* GET /opportunities/:id/notes, one page. */
enum remote_status lever_list_notes(struct http_client *lv, const char *id, const char *token,
				    struct http_response *resp, char *err, size_t n);
/* PUT /opportunities/:id/archived {"reason": reason_id}. */
enum remote_status lever_archive(struct http_client *lv, const char *id, const char *reason_id,
				 const char *perform_as, struct http_response *resp, char *err, size_t n);
/* GET /opportunities?email=..., confidential included: the first page. */
enum remote_status lever_find_by_email(struct http_client *lv, const char *email, struct http_response *resp,
				       char *err, size_t n);
/* POST /opportunities?perform_as=... with a sourced opportunity. Not idempotent. */
struct lever_new_opportunity {
	const char *name, *email, *phone, *headline;
	const char *const *tags;
	size_t n_tags;
};
enum remote_status lever_create_opportunity(struct http_client *lv, const struct lever_new_opportunity *o,
					    const char *perform_as, struct http_response *resp, int *maybe_sent,
					    char *err, size_t n);

#endif
