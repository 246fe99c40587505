/*
 * outbox.c - the outbox table: every write to it (see outbox.h).
 */
#include "outbox.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void outbox_action_free(struct action *a)
{
	free(a->key);
	free(a->kind);
	free(a->subject);
	free(a->payload);
}

/* Insert a row in state (planned or skipped, last_error why) unless its key exists. 1, 0 or -1. */
static int insert_row(sqlite3 *db, const char *key, const char *kind, const char *subject, const char *payload,
		      const char *reason, const char *state, const char *why)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO outbox(key, kind, subject, payload, reason, state, last_error, created_at, updated_at) "
		"VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?8) ON CONFLICT(key) DO NOTHING");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, state, -1, SQLITE_STATIC);
	db_bind_text(st, 7, why);
	sqlite3_bind_int64(st, 8, now_ms());
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(db) > 0;
}

/* Insert a row planned (why NULL) or skipped (why), audited. 1, 0 (the key existed) or -1. */
static int insert_audited(sqlite3 *db, int64_t run_id, const char *key, const char *kind, const char *subject,
			  const char *payload, const char *reason, const char *why)
{
	int r = insert_row(db, key, kind, subject, payload, reason, why ? "skipped" : "planned", why);
	if (r <= 0)
		return r;
	int rc = why ? audit_appendf(db, run_id, "action.skipped", subject, "%s key=%s: not sent: %s", kind, key, why)
		     : audit_appendf(db, run_id, "action.planned", subject, "%s key=%s: %s", kind, key, reason);
	return rc ? -1 : 1;
}

int outbox_plan(sqlite3 *db, int64_t run_id, const char *key, const char *kind, const char *subject,
		const char *payload, const char *reason)
{
	return insert_audited(db, run_id, key, kind, subject, payload, reason, NULL);
}

int outbox_skip(sqlite3 *db, int64_t run_id, const char *key, const char *kind, const char *subject,
		const char *payload, const char *reason, const char *why)
{
	return insert_audited(db, run_id, key, kind, subject, payload, reason, why);
}

/* Fill a from the columns id, key, kind, subject, payload, attempts of st. */
static void action_of_row(sqlite3_stmt *st, struct action *a)
{
	a->id = sqlite3_column_int64(st, 0);
	a->key = db_column_strdup(st, 1);
	a->kind = db_column_strdup(st, 2);
	a->subject = db_column_strdup(st, 3);
	a->payload = db_column_strdup(st, 4);
	a->attempts = sqlite3_column_int(st, 5);
}

int outbox_load(sqlite3 *db, const char *state, int64_t now, struct action **out, size_t *n_out)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, key, kind, subject, payload, attempts FROM outbox "
					  "WHERE state = ? AND next_attempt_at <= ? ORDER BY id");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	size_t n = 0, cap = 0;
	struct action *list = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			list = xrealloc(list, cap * sizeof *list);
		}
		action_of_row(st, &list[n++]);
	}
	sqlite3_finalize(st);
	*out = list;
	*n_out = n;
	return rc == SQLITE_DONE ? 0 : -1;
}

