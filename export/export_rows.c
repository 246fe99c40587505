/*
 * export_rows.c - the queries of refsync-export and the row iteration the
 * formats share. See export_rows.h.
 *
 * Every query takes the window as ?1 (from, inclusive) and ?2 (to,
 * exclusive), NULL when absent; WINDOW(col) (export_columns.h) is the test. Every query
 * that returns rows has an ORDER BY that fixes the order completely, so
 * that the same database and arguments give the same bytes.
 */
#include "export_rows.h"
#include "db.h"
#include "escape.h"
#include "html_rows.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_DAY 86400000LL
#define MS_PER_WEEK (7 * MS_PER_DAY)
/* 1970-01-01 was a Thursday: the first Monday is 4 days later. */
#define FIRST_MONDAY_MS (4 * MS_PER_DAY)
/* SQL for the week number of a time column (floor division). */
#define WEEK_OF(col)                                                                              \
	"((" col " - 345600000 - (((" col " - 345600000) % 604800000) + 604800000) % 604800000)" \
	" / 604800000)"

static const struct export_column event_columns[] = {
	{ "seq", "Seq", COLUMN_INT, 0, SHOW_PLAIN },
	{ "at", "Time", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "run_id", "Run", COLUMN_INT, 0, SHOW_PLAIN },
	{ "kind", "Kind", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "subject", "Subject", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "detail", "Detail", COLUMN_TEXT, 1, SHOW_PLAIN },
	{ "prev_hash", "Previous hash", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "hash", "Hash", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "dry_run", "Dry run", COLUMN_INT, 0, SHOW_PLAIN },
};
/* dry_run: 1 for the events of a dry run, else NULL. The dry runs are read
 * once (SQLite builds the IN list before the first row); a database without
 * any, or from before runs.dry_run, takes the variant that looks nothing up,
 * so that the big export costs what it cost before. */
#define EVENT_SQL(dry) "SELECT e.seq, e.at, e.run_id, e.kind, e.subject, e.detail, e.prev_hash, e.hash, " dry " " \
		       "FROM audit_events e WHERE " WINDOW("e.at") " ORDER BY e.seq"
static const char event_sql[] =
	EVENT_SQL("CASE WHEN e.run_id IN (SELECT id FROM runs WHERE dry_run = 1) THEN 1 END");
static const char event_sql_no_dry[] = EVENT_SQL("NULL");

static const struct export_column request_columns[] = {
	{ "record", "Record", COLUMN_RECORD, 0, SHOW_PLAIN },
	{ "request_id", "Request", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "external_id", "External id", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "opportunity_id", "Opportunity", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "candidate_name", "Candidate", COLUMN_TEXT, 1, SHOW_PLAIN },
	{ "posting", "Posting", COLUMN_TEXT, 1, SHOW_PLAIN },
	{ "status", "Status", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "template_id", "Template", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "created_at", "Started", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "completed_at", "Completed", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "report_url", "Report", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "hired", "Hired", COLUMN_INT, 0, SHOW_PLAIN },
	{ "hired_at", "Hired at", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "hired_source", "Hire source", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "hold_reason", "Hold reason", COLUMN_TEXT, 1, SHOW_PLAIN },
};
static const char request_sql[] =
	"SELECT 'request', r.id, r.external_id, r.opportunity_id, " CANDIDATE_NAME("r.candidate_name") ", "
	"p.text, r.status, r.template_id, r.created_at, r.completed_at, r.report_url, r.hired, "
	"r.hired_at, r.hired_source, NULL, r.created_at "
	"FROM cq_requests r LEFT JOIN lever_opportunities o ON o.id = r.opportunity_id "
	"LEFT JOIN lever_postings p ON p.id = o.posting_id WHERE " WINDOW("r.created_at") " "
	"UNION ALL "
	"SELECT 'hold', NULL, NULL, t.opportunity_id, " CANDIDATE_NAME("NULL") ", p.text, 'held', "
	"t.template_id, t.entered_at, NULL, NULL, NULL, NULL, NULL, t.reason, t.entered_at "
	"FROM triggers t LEFT JOIN lever_opportunities o ON o.id = t.opportunity_id "
	"LEFT JOIN lever_postings p ON p.id = o.posting_id "
	"WHERE t.state = 'held' AND " WINDOW("t.entered_at") " "
	"ORDER BY 16, 1 DESC, 2, 4";

