/*
 * html_cells.h - how the HTML report writes one value: a time (date and
 * time of day, the exact time in the datetime attribute and on hover), an
 * id (shortened, the whole id on hover), a link to a report (only http and
 * https), a table cell of a row set column. Everything from the database
 * is sanitized and escaped (escape.h).
 */
#ifndef REFSYNC_HTML_CELLS_H
#define REFSYNC_HTML_CELLS_H

#include "export_rows.h"
#include "output.h"

#include <stddef.h>
#include <stdint.h>

/* Ids longer than this many bytes are shown shortened to HTML_ID_SHOWN. */
#define HTML_ID_MAX 12
#define HTML_ID_SHOWN 8

/* <time datetime="ISO" title="ISO"><span>YYYY-MM-DD</span> <span>HH:MM</span></time>, without
 * the hour and minute when date_only. */
void html_put_time(struct output *out, int64_t ms, int date_only);

/* 1 when s[0..len) may be a link: http:// or https:// (any case), clean
 * UTF-8, no blank or control character. */
int html_url_linkable(const char *s, size_t len);

/* One <td> for column i of the current row of r. */
void html_put_cell(struct output *out, const struct rows *r, int i);

#endif
