/*
 * act_crosschq.c - the Crosschq actions and their in-doubt rules (see
 * act_crosschq.h).
 */
#include "act_crosschq.h"
#include "act_send.h"
#include "capability.h"
#include "crosschq.h"
#include "crosschq_store.h"
#include "crosschq_sync.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "lever_parse.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGES_MAX 1000

/* Run fn(db, ...) style writes in one transaction: 0 or -1. */
static int in_tx(sqlite3 *db, int rc_of_write)
{
	if (rc_of_write || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

enum step act_cq_create(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			size_t rlen, char *err, size_t elen)
{
	struct http_response resp;
	http_response_init(&resp);
	char id[CQ_ID_MAX];
	int maybe = 0;
	enum remote_status s = crosschq_create_request(&ctx->crosschq, &in->create, id, sizeof id, &resp, &maybe, err,
						       elen);
	http_response_free(&resp);
	if (s == REMOTE_BAD)
		maybe = 1; /* a 2xx we cannot read: the request may well exist */
	enum step step = act_classify(s, maybe);
	if (step != STEP_DONE)
		return step;
	if (db_begin(ctx->db) || in_tx(ctx->db, cq_store_link(ctx->db, id, a->key, in->create.email, in->create.job_position,
								 now_ms()))) {
		snprintf(err, elen, "Crosschq made request %s, but it could not be recorded: %s", id,
			 sqlite3_errmsg(ctx->db));
		/* it happened: record done with its id all the same (the link follows from the outbox) */
	}
	snprintf(result, rlen, "%s", id);
	return STEP_DONE;
}

/* When the hire of p happened (the archive or the answer), else now. */
static int64_t hired_at(const struct cq_hired_intent *p)
{
	return p->hired_at > 0 ? p->hired_at : now_ms();
}

enum step act_cq_set_hired(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			   size_t rlen, char *err, size_t elen)
{
	(void)a;
	const char *rid = in->hired.request_id, *source = in->hired.source;
	int h = in->hired.hired;
	struct http_response resp;
	http_response_init(&resp);
	enum step step = act_classify(crosschq_set_hired(&ctx->crosschq, rid, h, &resp, err, elen), 0);
	http_response_free(&resp);
	if (step == STEP_DONE) {
		if (db_begin(ctx->db) == 0)
			in_tx(ctx->db, cq_store_hired(ctx->db, rid, h, source ? source : "ats",
						      hired_at(&in->hired)));
		snprintf(result, rlen, "%s", rid);
	}
	return step;
}

/* Read one request and store it. REMOTE_* of the read; *state its state when OK. */
static enum remote_status read_request(struct sync_ctx *ctx, const char *rid, char *err, size_t elen)
{
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = crosschq_get_request(&ctx->crosschq, rid, &resp, err, elen);
	if (s == REMOTE_OK && crosschq_take_requests(ctx, resp.body.data ? resp.body.data : "", resp.body.len, err,
						      elen) < 0)
		s = REMOTE_BAD;
	else if (s == REMOTE_NOT_FOUND && db_begin(ctx->db) == 0)
		in_tx(ctx->db, cq_store_gone(ctx->db, ctx->run_id, rid, now_ms()));
	http_response_free(&resp);
	return s;
}

/* The stored state of a request ("open", ...), into out; "" when unknown. */
static void stored_state(sqlite3 *db, const char *rid, char *out, size_t n, int *hired)
{
	out[0] = '\0';
	*hired = -1;
	sqlite3_stmt *st = db_prepare(db, "SELECT status, hired FROM cq_requests WHERE id = ?");
	if (!st)
		return;
	sqlite3_bind_text(st, 1, rid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*hired = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
}

enum step act_cq_cancel(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			size_t rlen, char *err, size_t elen)
{
	(void)a;
	const char *rid = in->cancel.request_id;
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = crosschq_cancel_request(&ctx->crosschq, rid, &resp, err, elen);
	http_response_free(&resp);
	if (s == REMOTE_OK) {
		if (db_begin(ctx->db) == 0)
			in_tx(ctx->db, cq_store_cancelled(ctx->db, rid, now_ms()));
		snprintf(result, rlen, "%s", rid);
		return STEP_DONE;
	}
	if (s == REMOTE_CONFLICT || s == REMOTE_REJECTED) {
		/* refused: perhaps because it is no longer open (completed meanwhile) */
		char why[1024], state[32];
		int hired;
		snprintf(why, sizeof why, "%s", err);
		if (read_request(ctx, rid, err, elen) == REMOTE_OK) {
			stored_state(ctx->db, rid, state, sizeof state, &hired);
			if (strcmp(state, "open") != 0) {
				snprintf(result, rlen, "nothing to cancel: the request is %s", state);
				return STEP_DONE;
			}
		}
		snprintf(err, elen, "%s", why);
	}
	return act_classify(s, 0);
}

enum step act_cq_link_prospect(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			       char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	const char *pid = in->link_prospect.prospect_id, *ats = in->link_prospect.ats_id;
	struct http_response resp;
	http_response_init(&resp);
	enum step step = act_classify(crosschq_link_prospect(&ctx->crosschq, pid, ats, &resp, err, elen), 0);
	http_response_free(&resp);
	if (step == STEP_DONE) {
		snprintf(result, rlen, "%s", ats);
		sqlite3_stmt *st = db_prepare(ctx->db, "UPDATE cq_prospects SET ats_id = ?, ats_exported_at = ? WHERE id = ?");
		if (st && db_begin(ctx->db) == 0) {
			sqlite3_bind_text(st, 1, ats, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, now_ms());
			sqlite3_bind_text(st, 3, pid, -1, SQLITE_STATIC);
			in_tx(ctx->db, db_step_done(st) == SQLITE_DONE ? 0 : -1);
		}
		sqlite3_finalize(st);
	}
	return step;
}

/*
 * With the list capability: store every request changed since `since`.
 * *complete: 1 when the listing reached its last page (then the run's
 * stored requests cover `since`), 0 when it was cut at LIST_PAGES_MAX.
 */
static enum remote_status list_since(struct sync_ctx *ctx, int64_t since, int *complete, char *err, size_t elen)
{
	char next[4096] = "";
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = REMOTE_OK;
	*complete = 0;
	for (int page = 0; page < LIST_PAGES_MAX && s == REMOTE_OK; page++) {
		s = crosschq_list_requests(&ctx->crosschq, since, next, &resp, err, elen);
		if (s != REMOTE_OK)
			break;
		char perr[512];
		const char *d = resp.body.data ? resp.body.data : "";
		/* store, then find the next page */
		if (crosschq_take_requests(ctx, d, resp.body.len, perr, sizeof perr) < 0) {
			snprintf(err, elen, "Crosschq list of requests not understood: %s", perr);
			s = REMOTE_BAD;
			break;
		}
		char jerr[64];
		if (crosschq_parse_requests(d, resp.body.len, NULL, NULL, next, sizeof next, jerr, sizeof jerr) < 0)
			break;
		if (!next[0]) {
			*complete = 1;
			break;
		}
	}
	http_response_free(&resp);
	return s;
}

/*
 * The evidence rule, shared by a create in doubt and the look-up before a
 * create: a request for email and position created at or after since, among
 * the stored requests; when none is stored and list_from >= 0 (and the list
 * capability is present), after one listing since list_from. Returns 1 with
 * its id, 0 none, -1 database error, -2 the listing failed (*ls, err set).
 */
static int find_evidence(struct sync_ctx *ctx, const char *email, const char *position, int64_t since,
			 int64_t list_from, char *id, size_t idlen, enum remote_status *ls, char *err, size_t elen)
{
	*ls = REMOTE_OK;
	int found = cq_find_evidence(ctx->db, email, position, since, id, idlen);
	if (found != 0 || list_from < 0 || capability_get(ctx->db, CAP_LIST) != CAP_PRESENT)
		return found;
	int complete;
	*ls = list_since(ctx, list_from, &complete, err, elen);
	if (*ls != REMOTE_OK)
		return -2;
	if (complete)
		crosschq_listed(ctx, list_from);
	return cq_find_evidence(ctx->db, email, position, since, id, idlen);
}

/* Link request id to the create a (adopted, made before or elsewhere), for its email and position. 0 or -1. */
static int adopt(struct sync_ctx *ctx, const struct action *a, const struct cq_create_intent *in, const char *id)
{
	return db_begin(ctx->db) ||
	       in_tx(ctx->db, cq_store_link(ctx->db, id, a->key, in->email, in->job_position, 0)) ? -1 : 0;
}

enum step act_cq_lookup_create(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			       char *result, size_t rlen, char *err, size_t elen)
{
	/* the answer was stored, the outcome not (killed in between): it happened */
	int linked = cq_find_linked(ctx->db, a->key, result, rlen);
	if (linked)
		return linked > 0 ? STEP_DONE : STEP_DB_ERROR;
	const char *email = in->create.email, *position = in->create.job_position;
	if (!email || !position) {
		snprintf(err, elen, "its stored body names no candidate (erased: the candidate was deleted in Lever); "
			 "check in Crosschq whether a request was made, then run refsync resolve %s --sent ID or "
			 "--not-sent", a->key);
		return STEP_AWAIT;
	}
	int64_t since = outbox_send_started(ctx->db, a->id) - CQ_EVIDENCE_SKEW_MS;
	char id[CQ_ID_MAX];
	enum remote_status ls;
	int found = find_evidence(ctx, email, position, since, since > 0 ? since : 0, id, sizeof id, &ls, err, elen);
	if (found == -2 && ls == REMOTE_AUTH)
		return STEP_STOP_AUTH;
	if (found == -2) /* not listed now: what is stored is all the evidence there is */
		found = cq_find_evidence(ctx->db, email, position, since, id, sizeof id);
	enum step step;
	if (found < 0) {
		step = STEP_DB_ERROR;
	} else if (found == 1) {
		if (adopt(ctx, a, &in->create, id)) {
			step = STEP_DB_ERROR;
		} else {
			snprintf(result, rlen, "%s", id);
			step = STEP_DONE;
		}
	} else {
		char iso[40];
		snprintf(err, elen, "no evidence yet of a request made for this create: check in Crosschq for a request "
			 "for the candidate of %s, position '%s', created after %s; then run refsync resolve %s --sent "
			 "REQUEST_ID (it was made) or --not-sent (send it)",
			 a->subject, position, format_iso8601(since + CQ_EVIDENCE_SKEW_MS, 0, iso, sizeof iso), a->key);
		step = STEP_AWAIT;
	}
	return step;
}

/* The earliest stage entry of the creates not done yet, less the clock skew; at most fallback. */
static int64_t earliest_create_since(sqlite3 *db, int64_t fallback)
{
	int64_t since = fallback;
	sqlite3_stmt *st = db_prepare(db, "SELECT key FROM outbox WHERE kind = 'cq.create_request' AND state IN "
					  "('planned', 'sending')");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char opportunity[ID_MAX];
		int64_t entered = 0;
		if (store_parse_external_id((const char *)sqlite3_column_text(st, 0), opportunity, &entered) == 0 &&
		    entered > 0 && entered - CQ_EVIDENCE_SKEW_MS < since)
			since = entered - CQ_EVIDENCE_SKEW_MS;
	}
	sqlite3_finalize(st);
	return since;
}

int act_cq_before_create(struct sync_ctx *ctx, const struct action *a, const union intent *in, enum step *step,
			 char *result, size_t rlen, char *err, size_t elen)
{
	char opportunity[ID_MAX];
	int64_t entered = 0;
	const char *email = in->create.email, *position = in->create.job_position;
	if (capability_get(ctx->db, CAP_LIST) != CAP_PRESENT ||
	    store_parse_external_id(a->key, opportunity, &entered) || entered <= 0)
		return 0; /* nothing to look at: created as before */
	if (!email || !position)
		return 0; /* erased or damaged: the send path says so */
	/* the stage entry's time, less the two clocks' skew: the in-doubt rule */
	int64_t since = entered - CQ_EVIDENCE_SKEW_MS, list_from = -1;
	if (!(ctx->cq_listed && ctx->cq_listed_from <= since) && ctx->cq_create_listing == 0)
		list_from = earliest_create_since(ctx->db, since); /* one listing for every create of the run */
	char id[CQ_ID_MAX], iso[40];
	enum remote_status ls;
	int found = find_evidence(ctx, email, position, since, list_from, id, sizeof id, &ls, err, elen);
	if (list_from >= 0 && found != -1)
		ctx->cq_create_listing = found == -2 ? -1 : 1;
	int settled = 1;
	if (found == -2) {
		char why[1024];
		snprintf(why, sizeof why, "%s", err);
		snprintf(err, elen, "not created: looking in Crosschq for a request already made for this stage entry "
			 "failed: %s", why);
		*step = act_classify(ls, 0);
		if (*step == STEP_FAILED || *step == STEP_DONE)
			*step = STEP_RETRY;
	} else if (found < 0) {
		*step = STEP_DB_ERROR;
	} else if (found == 1) {
		/* made by an earlier installation against the same tenant (or by hand): adopted, not made again */
		*step = adopt(ctx, a, &in->create, id) ? STEP_DB_ERROR : STEP_FOUND;
		snprintf(result, rlen, "%s", id);
	} else if (!(ctx->cq_listed && ctx->cq_listed_from <= since)) {
		/* the run's listing failed or was cut: it cannot be told whether Crosschq has it */
		snprintf(err, elen, "not created: looking in Crosschq for a request already made for this stage entry "
			 "failed: its requests since %s could not be listed whole in this run (the listing failed, or "
			 "had more than %d pages)", format_iso8601(since, 0, iso, sizeof iso), LIST_PAGES_MAX);
		*step = STEP_RETRY;
	} else {
		settled = 0;
	}
	return settled;
}

/* A hired PATCH or a cancel in doubt: read the request. 1 happened, 0 not, or
 * -1 with *step the stop step (or STEP_DONE: the request is gone). */
static int read_state(struct sync_ctx *ctx, const char *rid, char *state, size_t n, int *hired, enum step *step,
		      char *result, size_t rlen, char *err, size_t elen)
{
	enum remote_status s = read_request(ctx, rid, err, elen);
	if (s == REMOTE_NOT_FOUND) {
		snprintf(result, rlen, "the request no longer exists in Crosschq");
		*step = STEP_DONE;
		return -1;
	}
	if (s != REMOTE_OK) {
		*step = act_classify_lookup(s);
		return -1;
	}
	stored_state(ctx->db, rid, state, n, hired);
	return 0;
}

enum step act_cq_lookup_cancel(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			       char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	const char *rid = in->cancel.request_id;
	char state[32];
	int hired;
	enum step step;
	if (read_state(ctx, rid, state, sizeof state, &hired, &step, result, rlen, err, elen))
		return step;
	if (strcmp(state, "open") == 0)
		return STEP_RETRY;
	snprintf(result, rlen, "%s", rid);
	return STEP_DONE;
}

enum step act_cq_lookup_hired(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			      char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	const char *rid = in->hired.request_id;
	char state[32];
	int hired;
	enum step step;
	if (read_state(ctx, rid, state, sizeof state, &hired, &step, result, rlen, err, elen))
		return step;
	/* without the hired field, a read cannot tell: setting a state again is harmless */
	int happened = capability_get(ctx->db, CAP_HIRED_FIELD) == CAP_PRESENT && hired == in->hired.hired;
	if (!happened)
		return STEP_RETRY;
	/* it was refsync's own PATCH: its source and time, not "crosschq" */
	const char *source = in->hired.source;
	if (db_begin(ctx->db) == 0 &&
	    in_tx(ctx->db, cq_store_hired(ctx->db, rid, hired, source ? source : "ats", hired_at(&in->hired))))
		return STEP_DB_ERROR;
	snprintf(result, rlen, "%s", rid);
	return STEP_DONE;
}

/*
 * In doubt about a prospect link: Crosschq has no look-up of one prospect,
 * but this run's pull listed every prospect changed since the last one, and
 * the PATCH changed it: the stored prospect says whether it happened.
 */
enum step act_cq_lookup_prospect_link(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				      char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	(void)err;
	(void)elen;
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT 1 FROM cq_prospects WHERE id = ? AND ats_id = ?");
	if (!st)
		return STEP_DB_ERROR;
	sqlite3_bind_text(st, 1, in->link_prospect.prospect_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->link_prospect.ats_id, -1, SQLITE_STATIC);
	enum step step = sqlite3_step(st) == SQLITE_ROW ? STEP_DONE : STEP_RETRY;
	sqlite3_finalize(st);
	if (step == STEP_DONE)
		strlcpy_(result, in->link_prospect.ats_id, rlen);
	return step;
}

enum step act_cq_fetch_for_resolve(struct sync_ctx *ctx, const char *request_id, char *err, size_t elen)
{
	enum remote_status s = read_request(ctx, request_id, err, elen);
	if (s == REMOTE_NOT_FOUND) {
		snprintf(err, elen, "Crosschq has no request %s", request_id);
		return STEP_FAILED;
	}
	return s == REMOTE_OK ? STEP_DONE : act_classify_lookup(s);
}
