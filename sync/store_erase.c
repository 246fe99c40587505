/*
 * store_erase.c - privacy erasure of a candidate deleted or anonymized in
 * Lever: personal data leaves the mirror, the stored requests and every
 * stored action about the candidate, including the actions of a Crosschq
 * prospect that became this opportunity.
 *
 * An erased action keeps its ids (so that it stays readable in status and
 * the audit trail) and carries "erased": true; whatever was not done yet is
 * settled for good as failed "not sent: ..." and `refsync retry` refuses it.
 */
#include "store.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The subjects of the actions about opportunity ?1: its own, and those of
 * the prospects that became it (linked, or exported as it). */
#define ERASE_SUBJECTS \
	"(SELECT 'opportunity:' || ?1 UNION SELECT 'prospect:' || id FROM cq_prospects WHERE ats_id = ?1 " \
	"UNION SELECT 'prospect:' || substr(key, 10) FROM outbox WHERE substr(key, 1, 9) = 'prospect:' " \
	"AND result = ?1)"

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

/* Audit each settled row as failed (the trail shows why nothing was sent). */
static int audit_settled(struct store *s, struct settled *rows, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && rows[i].error)
			rc = audit_appendf(s->db, s->run_id, "action.failed", rows[i].subject, "%s key=%s: %s",
					   rows[i].kind, rows[i].key, rows[i].error);
		free(rows[i].key);
		free(rows[i].kind);
		free(rows[i].subject);
		free(rows[i].error);
	}
	return rc;
}

/* Erase the payloads of the actions about opportunity_id; *changed counts them. */
static int erase_outbox(struct store *s, const char *opportunity_id, int *changed)
{
	sqlite3_stmt *st = store_prepared(s, ST_ERASE_OUTBOX,
		"UPDATE outbox SET payload = " ERASED_PAYLOAD ", "
		"last_error = CASE state WHEN 'done' THEN last_error WHEN 'skipped' THEN last_error "
		"WHEN 'sending' THEN '" NOT_RESOLVED "' ELSE '" NOT_SENT "' END, "
		"state = CASE state WHEN 'done' THEN 'done' WHEN 'skipped' THEN 'skipped' ELSE 'failed' END, "
		"next_attempt_at = 0, updated_at = ?2 "
		"WHERE subject IN " ERASE_SUBJECTS " AND (NOT " ERASED_MARK " OR state IN ('planned', 'sending')) "
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
		log_err("database: erasing the actions of opportunity %s: %s", opportunity_id, sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	*changed = (int)n;
	int audited = audit_settled(s, rows, n);
	free(rows);
	return rc == SQLITE_DONE && audited == 0 ? 0 : -1;
}

/* Erase the personal fields of the prospects that became opportunity_id. */
static int erase_prospects(struct store *s, const char *opportunity_id)
{
	sqlite3_stmt *st = store_prepared(s, ST_ERASE_PROSPECTS,
		"UPDATE cq_prospects SET first_name = NULL, last_name = NULL, email = NULL, phone = NULL, "
		"job_title = NULL, tags = NULL WHERE 'prospect:' || id IN " ERASE_SUBJECTS
		" AND (first_name IS NOT NULL OR last_name IS NOT NULL OR email IS NOT NULL OR phone IS NOT NULL "
		"OR job_title IS NOT NULL OR tags IS NOT NULL)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, opportunity_id, -1, SQLITE_STATIC);
	int rc = db_step_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int store_erase_actions(struct store *s, const char *opportunity_id)
{
	sqlite3_stmt *st = store_prepared(s, ST_ERASE_REQUESTS, "UPDATE cq_requests SET candidate_name = NULL, candidate_email = NULL "
					     "WHERE opportunity_id = ? AND (candidate_name IS NOT NULL OR "
					     "candidate_email IS NOT NULL)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, opportunity_id, -1, SQLITE_STATIC);
	int rc = db_step_done(st);
	int changed = 0;
	if (rc != SQLITE_DONE || erase_prospects(s, opportunity_id) || erase_outbox(s, opportunity_id, &changed))
		return -1;
	if (changed > 0) {
		char subject[ID_MAX + 16];
		snprintf(subject, sizeof subject, "opportunity:%s", opportunity_id);
		return audit_appendf(s->db, s->run_id, "privacy.erased", subject,
				     "personal data removed from %d stored actions", changed);
	}
	return 0;
}

int store_prospect_is_private(sqlite3 *db, const char *prospect_id, const char *ats_id)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT 1 FROM lever_opportunities o WHERE (o.id = ?1 OR o.id = (SELECT result FROM outbox "
		"WHERE key = 'prospect:' || ?2)) AND (o.deleted_at IS NOT NULL OR o.anonymized = 1)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, ats_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prospect_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
