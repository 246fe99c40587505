/*
 * ingest.c - the webhook and answer spool, read by the sync.
 */
#include "ingest.h"
#include "audit.h"
#include "crosschq_sync.h"
#include "db.h"
#include "log.h"
#include "pull.h"
#include "spool.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define DONE_KEEP_MS (14LL * 24 * 3600 * 1000) /* replay bookkeeping, Lever's history window */
/* A webhook Lever answers badly: tried at this many runs, 5 min, 20 min,
 * 80 min, 5 h 20 min apart, then set aside (kept in status for 30 days). */
#define HINT_TRIES 5
#define HINT_FIRST_DELAY_MS (5LL * 60 * 1000)
#define HINT_SHOWN_MS (30LL * 24 * 3600 * 1000)

struct ingest_state {
	struct sync_ctx *ctx;
	int result;
	long webhooks, answers, crosschq, rejected, waiting;
};

static const char *get_string(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);
	return s ? YAJL_GET_STRING(s) : NULL;
}

static int record_answer(struct sync_ctx *ctx, const char *request_id, int hired, int64_t at)
{
	if (db_begin(ctx->db))
		return -1;
	sqlite3_stmt *st = db_prepare(ctx->db, "INSERT OR IGNORE INTO answers(request_id, hired, answered_at) "
					       "VALUES (?, ?, ?)");
	int ok = st != NULL;
	if (st) {
		sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, hired);
		sqlite3_bind_int64(st, 3, at > 0 ? at : now_ms());
		ok = db_step_done(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	if (ok && sqlite3_changes(ctx->db) > 0)
		ok = audit_appendf(ctx->db, ctx->run_id, "answer.recorded", request_id, "owner answered: %s",
				   hired ? "hired" : "not hired") == 0;
	if (!ok || db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return -1;
	}
	return 0;
}

/* When a webhook that failed before may be tried again: 0 now (or never
 * failed), else the time; -1 on a database error. */
static int64_t hint_next_at(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT next_at FROM webhook_retries WHERE name = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	int64_t at = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_note_error(db, sqlite3_sql(st), rc, NULL);
		at = -1;
	}
	sqlite3_finalize(st);
	return at;
}

/*
 * Record a failed try of webhook `name`: retried later with a growing delay,
 * or set aside after HINT_TRIES. *set_aside tells which. 0, or -1 on a
 * database error.
 */
static int hint_failed(struct sync_ctx *ctx, const char *name, const char *opportunity_id, const char *why,
		       int *set_aside)
{
	int64_t now = now_ms();
	if (db_begin(ctx->db))
		return -1;
	sqlite3_stmt *st = db_prepare(ctx->db,
		"INSERT INTO webhook_retries(name, opportunity_id, attempts, next_at, last_error, updated_at) "
		"VALUES (?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT(name) DO UPDATE SET attempts = attempts + 1, "
		"next_at = ?5 + ?6 * (1 << (2 * min(attempts, 10))), last_error = ?4, updated_at = ?5, "
		"set_aside_at = CASE WHEN attempts + 1 >= ?7 THEN ?5 END RETURNING set_aside_at");
	int ok = st != NULL;
	*set_aside = 0;
	if (st) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, opportunity_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now + HINT_FIRST_DELAY_MS);
		sqlite3_bind_text(st, 4, why, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_int64(st, 6, HINT_FIRST_DELAY_MS);
		sqlite3_bind_int(st, 7, HINT_TRIES);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*set_aside = sqlite3_column_type(st, 0) != SQLITE_NULL;
		while (rc == SQLITE_ROW)
			rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			db_note_error(ctx->db, sqlite3_sql(st), rc, NULL);
			ok = 0;
		}
		sqlite3_finalize(st);
	}
	if (ok && *set_aside)
		ok = audit_appendf(ctx->db, ctx->run_id, "webhook.set_aside", name, "opportunity %s: %s",
				   opportunity_id, why) == 0;
	if (!ok || db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return -1;
	}
	return 0;
}

/* A webhook taken in: forget its failed tries, and those set aside long ago. */
static int hint_done(struct sync_ctx *ctx, const char *name)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "DELETE FROM webhook_retries WHERE name = ? OR set_aside_at < ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms() - HINT_SHOWN_MS);
	int rc = db_begin(ctx->db) == 0 && db_step_done(st) == SQLITE_DONE && db_commit(ctx->db) == 0 ? 0 : -1;
	if (rc)
		db_rollback(ctx->db);
	sqlite3_finalize(st);
	return rc;
}

/*
 * Take in one webhook: fetch the opportunity it names. Returns 1 when the
 * file is finished with (stored, gone, or set aside), 0 when it stays in
 * new/ for a later run, or -1 on a database error (ctx->error set).
 */
