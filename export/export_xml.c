/*
 * export_xml.c - the XML export through libxml2's xmlTextWriter. The writer
 * escapes markup; text from the database is sanitized first (escape.h) so
 * that invalid UTF-8 and control bytes never reach it. Long text goes
 * through in bounded pieces. See export_xml.h and schema/audit.xsd.
 */
#include "export_xml.h"
#include "escape.h"
#include "util.h"

#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

/* Largest piece of text sanitized at once (its sanitized form is at most
 * three times as long). */
#define XML_PIECE 65536

struct xml_export {
	xmlTextWriterPtr writer;
	struct buf scratch;
};

/* libxml2 output callback: hand the bytes to the output. */
static int xml_output_write(void *ctx, const char *data, int len)
{
	if (len <= 0)
		return 0;
	return output_write(ctx, data, (size_t)len) ? -1 : len;
}

/*
 * Write s[0..len) as text inside the current element or attribute:
 * unchanged when clean, else sanitized piece by piece. 0 or -1.
 */
static int write_text(struct xml_export *x, const char *s, size_t len)
{
	if (len < XML_PIECE && text_is_clean(s, len) && s[len] == '\0')
		return xmlTextWriterWriteString(x->writer, BAD_CAST s) < 0 ? -1 : 0;
	while (len > 0) {
		size_t cut = utf8_cut(s, len, XML_PIECE);
		if (text_sanitize_to_buf(&x->scratch, s, cut) ||
		    xmlTextWriterWriteString(x->writer, BAD_CAST x->scratch.data) < 0)
			return -1;
		s += cut;
		len -= cut;
	}
	return 0;
}

/* Write attribute name="text". 0 or -1. */
static int write_attribute(struct xml_export *x, const char *name, const char *s, size_t len)
{
	if (xmlTextWriterStartAttribute(x->writer, BAD_CAST name) < 0 || write_text(x, s, len) ||
	    xmlTextWriterEndAttribute(x->writer) < 0)
		return -1;
	return 0;
}

/* Write an attribute holding a number or time we formatted. 0 or -1. */
static int write_number_attribute(struct xml_export *x, const char *name, enum column_type type, int64_t v)
{
	char text[ROWS_NUMBER_MAX];
	if (type == COLUMN_TIME)
		rows_format_time(v, text);
	else
		rows_format_int(v, text);
	return xmlTextWriterWriteAttribute(x->writer, BAD_CAST name, BAD_CAST text) < 0 ? -1 : 0;
}

/* Write the current row as one record element. 0 or -1. */
static int write_record(struct xml_export *x, const struct rows *r)
{
	if (xmlTextWriterStartElement(x->writer, BAD_CAST rows_record_name(r)) < 0)
		return -1;
	for (int i = 0; i < r->ncolumns; i++) {
		const struct export_column *c = &r->columns[i];
		if (c->type == COLUMN_RECORD || c->xml_element || rows_is_null(r, i))
			continue;
		if (c->type == COLUMN_TEXT) {
			size_t len;
			const char *s = rows_text(r, i, &len);
			if (write_attribute(x, c->name, s, len))
				return -1;
		} else if (write_number_attribute(x, c->name, c->type, rows_int(r, i))) {
			return -1;
		}
	}
	for (int i = 0; i < r->ncolumns; i++) {
		const struct export_column *c = &r->columns[i];
		if (!c->xml_element || rows_is_null(r, i))
			continue;
		size_t len;
		const char *s = rows_text(r, i, &len);
		if (xmlTextWriterStartElement(x->writer, BAD_CAST c->name) < 0 || write_text(x, s, len) ||
		    xmlTextWriterEndElement(x->writer) < 0)
			return -1;
	}
	return xmlTextWriterEndElement(x->writer) < 0 ? -1 : 0;
}

