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
#include "outbox.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Erase the personal fields of the prospects that became opportunity_id. */
static int erase_prospects(struct store *s, const char *opportunity_id)
{
	sqlite3_stmt *st = store_prepared(s, ST_ERASE_PROSPECTS,
		"UPDATE cq_prospects SET first_name = NULL, last_name = NULL, email = NULL, phone = NULL, "
		"job_title = NULL, tags = NULL WHERE 'prospect:' || id IN " OUTBOX_ERASE_SUBJECTS_SQL
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
	if (rc != SQLITE_DONE || erase_prospects(s, opportunity_id) || outbox_erase(s->db, s->run_id, opportunity_id, &changed))
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
