/*
 * html_cells.c - the values of the HTML report. See html_cells.h. Output
 * errors are sticky (output.h): the caller checks out->error.
 */
#include "html_cells.h"
#include "escape.h"

#include <string.h>
#include <strings.h>

/* Write text escaped for element content and quoted attributes. */
static void put_escaped(struct output *out, const char *s, size_t len)
{
	struct sink text = output_sink(out);
	html_write_escaped(&text, s, len);
}

/* The time as a date and an hour and minute, the exact time in attributes. */
void html_put_time(struct output *out, int64_t ms, int date_only)
{
	char iso[ROWS_NUMBER_MAX];
	size_t n = rows_format_time(ms, iso);
	output_puts(out, "<time datetime=\"");
	output_write(out, iso, n);
	output_puts(out, "\" title=\"");
	output_write(out, iso, n);
	output_puts(out, "\">");
	if (n == 24 && iso[10] == 'T') {
		output_puts(out, "<span>");
		output_write(out, iso, 10);
		output_puts(out, "</span>");
		if (!date_only) {
			output_puts(out, " <span>");
			output_write(out, iso + 11, 5);
			output_puts(out, "</span>");
		}
	} else {
		output_write(out, iso, n); /* a year outside 0..9999: as it is */
	}
	output_puts(out, "</time>");
}

/* The id, its first bytes and an ellipsis when long, the whole on hover. */
static void html_put_id(struct output *out, const char *s, size_t len)
{
	if (len <= HTML_ID_MAX) {
		output_puts(out, "<span class=\"id\">");
		put_escaped(out, s, len);
		output_puts(out, "</span>");
		return;
	}
	output_puts(out, "<span class=\"id\" title=\"");
	put_escaped(out, s, len);
	output_puts(out, "\">");
	put_escaped(out, s, utf8_cut(s, len, HTML_ID_SHOWN));
	output_puts(out, "&#8230;</span>");
}

/* 1 when the text is an http(s) URL fit for an href. */
int html_url_linkable(const char *s, size_t len)
{
	size_t scheme = len >= 8 && strncasecmp(s, "https://", 8) == 0 ? 8
			: len >= 7 && strncasecmp(s, "http://", 7) == 0 ? 7
									 : 0;
	if (!scheme || len == scheme || !text_is_clean(s, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '`')
			return 0;
	}
	return 1;
}

/* A report link, or the text as an id when it is not an http(s) URL. */
static void put_url(struct output *out, const char *s, size_t len)
{
	if (!html_url_linkable(s, len)) {
		html_put_id(out, s, len);
		return;
	}
	output_puts(out, "<a href=\"");
	put_escaped(out, s, len);
	output_puts(out, "\" rel=\"noopener noreferrer\" title=\"");
	put_escaped(out, s, len);
	output_puts(out, "\">Report</a>");
}

/* One cell: numbers right-aligned, times, ids, links, text. */
void html_put_cell(struct output *out, const struct rows *r, int i)
{
	static const char *const classes[] = { [SHOW_PLAIN] = "<td>", [SHOW_WRAP] = "<td class=\"w\">",
					       [SHOW_NAME] = "<td class=\"w nm\">", [SHOW_ID] = "<td class=\"i\">",
					       [SHOW_URL] = "<td class=\"i\">", [SHOW_DATE] = "<td>" };
	const struct export_column *c = &r->columns[i];
	char text[ROWS_NUMBER_MAX];
	if (rows_is_null(r, i)) {
		output_puts(out, c->type == COLUMN_TEXT ? classes[c->show] : "<td>");
		output_puts(out, "</td>");
		return;
	}
	switch (c->type) {
	case COLUMN_INT:
		output_puts(out, "<td class=\"n\">");
		output_write(out, text, rows_format_int(rows_int(r, i), text));
		break;
	case COLUMN_TIME:
		output_puts(out, "<td class=\"t\">");
		html_put_time(out, rows_int(r, i), c->show == SHOW_DATE);
		break;
	case COLUMN_TEXT:
	case COLUMN_RECORD: {
		size_t len;
		const char *s = rows_text(r, i, &len);
		output_puts(out, classes[c->show]);
		if (c->show == SHOW_ID)
			html_put_id(out, s, len);
		else if (c->show == SHOW_URL)
			put_url(out, s, len);
		else
			put_escaped(out, s, len);
		break;
	}
	}
	output_puts(out, "</td>");
}
