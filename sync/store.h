/*
 * store.h - writes pulled Lever objects into the mirror tables (crosschq_store.h
 * holds the Crosschq side).
 * Every function must be called inside a write transaction (pull.c opens
 * one per page). Statements are prepared once per run and reused.
 */
#ifndef REFSYNC_STORE_H
#define REFSYNC_STORE_H

#include "lever_parse.h"

#include <sqlite3.h>
#include <stdint.h>

enum store_stmt {
	ST_OPP_UPSERT, ST_OPP_TAGS_DELETE, ST_TAG_INSERT, ST_ENTRY_INSERT, ST_USER_UPSERT,
	ST_USER_UPSERT_KEEP, ST_POSTING_UPSERT, ST_POSTING_TAGS_DELETE, ST_STAGE_UPSERT, ST_REASON_UPSERT,
	ST_ERASE_OPP, ST_DELETED_STUB, ST_OPP_IS_PRIVATE, ST_DIRTY, ST_HELD_RECHECK, ST_HAS_REQUEST, ST_OPP_SEQ,
	/* store_erase.c's, with their text there */
	ST_ERASE_REQUESTS, ST_ERASE_PROSPECTS, ST_COUNT
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
/* Statement id of s, prepared from text on first use and kept until
 * store_free (reset it after use). NULL on error. */
sqlite3_stmt *store_prepared(struct store *s, enum store_stmt id, const char *text);

/* Each returns 0, or -1 on a database error (logged). */
int store_opportunity(struct store *s, const struct lever_opportunity *o);
/* From an answer that is not expanded (the archive call's): only whether and
 * why it is archived, and updatedAt; owner, posting and stage are kept. */
int store_opportunity_archived(struct store *s, const struct lever_opportunity *o);
int store_deleted_opportunity(struct store *s, const char *id, int64_t deleted_at);
int store_posting(struct store *s, const struct lever_posting *p);
int store_stage(struct store *s, const struct lever_simple *stage);
int store_archive_reason(struct store *s, const struct lever_simple *reason);
int store_user(struct store *s, const struct lever_simple *user);

/*
 * Privacy erasure (store_erase.c) of an opportunity deleted or anonymized in
 * Lever: the candidate's name and email on its requests, the personal
 * fields of the prospects that became it, and the payloads of every action
 * about it or about those prospects (ids kept, "erased": true); actions not
 * done yet are settled as failed "not sent" and audited. 0 or -1.
 */
int store_erase_actions(struct store *s, const char *opportunity_id);

/* 1 when the prospect became an opportunity since deleted or anonymized in
 * Lever, 0 when not, -1 on a database error. */
int store_prospect_is_private(sqlite3 *db, const char *prospect_id, const char *ats_id);

/*
 * Parse "lever:<opportunity>:<ms>" into its parts. Returns 0, or -1 when
 * external_id is not one of ours. opportunity must hold ID_MAX bytes.
 */
int store_parse_external_id(const char *external_id, char *opportunity, int64_t *entered_at);

#endif