/* The root element's attributes and the chain head. 0 or -1. */
static int write_header(struct xml_export *x, enum rowset set, const struct export_window *w,
			const struct chain_head *head)
{
	static const char *const kinds[] = { [ROWS_EVENTS] = "events", [ROWS_REQUESTS] = "requests",
					     [ROWS_RUNS] = "runs" };
	if (xmlTextWriterStartDocument(x->writer, "1.0", "UTF-8", NULL) < 0 ||
	    xmlTextWriterStartElement(x->writer, BAD_CAST "refsync-audit") < 0 ||
	    xmlTextWriterWriteAttribute(x->writer, BAD_CAST "version", BAD_CAST "1") < 0 ||
	    xmlTextWriterWriteAttribute(x->writer, BAD_CAST "kind", BAD_CAST kinds[set]) < 0)
		return -1;
	if (w->has_from && write_number_attribute(x, "from", COLUMN_TIME, w->from))
		return -1;
	if (w->has_to && write_number_attribute(x, "to", COLUMN_TIME, w->to))
		return -1;
	if (xmlTextWriterStartElement(x->writer, BAD_CAST "chain-head") < 0 ||
	    write_number_attribute(x, "seq", COLUMN_INT, head->seq))
		return -1;
	if (head->seq > 0 && (write_number_attribute(x, "at", COLUMN_TIME, head->at) ||
			      write_attribute(x, "hash", head->hash, strlen(head->hash))))
		return -1;
	return xmlTextWriterEndElement(x->writer) < 0 ? -1 : 0;
}

/* The XML export: header, one element per row, the record count. */
int export_xml(sqlite3 *db, enum rowset set, const struct export_window *w, struct output *out, char *err,
	       size_t errlen)
{
	struct xml_export x = { NULL, { 0 } };
	struct rows r = { 0 };
	struct chain_head head;
	xmlOutputBufferPtr ob;
	int64_t records = 0;
	int result = -1, rc;
	buf_init(&x.scratch, 3 * XML_PIECE + 16);
	if (set != ROWS_EVENTS && set != ROWS_REQUESTS && set != ROWS_RUNS) {
		snprintf(err, errlen, "XML: not an export kind");
		goto out;
	}
	if (rows_chain_head(db, &head, err, errlen) || rows_open(db, set, w, &r, err, errlen))
		goto out;
	ob = xmlOutputBufferCreateIO(xml_output_write, NULL, out, NULL);
	if (!ob) {
		snprintf(err, errlen, "XML: cannot create the output buffer");
		goto out;
	}
	x.writer = xmlNewTextWriter(ob); /* owns ob from here on */
	if (!x.writer) {
		xmlOutputBufferClose(ob);
		snprintf(err, errlen, "XML: cannot create the writer");
		goto out;
	}
	if (xmlTextWriterSetIndent(x.writer, 1) < 0 ||
	    xmlTextWriterSetIndentString(x.writer, BAD_CAST "  ") < 0 || write_header(&x, set, w, &head))
		goto write_failed;
	while ((rc = rows_next(&r, err, errlen)) == 1) {
		if (write_record(&x, &r))
			goto write_failed;
		records++;
	}
	if (rc < 0)
		goto out;
	if (xmlTextWriterStartElement(x.writer, BAD_CAST "end") < 0 ||
	    write_number_attribute(&x, "records", COLUMN_INT, records) ||
	    xmlTextWriterEndElement(x.writer) < 0 || xmlTextWriterEndDocument(x.writer) < 0 ||
	    xmlTextWriterFlush(x.writer) < 0)
		goto write_failed;
	result = 0;
	goto out;
write_failed:
	snprintf(err, errlen, "XML: writing the export failed");
out:
	if (x.writer)
		xmlFreeTextWriter(x.writer);
	rows_close(&r);
	buf_free(&x.scratch);
	if (result == 0 && out->error) {
		snprintf(err, errlen, "XML: writing the export failed");
		result = -1;
	}
	return result;
}
