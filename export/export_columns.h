/*
 * export_columns.h - what a row set of refsync-export is (enum rowset) and
 * how its columns are described (struct export_column), shared by the
 * general queries (export_rows.c) and the HTML report's (html_rows.c), with
 * the SQL fragments both use. It includes no other header of the exporter,
 * so that html_rows.h need not include export_rows.h.
 */
#ifndef REFSYNC_EXPORT_COLUMNS_H
#define REFSYNC_EXPORT_COLUMNS_H

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

/* SQL: col inside the window bound as ?1 (from, inclusive) and ?2 (to, exclusive), either may be NULL. */
#define WINDOW(col) "((?1 IS NULL OR " col " >= ?1) AND (?2 IS NULL OR " col " < ?2))"

/* SQL: the name of opportunity o, left out (fallback) once Lever deleted or anonymized the candidate. */
#define CANDIDATE_NAME(fallback) \
	"CASE WHEN o.anonymized <> 0 OR o.deleted_at IS NOT NULL THEN NULL ELSE COALESCE(o.name, " fallback ") END"

#endif
