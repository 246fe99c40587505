/*
 * export_rows.h - every SQL query of refsync-export, and the iteration over
 * their rows that the three formats share. A row set is a prepared
 * statement stepped one row at a time (nothing is collected in memory),
 * in a fixed ORDER BY, restricted to a time window [from, to).
 *
 * Each row set describes its columns once (name, type, where the XML puts
 * them), so that CSV headers, XML attributes and HTML tables all come from
 * the same list.
 */
#ifndef REFSYNC_EXPORT_ROWS_H
#define REFSYNC_EXPORT_ROWS_H

#include "audit.h"
#include "export_columns.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The time window; a bound is absent when its has_ flag is 0. */
struct export_window {
	int has_from, has_to;
	int64_t from, to;
};

struct rows {
	sqlite3_stmt *st;
	const struct export_column *columns;
	int ncolumns;
	const char *record;  /* the XML element name when no COLUMN_RECORD column */
};

/*
 * Prepare the query of set for window w. Returns 0, or -1 with a message in
 * err. Close with rows_close whatever rows_next returned.
 */
int rows_open(sqlite3 *db, enum rowset set, const struct export_window *w, struct rows *r, char *err,
	      size_t errlen);

/* Step to the next row: 1 a row, 0 no more, -1 database error (message in err). */
int rows_next(struct rows *r, char *err, size_t errlen);

void rows_close(struct rows *r);

/* The current row's cells. */
int rows_is_null(const struct rows *r, int col);
int64_t rows_int(const struct rows *r, int col);
/* Text of a cell (never NULL; "" for NULL) and its length in bytes. Valid
 * until the next rows_next. */
const char *rows_text(const struct rows *r, int col, size_t *len);

/* The XML element name of the current row. */
const char *rows_record_name(const struct rows *r);

/*
 * Write an INT or TIME cell's text into out (at least ROWS_NUMBER_MAX bytes);
 * returns its length. Integers in decimal, times as
 * "YYYY-MM-DDTHH:MM:SS.mmmZ" (the same text as format_iso8601 with ms).
 */
#define ROWS_NUMBER_MAX 32
size_t rows_format_int(int64_t v, char *out);
size_t rows_format_time(int64_t ms, char *out);

/* Open a read transaction so that every query of one export sees the same
 * database. 0 or -1 (err). */
int rows_begin(sqlite3 *db, char *err, size_t errlen);
void rows_end(sqlite3 *db);

/* The chain head: seq, time and hash of the newest audit event (seq 0 and
 * "" when the trail is empty). 0 or -1 (err). */
struct chain_head {
	int64_t seq;
	int64_t at;
	char hash[AUDIT_HASH_HEX];
};
int rows_chain_head(sqlite3 *db, struct chain_head *h, char *err, size_t errlen);

/* The numbers at the top of the HTML report, for window w. */
struct export_summary {
	int64_t events;
	int64_t runs;                /* runs that were not dry runs */
	int64_t runs_failed;         /* of those, the ones with a non-zero exit code */
	int64_t runs_dry;            /* dry runs (they send nothing) */
	int64_t requests_started;    /* started by refsync (linked to its create), created_at in the window */
	int64_t requests_foreign;    /* made in Crosschq by someone else, created_at in the window */
	int64_t requests_completed;  /* completed_at in the window */
	int64_t requests_cancelled;  /* status cancelled, updated_at in the window */
	int64_t requests_expired;    /* status expired, updated_at in the window */
	int64_t held;                /* triggers held, entered_at in the window */
	int64_t hires;               /* requests hired, hired_at in the window */
	int64_t actions_done;        /* outbox done, updated_at in the window */
	int64_t actions_failed;      /* action.failed events in the window (a failure retried later counts) */
	int64_t turnaround_count;    /* completed requests with a start time */
	int64_t turnaround_median_ms;/* median of completed_at - created_at */
	int64_t weeks_first;         /* first and last week with requests (week numbers) */
	int64_t weeks_last;
	int64_t weeks_max;           /* most requests started in one week; 0 = none */
};
int rows_summary(sqlite3 *db, const struct export_window *w, struct export_summary *s, char *err,
		 size_t errlen);

/* Week number of epoch ms t (weeks start Monday 00:00 UTC), and back. */
int64_t rows_week_of(int64_t ms);
int64_t rows_week_start(int64_t week);

/*
 * What --verify says about a broken event: the kind (sanitized, at most 200
 * bytes of it, truncated to kindlen) and time of event seq. Returns 0 found,
 * 1 no such event, -1 database error.
 */
int rows_event_info(sqlite3 *db, int64_t seq, char *kind, size_t kindlen, int64_t *at);

#endif
