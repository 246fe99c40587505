/*
 * ingest.c - the webhook and answer spool, read by the sync.
 */
#include "ingest.h"
#include "audit.h"
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

struct ingest_state {
	struct sync_ctx *ctx;
	int result;
	long webhooks, answers, rejected;
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

/* spool_each_new's callback: take one file in, then move it to done/. */
static int visit(const char *name, const char *data, size_t len, void *p)
{
	struct ingest_state *s = p;
	struct sync_ctx *ctx = s->ctx;
	struct ingest_record rec;
	int r = EXIT_OK;
	ingest_parse_record(data, len, &rec);
	if (rec.kind == INGEST_WEBHOOK) {
		r = pull_lever_one(ctx, rec.id);
		if (r == EXIT_OK)
			s->webhooks++;
	} else if (rec.kind == INGEST_ANSWER) {
		if (record_answer(ctx, rec.id, rec.hired, rec.answered_at))
			r = EXIT_SOFTWARE;
		else
			s->answers++;
	} else {
		/* damaged: set aside under another name, so that the valid
		 * redelivery of its event is still queued and taken in */
		log_warn("spool file %s is not a webhook or an answer; set aside as done/%s.rejected", name,
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
	if (rec.kind == INGEST_DAMAGED ? spool_set_aside(ctx->cfg->spool, name)
				       : spool_mark_done(ctx->cfg->spool, name))
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
	struct ingest_state s = { ctx, EXIT_OK, 0, 0, 0 };
	int r = spool_each_new(ctx->cfg->spool, visit, &s);
	if (r < 0)
		log_warn("webhook spool %s could not be read", ctx->cfg->spool);
	if (s.webhooks || s.answers)
		log_info("spool: %ld webhooks, %ld answers taken in", s.webhooks, s.answers);
	/* file times are compared with the wall clock */
	int64_t wall = wall_clock_ms();
	spool_prune_done(ctx->cfg->spool, wall - done_keep_ms(ctx->cfg));
	spool_clean_tmp(ctx->cfg->spool, wall - SPOOL_TMP_STALE_MS);
	return s.result;
}
