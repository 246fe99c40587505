/*
 * export_xml.h - the XML export, written with libxml2's xmlTextWriter and
 * described by schema/audit.xsd:
 *
 *   <refsync-audit version="1" kind="events|requests|runs"
 *                  [from="ISO 8601"] [to="ISO 8601"]>
 *     <chain-head seq="N" [at="..."] [hash="..."]/>
 *     <event .../> | <request .../> | <hold .../> | <run .../>  (streamed)
 *     <end records="N"/>
 *   </refsync-audit>
 */
#ifndef REFSYNC_EXPORT_XML_H
#define REFSYNC_EXPORT_XML_H

#include "export_rows.h"
#include "output.h"

#include <sqlite3.h>
#include <stddef.h>

/*
 * Write the rows of set (ROWS_EVENTS, ROWS_REQUESTS or ROWS_RUNS) in window
 * w to out. Returns 0, or -1 with a message in err (out->error is set when
 * the failure was writing).
 */
int export_xml(sqlite3 *db, enum rowset set, const struct export_window *w, struct output *out, char *err,
	       size_t errlen);

#endif