static const struct export_column run_columns[] = {
	{ "id", "Run", COLUMN_INT, 0, SHOW_PLAIN },
	{ "command", "Command", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "started_at", "Started", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "ended_at", "Ended", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "exit_code", "Exit", COLUMN_INT, 0, SHOW_PLAIN },
	{ "invocation_id", "Invocation", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "pulled", "Pulled", COLUMN_INT, 0, SHOW_PLAIN },
	{ "decided", "Decided", COLUMN_INT, 0, SHOW_PLAIN },
	{ "done", "Done", COLUMN_INT, 0, SHOW_PLAIN },
	{ "failed", "Failed", COLUMN_INT, 0, SHOW_PLAIN },
	{ "held", "Held", COLUMN_INT, 0, SHOW_PLAIN },
	{ "error", "Error", COLUMN_TEXT, 1, SHOW_PLAIN },
	{ "dry_run", "Dry run", COLUMN_INT, 0, SHOW_PLAIN },
};
#define RUN_SQL(dry) "SELECT id, command, started_at, ended_at, exit_code, invocation_id, pulled, decided, done, " \
		     "failed, held, error, " dry " FROM runs WHERE " WINDOW("started_at") " ORDER BY id"
static const char run_sql[] = RUN_SQL("dry_run");
static const char run_sql_no_dry[] = RUN_SQL("0");

static const struct export_column action_kind_columns[] = {
	{ "kind", "Action", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "planned", "Planned", COLUMN_INT, 0, SHOW_PLAIN },
	{ "sending", "In doubt", COLUMN_INT, 0, SHOW_PLAIN },
	{ "done", "Done", COLUMN_INT, 0, SHOW_PLAIN },
	{ "failed", "Failed", COLUMN_INT, 0, SHOW_PLAIN },
	/* write-backs of events before go-live, recorded and never sent */
	{ "skipped", "Skipped (before go-live)", COLUMN_INT, 0, SHOW_PLAIN },
};
static const char action_kind_sql[] =
	"SELECT kind, sum(state = 'planned'), sum(state = 'sending'), sum(state = 'done'), "
	"sum(state = 'failed'), sum(state = 'skipped') FROM outbox WHERE " WINDOW("updated_at") " GROUP BY kind ORDER BY kind";

static const struct export_column weekly_columns[] = {
	{ "week", "Week number", COLUMN_INT, 0, SHOW_PLAIN },
	{ "week_start", "Week of", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "requests", "Requests started", COLUMN_INT, 0, SHOW_PLAIN },
};
/* the requests refsync started: linked to one of its creates (external_id) */
static const char weekly_sql[] = "SELECT w, w * 604800000 + 345600000, count(*) FROM (SELECT " WEEK_OF("created_at")
				 " AS w FROM cq_requests WHERE created_at IS NOT NULL AND external_id IS NOT NULL AND "
				 WINDOW("created_at") ") GROUP BY w ORDER BY w";

static const struct {
	const char *sql;
	const char *sql_no_dry; /* NULL: sql works without runs.dry_run */
	const struct export_column *columns;
	int ncolumns;
	const char *record;
} rowsets[] = {
	[ROWS_EVENTS] = { event_sql, event_sql_no_dry, event_columns, sizeof event_columns / sizeof event_columns[0],
			  "event" },
	[ROWS_REQUESTS] = { request_sql, NULL, request_columns, sizeof request_columns / sizeof request_columns[0],
			    "request" },
	[ROWS_RUNS] = { run_sql, run_sql_no_dry, run_columns, sizeof run_columns / sizeof run_columns[0], "run" },
	[ROWS_ACTION_KINDS] = { action_kind_sql, NULL, action_kind_columns,
				sizeof action_kind_columns / sizeof action_kind_columns[0], "actions" },
	[ROWS_WEEKLY] = { weekly_sql, NULL, weekly_columns, sizeof weekly_columns / sizeof weekly_columns[0],
			  "week" },
};

/* 1 when the runs table has its dry_run column. */
static int rows_have_dry_run(sqlite3 *db)
{
	return db_has_column(db, "runs", "dry_run");
}

