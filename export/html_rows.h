/*
 * html_rows.h - the queries and columns of the HTML report's tables, laid
 * out for a person reading them: names before ids, the reason of a hold
 * next to its status, failures taken from the audit trail (so that one
 * retried later is still listed), dry runs said in words. rows_open
 * (export_rows.h) prepares them like any other row set.
 */
#ifndef REFSYNC_HTML_ROWS_H
#define REFSYNC_HTML_ROWS_H

#include "export_columns.h"

/*
 * The SQL and columns of HTML row set set (ROWS_HTML_*); have_dry says
 * whether runs.dry_run exists. The results are static: not to be freed.
 */
void html_rowset(enum rowset set, int have_dry, const char **sql, const struct export_column **columns,
		 int *ncolumns);

#endif
