/*
 * crosschq_store.h - the Crosschq side of the mirror (cq_requests,
 * cq_prospects): requests as Crosschq shows them, what refsync created or
 * adopted, and which open requests are due to be read again.
 *
 * Crosschq's Request carries no id of ours, so the link between a request
 * and the stage entry that started it (external_id = the outbox key,
 * opportunity_id) is written only by refsync: when the create answered, when
 * a create in doubt is adopted from evidence, or by `refsync resolve`.
 * Storing what Crosschq says never overwrites that link.
 *
 * Each function runs inside the caller's write transaction and returns 0,
 * or -1 on a database error, unless said otherwise.
 */
#ifndef REFSYNC_CROSSCHQ_STORE_H
#define REFSYNC_CROSSCHQ_STORE_H

#include "crosschq.h"

#include <sqlite3.h>
#include <stdint.h>

/* Upsert a Request as Crosschq showed it at checked_at (an older update than
 * the one stored is ignored). Personal fields are not kept for a candidate
 * deleted or anonymized in Lever. */
int cq_store_request(sqlite3 *db, const struct cq_request *r, int64_t checked_at);

/*
 * Link request_id to the create keyed key (lever:<opportunity>:<ms>): the
 * request is ours. email and position (may be NULL) are the create's
 * candidate email and job position (kept when the row is new).
 * created_at: when it was made.
 */
int cq_store_link(sqlite3 *db, const char *request_id, const char *key, const char *email, const char *position,
		  int64_t created_at);

/* A read answered 404: the request no longer exists in Crosschq. */
int cq_store_gone(sqlite3 *db, int64_t run_id, const char *request_id, int64_t at);

/* What refsync itself changed: hired (source "ats" or "owner_answer"), cancelled. */
int cq_store_hired(sqlite3 *db, const char *request_id, int hired, const char *source, int64_t at);
int cq_store_cancelled(sqlite3 *db, const char *request_id, int64_t at);

int cq_store_prospect(sqlite3 *db, const struct cq_prospect *p);

/* The request already linked to key (its answer was recorded, the outcome
 * was not): 1 with its id, 0 none, -1 error. */
int cq_find_linked(sqlite3 *db, const char *key, char *id, size_t id_len);

/*
 * Evidence for a create in doubt: a request not linked to any create, for
 * the same candidate email (case-insensitive) and job position, created at
 * or after since. Returns 1 with its id, 0 when none, -1 on error.
 */
int cq_find_evidence(sqlite3 *db, const char *email, const char *job_position, int64_t since, char *id,
		     size_t id_len);

/*
 * The ids of our requests due to be read again (open ones, and completed
 * ones not hired when with_hired), not checked since before `due`, oldest
 * check first, at most limit. *ids is malloc'd (ID strings, each malloc'd);
 * free with cq_ids_free. Returns the count, or -1.
 */
int cq_due_for_read(sqlite3 *db, int64_t due, int with_hired, int limit, char ***ids);
void cq_ids_free(char **ids, int n);

#endif