int outbox_load_key(sqlite3 *db, const char *key, const char *state, struct action *a)
{
	memset(a, 0, sizeof *a);
	sqlite3_stmt *st = db_prepare(db, "SELECT id, key, kind, subject, payload, attempts FROM outbox "
					  "WHERE key = ? AND state = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		action_of_row(st, a);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int outbox_claim(sqlite3 *db, int64_t id)
{
	if (db_begin(db))
		return -2;
	sqlite3_stmt *st = db_prepare(db, "UPDATE outbox SET state = 'sending', attempts = attempts + 1, "
					  "updated_at = ?1, send_started_at = ?1 WHERE id = ?2 AND state = 'planned'");
	int ok = st != NULL;
	if (st) {
		sqlite3_bind_int64(st, 1, now_ms());
		sqlite3_bind_int64(st, 2, id);
		ok = db_step_done(st) == SQLITE_DONE && sqlite3_changes(db) == 1;
		sqlite3_finalize(st);
	}
	if (!ok || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

/* The audit event of a row moved to state (found: found_how says where). 0 or -1. */
static int audit_outcome(sqlite3 *db, int64_t run_id, const struct action *a, const char *state, const char *result,
			 const char *error, const char *found_how)
{
	if (found_how)
		return audit_appendf(db, run_id, "action.found", a->subject, "%s key=%s: %s: %s", a->kind, a->key,
				     found_how, result ? result : "");
	if (strcmp(state, "skipped") == 0)
		return audit_appendf(db, run_id, "action.skipped", a->subject, "%s key=%s: not sent: %s", a->kind,
				     a->key, error ? error : "");
	if (strcmp(state, "done") == 0)
		return audit_appendf(db, run_id, "action.done", a->subject, "%s key=%s result=%s", a->kind, a->key,
				     result ? result : "");
	if (strcmp(state, "failed") == 0)
		return audit_appendf(db, run_id, "action.failed", a->subject, "%s key=%s: %s", a->kind, a->key,
				     error ? error : "");
	if (strcmp(state, "planned") == 0 && error)
		return audit_appendf(db, run_id, "action.retry", a->subject, "%s key=%s: %s", a->kind, a->key, error);
	if (strcmp(state, "sending") == 0)
		return audit_appendf(db, run_id, "action.in_doubt", a->subject, "%s key=%s: %s", a->kind, a->key,
				     error ? error : "");
	return 0;
}

/* Move a row to state with its outcome and audit it, in one transaction
 * (found_how set: 'done' with found_at). 0 or -1. */
static int update_row(sqlite3 *db, int64_t run_id, const struct action *a, const char *state, const char *result,
		      const char *error, int64_t next_attempt_at, const char *found_how)
{
	if (db_begin(db))
		return -1;
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE outbox SET state = ?2, result = COALESCE(?3, result), last_error = ?4, "
		"next_attempt_at = ?5, updated_at = ?6, found_at = CASE WHEN ?7 THEN ?6 ELSE found_at END WHERE id = ?1");
	if (!st) {
		db_rollback(db);
		return -1;
	}
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	db_bind_text(st, 3, result);
	db_bind_text(st, 4, error);
	sqlite3_bind_int64(st, 5, next_attempt_at);
	sqlite3_bind_int64(st, 6, now_ms());
	sqlite3_bind_int(st, 7, found_how != NULL);
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || audit_outcome(db, run_id, a, state, result, error, found_how) || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return 0;
}

int outbox_record(sqlite3 *db, int64_t run_id, const struct action *a, const char *state, const char *result,
		  const char *error, int64_t next_attempt_at)
{
	return update_row(db, run_id, a, state, result, error, next_attempt_at, NULL);
}

int outbox_record_found(sqlite3 *db, int64_t run_id, const struct action *a, const char *how, const char *result)
{
	return update_row(db, run_id, a, "done", result, NULL, 0, how);
}

int outbox_requeue_failed(sqlite3 *db, char *const *keys, int n_keys, int *unknown)
{
	*unknown = 0;
	if (db_begin(db))
		return -1;
	/* an action settled by privacy erasure is never sent: not retried either */
#define REQUEUE_COLS "SELECT id, key, kind, subject, CASE WHEN json_valid(payload) THEN " \
		     "json_extract(payload, '$.erased') END IS 1 FROM outbox WHERE state = 'failed' "
	/* --failed leaves the dismissed alone; named by its key, one is sent after all */
	sqlite3_stmt *sel = db_prepare(db, n_keys ? REQUEUE_COLS "AND key = ?"
						  : REQUEUE_COLS "AND dismissed_at IS NULL ORDER BY id");
#undef REQUEUE_COLS
	sqlite3_stmt *upd = db_prepare(db, "UPDATE outbox SET state = 'planned', next_attempt_at = 0, updated_at = ?, "
					   "dismissed_at = NULL WHERE id = ?");
	int count = 0, ok = sel && upd;
	/* a key that names no failed action: say so, and put nothing back */
	for (int i = 0; ok && i < n_keys; i++) {
		sqlite3_bind_text(sel, 1, keys[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(sel);
		if (rc == SQLITE_ROW && sqlite3_column_int(sel, 4)) {
			fprintf(stderr, "refsync: %s is not retried: the candidate was deleted or anonymized in "
				"Lever and its data erased; it is never sent\n", keys[i]);
			(*unknown)++;
		} else if (rc == SQLITE_DONE) {
			fprintf(stderr, "refsync: no failed action has the key %s (refsync status lists the failed "
				"actions)\n", keys[i]);
			(*unknown)++;
		} else if (rc != SQLITE_ROW) {
			ok = 0;
		}
		sqlite3_reset(sel);
	}
	if (ok && *unknown) {
		sqlite3_finalize(sel);
		sqlite3_finalize(upd);
		db_rollback(db);
		return 0;
	}
	for (int i = 0; ok && i < (n_keys ? n_keys : 1); i++) {
		if (n_keys)
			sqlite3_bind_text(sel, 1, keys[i], -1, SQLITE_STATIC);
		int found = 0;
		while (ok && sqlite3_step(sel) == SQLITE_ROW) {
			found = 1;
			if (sqlite3_column_int(sel, 4)) {
				fprintf(stderr, "refsync: %s is not retried: the candidate was deleted or anonymized in "
					"Lever and its data erased; it is never sent\n", sqlite3_column_text(sel, 1));
				if (n_keys)
					(*unknown)++;
				continue;
			}
			sqlite3_bind_int64(upd, 1, now_ms());
			sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
			ok = db_step_done(upd) == SQLITE_DONE &&
			     audit_appendf(db, 0, "action.requeued", (const char *)sqlite3_column_text(sel, 3),
					   "%s key=%s: put back to planned by refsync retry",
					   sqlite3_column_text(sel, 2), sqlite3_column_text(sel, 1)) == 0;
			if (ok) {
				printf("requeued %s %s\n", sqlite3_column_text(sel, 2), sqlite3_column_text(sel, 1));
				count++;
			}
		}
		if (n_keys && !found) {
			fprintf(stderr, "refsync: no failed action has the key %s\n", keys[i]);
			(*unknown)++;
		}
		sqlite3_reset(sel);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	if (!ok || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return count;
}

int outbox_dismiss_failed(sqlite3 *db, int64_t run_id, const char *key)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, kind, subject, dismissed_at IS NOT NULL FROM outbox "
					  "WHERE key = ? AND state = 'failed'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 0 : -1;
	}
	int64_t id = sqlite3_column_int64(st, 0);
	char kind[64], subject[256];
	snprintf(kind, sizeof kind, "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(subject, sizeof subject, "%s", (const char *)sqlite3_column_text(st, 2));
	int already = sqlite3_column_int(st, 3);
	sqlite3_finalize(st);
	if (already)
		return 2;
	if (db_begin(db))
		return -2;
	st = db_prepare(db, "UPDATE outbox SET dismissed_at = ?1, updated_at = ?1 WHERE id = ?2");
	int ok = st != NULL;
	if (st) {
		sqlite3_bind_int64(st, 1, now_ms());
		sqlite3_bind_int64(st, 2, id);
		ok = db_step_done(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	ok = ok && audit_appendf(db, run_id, "action.dismissed", subject,
				 "%s key=%s: dismissed by an operator: failed for good, never sent", kind, key) == 0;
	if (!ok || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	return 1;
}

int64_t outbox_send_started(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT COALESCE(send_started_at, created_at) FROM outbox WHERE id = ?");
	int64_t t = 0;
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			t = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return t;
}

/* 1 when the payload already went through erasure. */
#define ERASED_MARK "(json_valid(payload) AND json_extract(payload, '$.erased') IS 1)"

/* The ids an erased payload keeps; everything else (names, emails, phones,
 * job titles, tags, links, report URLs, mail addresses) goes. */
#define ERASED_PAYLOAD \
	"json_set(CASE WHEN json_valid(payload) AND json_type(payload) = 'object' THEN " \
	"(SELECT json_group_object(key, value) FROM json_each(outbox.payload) WHERE key IN " \
	"('opportunity_id', 'request_id', 'reason_id', 'prospect_id', 'ats_id', 'external_id', " \
	"'template_id', 'hired', 'hired_at', 'source')) ELSE '{}' END, '$.erased', json('true'))"

#define NOT_SENT "not sent: the candidate was deleted or anonymized in Lever (personal data erased)"
#define NOT_RESOLVED \
	"not sent again: the candidate was deleted or anonymized in Lever while this action was in doubt " \
	"(personal data erased; it was not looked up)"

/* One row settled by the erasure, for its audit event. */
struct settled {
	char *key, *kind, *subject, *error;
};

/* Audit each settled row as failed (the trail shows why nothing was sent); frees the rows' strings. */
static int audit_settled(sqlite3 *db, int64_t run_id, struct settled *rows, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && rows[i].error)
			rc = audit_appendf(db, run_id, "action.failed", rows[i].subject, "%s key=%s: %s", rows[i].kind,
					   rows[i].key, rows[i].error);
		free(rows[i].key);
		free(rows[i].kind);
		free(rows[i].subject);
		free(rows[i].error);
	}
	return rc;
}

int outbox_erase(sqlite3 *db, int64_t run_id, const char *opportunity_id, int *changed)
{
	*changed = 0;
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE outbox SET payload = " ERASED_PAYLOAD ", "
		"last_error = CASE state WHEN 'done' THEN last_error WHEN 'skipped' THEN last_error "
		"WHEN 'sending' THEN '" NOT_RESOLVED "' ELSE '" NOT_SENT "' END, "
		"state = CASE state WHEN 'done' THEN 'done' WHEN 'skipped' THEN 'skipped' ELSE 'failed' END, "
		"next_attempt_at = 0, updated_at = ?2 "
		"WHERE subject IN " OUTBOX_ERASE_SUBJECTS_SQL " AND (NOT " ERASED_MARK " OR state IN ('planned', 'sending')) "
		"RETURNING key, kind, subject, CASE state WHEN 'failed' THEN last_error END");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, opportunity_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms());
	struct settled *rows = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			rows = xrealloc(rows, cap * sizeof *rows);
		}
		rows[n++] = (struct settled){ db_column_strdup(st, 0), db_column_strdup(st, 1),
					      db_column_strdup(st, 2), db_column_strdup(st, 3) };
	}
	if (rc != SQLITE_DONE)
		log_err("database: erasing the actions of opportunity %s: %s", opportunity_id, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	*changed = (int)n;
	int audited = audit_settled(db, run_id, rows, n);
	free(rows);
	return rc == SQLITE_DONE && audited == 0 ? 0 : -1;
}
