/*
 * run_record.c - the record of a run in the runs table, each change of it
 * chained into the audit trail with the row's hash (audit.h), and the
 * journal lines of its end and its audit head. See run_record.h.
 */
#include "run_record.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

/* Close the runs that never ended (killed, or the machine stopped): the
 * caller holds the lock, so none of them is still going. 0 or -1. */
static int close_abandoned(struct sync_ctx *ctx)
{
	sqlite3_stmt *sel = db_prepare(ctx->db, "SELECT id FROM runs WHERE ended_at IS NULL ORDER BY id");
	sqlite3_stmt *upd = db_prepare(ctx->db, "UPDATE runs SET ended_at = ?, error = 'abandoned: it ended without "
						"closing its record (killed, or the machine stopped); closed by the "
						"next run' WHERE id = ?");
	int ok = sel && upd;
	while (ok && sqlite3_step(sel) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(sel, 0);
		sqlite3_bind_int64(upd, 1, ctx->started_at);
		sqlite3_bind_int64(upd, 2, id);
		/* the row goes into the audit chain with it (audit.h) */
		ok = db_step_done(upd) == SQLITE_DONE &&
		     audit_run_recordf(ctx->db, id, "run.abandoned", "run %lld ended without closing its record",
				       (long long)id) == 0;
		sqlite3_reset(upd);
		if (ok)
			log_notice("run %lld ended without closing its record (killed, or the machine stopped): "
				   "closed as abandoned", (long long)id);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return ok ? 0 : -1;
}

int64_t run_record_begin(struct sync_ctx *ctx, const char *command)
{
	if (db_begin(ctx->db))
		return -1;
	if (close_abandoned(ctx)) {
		db_rollback(ctx->db);
		return -1;
	}
	/* a dry run is marked from its start, so that one cut short is marked too */
	sqlite3_stmt *st = db_prepare(ctx->db,
		"INSERT INTO runs(command, started_at, invocation_id, dry_run) VALUES (?,?,?,?)");
	if (!st) {
		db_rollback(ctx->db);
		return -1;
	}
	sqlite3_bind_text(st, 1, command, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ctx->started_at);
	db_bind_text(st, 3, getenv("INVOCATION_ID"));
	sqlite3_bind_int(st, 4, ctx->dry_run ? 1 : 0);
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	int64_t id = sqlite3_last_insert_rowid(ctx->db);
	/* the row goes into the audit chain with it (audit.h) */
	if (rc != SQLITE_DONE || audit_run_recordf(ctx->db, id, "run.start", "%s started", command) ||
	    db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return -1;
	}
	return id;
}

/* Record the end of the run. Returns code, or EXIT_SOFTWARE when the
 * record could not be written (the message names the statement). */
int run_record_end(struct sync_ctx *ctx, const char *command, int code)
{
	int64_t ended = now_ms();
	/* held: the triggers held now (decide may run twice in a run) */
	sqlite3_stmt *h = db_prepare(ctx->db, "SELECT count(*) FROM triggers WHERE state = 'held'");
	if (h && sqlite3_step(h) == SQLITE_ROW)
		ctx->held = sqlite3_column_int64(h, 0);
	sqlite3_finalize(h);
	int ok = db_begin(ctx->db) == 0;
	sqlite3_stmt *st = !ok ? NULL : db_prepare(ctx->db,
		"UPDATE runs SET ended_at=?, exit_code=?, pulled=?, decided=?, done=?, failed=?, held=?, error=? "
		"WHERE id=?");
	if (st) {
		sqlite3_bind_int64(st, 1, ended);
		sqlite3_bind_int(st, 2, code);
		sqlite3_bind_int64(st, 3, ctx->pulled);
		sqlite3_bind_int64(st, 4, ctx->decided);
		sqlite3_bind_int64(st, 5, ctx->done);
		sqlite3_bind_int64(st, 6, ctx->failed);
		sqlite3_bind_int64(st, 7, ctx->held);
		db_bind_text(st, 8, ctx->error[0] ? ctx->error : NULL);
		sqlite3_bind_int64(st, 9, ctx->run_id);
		ok = db_step_done(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	} else {
		ok = 0;
	}
	ok = ok && audit_run_recordf(ctx->db, ctx->run_id, "run.end",
				     "%s exit=%d pulled=%ld decided=%ld done=%ld failed=%ld held=%ld", command, code,
				     ctx->pulled, ctx->decided, ctx->done, ctx->failed, ctx->held) == 0;
	if (!ok || db_commit(ctx->db)) {
		log_err("%s: cannot record the end of run %lld: %s%s", ctx->cfg->database, (long long)ctx->run_id,
			db_last_error(), db_last_corrupt() ? " (the database is corrupt: restore it from a backup)" : "");
		db_rollback(ctx->db);
		code = EXIT_SOFTWARE;
	}
	log_msg(code == 0 ? LOG_INFO : LOG_NOTICE,
		"run %lld %s: exit %d, pulled %ld, decided %ld, done %ld, failed %ld, held %ld, "
		"Lever %ld requests, Crosschq %ld requests, %.2f s",
		(long long)ctx->run_id, command, code, ctx->pulled, ctx->decided, ctx->done, ctx->failed, ctx->held,
		ctx->lever.requests, ctx->crosschq.requests, (double)(monotonic_ms() - ctx->started_mono) / 1000.0);
	/* the head, anchored outside the database (refsync-export --verify --head SEQ:HASH) */
	int64_t head_seq;
	char head_hash[AUDIT_HASH_HEX];
	if (audit_head(ctx->db, &head_seq, head_hash) == 0)
		log_info("run %lld: audit head %lld:%s", (long long)ctx->run_id, (long long)head_seq, head_hash);
	return code;
}
