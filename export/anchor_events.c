/*
 * anchor_events.c - compare the events an events export lists with the
 * trail, to name the first event that was edited or removed after a chain
 * was recomputed (anchor.h). Streams the export: memory does not grow with
 * its size.
 */
#include "anchor.h"
#include "db.h"

#include <errno.h>
#include <libxml/xmlreader.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_EVENTS_HEADER "seq,at,run_id,kind,subject,detail,prev_hash,hash,dry_run\r\n"

struct compare {
	sqlite3_stmt *st;
	int64_t bad_seq;  /* the first listed event that differs, 0 none */
	int64_t last_seq; /* the last listed event looked at */
	char *why;
	size_t whylen;
};

/* Compare one listed event (seq text, hash) with the trail. 0 go on, 1
 * found the first difference, -1 database error. */
static int compare_event(struct compare *c, const char *seq_text, const char *hash)
{
	char *end;
	errno = 0;
	long long seq = strtoll(seq_text, &end, 10);
	if (errno || *end || end == seq_text || seq <= c->last_seq)
		return 0; /* not an event refsync-export wrote: nothing to compare */
	c->last_seq = seq;
	sqlite3_reset(c->st);
	sqlite3_bind_int64(c->st, 1, seq);
	int rc = sqlite3_step(c->st);
	if (rc == SQLITE_DONE) {
		c->bad_seq = seq;
		snprintf(c->why, c->whylen, "event %lld, listed in the export, is missing from the trail", seq);
		return 1;
	}
	if (rc != SQLITE_ROW)
		return -1;
	const char *stored = (const char *)sqlite3_column_text(c->st, 0);
	if (!stored || strcmp(stored, hash) != 0) {
		c->bad_seq = seq;
		snprintf(c->why, c->whylen, "event %lld has another hash than the export lists: it was edited, or an "
			 "event before it was removed, and the chain recomputed", seq);
		return 1;
	}
	return 0;
}

/* The events of an XML events export. */
static int compare_xml(struct compare *c, const char *path)
{
	xmlTextReaderPtr r = xmlReaderForFile(path, NULL, XML_PARSE_NONET);
	if (!r)
		return 0;
	int rc, result = 0, is_events = 0;
	while (result == 0 && (rc = xmlTextReaderRead(r)) == 1) {
		if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT)
			continue;
		const char *name = (const char *)xmlTextReaderConstName(r);
		xmlChar *a = NULL, *b = NULL;
		if (strcmp(name, "refsync-audit") == 0) {
			a = xmlTextReaderGetAttribute(r, BAD_CAST "kind");
			is_events = a && strcmp((const char *)a, "events") == 0;
		} else if (is_events && strcmp(name, "event") == 0 && xmlTextReaderDepth(r) == 1) {
			a = xmlTextReaderGetAttribute(r, BAD_CAST "seq");
			b = xmlTextReaderGetAttribute(r, BAD_CAST "hash");
			if (a && b)
				result = compare_event(c, (const char *)a, (const char *)b);
		}
		xmlFree(a);
		xmlFree(b);
	}
	xmlFreeTextReader(r);
	return result;
}

/* The events of a CSV events export: its first len bytes (the head line
 * excluded). Fields 0 (seq) and 7 (hash) of each record (of 9) are kept. */
static int compare_csv(struct compare *c, const char *path, int64_t len)
{
	FILE *f = fopen(path, "rbe");
	if (!f)
		return 0;
	char header[sizeof CSV_EVENTS_HEADER];
	size_t hl = sizeof header - 1;
	if (len < (int64_t)hl || fread(header, 1, hl, f) != hl || memcmp(header, CSV_EVENTS_HEADER, hl) != 0) {
		fclose(f);
		return 0; /* requests or runs: no events listed */
	}
	len -= (int64_t)hl;
	char seq[32] = "", hash[AUDIT_HASH_HEX] = "";
	size_t seq_len = 0, hash_len = 0;
	int field = 0, quoted = 0, pending_quote = 0, result = 0, ch;
	while (result == 0 && len-- > 0 && (ch = getc(f)) != EOF) {
		if (quoted) {
			if (pending_quote) {
				pending_quote = 0;
				if (ch == '"')
					goto keep; /* a doubled quote */
				quoted = 0; /* the closing quote: ch is read as unquoted below */
			} else if (ch == '"') {
				pending_quote = 1;
				continue;
			} else {
				goto keep;
			}
		}
		if (ch == '"') {
			quoted = 1;
			continue;
		}
		if (ch == ',') {
			field++;
			continue;
		}
		if (ch == '\r')
			continue;
		if (ch == '\n') {
			seq[seq_len] = '\0';
			hash[hash_len] = '\0';
			if (field == 8) /* seq .. hash, dry_run */
				result = compare_event(c, seq, hash);
			field = 0;
			seq_len = hash_len = 0;
			continue;
		}
keep:
		if (field == 0 && seq_len < sizeof seq - 1)
			seq[seq_len++] = (char)ch;
		else if (field == 7 && hash_len < sizeof hash - 1)
			hash[hash_len++] = (char)ch;
	}
	fclose(f);
	return result;
}

int anchor_compare_events(sqlite3 *db, const char *path, const struct anchor *a, int64_t *bad_seq, char *why,
			  size_t whylen)
{
	struct compare c = { NULL, 0, 0, why, whylen };
	*bad_seq = 0;
	if (strcmp(a->format, "xml") != 0 && strcmp(a->format, "csv") != 0)
		return 0;
	c.st = db_prepare(db, "SELECT hash FROM audit_events WHERE seq = ?");
	if (!c.st)
		return -1;
	int rc = strcmp(a->format, "xml") == 0 ? compare_xml(&c, path) : compare_csv(&c, path, a->body_len);
	sqlite3_finalize(c.st);
	if (rc == 1)
		*bad_seq = c.bad_seq;
	return rc;
}
