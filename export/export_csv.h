/*
 * export_csv.h - the CSV export: RFC 4180 (comma separated, CRLF line
 * ends, quotes doubled inside quoted cells), UTF-8, one header row with the
 * column names. Empty cell for NULL; times in ISO 8601 UTC with
 * milliseconds. Text cells that a spreadsheet would run as a formula are
 * neutralized (see escape.h).
 */
#ifndef REFSYNC_EXPORT_CSV_H
#define REFSYNC_EXPORT_CSV_H

#include "export_rows.h"
#include "output.h"

#include <sqlite3.h>
#include <stddef.h>

/*
 * Write the rows of set in window w to out. Returns 0, or -1 with a message
 * in err (out->error is set when the failure was writing).
 */
int export_csv(sqlite3 *db, enum rowset set, const struct export_window *w, struct output *out, char *err,
	       size_t errlen);

#endif
