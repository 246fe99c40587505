/*
 * backfill_resume.c - which backfill a window gets: a new one (its cut
 * recorded as the setting backfill.window), or the interrupted one of the
 * same window resumed in the slices it stored; and, once it is finished,
 * the hand-over to the incremental listing (a new install's first run).
 * backfill.c pulls the window. See pull.h.
 */
#include "pull.h"
#include "pull_internal.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SLICES 10

int pull_lever_window(struct sync_ctx *ctx, int64_t since, int64_t until, int slices)
{
	int asked = slices;
	if (slices < 1)
		slices = DEFAULT_SLICES;
	/* a backfill of another window starts afresh; one without an end (until
	 * 0: now) resumes an interrupted one from the same start with the end
	 * that one chose; a resumed one keeps the partition it stored, whatever
	 * --slices says now (its cursors are the slices) */
	char *have = db_setting_get(ctx->db, "backfill.window");
	long long have_since = 0, have_until = 0;
	int have_slices = 0;
	int parsed = have && sscanf(have, "%lld..%lld/%d", &have_since, &have_until, &have_slices) == 3 &&
		     have_slices >= 1;
	free(have);
	if (until <= 0) {
		until = ctx->started_at;
		if (parsed && have_since == since)
			until = (int64_t)have_until;
	}
	int resume = parsed && have_since == since && have_until == until;
	char want[96];
	if (resume && asked >= 1 && asked != have_slices) {
		char a[40], z[40];
		log_notice("resuming the interrupted backfill of %s..%s in the %d slices it was cut into, not --slices "
			   "%d: its stored cursors are kept (a backfill of another --since or --until starts afresh)",
			   format_iso8601(since, 0, a, sizeof a), format_iso8601(until, 0, z, sizeof z), have_slices,
			   asked);
	}
	if (resume)
		slices = have_slices;
	snprintf(want, sizeof want, "%lld..%lld/%d", (long long)since, (long long)until, slices);
	if (!resume) {
		if (db_begin(ctx->db) || db_exec(ctx->db, "DELETE FROM cursors WHERE name LIKE 'backfill.%'") ||
		    db_setting_set(ctx->db, "backfill.window", want) || db_commit(ctx->db)) {
			db_rollback(ctx->db);
			return pull_db_failure(ctx, "starting a backfill");
		}
	} else {
		log_info("resuming the interrupted backfill of this window");
	}
	long records = 0;
	int64_t lever_now = 0;
	int r = backfill_window(ctx, since, until, slices, &records, &lever_now);
	ctx->pulled += records;
	if (r != EXIT_OK)
		return r;
	/* finished: the next backfill of this window is a new one; and when no
	 * incremental listing has run yet (a new install), the next run goes on
	 * from the backfill's end instead of listing everything */
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.opportunities", &cur))
		return pull_db_failure(ctx, "reading a cursor");
	int hand_over = !cur.exists || (!cur.token[0] && cur.until < until && until >= ctx->started_at - 60000);
	/* the incremental listing goes on from Lever's clock (the Date of the
	 * backfill's first answer, else the newest updatedAt stored), not ours: a
	 * host ahead of Lever would leave a gap */
	int64_t end = lever_now > 0 ? (lever_now < until ? lever_now : until) : 0;
	if (hand_over && !end) {
		sqlite3_stmt *st = db_prepare(ctx->db, "SELECT max(updated_at) FROM lever_opportunities");
		if (!st)
			return pull_db_failure(ctx, "finishing a backfill");
		if (sqlite3_step(st) == SQLITE_ROW)
			end = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		if (end > until)
			end = until;
	}
	if (db_begin(ctx->db) || db_exec(ctx->db, "DELETE FROM settings WHERE key = 'backfill.window'") ||
	    db_exec(ctx->db, "DELETE FROM cursors WHERE name LIKE 'backfill.%'") ||
	    (hand_over && cursor_write(ctx->db, "lever.opportunities", since, end, NULL)) || db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return pull_db_failure(ctx, "finishing a backfill");
	}
	return EXIT_OK;
}
