/*
 * status.c - `refsync status`, text and JSON.
 */
#include "status.h"
#include "capability.h"
#include "crosschq.h"
#include "crosschq_sync.h"
#include "json_write.h"
#include "db.h"
#include "log.h"
#include "posting_sql.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

/* The go-live time in effect (epoch ms) and where it comes from: [sync]
 * trigger_since, else the first run's (settings live_since); 0 and NULL
 * before the first run. */
static int64_t live_since(const struct config *cfg, sqlite3 *db, const char **source)
{
	*source = NULL;
	if (cfg->trigger_since > 0) {
		*source = "[sync] trigger_since";
		return cfg->trigger_since;
	}
	char *v = db_setting_get(db, "live_since");
	int64_t t = v ? strtoll(v, NULL, 10) : 0;
	free(v);
	if (t > 0)
		*source = "the first run";
	return t;
}

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

#define SQL_RUNS_OF(dry) "SELECT id, command, started_at, ended_at, exit_code, pulled, decided, done, failed, " \
			 "held, error, invocation_id, " dry " FROM runs ORDER BY id DESC LIMIT 10"
/* runs.dry_run came with a later migration: a database not migrated yet has only real runs */
static const char *SQL_RUNS = SQL_RUNS_OF("dry_run");
static const char *SQL_RUNS_NO_DRY = SQL_RUNS_OF("0");
static const char *SQL_OUTBOX = "SELECT state, count(*), min(updated_at) FROM outbox GROUP BY state ORDER BY state";
static const char *SQL_FAILED = "SELECT id, kind, key, last_error, updated_at, dismissed_at FROM outbox WHERE "
				"state = 'failed' ORDER BY updated_at, id LIMIT 20";
static const char *SQL_HOLDS = "SELECT opportunity_id, entered_at, state, reason, updated_at, "
			       POSTING_OF_OPPORTUNITY_SQL("opportunity_id") " FROM triggers "
			       "WHERE state IN ('held', 'skipped') ORDER BY state, entered_at, opportunity_id LIMIT 50";
static const char *SQL_IN_DOUBT =
	"SELECT key, kind, subject, json_extract(payload, '$.job_position'), COALESCE(send_started_at, updated_at), "
	"last_error FROM outbox WHERE state = 'sending' ORDER BY id LIMIT 50";
static const char *SQL_CAPABILITIES = "SELECT name, state, detail, probed_at FROM capabilities ORDER BY name";
static const char *SQL_WORDS = "SELECT status_word, count(*) FROM cq_requests WHERE status = 'open' AND "
			       "status_word IS NOT NULL GROUP BY status_word ORDER BY status_word";
static const char *SQL_WEBHOOKS = "SELECT name, opportunity_id, CASE WHEN set_aside_at IS NULL THEN 'retrying' "
				  "ELSE 'set aside' END, attempts, next_at, last_error, updated_at FROM webhook_retries "
				  "ORDER BY set_aside_at IS NULL, updated_at DESC, name LIMIT 50";
/* kinds of action parked by act.c: a setting only they need is missing */
static const char *SQL_PARKED = "SELECT substr(key, 8), value, (SELECT count(*) FROM outbox x WHERE x.state = "
				"'planned' AND x.kind = substr(settings.key, 8)) FROM settings WHERE substr(key, 1, 7) "
				"= 'parked:' ORDER BY key";
/* backfill.c.2 before backfill.c.10: by the name without its number, then the number */
static const char *SQL_CURSORS = "SELECT name, since, until, token IS NOT NULL, pages, updated_at FROM cursors "
				 "ORDER BY rtrim(name, '0123456789'), CAST(substr(name, length(rtrim(name, "
				 "'0123456789')) + 1) AS INTEGER), name";

/* The status words of open requests that refsync does not know, with their counts. */
static void gen_unknown_words(yajl_gen g, sqlite3 *db)
{
	gen_key(g, "unknown_status_words");
	yajl_gen_array_open(g);
	sqlite3_stmt *st = db_prepare(db, SQL_WORDS);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		int known;
		crosschq_state_of((const char *)sqlite3_column_text(st, 0), -1, NULL, &known);
		if (known)
			continue;
		yajl_gen_map_open(g);
		gen_key(g, "word");
		gen_col(g, st, 0);
		gen_key(g, "open_requests");
		gen_col(g, st, 1);
		yajl_gen_map_close(g);
	}
	sqlite3_finalize(st);
	yajl_gen_array_close(g);
}

