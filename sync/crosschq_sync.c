/*
 * crosschq_sync.c - the Crosschq step of a run (see crosschq_sync.h).
 */
#include "crosschq_sync.h"
#include "capability.h"
#include "crosschq.h"
#include "crosschq_store.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGES_MAX 1000
#define NEXT_MAX 4096

struct take {
	struct sync_ctx *ctx;
	int64_t now, max_updated;
	int db_failed, saw_hired, saw_no_hired;
};

static int on_request(void *p, const struct cq_request *r)
{
	struct take *t = p;
	if (r->updated_at > t->max_updated)
		t->max_updated = r->updated_at;
	if (r->has_hired)
		t->saw_hired = 1;
	else
		t->saw_no_hired = 1;
	if (!r->word_known)
		log_info("Crosschq request %s has the status word '%s', unknown to refsync: kept as open",
			 r->id, r->status_word);
	if (cq_store_request(t->ctx->db, r, t->now)) {
		t->db_failed = 1;
		return -1;
	}
	return 0;
}

/* After a commit: what the Requests showed of the hired field. */
static int note_hired_field(struct sync_ctx *ctx, const struct take *t)
{
	if (!t->saw_hired && !t->saw_no_hired)
		return 0;
	return capability_saw_request(ctx->db, ctx->run_id, t->saw_hired);
}

/* Store the requests of json (text) or doc (parsed) in one transaction. */
static int take(struct sync_ctx *ctx, const char *json, size_t len, yajl_val doc, char *err, size_t n)
{
	struct take t = { ctx, now_ms(), 0, 0, 0, 0 };
	if (db_begin(ctx->db)) {
		snprintf(err, n, "database busy or failing: %s", sqlite3_errmsg(ctx->db));
		return -1;
	}
	int got = doc ? crosschq_requests_of(doc, on_request, &t, NULL, 0, err, n)
		      : crosschq_parse_requests(json, len, on_request, &t, NULL, 0, err, n);
	if (got < 0 || db_commit(ctx->db)) {
		if (t.db_failed || got >= 0)
			snprintf(err, n, "database error storing a Crosschq request: %s", sqlite3_errmsg(ctx->db));
		db_rollback(ctx->db);
		return -1;
	}
	if (note_hired_field(ctx, &t)) {
		snprintf(err, n, "database error storing a capability: %s", sqlite3_errmsg(ctx->db));
		return -1;
	}
	return got;
}

int crosschq_take_requests(struct sync_ctx *ctx, const char *json, size_t len, char *err, size_t n)
{
	return take(ctx, json, len, NULL, err, n);
}

int crosschq_take_request_doc(struct sync_ctx *ctx, yajl_val doc, char *err, size_t n)
{
	return take(ctx, NULL, 0, doc, err, n);
}

static int db_failure(struct sync_ctx *ctx, const char *what)
{
	snprintf(ctx->error, sizeof ctx->error, "database error while %s: %s", what, sqlite3_errmsg(ctx->db));
	log_err("%s", ctx->error);
	return EXIT_SOFTWARE;
}

/* A cursor of ours: since (Crosschq's clock) and the next page's URL. */
static int cursor_get(sqlite3 *db, const char *name, int64_t *since, char *next, size_t n)
{
	*since = 0;
	next[0] = '\0';
	sqlite3_stmt *st = db_prepare(db, "SELECT since, token FROM cursors WHERE name = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*since = sqlite3_column_int64(st, 0);
		const char *tok = (const char *)sqlite3_column_text(st, 1);
		snprintf(next, n, "%s", tok && strlen(tok) < n ? tok : "");
	}
	sqlite3_finalize(st);
	return 0;
}

static int cursor_put(sqlite3 *db, const char *name, int64_t since, const char *next)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO cursors(name, since, until, token, pages, updated_at) VALUES (?1, ?2, NULL, ?3, 1, ?4) "
		"ON CONFLICT(name) DO UPDATE SET since = ?2, token = ?3, pages = pages + 1, updated_at = ?4");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	if (next && *next)
		sqlite3_bind_text(st, 3, next, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, now_ms());
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A Crosschq failure of this step: logged; EXIT_CONFIG for a refused key or
 * a Crosschq that cannot be reached as set up, else EXIT_OK (the run goes on;
 * when Crosschq was down, the run ends 75 after the rest of its work). */
