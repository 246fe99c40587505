/*
 * act_lookup.c - looking up an action left in doubt by an interrupted run,
 * before anything is sent again (the table in act_send.h), and the Lever
 * look-ups that every link and note goes through before it is posted.
 */
#include "act_internal.h"
#include "act_crosschq.h"
#include "db.h"
#include "lever.h"
#include "log.h"
#include "lever_parse.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define NOTE_PAGES_MAX 20

enum remote_status act_find_link(struct sync_ctx *ctx, yajl_val p, int *found, char *err, size_t elen)
{
	*found = 0;
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, act_field(p, "opportunity_id"), &resp, err, elen);
	if (s == REMOTE_OK) {
		char id[ID_MAX];
		if (act_store_response(ctx, &resp, id, sizeof id, act_field(p, "url"), found) < 0) {
			snprintf(err, elen, "Lever GET /opportunities/%s: answer not understood", act_field(p, "opportunity_id"));
			s = REMOTE_BAD;
		}
	} else if (s == REMOTE_NOT_FOUND) {
		snprintf(err, elen, "the opportunity no longer exists in Lever");
	}
	http_response_free(&resp);
	return s;
}

/* In doubt about a link: does the opportunity carry it? */
static enum step lookup_link(struct sync_ctx *ctx, yajl_val p, char *err, size_t elen)
{
	int has = 0;
	enum remote_status s = act_find_link(ctx, p, &has, err, elen);
	if (s == REMOTE_OK)
		return has ? STEP_DONE : STEP_RETRY;
	if (s == REMOTE_NOT_FOUND)
		return STEP_FAILED;
	enum step step = act_classify(s, 0);
	return step == STEP_FAILED || step == STEP_RETRY ? STEP_STOP_DOWN : step;
}

struct note_search {
	char *marker; /* act_note_marker(): short, whatever the report link's length */
	const char *url; /* the report link: a note that holds it is ours too */
	char found[ID_MAX];
};

static int on_note(void *p, const struct lever_simple *n)
{
	struct note_search *s = p;
	if (!s->found[0] && n->note && (strstr(n->note, s->marker) || (s->url && strstr(n->note, s->url))))
		strlcpy_(s->found, n->id[0] ? n->id : "(a note without an id)", sizeof s->found);
	return 0;
}

enum remote_status act_find_note(struct sync_ctx *ctx, yajl_val p, char *note_id, size_t len, char *err,
				 size_t elen)
{
	const char *oid = act_field(p, "opportunity_id");
	struct note_search s = { act_note_marker(act_field(p, "request_id")), act_field(p, "url"), "" };
	char token[TOKEN_MAX] = "";
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status rs = REMOTE_OK;
	int page_no;
	note_id[0] = '\0';
	for (page_no = 0; page_no < NOTE_PAGES_MAX; page_no++) {
		rs = lever_list_notes(&ctx->lever, oid, token, &resp, err, elen);
		if (rs != REMOTE_OK)
			break;
		struct page_info page;
		char perr[256];
		if (parse_simple_page(resp.body.data ? resp.body.data : "", resp.body.len, LS_NOTE, on_note, &s, &page,
				      perr, sizeof perr)) {
			snprintf(err, elen, "Lever notes of %s: %s", oid, perr);
			rs = REMOTE_BAD;
			break;
		}
		if (s.found[0] || !page.has_next || !page.next[0])
			break;
		strlcpy_(token, page.next, sizeof token);
	}
	if (rs == REMOTE_OK && page_no == NOTE_PAGES_MAX)
		log_warn("opportunity %s has more than %d pages of notes: only those were searched for refsync's note",
			 oid, NOTE_PAGES_MAX);
	if (rs == REMOTE_NOT_FOUND)
		snprintf(err, elen, "the opportunity no longer exists in Lever");
	if (rs == REMOTE_OK)
		strlcpy_(note_id, s.found, len);
	http_response_free(&resp);
	free(s.marker);
	return rs;
}