/* done actions found already made on the remote (outbox.found_at, a later migration) */
static const char *SQL_FOUND = "SELECT kind, count(*) FROM outbox WHERE found_at IS NOT NULL GROUP BY kind ORDER BY kind";

/* JSON: the done actions found already made, by kind, and the first run's
 * warning that creates were not checked against Crosschq (null: none). */
static void gen_found(yajl_gen g, sqlite3 *db)
{
	static const char *const found_names[] = { "kind", "count", NULL };
	if (db_has_column(db, "outbox", "found_at"))
		gen_rows(g, db, "found", SQL_FOUND, found_names);
	char *unchecked = db_setting_get(db, UNCHECKED_CREATES_KEY);
	gen_key(g, "unchecked_creates");
	if (unchecked)
		json_gen_str(g, unchecked);
	else
		yajl_gen_null(g);
	free(unchecked);
}

/* Text: the same. */
static void print_found(sqlite3 *db)
{
	sqlite3_stmt *st = db_has_column(db, "outbox", "found_at") ? db_prepare(db, SQL_FOUND) : NULL;
	int n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Found already made, adopted, not sent again (counted as done; audit: action.found):\n");
		printf("  %-18s %lld\n", sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1));
	}
	sqlite3_finalize(st);
	char *unchecked = db_setting_get(db, UNCHECKED_CREATES_KEY);
	if (unchecked)
		printf("Warning: %s\n", unchecked);
	free(unchecked);
}

/* Text: the actions found already made, the actions in doubt (with what to
 * check), the capabilities, unknown status words. */
static void print_crosschq(sqlite3 *db)
{
	char a[40];
	print_found(db);
	sqlite3_stmt *st = db_prepare(db, SQL_IN_DOUBT);
	int n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("In doubt (nothing is sent again by itself):\n");
		const char *key = (const char *)sqlite3_column_text(st, 0), *kind = (const char *)sqlite3_column_text(st, 1);
		printf("  %s %s (%s), sending began %s\n", kind, key, sqlite3_column_text(st, 2),
		       time_text(st, 4, a, sizeof a));
		if (strcmp(kind, "cq.create_request") == 0)
			printf("      check in Crosschq for a request for this candidate, position '%s', created after "
			       "that time;\n      then: refsync resolve %s --sent REQUEST_ID   (it was made)\n"
			       "         or: refsync resolve %s --not-sent          (send it)\n",
			       sqlite3_column_type(st, 3) == SQLITE_NULL ? "?" : (const char *)sqlite3_column_text(st, 3),
			       key, key);
		else
			printf("      looked up at the next run%s%s\n", sqlite3_column_type(st, 5) == SQLITE_NULL ? "" : ": ",
			       sqlite3_column_type(st, 5) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(st, 5));
	}
	sqlite3_finalize(st);
	printf("Crosschq capabilities (refsync.conf(5), CAPABILITIES):\n");
	int seen[CAP_COUNT] = { 0 };
	st = db_prepare(db, SQL_CAPABILITIES);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0), *state = (const char *)sqlite3_column_text(st, 1);
		const char *feature = "?";
		for (int i = 0; i < CAP_COUNT; i++)
			if (strcmp(name, capability_name((enum cq_capability)i)) == 0) {
				feature = capability_feature((enum cq_capability)i);
				seen[i] = 1;
			}
		printf("  %-12s %-8s %s%s\n      %s (probed %s)\n", name, state, strcmp(state, "present") == 0 ? "" : "off: ",
		       feature, sqlite3_column_text(st, 2), time_text(st, 3, a, sizeof a));
	}
	sqlite3_finalize(st);
	for (int i = 0; i < CAP_COUNT; i++)
		if (!seen[i])
			printf("  %-12s %-8s off: %s\n      not probed yet\n", capability_name((enum cq_capability)i),
			       "unknown", capability_feature((enum cq_capability)i));
	st = db_prepare(db, SQL_WORDS);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		int known;
		crosschq_state_of((const char *)sqlite3_column_text(st, 0), -1, NULL, &known);
		if (known)
			continue;
		if (!n++)
			printf("Crosschq status words unknown to refsync (kept as open):\n");
		printf("  '%s': %lld open request%s\n", sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1),
		       sqlite3_column_int64(st, 1) == 1 ? "" : "s");
	}
	sqlite3_finalize(st);
}