static int remote_trouble(struct sync_ctx *ctx, enum remote_status s, const char *err)
{
	if (s == REMOTE_SETUP) {
		snprintf(ctx->error, sizeof ctx->error, "%s: %s", err, remote_config_hint(s));
		log_err("%s", ctx->error);
		return EXIT_CONFIG;
	}
	if (s == REMOTE_AUTH) {
		snprintf(ctx->error, sizeof ctx->error, "%s: Crosschq refused the API key ([crosschq] api_key_file, "
			 "auth_scheme)", err);
		log_err("%s", ctx->error);
		return EXIT_CONFIG;
	}
	log_warn("%s; Crosschq request states are read again next run", err);
	if (s == REMOTE_DOWN) {
		ctx->crosschq_unread = 1;
		ctx_note_error(ctx, err);
	}
	return EXIT_OK;
}

struct prospect_take {
	struct sync_ctx *ctx;
	int64_t max_updated;
	int db_failed;
};

static int on_prospect(void *p, const struct cq_prospect *pr)
{
	struct prospect_take *t = p;
	if (pr->updated_at > t->max_updated)
		t->max_updated = pr->updated_at;
	if (cq_store_prospect(t->ctx->db, pr)) {
		t->db_failed = 1;
		return -1;
	}
	return 0;
}

/*
 * List requests or prospects changed since the cursor (less the overlap),
 * a page per transaction with the cursor; the cursor moves to the largest
 * updated_on Crosschq returned (its clock, not ours).
 */
static int list_changed(struct sync_ctx *ctx, int prospects)
{
	const char *name = prospects ? "crosschq.prospects" : "crosschq.requests";
	int64_t since;
	char next[NEXT_MAX], err[1024];
	if (cursor_get(ctx->db, name, &since, next, sizeof next))
		return db_failure(ctx, "reading a cursor");
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	int64_t from = since > overlap ? since - overlap : 0, high = since;
	struct http_response resp;
	http_response_init(&resp);
	int result = EXIT_OK;
	for (int page = 0; page < LIST_PAGES_MAX; page++) {
		enum remote_status s = prospects ? crosschq_list_prospects(&ctx->crosschq, from, next, &resp, err, sizeof err)
						 : crosschq_list_requests(&ctx->crosschq, from, next, &resp, err, sizeof err);
		if (s != REMOTE_OK) {
			result = remote_trouble(ctx, s, err);
			break;
		}
		if (db_begin(ctx->db)) {
			result = db_failure(ctx, "starting a Crosschq page");
			break;
		}
		struct take t = { ctx, now_ms(), 0, 0, 0, 0 };
		struct prospect_take pt = { ctx, 0, 0 };
		const char *d = resp.body.data ? resp.body.data : "";
		int got = prospects ? crosschq_parse_prospects(d, resp.body.len, on_prospect, &pt, next, sizeof next, err,
							       sizeof err)
				    : crosschq_parse_requests(d, resp.body.len, on_request, &t, next, sizeof next, err,
							      sizeof err);
		int64_t max = prospects ? pt.max_updated : t.max_updated;
		if (max > high)
			high = max;
		if (got < 0) {
			db_rollback(ctx->db);
			if (t.db_failed || pt.db_failed)
				result = db_failure(ctx, "storing a Crosschq page");
			else
				log_warn("Crosschq %s page not understood: %s; read again next run", name + 9, err);
			break;
		}
		ctx->pulled += got;
		if (cursor_put(ctx->db, name, next[0] ? since : high, next) || db_commit(ctx->db)) {
			db_rollback(ctx->db);
			result = db_failure(ctx, "storing a Crosschq page");
			break;
		}
		if (!prospects && note_hired_field(ctx, &t)) {
			result = db_failure(ctx, "storing a capability");
			break;
		}
		if (!next[0]) {
			if (!prospects)
				crosschq_listed(ctx, from);
			break;
		}
	}
	http_response_free(&resp);
	return result;
}

