/*
 * act_lookup.c - looking up a Lever action left in doubt by an interrupted
 * run, before anything is sent again (the table in action_kinds.h), and the
 * Lever look-ups that every link and note goes through before it is posted.
 */
#include "act_send.h"
#include "db.h"
#include "lever.h"
#include "log.h"
#include "lever_parse.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_PAGES_MAX 20

/* Does the opportunity carry the report link? REMOTE_OK with *found, or the failure. */
static enum remote_status find_link(struct sync_ctx *ctx, const struct lever_report_intent *p, int *found,
				    char *err, size_t elen)
{
	*found = 0;
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, p->opportunity_id, &resp, err, elen);
	if (s == REMOTE_OK) {
		char id[ID_MAX];
		if (act_store_response(ctx, &resp, id, sizeof id, p->url, found) < 0) {
			snprintf(err, elen, "Lever GET /opportunities/%s: answer not understood", p->opportunity_id);
			s = REMOTE_BAD;
		}
	} else if (s == REMOTE_NOT_FOUND) {
		snprintf(err, elen, "the opportunity no longer exists in Lever");
	}
	http_response_free(&resp);
	return s;
}

enum remote_status act_lever_find_link(struct sync_ctx *ctx, const union intent *in, char *result, size_t rlen,
				       char *err, size_t elen)
{
	int found = 0;
	enum remote_status s = find_link(ctx, &in->report, &found, err, elen);
	snprintf(result, rlen, "%s", s == REMOTE_OK && found ? "the link is on the opportunity already" : "");
	return s;
}

/* In doubt about a link: does the opportunity carry it? */
enum step act_lever_lookup_link(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	(void)result;
	(void)rlen;
	int has = 0;
	enum remote_status s = find_link(ctx, &in->report, &has, err, elen);
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

enum remote_status act_lever_find_note(struct sync_ctx *ctx, const union intent *in, char *note_id, size_t len,
				       char *err, size_t elen)
{
	const char *oid = in->report.opportunity_id;
	struct note_search s = { act_note_marker(in->report.request_id), in->report.url, "" };
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
enum step act_lever_lookup_note(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	enum remote_status rs = act_lever_find_note(ctx, in, result, rlen, err, elen);
	if (rs == REMOTE_OK)
		return result[0] ? STEP_DONE : STEP_RETRY;
	return act_classify_lookup(rs);
}

/* In doubt about an archive: does Lever show the opportunity archived with that reason? */
enum step act_lever_lookup_archive(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				   char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	(void)result;
	(void)rlen;
	const char *oid = in->archive.opportunity_id, *reason = in->archive.reason_id;
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

/* In doubt about a prospect's export: find it by email (it was made, or is there to link). */
enum step act_lever_lookup_prospect(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				    char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	enum step step = act_find_by_email(ctx, in->prospect.email, result, rlen, err, elen);
	return step == STEP_FAILED ? STEP_STOP_DOWN : step;
}
