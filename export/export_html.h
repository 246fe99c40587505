/*
 * export_html.h - the HTML report: one self-contained static page for
 * people (no script, no network, inline CSS, a Content-Security-Policy that
 * forbids both), summarizing everything in the window: totals, median time
 * from start to completion, a chart of requests started per week drawn as
 * inline SVG, held triggers, failed actions, actions per kind, the
 * requests and the runs. Lists are streamed from the database.
 *
 * Laid out for a screen 1,280 px wide and for A4 paper (landscape, through
 * @media print): names before ids, ids shortened with the whole value in a
 * title (hover), report URLs as links (http and https only), the tenant and
 * the generation time in the header.
 */
#ifndef REFSYNC_EXPORT_HTML_H
#define REFSYNC_EXPORT_HTML_H

#include "export_rows.h"
#include "output.h"

#include <sqlite3.h>
#include <stddef.h>

/* What the report says about itself: the only parts not from the database. */
struct html_meta {
	const char *tenant;    /* the tenant's name; NULL when not named */
	int64_t generated_at;  /* epoch ms: when the report was written */
};

/*
 * Write the report for window w to out. Returns 0, or -1 with a message in
 * err (out->error is set when the failure was writing).
 */
int export_html(sqlite3 *db, const struct export_window *w, const struct html_meta *meta, struct output *out,
		char *err, size_t errlen);

/* Format a duration in ms as "D d HH:MM:SS" (or "HH:MM:SS" under a day)
 * into text (at least 40 bytes). Returns text. */
char *html_format_duration(int64_t ms, char *text, size_t len);

#endif
