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
#include <time.h>

/* done/ is the replay memory: kept at least this long (Lever's history window) */
#define DONE_KEEP_MIN_MS (14LL * 24 * 3600 * 1000)
/* and at least the hook's window plus this: a delivery is accepted up to 5
 * minutes ahead of the clock, and a clock may step */
#define DONE_KEEP_MARGIN_MS (3600LL * 1000)
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

/* spool_each_new's callback: take one file in, then move it to done/. */
static int visit(const char *name, const char *data, size_t len, void *p)
{
	struct ingest_state *s = p;
	struct sync_ctx *ctx = s->ctx;
	int finished = 1;
	struct ingest_record rec;
	int r = EXIT_OK;
	ingest_parse_record(data, len, &rec);
	if (rec.kind == INGEST_WEBHOOK) {
		int t = take_webhook(s, name, rec.id);
		if (t < 0)
			r = EXIT_SOFTWARE;
		finished = t == 1;
	} else if (rec.kind == INGEST_ANSWER) {
		if (record_answer(ctx, rec.id, rec.hired, rec.answered_at))
			r = EXIT_SOFTWARE;
		else
			s->answers++;
	} else if (rec.kind == INGEST_CROSSCHQ) {
		char cerr[512] = "";
		int got = crosschq_take_request_doc(ctx, rec.request, cerr, sizeof cerr);
		if (got > 0) {
			s->crosschq++;
		} else if (strncmp(cerr, "database", 8) == 0) {
			log_err("spool file %s: %s", name, cerr);
			r = EXIT_SOFTWARE;
		} else {
			/* a request Crosschq sent but refsync cannot read: set aside, not retried */
			log_warn("spool file %s: a Crosschq webhook whose request is not understood (%s); set aside as "
				 "done/%s.rejected", name, cerr, name);
			rec.kind = INGEST_DAMAGED;
			s->rejected++;
		}
	} else {
		/* damaged: set aside under another name, so that the valid
		 * redelivery of its event is still queued and taken in */
		log_warn("spool file %s is not a webhook, a Crosschq webhook or an answer; set aside as done/%s.rejected", name,
			 name);
		s->rejected++;
	}
	ingest_record_free(&rec);
	/* the effect is committed, the file not yet moved: a crash here takes it in again */
	if (r == EXIT_OK && rec.kind != INGEST_DAMAGED)
		crash_point("after-ingest");
	if (r != EXIT_OK) {
		s->result = r;
		return 1; /* stop; the file stays in new/ for the next run */
	}
	if (finished && (rec.kind == INGEST_DAMAGED ? spool_set_aside(ctx->cfg->spool, name)
						    : spool_mark_done(ctx->cfg->spool, name)))
		log_warn("spool file %s: cannot move it to done/", name);
	return 0;
}

/*
 * How long done/ keeps a file: never shorter than the window in which
 * refsync-hook accepts a delivery, or a replay would be taken in again.
 */
static int64_t done_keep_ms(const struct config *cfg)
{
	int64_t window = (int64_t)cfg->webhook_max_age_hours * 3600 * 1000 + DONE_KEEP_MARGIN_MS;
	return window > DONE_KEEP_MIN_MS ? window : DONE_KEEP_MIN_MS;
}

/* The wall clock in epoch ms (file times are real; REFSYNC_TEST_NOW is not). */
static int64_t wall_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	/* file times are compared with the wall clock */
	int64_t wall = wall_clock_ms();
	spool_prune_done(ctx->cfg->spool, wall - done_keep_ms(ctx->cfg));
	spool_clean_tmp(ctx->cfg->spool, wall - SPOOL_TMP_STALE_MS);
	return s.result;
}
