/*
 * crosschq_store.c - writes the Crosschq side of the mirror (see
 * crosschq_store.h for what is whose).
 */
#include "crosschq_store.h"
#include "audit.h"
#include "db.h"
#include "lever_parse.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kept out of the row when the candidate is deleted or anonymized in Lever. */
#define PRIVATE_OPP                                                                                          \
	"EXISTS (SELECT 1 FROM lever_opportunities o WHERE o.id = cq_requests.opportunity_id AND "         \
	"(o.deleted_at IS NOT NULL OR o.anonymized = 1))"

/* Bind v, or NULL when it is NULL or empty (Crosschq sends "" for nothing). */
static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	db_bind_text(st, i, v && *v ? v : NULL);
}

/* Bind a time, or NULL when it is 0 (absent). */
static void bind_ms_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	db_bind_int64_or_null(st, i, v, v <= 0);
}

/* Mark the opportunity of request_id for the next decide (decide_dirty), when
 * the request is linked to one. 0 or -1. */
static int mark_opportunity(sqlite3 *db, const char *request_id)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT OR IGNORE INTO decide_dirty(opportunity_id) SELECT opportunity_id "
					  "FROM cq_requests WHERE id = ? AND opportunity_id IS NOT NULL");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, request_id, -1, SQLITE_TRANSIENT);
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* What the rules read of a request, as one text (to tell whether a read changed it). */
static char *rule_facts(sqlite3 *db, const char *request_id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT status || '|' || COALESCE(hired, '') || '|' || COALESCE(report_url, "
					  "'') || '|' || COALESCE(completed_at, '') FROM cq_requests WHERE id = ?");
	char *facts = NULL;
	if (st) {
		sqlite3_bind_text(st, 1, request_id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			facts = db_column_strdup(st, 0);
		sqlite3_finalize(st);
	}
	return facts;
}

static int step_done(sqlite3_stmt *st)
{
	int rc = st ? db_step_done(st) : SQLITE_ERROR;
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int cq_store_request(sqlite3 *db, const struct cq_request *r, int64_t checked_at)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO cq_requests(id, status, status_word, progress, candidate_name, candidate_email, "
		"job_position, created_at, updated_at, status_updated_at, completed_at, report_url, hired, hired_at, "
		"hired_source, checked_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10, "
		"CASE WHEN ?2 = 'completed' THEN ?11 END, ?12, ?13, CASE WHEN ?13 = 1 THEN ?14 END, "
		"CASE WHEN ?13 = 1 THEN 'crosschq' END, ?15) "
		"ON CONFLICT(id) DO UPDATE SET status = excluded.status, status_word = excluded.status_word, "
		"progress = COALESCE(excluded.progress, progress), "
		"candidate_name = CASE WHEN " PRIVATE_OPP " THEN NULL ELSE COALESCE(excluded.candidate_name, "
		"candidate_name) END, "
		"candidate_email = CASE WHEN " PRIVATE_OPP " THEN NULL ELSE COALESCE(excluded.candidate_email, "
		"candidate_email) END, "
		"job_position = COALESCE(excluded.job_position, job_position), "
		"created_at = COALESCE(excluded.created_at, created_at), "
		"updated_at = COALESCE(excluded.updated_at, updated_at), "
		"status_updated_at = COALESCE(excluded.status_updated_at, status_updated_at), "
		"completed_at = CASE WHEN excluded.status = 'completed' THEN COALESCE(completed_at, ?11) "
		"ELSE completed_at END, "
		"report_url = COALESCE(excluded.report_url, report_url), "
		"hired_at = CASE WHEN ?13 = 1 AND COALESCE(hired, 0) = 0 THEN ?14 "
		"WHEN ?13 = 0 AND hired = 1 THEN NULL ELSE hired_at END, "
		"hired_source = CASE WHEN ?13 = 1 AND COALESCE(hired, 0) = 0 THEN 'crosschq' "
		"WHEN ?13 = 0 AND hired = 1 THEN NULL ELSE hired_source END, "
		"hired = COALESCE(?13, hired), "
		"checked_at = max(COALESCE(checked_at, 0), excluded.checked_at) "
		"WHERE excluded.updated_at IS NULL OR cq_requests.updated_at IS NULL OR "
		"excluded.updated_at >= cq_requests.updated_at");
	if (!st)
		return -1;
	char name[1024];
	snprintf(name, sizeof name, "%s%s%s", r->first_name ? r->first_name : "",
		 r->first_name && *r->first_name && r->last_name && *r->last_name ? " " : "",
		 r->last_name ? r->last_name : "");
	int64_t changed_at = r->status_updated_at ? r->status_updated_at : r->updated_at ? r->updated_at : checked_at;
	sqlite3_bind_text(st, 1, r->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, crosschq_state_name(r->state), -1, SQLITE_STATIC);
	bind_text_or_null(st, 3, r->status_word);
	if (r->progress >= 0)
		sqlite3_bind_int(st, 4, r->progress);
	bind_text_or_null(st, 5, name);
	bind_text_or_null(st, 6, r->email);
	bind_text_or_null(st, 7, r->job_position);
	bind_ms_or_null(st, 8, r->created_at);
	bind_ms_or_null(st, 9, r->updated_at);
	bind_ms_or_null(st, 10, r->status_updated_at);
	sqlite3_bind_int64(st, 11, changed_at);
	bind_text_or_null(st, 12, r->report_url);
	if (r->hired >= 0)
		sqlite3_bind_int(st, 13, r->hired);
	sqlite3_bind_int64(st, 14, r->updated_at ? r->updated_at : checked_at);
	sqlite3_bind_int64(st, 15, checked_at);
	char *before = rule_facts(db, r->id);
	if (step_done(st)) {
		free(before);
		return -1;
	}
	/* a request read again unchanged leaves deciding nothing to look at */
	char *after = rule_facts(db, r->id);
	int changed = !before || !after || strcmp(before, after) != 0;
	free(before);
	free(after);
	return changed ? mark_opportunity(db, r->id) : 0;
}

int cq_store_link(sqlite3 *db, const char *request_id, const char *key, const char *email, const char *position,
		  int64_t created_at)
{
	char opportunity[ID_MAX] = "";
	int64_t entered = 0;
	if (store_parse_external_id(key, opportunity, &entered))
		opportunity[0] = '\0';
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO cq_requests(id, external_id, opportunity_id, template_id, status, candidate_email, "
		"job_position, created_at, checked_at) VALUES (?1, ?2, ?3, (SELECT template_id FROM triggers WHERE "
		"opportunity_id = ?3 AND entered_at = ?4), 'open', ?5, ?6, ?7, 0) "
		"ON CONFLICT(id) DO UPDATE SET external_id = excluded.external_id, "
		"opportunity_id = excluded.opportunity_id, template_id = COALESCE(excluded.template_id, template_id)");
	if (st) {
		sqlite3_bind_text(st, 1, request_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
		bind_text_or_null(st, 3, opportunity);
		sqlite3_bind_int64(st, 4, entered);
		bind_text_or_null(st, 5, email);
		bind_text_or_null(st, 6, position);
		bind_ms_or_null(st, 7, created_at);
	}
	return step_done(st) || mark_opportunity(db, request_id);
}

int cq_store_gone(sqlite3 *db, int64_t run_id, const char *request_id, int64_t at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE cq_requests SET status = 'gone', checked_at = ?2 WHERE id = ?1 "
					  "AND status <> 'gone'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, request_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, at);
	if (step_done(st))
		return -1;
	if (sqlite3_changes(db) == 0)
		return 0;
	if (mark_opportunity(db, request_id))
		return -1;
	char subject[ID_MAX + 16];
	snprintf(subject, sizeof subject, "request:%s", request_id);
	return audit_append(db, run_id, "request.gone", subject,
			    "Crosschq answers 404 for this request: it was deleted there; nothing more is done for it");
}

int cq_store_hired(sqlite3 *db, const char *request_id, int hired, const char *source, int64_t at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE cq_requests SET hired = ?2, hired_at = CASE WHEN ?2 = 1 THEN ?3 END, "
					  "hired_source = ?4 WHERE id = ?1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, request_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, hired);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_text(st, 4, source, -1, SQLITE_TRANSIENT);
	return step_done(st) || mark_opportunity(db, request_id);
}

int cq_store_cancelled(sqlite3 *db, const char *request_id, int64_t at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE cq_requests SET status = 'cancelled', checked_at = ?2 "
					  "WHERE id = ?1 AND status = 'open'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, request_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, at);
	return step_done(st) || mark_opportunity(db, request_id);
}

int cq_store_prospect(sqlite3 *db, const struct cq_prospect *p)
{
	/* a prospect that became a candidate since deleted or anonymized in
	 * Lever keeps no personal data here, whatever Crosschq still holds */
	int private = store_prospect_is_private(db, p->id, p->ats_id);
	if (private < 0)
		return -1;
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO cq_prospects(id, first_name, last_name, email, phone, job_title, tags, source, "
		"created_at, updated_at, ats_id) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
		"ON CONFLICT(id) DO UPDATE SET first_name=excluded.first_name, last_name=excluded.last_name, "
		"email=excluded.email, phone=excluded.phone, job_title=excluded.job_title, tags=excluded.tags, "
		"source=excluded.source, created_at=COALESCE(excluded.created_at, created_at), "
		"updated_at=excluded.updated_at, ats_id=COALESCE(excluded.ats_id, ats_id)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_TRANSIENT);
	bind_text_or_null(st, 2, private ? NULL : p->first_name);
	bind_text_or_null(st, 3, private ? NULL : p->last_name);
	bind_text_or_null(st, 4, private ? NULL : p->email);
	bind_text_or_null(st, 5, private ? NULL : p->phone);
	bind_text_or_null(st, 6, private ? NULL : p->job_title);
	bind_text_or_null(st, 7, private ? NULL : p->tags);
	bind_text_or_null(st, 8, p->source);
	bind_ms_or_null(st, 9, p->created_at);
	bind_ms_or_null(st, 10, p->updated_at);
	bind_text_or_null(st, 11, p->ats_id);
	return step_done(st);
}

int cq_find_linked(sqlite3 *db, const char *key, char *id, size_t id_len)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM cq_requests WHERE external_id = ? ORDER BY id LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(id, id_len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int cq_find_evidence(sqlite3 *db, const char *email, const char *job_position, int64_t since, char *id,
		     size_t id_len)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT id FROM cq_requests WHERE lower(candidate_email) = lower(trim(?1)) AND external_id IS NULL "
		"AND COALESCE(job_position, '') = ?2 AND created_at >= ?3 ORDER BY created_at, id LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, job_position, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	int rc = sqlite3_step(st);
	int found = rc == SQLITE_ROW;
	if (found)
		snprintf(id, id_len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return found ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Append to *ids (*n of them) the ids that sql (bound: ?1 due, ?2 limit) yields. 0 or -1. */
static int collect_ids(sqlite3 *db, const char *sql, int64_t due, int limit, char ***ids, int *n)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, due);
	sqlite3_bind_int(st, 2, limit);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = xrealloc(*ids, (size_t)(*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = db_column_strdup(st, 0);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int cq_due_for_read(sqlite3 *db, int64_t due, int with_hired, int limit, char ***ids)
{
	/* through the partial index cq_requests_poll: a quiet run reads a few rows, not the table */
	*ids = NULL;
	int n = 0;
	int rc = collect_ids(db, "SELECT id FROM cq_requests WHERE status = 'open' AND external_id IS NOT NULL "
				 "AND checked_at <= ?1 ORDER BY checked_at, id LIMIT ?2", due, limit, ids, &n);
	if (rc == 0 && with_hired && n < limit)
		rc = collect_ids(db, "SELECT id FROM cq_requests WHERE status = 'completed' AND external_id IS NOT NULL "
				     "AND checked_at <= ?1 AND COALESCE(hired, 0) = 0 ORDER BY checked_at, id LIMIT ?2",
				 due, limit - n, ids, &n);
	if (rc) {
		cq_ids_free(*ids, n);
		*ids = NULL;
		return -1;
	}
	return n;
}

void cq_ids_free(char **ids, int n)
{
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
