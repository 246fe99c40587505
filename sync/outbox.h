/*
 * outbox.h - the outbox table and every write to it: planning an action
 * (its idempotency key taken once), claiming it (planned -> sending,
 * committed before the call), recording its outcome with the audit event
 * (done, found, failed, retry, in doubt, skipped), re-queueing failed ones,
 * dismissing one, and erasing the payloads of an erased candidate's actions.
 * No other file writes the table. It knows nothing remote: decide plans
 * through it, act carries the rows out through it.
 *
 * A row's states: planned -> sending -> done | failed | planned (retry later);
 * a row left in sending by an interrupted run is "in doubt" (act.h);
 * skipped: decided, never to be sent (before go-live).
 */
#ifndef REFSYNC_OUTBOX_H
#define REFSYNC_OUTBOX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* One outbox row, as the sender sees it (strings malloc'd: outbox_action_free). */
struct action {
	int64_t id;
	char *key, *kind, *subject, *payload;
	int attempts;
};

/* Free the strings of a (not a itself). */
void outbox_action_free(struct action *a);

/*
 * Insert an action in state 'planned' unless its key exists, audited as
 * action.planned (inside the caller's transaction). Returns 1 inserted,
 * 0 the key existed, -1 on a database error.
 */
int outbox_plan(sqlite3 *db, int64_t run_id, const char *key, const char *kind, const char *subject,
		const char *payload, const char *reason);

/*
 * Record an action decided but never to be sent: state 'skipped' with why,
 * unless its key exists; audited as action.skipped (inside the caller's
 * transaction). Returns 1 inserted, 0 the key existed, -1 on error.
 */
int outbox_skip(sqlite3 *db, int64_t run_id, const char *key, const char *kind, const char *subject,
		const char *payload, const char *reason, const char *why);

/* The rows of a state (for 'planned', those due at now), oldest first, into
 * *out (malloc'd array: free each with outbox_action_free, then the array). 0 or -1. */
int outbox_load(sqlite3 *db, const char *state, int64_t now, struct action **out, size_t *n_out);

/* The row with key in state into *a (free with outbox_action_free): 1, 0 none, -1 error. */
int outbox_load_key(sqlite3 *db, const char *key, const char *state, struct action *a);

/*
 * Claim a planned row for sending: state 'sending', attempts + 1,
 * send_started_at now, committed in its own transaction before the call.
 * 0 claimed, -1 database error (or the row was not planned), -2 the
 * transaction could not begin (busy).
 */
int outbox_claim(sqlite3 *db, int64_t id);

/*
 * Move a row to state with its outcome and audit it, in one transaction:
 * "done" (action.done), "failed", "skipped", "planned" (with error:
 * action.retry), "sending" (stays in doubt: action.in_doubt). 0 or -1.
 */
int outbox_record(sqlite3 *db, int64_t run_id, const struct action *a, const char *state, const char *result,
		  const char *error, int64_t next_attempt_at);

/*
 * The effect was found on the remote before anything was sent: 'done' with
 * found_at and result (what was found), audited as action.found with how
 * ("found on Lever, not posted (adopted)"). 0 or -1.
 */
int outbox_record_found(sqlite3 *db, int64_t run_id, const struct action *a, const char *how, const char *result);

/*
 * `refsync retry`: put failed actions back to planned (all of them but the
 * dismissed, or the given keys), each audited. Returns the number re-queued,
 * or -1 on a database error; *unknown counts keys that name no failed
 * action, or one settled by privacy erasure (never retried: its candidate is
 * gone), each said on stderr: then nothing is re-queued and it returns 0.
 */
int outbox_requeue_failed(sqlite3 *db, char *const *keys, int n_keys, int *unknown);

/*
 * `refsync resolve KEY --dismiss`: the failed action KEY is settled for
 * good (dismissed_at set, audited as action.dismissed). Returns 1 dismissed,
 * 2 it was dismissed already, 0 no failed action has that key, -1 database
 * error, -2 the transaction could not begin (busy).
 */
int outbox_dismiss_failed(sqlite3 *db, int64_t run_id, const char *key);

/* When the row was last claimed for sending (else when it was planned); 0 if unknown. */
int64_t outbox_send_started(sqlite3 *db, int64_t id);

/* The subjects of the actions about opportunity ?1: its own, and those of
 * the prospects that became it (linked, or exported as it). SQL, for erasure. */
#define OUTBOX_ERASE_SUBJECTS_SQL \
	"(SELECT 'opportunity:' || ?1 UNION SELECT 'prospect:' || id FROM cq_prospects WHERE ats_id = ?1 " \
	"UNION SELECT 'prospect:' || substr(key, 10) FROM outbox WHERE substr(key, 1, 9) = 'prospect:' " \
	"AND result = ?1)"

/*
 * Privacy erasure of the actions about opportunity_id (inside the caller's
 * transaction): each payload keeps only its ids and gets "erased": true;
 * what was not done is settled as failed (audited). *changed counts the
 * rows. 0 or -1.
 */
int outbox_erase(sqlite3 *db, int64_t run_id, const char *opportunity_id, int *changed);

#endif
