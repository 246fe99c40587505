/*
 * export_csv.c - the CSV export, streamed row by row from the query into
 * the output buffer with no allocation per cell. See export_csv.h.
 */
#include "export_csv.h"
#include "escape.h"

#include <stdio.h>

/* Write the header row: the column names. 0 or -1. */
static int write_header(struct output *out, const struct rows *r)
{
	for (int i = 0; i < r->ncolumns; i++) {
		if ((i && output_write(out, ",", 1)) || output_puts(out, r->columns[i].name))
			return -1;
	}
	return output_write(out, "\r\n", 2);
}

/* Write the current row. 0 or -1. */
static int write_row(struct output *out, const struct sink *cells, const struct rows *r)
{
	char number[ROWS_NUMBER_MAX];
	for (int i = 0; i < r->ncolumns; i++) {
		if (i && output_write(out, ",", 1))
			return -1;
		if (rows_is_null(r, i))
			continue;
		switch (r->columns[i].type) {
		case COLUMN_INT:
			if (output_write(out, number, rows_format_int(rows_int(r, i), number)))
				return -1;
			break;
		case COLUMN_TIME:
			if (output_write(out, number, rows_format_time(rows_int(r, i), number)))
				return -1;
			break;
		case COLUMN_TEXT:
		case COLUMN_RECORD: {
			size_t len;
			const char *s = rows_text(r, i, &len);
			if (csv_write_cell(cells, s, len))
				return -1;
			break;
		}
		}
	}
	return output_write(out, "\r\n", 2);
}

/* The CSV export: header row, then one line per row. */
int export_csv(sqlite3 *db, enum rowset set, const struct export_window *w, struct output *out, char *err,
	       size_t errlen)
{
	struct rows r = { 0 };
	struct sink cells = output_sink(out);
	int result = -1, rc;
	if (rows_open(db, set, w, &r, err, errlen))
		goto out;
	if (write_header(out, &r))
		goto write_failed;
	while ((rc = rows_next(&r, err, errlen)) == 1) {
		if (write_row(out, &cells, &r))
			goto write_failed;
	}
	if (rc < 0)
		goto out;
	result = 0;
	goto out;
write_failed:
	snprintf(err, errlen, "CSV: writing the export failed");
out:
	rows_close(&r);
	return result;
}
