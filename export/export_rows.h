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

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* What --kind selects, plus the lists only the HTML report shows. */
enum rowset {
	ROWS_EVENTS,         /* audit_events, by seq; window on at */
	ROWS_REQUESTS,       /* cq_requests + held triggers; window on created_at / entered_at */
	ROWS_RUNS,           /* runs, by id; window on started_at */
	ROWS_ACTION_KINDS,   /* outbox counts per kind; window on created_at */
	ROWS_WEEKLY,         /* requests refsync started per week (Monday 00:00 UTC) */
	/* the tables of the HTML report, laid out for people (html_rows.c) */
	ROWS_HTML_HOLDS,     /* held triggers; window on entered_at */
	ROWS_HTML_FAILURES,  /* every action.failed event, with the action's state now; window on at */
	ROWS_HTML_REQUESTS,  /* ROWS_REQUESTS, names first */
	ROWS_HTML_RUNS       /* ROWS_RUNS, dry runs said in the command */
};

enum column_type {
	COLUMN_INT,   /* an integer, written in decimal */
	COLUMN_TIME,  /* epoch ms, written as ISO 8601 UTC with milliseconds */
	COLUMN_TEXT,  /* text from the database: sanitized and escaped */
	COLUMN_RECORD /* the name of the record (XML element): not a value */
};

/* How the HTML report shows a TEXT cell. */
enum html_show {
	SHOW_PLAIN = 0, /* short text on one line where it fits */
	SHOW_WRAP,      /* free text (postings, reasons, errors): wraps */
	SHOW_NAME,      /* a person's name: wraps, but not narrower than a name */
	SHOW_ID,        /* an id: shortened, the whole value on hover (title) */
	SHOW_URL,       /* a link when http(s), else shortened text */
	SHOW_DATE       /* a TIME shown as its date (the exact time on hover) */
};

struct export_column {
	const char *name;   /* CSV header, XML attribute or element name */
	const char *label;  /* heading in the HTML report */
	enum column_type type;
	int xml_element;    /* 1: a child element (free text); 0: an attribute */
	enum html_show show;/* HTML only */
};

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