/* Read our open requests that are due, one by one (no list capability). */
static int read_open_requests(struct sync_ctx *ctx)
{
	int per_run = ctx->cfg->poll_open_per_run;
	if (per_run <= 0)
		return EXIT_OK;
	int64_t now = now_ms();
	char **ids;
	int n = cq_due_for_read(ctx->db, now - (int64_t)ctx->cfg->poll_open_minutes * 60000,
				capability_get(ctx->db, CAP_HIRED_FIELD) == CAP_PRESENT, per_run, &ids);
	if (n < 0)
		return db_failure(ctx, "choosing requests to read");
	struct http_response resp;
	http_response_init(&resp);
	int result = EXIT_OK;
	for (int i = 0; i < n && result == EXIT_OK; i++) {
		char err[1024];
		enum remote_status s = crosschq_get_request(&ctx->crosschq, ids[i], &resp, err, sizeof err);
		if (s == REMOTE_NOT_FOUND) {
			if (db_begin(ctx->db) || cq_store_gone(ctx->db, ctx->run_id, ids[i], now) || db_commit(ctx->db)) {
				db_rollback(ctx->db);
				result = db_failure(ctx, "recording a deleted request");
			}
			continue;
		}
		if (s != REMOTE_OK) {
			result = remote_trouble(ctx, s, err);
			if (result == EXIT_OK && s != REMOTE_DOWN)
				continue; /* this one is refused: the others may still be read */
			break;
		}
		int got = crosschq_take_requests(ctx, resp.body.data ? resp.body.data : "", resp.body.len, err, sizeof err);
		if (got < 0 && strncmp(err, "database", 8) == 0)
			result = db_failure(ctx, "storing a Crosschq request");
		else if (got < 0)
			log_warn("Crosschq request %s: answer not understood: %s", ids[i], err);
		else
			ctx->pulled += got;
	}
	http_response_free(&resp);
	cq_ids_free(ids, n);
	return result;
}

/*
 * The first run of a database whose trigger_since lies before it, without
 * the list capability: its creates cannot be checked against the requests
 * Crosschq already has. One warning in the log, kept (settings row
 * UNCHECKED_CREATES_KEY) for `status`. The first run is the first that
 * gets here: no warning kept yet, and no earlier run or backfill (not a
 * dry run) that ended well (exit 0 or 1). 0 or -1.
 */
static int warn_unchecked_creates(struct sync_ctx *ctx)
{
	int64_t since = ctx->cfg->trigger_since;
	enum cap_state list = capability_get(ctx->db, CAP_LIST);
	if (since <= 0 || since >= ctx->started_at || list == CAP_PRESENT)
		return 0;
	char *kept = db_setting_get(ctx->db, UNCHECKED_CREATES_KEY);
	int warned = kept != NULL;
	free(kept);
	if (warned)
		return 0;
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT count(*) FROM runs WHERE id < ? AND dry_run = 0 AND "
					       "command IN ('run', 'backfill') AND exit_code IN (0, 1)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, ctx->run_id);
	int rc = sqlite3_step(st);
	int64_t earlier = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_finalize(st);
	if (earlier != 0)
		return earlier < 0 ? -1 : 0;
	char iso[40], text[1024];
	snprintf(text, sizeof text, "trigger_since %s is before this database's first run, and the Crosschq list "
		 "capability is %s: requests are created for the stage entries since then without looking for one "
		 "Crosschq already has, so after a reinstall (a fresh database against the same tenant) an entry "
		 "whose request the earlier installation made gets a second reference check; keep the database, "
		 "or leave trigger_since empty on a reinstall", format_iso8601(since, 0, iso, sizeof iso),
		 list == CAP_ABSENT ? "absent" : "not probed yet");
	log_warn("%s", text);
	if (ctx->dry_run)
		return 0;
	if (db_begin(ctx->db) || db_setting_set(ctx->db, UNCHECKED_CREATES_KEY, text) || db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return -1;
	}
	return 0;
}

void crosschq_listed(struct sync_ctx *ctx, int64_t since)
{
	if (!ctx->cq_listed || since < ctx->cq_listed_from)
		ctx->cq_listed_from = since;
	ctx->cq_listed = 1;
}

int pull_crosschq(struct sync_ctx *ctx)
{
	if (capabilities_probe(ctx->db, ctx->run_id, &ctx->crosschq, 0, 0))
		return db_failure(ctx, "storing a capability");
	if (warn_unchecked_creates(ctx))
		return db_failure(ctx, "checking the first run's trigger_since");
	int r = capability_get(ctx->db, CAP_LIST) == CAP_PRESENT ? list_changed(ctx, 0) : read_open_requests(ctx);
	if (r != EXIT_OK)
		return r;
	if ((ctx->cfg->export_existing || ctx->cfg->auto_export_new) &&
	    capability_get(ctx->db, CAP_PROSPECTS) == CAP_PRESENT)
		r = list_changed(ctx, 1);
	return r;
}
