/*
 * export_html.c - the static HTML report. Everything written comes from
 * the database and the window, except the tenant's name and the generation
 * time (struct html_meta), so the same database, arguments and time give
 * the same page. Text from the database is sanitized and escaped
 * (escape.h); the numbers and times are our own. Output errors are sticky
 * (output.h), so sections check them once at their end.
 */
#include "export_html.h"
#include "escape.h"
#include "html_cells.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The chart's geometry, in SVG user units. */
#define CHART_LEFT 48
#define CHART_RIGHT 40        /* room for half a date label past the last bar */
#define CHART_TOP 16
#define CHART_BOTTOM 40
#define CHART_HEIGHT 200
#define CHART_WIDTH 720       /* the plot width the bars are fitted into */
#define CHART_MIN_PLOT 240     /* narrowest plot, so that the labels fit */
#define CHART_MAX_SLOT 64     /* widest slot of one week */
#define CHART_MIN_SLOT 2
#define CHART_LABEL_SPACING 84 /* at least this much between two date labels */
#define CHART_MAX_WEEKS 1040  /* 20 years: an absurd remote date must not make the page huge */

static const char page_head[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
	"<meta name=\"referrer\" content=\"no-referrer\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<meta name=\"generator\" content=\"refsync-export\">\n"
	"<title>refsync audit report</title>\n"
	"<style>\n"
	"body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:1.5em auto;max-width:1240px;"
	"padding:0 16px;color:#1f2328;background:#fff}\n"
	"h1{font-size:1.6em;margin-bottom:.2em}\n"
	"h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
	"table{border-collapse:collapse;font-size:.9em;margin:.5em 0}\n"
	"table.list{width:100%}\n"
	"th,td{border:1px solid #d0d7de;padding:.25em .45em;text-align:left;vertical-align:top}\n"
	"thead th{background:#f6f8fa;position:sticky;top:0}\n"
	"td{overflow-wrap:break-word}\n"
	"td.w{overflow-wrap:anywhere;min-width:7em;white-space:pre-line}\n"
	"td.nm{min-width:9em}\n"
	"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"td.t{font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"td.i{white-space:nowrap}\n"
	".id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.95em;white-space:nowrap}\n"
	"table.totals th{font-weight:normal;background:#f6f8fa}\n"
	"table.totals td{text-align:right;font-weight:600;min-width:6em;font-variant-numeric:tabular-nums}\n"
	".meta{color:#59636e;margin:.2em 0}\n"
	".hash{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}\n"
	".empty{color:#59636e;font-style:italic}\n"
	".scroll{overflow-x:auto}\n"
	"a{color:#0550ae}\n"
	"svg{max-width:100%;height:auto}\n"
	"footer{margin-top:3em;color:#59636e;font-size:.85em}\n"
	"@page{size:A4 landscape;margin:10mm}\n"
	"@media print{body{font-size:8.5pt;max-width:none;margin:0;padding:0}"
	"h1{font-size:1.5em}h2{margin-top:1.2em;break-after:avoid}"
	"thead th{position:static}thead{display:table-header-group}tr,svg{break-inside:avoid}"
	".scroll{overflow:visible}a{color:inherit}td.w{min-width:5em}td.nm{min-width:8em}}\n"
	"</style>\n"
	"</head>\n"
	"<body>\n";

/* Write a time we formatted. */
static void put_time(struct output *out, int64_t ms)
{
	char text[ROWS_NUMBER_MAX];
	output_write(out, text, rows_format_time(ms, text));
}

/* Write an integer. */
static void put_int(struct output *out, int64_t v)
{
	char text[ROWS_NUMBER_MAX];
	output_write(out, text, rows_format_int(v, text));
}

/* Write the date part (YYYY-MM-DD) of a time. */
static void put_date(struct output *out, int64_t ms)
{
	char text[ROWS_NUMBER_MAX];
	size_t n = rows_format_time(ms, text);
	output_write(out, text, n > 10 ? 10 : n);
}

/* A duration in ms as "D d HH:MM:SS", into text. */
char *html_format_duration(int64_t ms, char *text, size_t len)
{
	const char *sign = ms < 0 ? "-" : "";
	uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	uint64_t secs = u / 1000, days = secs / 86400;
	unsigned h = (unsigned)(secs / 3600 % 24), m = (unsigned)(secs / 60 % 60), s = (unsigned)(secs % 60);
	if (days)
		snprintf(text, len, "%s%" PRIu64 " d %02u:%02u:%02u", sign, days, h, m, s);
	else
		snprintf(text, len, "%s%02u:%02u:%02u", sign, h, m, s);
	return text;
}

/* The title with the tenant, the generation time, the window and the chain head. */
static void write_intro(struct output *out, const struct export_window *w, const struct chain_head *head,
			const struct html_meta *meta)
{
	struct sink name = output_sink(out);
	output_puts(out, "<header>\n<h1>refsync audit report");
	if (meta->tenant && *meta->tenant) {
		output_puts(out, ": <span id=\"tenant\">");
		html_write_escaped(&name, meta->tenant, strlen(meta->tenant));
		output_puts(out, "</span></h1>\n");
	} else {
		output_puts(out, "</h1>\n<p class=\"meta\" id=\"tenant\">Tenant not named: set [export] "
				 "tenant_name in the configuration.</p>\n");
	}
	output_puts(out, "<p class=\"meta\" id=\"generated\">Generated ");
	html_put_time(out, meta->generated_at, 0);
	output_puts(out, " UTC by refsync-export. All times are UTC; hover over a time or a shortened id "
			 "for its full value.</p>\n<p class=\"meta\" id=\"window\">Window: ");
	if (!w->has_from && !w->has_to) {
		output_puts(out, "all recorded time");
	} else {
		if (w->has_from) {
			output_puts(out, "from <time>");
			put_time(out, w->from);
			output_puts(out, "</time>");
		} else {
			output_puts(out, "from the beginning");
		}
		if (w->has_to) {
			output_puts(out, " to <time>");
			put_time(out, w->to);
			output_puts(out, "</time> (exclusive)");
		} else {
			output_puts(out, " to the end");
		}
	}
	output_puts(out, "</p>\n<p class=\"meta\" id=\"chain-head\">Audit chain head: ");
	if (head->seq == 0) {
		output_puts(out, "no events recorded");
	} else {
		struct sink text = output_sink(out);
		output_puts(out, "event ");
		put_int(out, head->seq);
		output_puts(out, " at <time>");
		put_time(out, head->at);
		output_puts(out, "</time>, hash <span class=\"hash\">");
		html_write_escaped(&text, head->hash, strlen(head->hash));
		output_puts(out, "</span>");
	}
	output_puts(out, "</p>\n</header>\n");
}

/* One row of the totals table. */
static void total_row(struct output *out, const char *id, const char *label, int64_t v)
{
	output_printf(out, "<tr><th scope=\"row\">%s</th><td id=\"%s\">", label, id);
	put_int(out, v);
	output_puts(out, "</td></tr>\n");
}

/* The totals table. */
static void write_totals(struct output *out, const struct export_summary *s)
{
	char duration[48];
	output_puts(out, "<section id=\"totals\">\n<h2>Totals</h2>\n<table class=\"totals\">\n<tbody>\n");
	total_row(out, "requests-started", "Requests started by refsync", s->requests_started);
	total_row(out, "requests-foreign", "Requests made in Crosschq by someone else", s->requests_foreign);
	total_row(out, "requests-completed", "Requests completed", s->requests_completed);
	total_row(out, "requests-cancelled", "Requests cancelled", s->requests_cancelled);
	total_row(out, "requests-expired", "Requests expired", s->requests_expired);
	total_row(out, "triggers-held", "Requests held (trigger held)", s->held);
	output_puts(out, "<tr><th scope=\"row\">Median time from start to completion</th>"
			 "<td id=\"median-turnaround\">");
	if (s->turnaround_count > 0) {
		output_puts(out, html_format_duration(s->turnaround_median_ms, duration, sizeof duration));
		output_puts(out, " <span class=\"meta\">(");
		put_int(out, s->turnaround_count);
		output_puts(out, s->turnaround_count == 1 ? " request)" : " requests)");
		output_puts(out, "</span>");
	} else {
		output_puts(out, "&#8212;");
	}
	output_puts(out, "</td></tr>\n");
	total_row(out, "hires", "Hires", s->hires);
	total_row(out, "actions-done", "Actions done", s->actions_done);
	total_row(out, "actions-failed", "Failed actions (including those retried later)", s->actions_failed);
	total_row(out, "runs", "Runs (not counting dry runs)", s->runs);
	total_row(out, "runs-failed", "Runs that did not exit 0", s->runs_failed);
	total_row(out, "runs-dry", "Dry runs (nothing sent)", s->runs_dry);
	total_row(out, "audit-events", "Audit events", s->events);
	output_puts(out, "</tbody>\n</table>\n</section>\n");
}

/* The width of one week's slot in a chart of n weeks. */
static int64_t chart_slot(int64_t n)
{
	int64_t slot = CHART_WIDTH / (n > 0 ? n : 1);
	if (slot > CHART_MAX_SLOT)
		slot = CHART_MAX_SLOT;
	if (slot < CHART_MIN_SLOT)
		slot = CHART_MIN_SLOT;
	return slot;
}

/* The width of the plot area of a chart of n weeks. */
static int64_t chart_plot_width(int64_t n, int64_t slot)
{
	return n * slot > CHART_MIN_PLOT ? n * slot : CHART_MIN_PLOT;
}

/* The chart's frame: size, axes, gridlines with their counts, date labels. */
static void chart_frame(struct output *out, int64_t n, int64_t slot, const struct export_summary *s)
{
	int64_t plot = chart_plot_width(n, slot);
	int64_t width = CHART_LEFT + plot + CHART_RIGHT, height = CHART_TOP + CHART_HEIGHT + CHART_BOTTOM;
	int64_t base = CHART_TOP + CHART_HEIGHT;
	output_printf(out,
		      "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"requests-chart\" role=\"img\" "
		      "aria-labelledby=\"chart-title\" width=\"%" PRId64 "\" height=\"%" PRId64 "\" "
		      "viewBox=\"0 0 %" PRId64 " %" PRId64 "\" font-family=\"sans-serif\" font-size=\"11\">\n"
		      "<title id=\"chart-title\">Requests started by refsync per week</title>\n",
		      width, height, width, height);
	/* gridlines at 0, half and the maximum */
	int64_t ticks[3] = { 0, s->weeks_max / 2, s->weeks_max };
	for (int i = 0; i < 3; i++) {
		if (i > 0 && (ticks[i] == ticks[i - 1] || s->weeks_max == 0))
			continue;
		int64_t y = base - (s->weeks_max ? ticks[i] * CHART_HEIGHT / s->weeks_max : 0);
		output_printf(out,
			      "<line x1=\"%d\" y1=\"%" PRId64 "\" x2=\"%" PRId64 "\" y2=\"%" PRId64 "\" "
			      "stroke=\"%s\" stroke-width=\"1\"/>\n"
			      "<text x=\"%d\" y=\"%" PRId64 "\" text-anchor=\"end\" fill=\"#59636e\">%" PRId64
			      "</text>\n",
			      CHART_LEFT, y, width - CHART_RIGHT, y, i == 0 ? "#59636e" : "#d0d7de", CHART_LEFT - 6,
			      y + 4, ticks[i]);
	}
	/* a date label under some weeks, far enough apart to be read */
	int64_t every = (CHART_LABEL_SPACING + slot - 1) / slot;
	for (int64_t i = 0; i < n && s->weeks_max; i += every) {
		output_printf(out, "<text x=\"%" PRId64 "\" y=\"%" PRId64 "\" text-anchor=\"middle\" fill=\"#59636e\">",
			      CHART_LEFT + i * slot + slot / 2, base + 16);
		put_date(out, rows_week_start(s->weeks_first + i));
		output_puts(out, "</text>\n");
	}
	output_printf(out, "<text x=\"%" PRId64 "\" y=\"%" PRId64 "\" text-anchor=\"middle\" fill=\"#59636e\">"
			   "week starting (Monday, UTC)</text>\n",
		      CHART_LEFT + plot / 2, base + 34);
}

/* The chart of requests started per week, as inline SVG. 0 or -1. */
static int write_chart(struct output *out, sqlite3 *db, const struct export_window *w,
		       const struct export_summary *s, char *err, size_t errlen)
{
	struct rows r = { 0 };
	int result = -1, rc;
	struct export_summary shown = *s;
	int64_t n = s->weeks_max > 0 ? s->weeks_last - s->weeks_first + 1 : 12;
	if (n > CHART_MAX_WEEKS) {
		n = CHART_MAX_WEEKS;
		shown.weeks_first = s->weeks_last - CHART_MAX_WEEKS + 1;
	}
	int64_t slot = chart_slot(n);
	int64_t gap = slot >= 5 ? slot / 5 : slot > 2 ? 1 : 0;
	output_puts(out, "<section id=\"chart\">\n<h2>Requests started by refsync per week</h2>\n");
	if (shown.weeks_first != s->weeks_first) {
		output_puts(out, "<p class=\"meta\">The requests span more than 20 years; the chart shows the last "
				 "20 years, from the week of ");
		put_date(out, rows_week_start(shown.weeks_first));
		output_puts(out, ".</p>\n");
	}
	output_puts(out, "<div class=\"scroll\">\n");
	chart_frame(out, n, slot, &shown);
	if (s->weeks_max == 0) {
		output_printf(out, "<text x=\"%" PRId64 "\" y=\"%d\" text-anchor=\"middle\" fill=\"#59636e\">"
				   "No requests started in this window.</text>\n",
			      CHART_LEFT + chart_plot_width(n, slot) / 2, CHART_TOP + CHART_HEIGHT / 2);
	} else {
		if (rows_open(db, ROWS_WEEKLY, w, &r, err, errlen))
			goto out;
		while ((rc = rows_next(&r, err, errlen)) == 1) {
			int64_t week = rows_int(&r, 0), count = rows_int(&r, 2);
			if (week < shown.weeks_first)
				continue;
			int64_t h = count * CHART_HEIGHT / s->weeks_max;
			if (h < 1)
				h = 1;
			output_printf(out,
				      "<rect x=\"%" PRId64 "\" y=\"%" PRId64 "\" width=\"%" PRId64 "\" height=\"%" PRId64
				      "\" fill=\"#0969da\"><title>Week of ",
				      CHART_LEFT + (week - shown.weeks_first) * slot + gap / 2,
				      CHART_TOP + CHART_HEIGHT - h, slot - gap, h);
			put_date(out, rows_week_start(week));
			output_puts(out, ": ");
			put_int(out, count);
			output_puts(out, count == 1 ? " request started</title></rect>\n"
						    : " requests started</title></rect>\n");
			if (out->error)
				goto out;
		}
		if (rc < 0)
			goto out;
	}
	output_puts(out, "</svg>\n</div>\n</section>\n");
	result = 0;
out:
	rows_close(&r);
	return result;
}

/*
 * A section listing the rows of set, one table row each (the header is
 * written with the first row; "None" when there is none). 0 or -1.
 */
static int write_list(struct output *out, sqlite3 *db, enum rowset set, const struct export_window *w,
		      const char *id, const char *title, const char *none, char *err, size_t errlen)
{
	struct rows r = { 0 };
	int64_t count = 0;
	int result = -1, rc;
	output_printf(out, "<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
	if (rows_open(db, set, w, &r, err, errlen))
		goto out;
	while ((rc = rows_next(&r, err, errlen)) == 1) {
		if (count++ == 0) {
			output_puts(out, "<div class=\"scroll\">\n<table class=\"list\">\n<thead><tr>");
			for (int i = 0; i < r.ncolumns; i++) {
				if (r.columns[i].type != COLUMN_RECORD)
					output_printf(out, "<th scope=\"col\" data-col=\"%s\">%s</th>", r.columns[i].name,
						      r.columns[i].label);
			}
			output_puts(out, "</tr></thead>\n<tbody>\n");
		}
		output_puts(out, "<tr>");
		for (int i = 0; i < r.ncolumns; i++) {
			if (r.columns[i].type != COLUMN_RECORD)
				html_put_cell(out, &r, i);
		}
		output_puts(out, "</tr>\n");
		if (out->error)
			goto out;
	}
	if (rc < 0)
		goto out;
	if (count)
		output_puts(out, "</tbody>\n</table>\n</div>\n");
	else
		output_printf(out, "<p class=\"empty\">%s</p>\n", none);
	output_puts(out, "</section>\n");
	result = 0;
out:
	rows_close(&r);
	return result;
}

/* The whole report: intro, totals, chart, then the lists, streamed. */
int export_html(sqlite3 *db, const struct export_window *w, const struct html_meta *meta, struct output *out,
		char *err, size_t errlen)
{
	struct chain_head head;
	struct export_summary summary;
	int result = -1;
	if (rows_chain_head(db, &head, err, errlen) || rows_summary(db, w, &summary, err, errlen))
		return -1;
	output_puts(out, page_head);
	write_intro(out, w, &head, meta);
	write_totals(out, &summary);
	if (write_chart(out, db, w, &summary, err, errlen) ||
	    write_list(out, db, ROWS_HTML_HOLDS, w, "holds", "Held triggers", "No trigger was held in this window.",
		       err, errlen) ||
	    write_list(out, db, ROWS_HTML_FAILURES, w, "failed-actions",
		       "Failed actions (every failure, also of actions retried since)",
		       "No action failed in this window.", err, errlen) ||
	    write_list(out, db, ROWS_ACTION_KINDS, w, "actions", "Actions by kind", "No action in this window.",
		       err, errlen) ||
	    write_list(out, db, ROWS_HTML_REQUESTS, w, "requests", "Requests and holds",
		       "No request in this window.", err, errlen) ||
	    write_list(out, db, ROWS_HTML_RUNS, w, "runs", "Runs", "No run in this window.", err, errlen))
		goto out;
	output_puts(out, "<footer>Written by refsync-export from the refsync database at audit chain head "
			 "<span class=\"hash\" id=\"footer-head\">");
	put_int(out, head.seq);
	output_puts(out, ":");
	output_puts(out, head.seq ? head.hash : "-");
	output_puts(out, "</span>. Apart from the generation time, the same database and window give the same page; the CSV and XML exports hold every id in full. The last line of this file "
			 "repeats the head and, when the export is signed, carries its Ed25519 signature: "
			 "refsync-export --verify-file FILE --pubkey KEY checks it, and "
			 "refsync-export --verify --since-export FILE that the database still holds "
			 "everything up to the head.</footer>\n</body>\n</html>\n");
	result = 0;
out:
	if (out->error) {
		snprintf(err, errlen, "HTML: writing the report failed");
		result = -1;
	}
	return result;
}
