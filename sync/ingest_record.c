/*
 * ingest_record.c - reading one spool file (ingest.h): pure, so that it can
 * be fuzzed without a database or a network.
 */
#include "ingest.h"
#include "json_read.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* See ingest.h. */
void ingest_parse_record(const char *data, size_t len, struct ingest_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->kind = INGEST_DAMAGED;
	char *text = xstrndup(data, len);
	yajl_val v = yajl_tree_parse(text, NULL, 0);
	free(text);
	const char *type = v ? json_string(v, "type") : NULL;
	if (type && strcmp(type, "webhook") == 0) {
		const char *id = json_string(v, "opportunity_id");
		if (!str_empty(id)) {
			rec->kind = INGEST_WEBHOOK;
			rec->id = xstrdup(id);
		}
	} else if (type && strcmp(type, "answer") == 0) {
		const char *id = json_string(v, "request_id");
		const char *path[] = { "hired", NULL };
		const char *at_path[] = { "answered_at", NULL };
		yajl_val hired = yajl_tree_get(v, path, yajl_t_any);
		yajl_val at = yajl_tree_get(v, at_path, yajl_t_number);
		if (!str_empty(id)) {
			rec->kind = INGEST_ANSWER;
			rec->id = xstrdup(id);
			rec->hired = hired && YAJL_IS_TRUE(hired);
			rec->answered_at = at && YAJL_IS_INTEGER(at) && YAJL_GET_INTEGER(at) > 0 ? YAJL_GET_INTEGER(at) : 0;
		}
	} else if (type && strcmp(type, "crosschq") == 0) {
		const char *path[] = { "request", NULL };
		yajl_val req = yajl_tree_get(v, path, yajl_t_object);
		yajl_val id = req ? yajl_tree_get(req, (const char *[]){ "id", NULL }, yajl_t_any) : NULL;
		if (id && (YAJL_IS_STRING(id) || YAJL_IS_INTEGER(id))) {
			rec->kind = INGEST_CROSSCHQ;
			rec->tree = v;
			rec->request = req;
			return;
		}
	}
	yajl_tree_free(v);
}

/* See ingest.h. */
void ingest_record_free(struct ingest_record *rec)
{
	free(rec->id);
	rec->id = NULL;
	yajl_tree_free(rec->tree);
	rec->tree = rec->request = NULL;
}