/* 1 when some run was a dry run (the column exists: rows_have_dry_run). */
static int any_dry_run(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int found = 1; /* when unsure, the query that looks */
	if (sqlite3_prepare_v2(db, "SELECT EXISTS (SELECT 1 FROM runs WHERE dry_run = 1)", -1, &st, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		found = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return found;
}

/* Prepare sql and bind the window as ?1 and ?2. NULL on error (err set). */
static sqlite3_stmt *rows_prepare_windowed(sqlite3 *db, const char *sql, const struct export_window *w,
					   char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database: cannot prepare a query: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return NULL;
	}
	if (w && w->has_from)
		sqlite3_bind_int64(st, 1, w->from);
	else
		sqlite3_bind_null(st, 1);
	if (w && w->has_to)
		sqlite3_bind_int64(st, 2, w->to);
	else
		sqlite3_bind_null(st, 2);
	return st;
}

/* Prepare the query of set with the window bound. */
int rows_open(sqlite3 *db, enum rowset set, const struct export_window *w, struct rows *r, char *err,
	      size_t errlen)
{
	const char *sql;
	int have_dry = rows_have_dry_run(db);
	if (set >= ROWS_HTML_HOLDS) {
		html_rowset(set, have_dry, &sql, &r->columns, &r->ncolumns);
		r->record = "row";
	} else {
		int dry = have_dry && (set != ROWS_EVENTS || any_dry_run(db));
		sql = rowsets[set].sql_no_dry && !dry ? rowsets[set].sql_no_dry : rowsets[set].sql;
		r->columns = rowsets[set].columns;
		r->ncolumns = rowsets[set].ncolumns;
		r->record = rowsets[set].record;
	}
	r->st = rows_prepare_windowed(db, sql, w, err, errlen);
	return r->st ? 0 : -1;
}

/* Step to the next row: 1 row, 0 end, -1 error. */
int rows_next(struct rows *r, char *err, size_t errlen)
{
	int rc = sqlite3_step(r->st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(err, errlen, "database: reading rows failed: %s", sqlite3_errmsg(sqlite3_db_handle(r->st)));
	return -1;
}

/* Finalize the statement. */
void rows_close(struct rows *r)
{
	sqlite3_finalize(r->st);
	r->st = NULL;
}

/* 1 when the cell is NULL. */
int rows_is_null(const struct rows *r, int col)
{
	return sqlite3_column_type(r->st, col) == SQLITE_NULL;
}

/* The cell as an integer. */
int64_t rows_int(const struct rows *r, int col)
{
	return sqlite3_column_int64(r->st, col);
}

/* The cell's text and length ("" for NULL). */
const char *rows_text(const struct rows *r, int col, size_t *len)
{
	const char *t = (const char *)sqlite3_column_text(r->st, col);
	*len = t ? (size_t)sqlite3_column_bytes(r->st, col) : 0;
	return t ? t : "";
}

/* The XML element name of the current row. */
const char *rows_record_name(const struct rows *r)
{
	if (r->ncolumns > 0 && r->columns[0].type == COLUMN_RECORD) {
		size_t len;
		const char *name = rows_text(r, 0, &len);
		return strcmp(name, "hold") == 0 ? "hold" : "request";
	}
	return r->record;
}

/* v in decimal, without printf. */
size_t rows_format_int(int64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, len = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	out[len] = '\0';
	return len;
}

/* Write v as exactly width decimal digits at out. */
static void put_digits(char *out, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* ms as ISO 8601 UTC with milliseconds, without gmtime or printf. */
size_t rows_format_time(int64_t ms, char *out)
{
	/* floor division, as format_iso8601 does */
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	unsigned frac = (unsigned)(ms - secs * 1000);
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	unsigned sod = (unsigned)(secs - days * 86400);
	/* the civil date of a day count (proleptic Gregorian, eras of 400 years) */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned day = doy - (153 * mp + 2) / 5 + 1;
	unsigned month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = (int64_t)yoe + era * 400 + (month <= 2);
	if (year < 0 || year > 9999) {
		format_iso8601(ms, 1, out, ROWS_NUMBER_MAX);
		return strlen(out);
	}
	put_digits(out, (unsigned)year, 4);
	out[4] = '-';
	put_digits(out + 5, month, 2);
	out[7] = '-';
	put_digits(out + 8, day, 2);
	out[10] = 'T';
	put_digits(out + 11, sod / 3600, 2);
	out[13] = ':';
	put_digits(out + 14, sod / 60 % 60, 2);
	out[16] = ':';
	put_digits(out + 17, sod % 60, 2);
	out[19] = '.';
	put_digits(out + 20, frac, 3);
	out[23] = 'Z';
	out[24] = '\0';
	return 24;
}

/* Start the read transaction that gives every query one snapshot. */
int rows_begin(sqlite3 *db, char *err, size_t errlen)
{
	/* a deferred transaction holds its read snapshot from the first read */
	if (sqlite3_exec(db, "BEGIN; SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database: cannot start reading: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* End the read transaction. */
void rows_end(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

/* The newest audit event's seq, time and hash. */
int rows_chain_head(sqlite3 *db, struct chain_head *h, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int result = -1;
	h->seq = 0;
	h->at = 0;
	h->hash[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT seq, at, hash FROM audit_events ORDER BY seq DESC LIMIT 1", -1, &st,
			       NULL) != SQLITE_OK)
		goto out;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *hash = (const char *)sqlite3_column_text(st, 2);
		h->seq = sqlite3_column_int64(st, 0);
		h->at = sqlite3_column_int64(st, 1);
		strlcpy_(h->hash, hash ? hash : "", sizeof h->hash);
	} else if (rc != SQLITE_DONE) {
		goto out;
	}
	result = 0;
out:
	if (result)
		snprintf(err, errlen, "database: cannot read the audit chain head: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return result;
}

/* The numbers of one row of a windowed query, into out[0..n). 0 or -1. */
static int query_numbers(sqlite3 *db, const char *sql, const struct export_window *w, int64_t *out, int n,
			 char *err, size_t errlen)
{
	sqlite3_stmt *st = rows_prepare_windowed(db, sql, w, err, errlen);
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	for (int i = 0; i < n; i++)
		out[i] = rc == SQLITE_ROW ? sqlite3_column_int64(st, i) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errlen, "database: summary query failed: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* dry: the runs.dry_run column, or 0 before migration 6. A request refsync
 * started is linked to its create (external_id); the others were made in
 * Crosschq by someone else. A failed action is counted from the audit
 * trail's action.failed events, so a failure retried later still counts. */
#define SUMMARY_SQL(dry) \
	"SELECT (SELECT count(*) FROM audit_events WHERE " WINDOW("at") "), " \
	"(SELECT count(*) FROM runs WHERE " dry " = 0 AND " WINDOW("started_at") "), " \
	"(SELECT count(*) FROM runs WHERE " dry " = 0 AND exit_code <> 0 AND " WINDOW("started_at") "), " \
	"(SELECT count(*) FROM runs WHERE " dry " <> 0 AND " WINDOW("started_at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE created_at IS NOT NULL AND external_id IS NOT NULL AND " \
	WINDOW("created_at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE created_at IS NOT NULL AND external_id IS NULL AND " \
	WINDOW("created_at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE completed_at IS NOT NULL AND " WINDOW("completed_at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE status = 'cancelled' AND " WINDOW("updated_at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE status = 'expired' AND " WINDOW("updated_at") "), " \
	"(SELECT count(*) FROM triggers WHERE state = 'held' AND " WINDOW("entered_at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE hired = 1 AND " WINDOW("hired_at") "), " \
	"(SELECT count(*) FROM outbox WHERE state = 'done' AND " WINDOW("updated_at") "), " \
	"(SELECT count(*) FROM audit_events WHERE kind = 'action.failed' AND " WINDOW("at") "), " \
	"(SELECT count(*) FROM cq_requests WHERE completed_at IS NOT NULL AND created_at IS NOT NULL AND " \
	WINDOW("completed_at") ")"
static const char summary_sql[] = SUMMARY_SQL("dry_run");
static const char summary_sql_no_dry[] = SUMMARY_SQL("0");
#define SUMMARY_NUMBERS 14

/* The turnaround of the completions in the window, in order; ?3 and ?4
 * pick the middle one or two. */
static const char median_sql[] = "SELECT completed_at - created_at AS d FROM cq_requests "
				 "WHERE completed_at IS NOT NULL AND created_at IS NOT NULL AND "
				 WINDOW("completed_at") " ORDER BY d LIMIT ?3 OFFSET ?4";

static const char weeks_sql[] = "SELECT min(w), max(w), max(c) FROM (SELECT " WEEK_OF("created_at")
				" AS w, count(*) AS c FROM cq_requests WHERE created_at IS NOT NULL AND "
				"external_id IS NOT NULL AND "
				WINDOW("created_at") " GROUP BY w)";

/* The median of the n turnarounds (n > 0) into *median. 0 or -1. */
static int turnaround_median(sqlite3 *db, const struct export_window *w, int64_t n, int64_t *median, char *err,
			     size_t errlen)
{
	sqlite3_stmt *st = rows_prepare_windowed(db, median_sql, w, err, errlen);
	if (!st)
		return -1;
	int64_t take = n % 2 ? 1 : 2;
	sqlite3_bind_int64(st, 3, take);
	sqlite3_bind_int64(st, 4, (n - 1) / 2);
	int64_t sum = 0, got = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sum += sqlite3_column_int64(st, 0);
		got++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "database: median query failed: %s", sqlite3_errmsg(db));
		return -1;
	}
	/* the mean of the two middle values, rounded down (floor, also below 0) */
	if (got == 2)
		*median = sum >= 0 ? sum / 2 : (sum - 1) / 2;
	else
		*median = sum;
	return 0;
}

/* The report's totals, median turnaround and week range. */
int rows_summary(sqlite3 *db, const struct export_window *w, struct export_summary *s, char *err,
		 size_t errlen)
{
	int64_t v[SUMMARY_NUMBERS], weeks[3];
	memset(s, 0, sizeof *s);
	if (query_numbers(db, rows_have_dry_run(db) ? summary_sql : summary_sql_no_dry, w, v, SUMMARY_NUMBERS, err,
			  errlen))
		return -1;
	s->events = v[0];
	s->runs = v[1];
	s->runs_failed = v[2];
	s->runs_dry = v[3];
	s->requests_started = v[4];
	s->requests_foreign = v[5];
	s->requests_completed = v[6];
	s->requests_cancelled = v[7];
	s->requests_expired = v[8];
	s->held = v[9];
	s->hires = v[10];
	s->actions_done = v[11];
	s->actions_failed = v[12];
	s->turnaround_count = v[13];
	if (s->turnaround_count > 0 &&
	    turnaround_median(db, w, s->turnaround_count, &s->turnaround_median_ms, err, errlen))
		return -1;
	if (query_numbers(db, weeks_sql, w, weeks, 3, err, errlen))
		return -1;
	s->weeks_first = weeks[0];
	s->weeks_last = weeks[1];
	s->weeks_max = weeks[2];
	return 0;
}

/* The week number (weeks from Monday 1970-01-05) of a time. */
int64_t rows_week_of(int64_t ms)
{
	int64_t d = ms - FIRST_MONDAY_MS;
	int64_t m = ((d % MS_PER_WEEK) + MS_PER_WEEK) % MS_PER_WEEK;
	return (d - m) / MS_PER_WEEK;
}

/* The time week starts (Monday 00:00 UTC). */
int64_t rows_week_start(int64_t week)
{
	return week * MS_PER_WEEK + FIRST_MONDAY_MS;
}

/* Kind (sanitized) and time of event seq. */
int rows_event_info(sqlite3 *db, int64_t seq, char *kind, size_t kindlen, int64_t *at)
{
	sqlite3_stmt *st = NULL;
	int result = -1;
	struct buf b;
	buf_init(&b, 4096);
	if (sqlite3_prepare_v2(db, "SELECT kind, at FROM audit_events WHERE seq = ?", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, seq);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		result = 1;
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto out;
	const char *k = (const char *)sqlite3_column_text(st, 0);
	size_t klen = k ? (size_t)sqlite3_column_bytes(st, 0) : 0;
	if (klen > 200)
		klen = 200;
	/* the kind is free text: keep control bytes off the terminal */
	if (text_sanitize_to_buf(&b, k ? k : "", klen))
		goto out;
	strlcpy_(kind, b.data, kindlen);
	*at = sqlite3_column_int64(st, 1);
	result = 0;
out:
	buf_free(&b);
	sqlite3_finalize(st);
	return result;
}