/* Before the first run there is no database: say so, and what to do. Exit 0. */
static int status_no_run_yet(const struct config *cfg, int json)
{
	static const char hint[] = "check the set-up with 'refsync check', then start a run: 'refsync run' "
				   "(or 'refsync run --dry-run' to see what it would do first), or the timer: "
				   "systemctl enable --now refsync.timer";
	if (json) {
		yajl_gen g = yajl_gen_alloc(NULL);
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_map_open(g);
		gen_key(g, "no_run_yet");
		yajl_gen_bool(g, 1);
		gen_key(g, "database");
		json_gen_str(g, cfg->database);
		gen_key(g, "hint");
		json_gen_str(g, hint);
		gen_key(g, "runs");
		yajl_gen_array_open(g);
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		json_gen_print(g, stdout);
	} else {
		printf("No run yet: the database %s does not exist (the first run creates it).\n", cfg->database);
		printf("Next: %s.\n", hint);
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOFTWARE;
}

int status_print(const struct config *cfg, int json)
{
	sqlite3 *db;
	char err[1024];
	int busy = 0;
	if (access(cfg->database, F_OK) != 0 && errno == ENOENT)
		return status_no_run_yet(cfg, json);
	if (db_open(cfg->database, DB_READONLY, &db, &busy, err, sizeof err)) {
		log_err("%s (has refsync run yet?)", err);
		return busy ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
	}
	if (db_check_integrity(db, 0, err, sizeof err)) {
		log_err("%s: %s", cfg->database, err);
		db_close(db);
		return EXIT_SOFTWARE;
	}
	/* before the first run of a version with migration 3, the table is not there yet */
	int have_hooks = db_schema_version(db) >= 3;
	const char *sql_runs = db_has_column(db, "runs", "dry_run") ? SQL_RUNS : SQL_RUNS_NO_DRY;
	struct spool_counts spool;
	spool_count(cfg->spool, &spool);
	long backlog = spool.queued;
	const char *live_source;
	int64_t live = live_since(cfg, db, &live_source);
	if (json) {
		yajl_gen g = yajl_gen_alloc(NULL);
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_validate_utf8, 0);
		yajl_gen_map_open(g);
		gen_key(g, "live_since");
		if (live)
			yajl_gen_integer(g, live);
		else
			yajl_gen_null(g);
		gen_key(g, "live_since_source");
		if (live_source)
			json_gen_str(g, live_source);
		else
			yajl_gen_null(g);
		static const char *const run_names[] = { "id", "command", "started_at", "ended_at", "exit_code", "pulled",
							 "decided", "done", "failed", "held", "error", "invocation_id",
							 "dry_run", NULL };
		gen_rows(g, db, "runs", sql_runs, run_names);
		static const char *const outbox_names[] = { "state", "count", "oldest_change_at", NULL };
		gen_rows(g, db, "outbox", SQL_OUTBOX, outbox_names);
		static const char *const failed_names[] = { "id", "kind", "key", "error", "failed_at", "dismissed_at",
							    NULL };
		gen_rows(g, db, "failed", SQL_FAILED, failed_names);
		static const char *const hold_names[] = { "opportunity_id", "entered_at", "state", "reason", "updated_at",
							  "posting", NULL };
		gen_rows(g, db, "holds", SQL_HOLDS, hold_names);
		static const char *const parked_names[] = { "kind", "reason", "waiting", NULL };
		gen_rows(g, db, "parked", SQL_PARKED, parked_names);
		static const char *const cursor_names[] = { "name", "since", "until", "in_progress", "pages",
							    "updated_at", NULL };
		gen_rows(g, db, "cursors", SQL_CURSORS, cursor_names);
		static const char *const doubt_names[] = { "key", "kind", "subject", "job_position", "send_started_at",
							   "error", NULL };
		gen_rows(g, db, "in_doubt", SQL_IN_DOUBT, doubt_names);
		static const char *const cap_names[] = { "name", "state", "detail", "probed_at", NULL };
		gen_rows(g, db, "capabilities", SQL_CAPABILITIES, cap_names);
		gen_unknown_words(g, db);
		gen_found(g, db);
		static const char *const hook_names[] = { "name", "opportunity_id", "state", "attempts", "next_at",
							  "error", "updated_at", NULL };
		if (have_hooks) {
			gen_rows(g, db, "webhooks", SQL_WEBHOOKS, hook_names);
		} else {
			gen_key(g, "webhooks");
			yajl_gen_array_open(g);
			yajl_gen_array_close(g);
		}
		gen_key(g, "spool_backlog");
		yajl_gen_integer(g, backlog < 0 ? 0 : backlog);
		gen_key(g, "spool_unfinished");
		yajl_gen_integer(g, spool.unfinished < 0 ? 0 : spool.unfinished);
		gen_key(g, "spool_rejected");
		yajl_gen_integer(g, spool.rejected < 0 ? 0 : spool.rejected);
		yajl_gen_map_close(g);
		json_gen_print(g, stdout);
		db_close(db);
		return EXIT_OK;
	}
	char a[40], b[40];
	if (live)
		printf("Live since %s (from %s): only stage entries from then on start reference checks\n",
		       format_iso8601(live, 0, a, sizeof a), live_source);
	else
		printf("Live since: not yet (the first run sets it, unless [sync] trigger_since does)\n");
	printf("Last runs:\n");
	sqlite3_stmt *st = db_prepare(db, sql_runs);
	int n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		/* a dry run sends nothing: say so where the command is */
		char command[64];
		snprintf(command, sizeof command, "%s%s", sqlite3_column_text(st, 1),
			 sqlite3_column_int(st, 12) ? " (dry run)" : "");
		printf("  #%-5lld %-20s %s  exit %-3s pulled %lld, decided %lld, done %lld, failed %lld, held %lld%s%s\n",
		       (long long)sqlite3_column_int64(st, 0), command, time_text(st, 2, a, sizeof a),
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
		       strcmp(state, "sending") == 0 ? "  (listed below)" : "");
		n++;
	}
	sqlite3_finalize(st);
	if (!n)
		printf("  (empty)\n");
	st = db_prepare(db, SQL_FAILED);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Failed actions (oldest first; not retried by themselves; every run exits 1 until each "
			       "is retried or dismissed):\n");
		printf("  %s %s at %s%s\n      %s\n", sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
		       time_text(st, 4, a, sizeof a), sqlite3_column_type(st, 5) == SQLITE_NULL ? "" : " (dismissed)",
		       sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	st = db_prepare(db, SQL_HOLDS);
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Held and skipped triggers (looked at again every run):\n");
		const char *posting = (const char *)sqlite3_column_text(st, 5);
		printf("  %-7s opportunity %s entered %s%s%s\n      %s\n", sqlite3_column_text(st, 2),
		       sqlite3_column_text(st, 0), time_text(st, 1, a, sizeof a), posting ? ", posting " : "",
		       posting ? posting : "", sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	print_crosschq(db);
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
	st = have_hooks ? db_prepare(db, SQL_WEBHOOKS) : NULL;
	n = 0;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		if (!n++)
			printf("Webhooks Lever answered badly (hints: the regular pull still catches the changes):\n");
		int aside = strcmp((const char *)sqlite3_column_text(st, 2), "set aside") == 0;
		printf("  %-9s opportunity %s, %d tr%s%s%s\n      %s\n", sqlite3_column_text(st, 2),
		       sqlite3_column_text(st, 1), sqlite3_column_int(st, 3), sqlite3_column_int(st, 3) == 1 ? "y" : "ies",
		       aside ? "" : ", next at ", aside ? "" : time_text(st, 4, a, sizeof a), sqlite3_column_text(st, 5));
	}
	sqlite3_finalize(st);
	printf("Spool backlog: %ld webhook/answer file%s waiting in %s/new\n", backlog < 0 ? 0 : backlog,
	       backlog == 1 ? "" : "s", cfg->spool);
	if (spool.unfinished > 0 || spool.rejected > 0)
		printf("Spool leftovers: %ld unfinished file(s) in tmp/ (from interrupted refsync-hook requests; "
		       "a run removes them after an hour), %ld set aside as unreadable in done/ (*.rejected)\n",
		       spool.unfinished < 0 ? 0 : spool.unfinished, spool.rejected < 0 ? 0 : spool.rejected);
	db_close(db);
	return EXIT_OK;
}
