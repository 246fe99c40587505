/*
 * status.c - `refsync status`, text and JSON.
 */
#include "status.h"
#include "jstream.h"
#include "db.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>

static void gen_key(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

/* A column as JSON: integers, text or null. */
static void gen_col(yajl_gen g, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		yajl_gen_integer(g, sqlite3_column_int64(st, i));
		break;
	case SQLITE_NULL:
		yajl_gen_null(g);
		break;
	default:
		json_gen_str(g, (const char *)sqlite3_column_text(st, i));
	}
}

static const char *time_text(sqlite3_stmt *st, int i, char *buf, size_t n)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return "-";
	return format_iso8601(sqlite3_column_int64(st, i), 0, buf, n);
}

/* Emit each row of sql as a JSON object with the given names. */
static void gen_rows(yajl_gen g, sqlite3 *db, const char *key, const char *sql, const char *const *names)
{
	gen_key(g, key);
	yajl_gen_array_open(g);
	sqlite3_stmt *st = db_prepare(db, sql);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		yajl_gen_map_open(g);
		for (int i = 0; names[i]; i++) {
			gen_key(g, names[i]);
			gen_col(g, st, i);
		}
		yajl_gen_map_close(g);
	}
	sqlite3_finalize(st);
	yajl_gen_array_close(g);
}

static const char *SQL_RUNS = "SELECT id, command, started_at, ended_at, exit_code, pulled, decided, done, failed, "
			      "held, error, invocation_id FROM runs ORDER BY id DESC LIMIT 10";
static const char *SQL_OUTBOX = "SELECT state, count(*), min(updated_at) FROM outbox GROUP BY state ORDER BY state";
static const char *SQL_FAILED = "SELECT id, kind, key, last_error, updated_at FROM outbox WHERE state = 'failed' "
				"ORDER BY updated_at, id LIMIT 20";
static const char *SQL_HOLDS = "SELECT opportunity_id, entered_at, state, reason, updated_at FROM triggers "
			       "WHERE state IN ('held', 'skipped') ORDER BY state, entered_at, opportunity_id LIMIT 50";
/* kinds of action parked by act.c: a setting only they need is missing */
static const char *SQL_PARKED = "SELECT substr(key, 8), value, (SELECT count(*) FROM outbox x WHERE x.state = "
				"'planned' AND x.kind = substr(settings.key, 8)) FROM settings WHERE substr(key, 1, 7) "
				"= 'parked:' ORDER BY key";
static const char *SQL_CURSORS = "SELECT name, since, until, token IS NOT NULL, pages, updated_at FROM cursors "
				 "ORDER BY name";

int status_print(const struct config *cfg, int json)
{
	sqlite3 *db;
	char err[1024];
	int busy = 0;
	if (db_open(cfg->database, DB_READONLY, &db, &busy, err, sizeof err)) {
		log_err("%s (has refsync run yet?)", err);
		return busy ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
	}
	long backlog = spool_count_new(cfg->spool);
	if (json) {
		yajl_gen g = yajl_gen_alloc(NULL);
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_validate_utf8, 0);
		yajl_gen_map_open(g);
		static const char *const run_names[] = { "id", "command", "started_at", "ended_at", "exit_code", "pulled",
							 "decided", "done", "failed", "held", "error", "invocation_id",
							 NULL };
		gen_rows(g, db, "runs", SQL_RUNS, run_names);
		static const char *const outbox_names[] = { "state", "count", "oldest_change_at", NULL };
		gen_rows(g, db, "outbox", SQL_OUTBOX, outbox_names);
		static const char *const failed_names[] = { "id", "kind", "key", "error", "failed_at", NULL };
		gen_rows(g, db, "failed", SQL_FAILED, failed_names);
		static const char *const hold_names[] = { "opportunity_id", "entered_at", "state", "reason", "updated_at",
							  NULL };
		gen_rows(g, db, "holds", SQL_HOLDS, hold_names);
		static const char *const parked_names[] = { "kind", "reason", "waiting", NULL };
		gen_rows(g, db, "parked", SQL_PARKED, parked_names);
		static const char *const cursor_names[] = { "name", "since", "until", "in_progress", "pages",
							    "updated_at", NULL };
		gen_rows(g, db, "cursors", SQL_CURSORS, cursor_names);
		gen_key(g, "spool_backlog");
		yajl_gen_integer(g, backlog < 0 ? 0 : backlog);
		yajl_gen_map_close(g);
		const unsigned char *out;
		size_t len;
		yajl_gen_get_buf(g, &out, &len);
		fwrite(out, 1, len, stdout);
		yajl_gen_free(g);
		db_close(db);
		return EXIT_OK;
	}
	char a[40], b[40];
	printf("Last runs:\n");
	sqlite3_stmt *st = db_prepare(db, SQL_RUNS);
	int n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		printf("  #%-5lld %-20s %s  exit %-3s pulled %lld, decided %lld, done %lld, failed %lld, held %lld%s%s\n",
		       (long long)sqlite3_column_int64(st, 0), sqlite3_column_text(st, 1), time_text(st, 2, a, sizeof a),
		       sqlite3_column_type(st, 4) == SQLITE_NULL ? "-" : (const char *)sqlite3_column_text(st, 4),
		       (long long)sqlite3_column_int64(st, 5), (long long)sqlite3_column_int64(st, 6),
		       (long long)sqlite3_column_int64(st, 7), (long long)sqlite3_column_int64(st, 8),
		       (long long)sqlite3_column_int64(st, 9), sqlite3_column_type(st, 10) == SQLITE_NULL ? "" : "\n         error: ",
		       sqlite3_column_type(st, 10) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(st, 10));
		n++;
	}
	sqlite3_finalize(st);
	if (!n)
		printf("  (none yet)\n");
	printf("Outbox:\n");
	st = db_prepare(db, SQL_OUTBOX);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		printf("  %-10s %lld%s\n", strcmp(state, "sending") == 0 ? "in doubt" : state,
		       (long long)sqlite3_column_int64(st, 1),
		       strcmp(state, "sending") == 0 ? "  (resolved against the remote at the next run)" : "");
		n++;
	}
	sqlite3_finalize(st);
	if (!n)
		printf("  (empty)\n");
	st = db_prepare(db, SQL_FAILED);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Failed actions (oldest first; they are not retried):\n");
		printf("  %s %s at %s\n      %s\n", sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		       time_text(st, 4, a, sizeof a), sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	st = db_prepare(db, SQL_HOLDS);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Held and skipped triggers (looked at again every run):\n");
		printf("  %-7s opportunity %s entered %s\n      %s\n", sqlite3_column_text(st, 2),
		       sqlite3_column_text(st, 0), time_text(st, 1, a, sizeof a), sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	st = db_prepare(db, SQL_PARKED);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Parked (these actions wait for a setting; every other kind goes on):\n");
		printf("  %s: %lld waiting\n      %s\n", sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 2),
		       sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	printf("Cursors:\n");
	st = db_prepare(db, SQL_CURSORS);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		printf("  %-26s %s .. %s%s\n", sqlite3_column_text(st, 0), time_text(st, 1, a, sizeof a),
		       time_text(st, 2, b, sizeof b), sqlite3_column_int(st, 3) ? "  (listing in progress)" : "");
	}
	sqlite3_finalize(st);
	printf("Spool backlog: %ld webhook/answer file%s waiting in %s/new\n", backlog < 0 ? 0 : backlog,
	       backlog == 1 ? "" : "s", cfg->spool);
	db_close(db);
	return EXIT_OK;
}
