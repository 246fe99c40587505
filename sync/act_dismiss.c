/*
 * act_dismiss.c - `refsync resolve KEY --dismiss`: an operator settles a
 * failed action for good. It stays failed and is never sent; it no longer
 * keeps the runs at exit 1 (main.c counts the failures that wait).
 */
#include "act.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>

/* See act.h. */
int act_dismiss_failed(struct sync_ctx *ctx, const char *key)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT id, kind, subject, dismissed_at IS NOT NULL FROM outbox "
					       "WHERE key = ? AND state = 'failed'");
	if (!st)
		return EXIT_SOFTWARE;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return EXIT_SOFTWARE;
		log_err("no failed action has the key %s (refsync status lists them)", key);
		return EXIT_USAGE;
	}
	int64_t id = sqlite3_column_int64(st, 0);
	char kind[64], subject[256];
	snprintf(kind, sizeof kind, "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(subject, sizeof subject, "%s", (const char *)sqlite3_column_text(st, 2));
	int already = sqlite3_column_int(st, 3);
	sqlite3_finalize(st);
	if (already) {
		printf("%s: already dismissed\n", key);
		return EXIT_OK;
	}
	if (db_begin(ctx->db))
		return db_last_busy() ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
	st = db_prepare(ctx->db, "UPDATE outbox SET dismissed_at = ?1, updated_at = ?1 WHERE id = ?2");
	int ok = st != NULL;
	if (st) {
		sqlite3_bind_int64(st, 1, now_ms());
		sqlite3_bind_int64(st, 2, id);
		ok = db_step_done(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	ok = ok && audit_appendf(ctx->db, ctx->run_id, "action.dismissed", subject,
				 "%s key=%s: dismissed by an operator: failed for good, never sent", kind, key) == 0;
	if (!ok || db_commit(ctx->db)) {
		log_err("%s: %s", ctx->cfg->database, db_last_error());
		db_rollback(ctx->db);
		return EXIT_SOFTWARE;
	}
	printf("%s: dismissed; it is never sent and no longer fails the runs (refsync retry %s sends it after all)\n",
	       key, key);
	return EXIT_OK;
}
