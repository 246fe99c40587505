/*
 * store.h - writes pulled Lever and Crosschq objects into the mirror tables.
 * Every function must be called inside a write transaction (pull.c opens
 * one per page). Statements are prepared once per run and reused.
 */
#ifndef REFSYNC_STORE_H
#define REFSYNC_STORE_H

#include "records.h"

#include <sqlite3.h>
#include <stdint.h>

enum store_stmt {
	ST_OPP_UPSERT, ST_OPP_TAGS_DELETE, ST_TAG_INSERT, ST_ENTRY_INSERT, ST_USER_UPSERT,
	ST_USER_UPSERT_KEEP, ST_POSTING_UPSERT, ST_POSTING_TAGS_DELETE, ST_STAGE_UPSERT, ST_REASON_UPSERT,
	ST_ERASE_OPP, ST_ERASE_REQUESTS, ST_DELETED_STUB, ST_TEMPLATE_UPSERT, ST_REQUEST_UPSERT,
	ST_PROSPECT_UPSERT, ST_OPP_IS_PRIVATE, ST_ERASE_OUTBOX, ST_DIRTY, ST_HELD_RECHECK, ST_HAS_REQUEST, ST_COUNT
};

struct store {
	sqlite3 *db;
	int64_t run_id;
	sqlite3_stmt *st[ST_COUNT];
	/* the trigger stage decide last used (settings decide.trigger_stage),
	 * read on first use: an opportunity stored with an entry into it is
	 * marked for decide (decide_dirty) */
	int trigger_loaded;
	char trigger_stage[64];
};

void store_init(struct store *s, sqlite3 *db, int64_t run_id);
void store_free(struct store *s);

/* Each returns 0, or -1 on a database error (logged). */
int store_opportunity(struct store *s, const struct lever_opportunity *o);
int store_deleted_opportunity(struct store *s, const char *id, int64_t deleted_at);
int store_posting(struct store *s, const struct lever_posting *p);
int store_stage(struct store *s, const struct lever_simple *stage);
int store_archive_reason(struct store *s, const struct lever_simple *reason);
int store_user(struct store *s, const struct lever_simple *user);
int store_template(struct store *s, const struct cq_template *t, int64_t seen_at);
int store_request(struct store *s, const struct cq_request *r);
int store_prospect(struct store *s, const struct cq_prospect *p);

/*
 * Parse "lever:<opportunity>:<ms>" into its parts. Returns 0, or -1 when
 * external_id is not one of ours. opportunity must hold ID_MAX bytes.
 */
int store_parse_external_id(const char *external_id, char *opportunity, int64_t *entered_at);

#endif