/* In doubt about a note: list the opportunity's notes and find ours by its marker (the request id). */
static enum step lookup_note(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err, size_t elen)
{
	enum remote_status rs = act_find_note(ctx, p, result, rlen, err, elen);
	if (rs == REMOTE_OK)
		return result[0] ? STEP_DONE : STEP_RETRY;
	return act_classify_lookup(rs);
}

/* In doubt about an archive: does Lever show the opportunity archived with that reason? */
static enum step lookup_archive(struct sync_ctx *ctx, yajl_val p, char *err, size_t elen)
{
	const char *oid = act_field(p, "opportunity_id"), *reason = act_field(p, "reason_id");
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, oid, &resp, err, elen);
	enum step step = act_classify(s, 0);
	if (step == STEP_DONE) {
		char id[ID_MAX];
		if (act_store_response(ctx, &resp, id, sizeof id, NULL, NULL) < 0) {
			step = STEP_STOP_DOWN;
		} else {
			sqlite3_stmt *st = db_prepare(ctx->db, "SELECT 1 FROM lever_opportunities WHERE id = ? AND "
							       "archived_at IS NOT NULL AND archive_reason_id = ?");
			sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
			step = st && sqlite3_step(st) == SQLITE_ROW ? STEP_DONE : STEP_RETRY;
			sqlite3_finalize(st);
		}
	} else if (s == REMOTE_NOT_FOUND) {
		snprintf(err, elen, "the opportunity no longer exists in Lever");
		step = STEP_FAILED;
	} else if (step == STEP_FAILED) {
		step = STEP_STOP_DOWN;
	}
	http_response_free(&resp);
	return step;
}

/*
 * In doubt about a prospect link: Crosschq has no look-up of one prospect,
 * but this run's pull listed every prospect changed since the last one, and
 * the PATCH changed it: the stored prospect says whether it happened.
 */
static enum step lookup_prospect_link(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT 1 FROM cq_prospects WHERE id = ? AND ats_id = ?");
	if (!st)
		return STEP_DB_ERROR;
	sqlite3_bind_text(st, 1, act_field(p, "prospect_id"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, act_field(p, "ats_id"), -1, SQLITE_STATIC);
	enum step step = sqlite3_step(st) == SQLITE_ROW ? STEP_DONE : STEP_RETRY;
	sqlite3_finalize(st);
	if (step == STEP_DONE)
		strlcpy_(result, act_field(p, "ats_id"), rlen);
	return step;
}

enum step act_lookup(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
		     size_t elen)
{
	result[0] = '\0';
	yajl_val p = act_parse_payload(a, err, elen);
	if (!p)
		return STEP_FAILED;
	enum step step;
	if (strcmp(a->kind, "cq.create_request") == 0)
		step = act_cq_lookup_create(ctx, a, result, rlen, err, elen);
	else if (strcmp(a->kind, "lever.add_link") == 0)
		step = lookup_link(ctx, p, err, elen);
	else if (strcmp(a->kind, "lever.add_note") == 0)
		step = lookup_note(ctx, p, result, rlen, err, elen);
	else if (strcmp(a->kind, "lever.export_prospect") == 0) {
		step = act_find_by_email(ctx, act_field(p, "email"), result, rlen, err, elen);
		if (step == STEP_FAILED)
			step = STEP_STOP_DOWN;
	} else if (strcmp(a->kind, "lever.archive_hired") == 0) {
		step = lookup_archive(ctx, p, err, elen);
	} else if (strcmp(a->kind, "cq.set_hired") == 0 || strcmp(a->kind, "cq.cancel_request") == 0) {
		step = act_cq_lookup_state(ctx, a, p, result, rlen, err, elen);
	} else if (strcmp(a->kind, "cq.link_prospect") == 0) {
		step = lookup_prospect_link(ctx, p, result, rlen);
	} else {
		/* mail: the one effect that cannot be looked up; it is sent again
		 * with the same Message-ID, which mail systems deduplicate */
		step = STEP_RETRY;
	}
	yajl_tree_free(p);
	return step;
}
