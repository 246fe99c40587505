/*
 * outage.c - a transient failure (75) that has lasted turns into a failing
 * exit (69) with a warning, so that the units stop counting it as success.
 */
#include "outage.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>

/* The start (epoch ms) of the oldest run in the streak of transient
 * failures (75, or 69 once escalated) that ends just before run_id, or
 * fallback when there is none; -1 on a database error. Runs that never
 * ended (abandoned) or were interrupted (130, 143) neither start nor break a streak. */
static int64_t streak_start(sqlite3 *db, int64_t run_id, int64_t fallback)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT min(started_at) FROM runs WHERE id < ?1 AND command IN ('run', 'backfill') "
		"AND exit_code IN (75, 69) AND id > coalesce((SELECT max(id) FROM runs WHERE id < ?1 "
		"AND command IN ('run', 'backfill') AND exit_code IS NOT NULL AND exit_code NOT IN (75, 69, 130, 143)), 0)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	int64_t start = -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		start = sqlite3_column_type(st, 0) == SQLITE_NULL ? fallback : sqlite3_column_int64(st, 0);
	else
		db_note_error(db, sqlite3_sql(st), rc, NULL);
	sqlite3_finalize(st);
	return start;
}

/* See outage.h. */
int outage_judge(struct sync_ctx *ctx, int code)
{
	int limit = ctx->cfg->outage_alert_minutes;
	if (code != EXIT_TEMPFAIL || limit <= 0 || ctx->run_id < 0)
		return code;
	int64_t start = streak_start(ctx->db, ctx->run_id, ctx->started_at);
	if (start < 0)
		return code;
	int64_t minutes = (now_ms() - start) / 60000;
	if (minutes < limit)
		return code;
	const struct http_client *c = NULL;
	if (ctx->have_lever && ctx->lever.last_failure[0])
		c = &ctx->lever;
	else if (ctx->have_crosschq && ctx->crosschq.last_failure[0])
		c = &ctx->crosschq;
	if (c) {
		char host[256];
		http_client_host(c, host, sizeof host);
		log_warn("%s (%s) unreachable for %lld minutes: %s; exit 69 until a run succeeds "
			 "([sync] outage_alert_minutes = %d)", c->name, host, (long long)minutes, c->last_failure, limit);
	} else {
		log_warn("no run has succeeded for %lld minutes: %s; exit 69 until a run succeeds "
			 "([sync] outage_alert_minutes = %d)", (long long)minutes,
			 ctx->error[0] ? ctx->error : "try again later", limit);
	}
	return EXIT_UNAVAILABLE;
}