static int take_webhook(struct ingest_state *s, const char *name, const char *opportunity_id)
{
	struct sync_ctx *ctx = s->ctx;
	int64_t next = hint_next_at(ctx->db, name);
	if (next < 0)
		goto db_error;
	if (next > now_ms()) {
		s->waiting++;
		return 0;
	}
	char why[1024];
	int r = pull_lever_one(ctx, opportunity_id, why, sizeof why);
	if (r == EXIT_OK) {
		s->webhooks++;
		if (hint_done(ctx, name))
			goto db_error;
		return 1;
	}
	if (r != PULL_HINT_FAILED)
		return -1;
	int aside;
	if (hint_failed(ctx, name, opportunity_id, why, &aside))
		goto db_error;
	if (aside)
		log_warn("webhook %s for opportunity %s set aside after %d tries: %s (the regular pull still "
			 "catches the opportunity's changes)", name, opportunity_id, HINT_TRIES, why);
	else
		log_warn("webhook %s for opportunity %s: %s; tried again at a later run", name, opportunity_id, why);
	s->waiting += !aside;
	return aside;
db_error:
	snprintf(ctx->error, sizeof ctx->error, "database error while taking in webhook %s: %s", name,
		 db_last_error());
	log_err("%s", ctx->error);
	return -1;
}

static int visit(const char *name, const char *data, size_t len, void *p)
{
	struct ingest_state *s = p;
	struct sync_ctx *ctx = s->ctx;
	int finished = 1;
	char *text = xstrndup(data, len);
	char err[128];
	yajl_val v = yajl_tree_parse(text, err, sizeof err);
	free(text);
	const char *type = v ? get_string(v, "type") : NULL;
	int r = 0;
	if (type && strcmp(type, "webhook") == 0 && get_string(v, "opportunity_id")) {
		int t = take_webhook(s, name, get_string(v, "opportunity_id"));
		if (t < 0)
			r = EXIT_SOFTWARE;
		finished = t == 1;
	} else if (type && strcmp(type, "answer") == 0 && get_string(v, "request_id")) {
		const char *path[] = { "hired", NULL };
		const char *at_path[] = { "answered_at", NULL };
		yajl_val hired = yajl_tree_get(v, path, yajl_t_any);
		yajl_val at = yajl_tree_get(v, at_path, yajl_t_number);
		if (record_answer(ctx, get_string(v, "request_id"), hired && YAJL_IS_TRUE(hired),
				  at ? YAJL_GET_INTEGER(at) : 0))
			r = EXIT_SOFTWARE;
		else
			s->answers++;
	} else if (type && strcmp(type, "crosschq") == 0) {
		const char *rpath[] = { "request", NULL };
		yajl_val req = yajl_tree_get(v, rpath, yajl_t_object);
		char cerr[512] = "";
		int got = req ? crosschq_take_request_doc(ctx, req, cerr, sizeof cerr) : -1;
		if (got > 0) {
			s->crosschq++;
		} else if (got < 0 && strncmp(cerr, "database", 8) == 0) {
			log_err("spool file %s: %s", name, cerr);
			r = EXIT_SOFTWARE;
		} else {
			log_warn("spool file %s: a Crosschq webhook without a usable request (%s); set aside", name,
				 cerr[0] ? cerr : "no request object");
			s->rejected++;
		}
	} else {
		log_warn("spool file %s is not a webhook or an answer; set aside", name);
		s->rejected++;
	}
	yajl_tree_free(v);
	if (r != EXIT_OK) {
		s->result = r;
		return 1; /* stop; the file stays in new/ for the next run */
	}
	if (finished && spool_mark_done(ctx->cfg->spool, name))
		log_warn("spool file %s: cannot move it to done/", name);
	return 0;
}

int ingest_spool(struct sync_ctx *ctx)
{
	char err[512];
	if (spool_init(ctx->cfg->spool, err, sizeof err)) {
		log_warn("webhook spool: %s", err);
		return EXIT_OK; /* webhooks are hints: polling still catches everything */
	}
	struct ingest_state s = { ctx, EXIT_OK, 0, 0, 0, 0, 0 };
	int r = spool_each_new(ctx->cfg->spool, visit, &s);
	if (r < 0)
		log_warn("webhook spool %s could not be read", ctx->cfg->spool);
	if (s.webhooks || s.answers || s.crosschq)
		log_info("spool: %ld Lever webhooks, %ld Crosschq webhooks, %ld answers taken in", s.webhooks,
			 s.crosschq, s.answers);
	if (s.waiting)
		log_info("spool: %ld webhooks kept for a later try ('refsync status' shows why)", s.waiting);
	spool_prune_done(ctx->cfg->spool, now_ms() - DONE_KEEP_MS);
	return s.result;
}
