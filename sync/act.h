/*
 * act.h - carrying out the outbox.
 *
 * The order is what makes "nothing is ever sent twice" true:
 *   1. the row is marked 'sending' and committed (synchronous=FULL);
 *   2. the remote call is made (no transaction open);
 *   3. the outcome is committed: 'done' (with the remote's id), 'failed'
 *      (a permanent refusal, with the remote's message), or back to
 *      'planned' with a later next_attempt_at (a transient failure).
 * A row found in 'sending' when a run starts was interrupted between 1 and
 * 3: it is "in doubt" and is resolved by looking at the remote before
 * anything is sent again (action_kinds.h); a Crosschq create only by evidence
 * (act_crosschq.h), else it stays in doubt for a person.
 */
#ifndef REFSYNC_ACT_H
#define REFSYNC_ACT_H

#include "context.h"

/*
 * Resolve in-doubt rows, then carry out every due planned row. Returns
 * EXIT_OK, EXIT_SOME_FAILED (some actions failed permanently in this run),
 * 128 + a signal's number (interrupted: the actions not claimed yet stay
 * planned), EXIT_TEMPFAIL (a remote was unavailable: the rest waits for the next run),
 * EXIT_CONFIG (a remote refused the key, or a kind of action was parked:
 * a setting only it needs is missing; its actions wait, all others were
 * carried out) or EXIT_SOFTWARE.
 */
int act(struct sync_ctx *ctx);

/* Print the planned and in-doubt rows and the held and skipped triggers,
 * each with the name and tags of its posting (for plan and --dry-run). */
void act_print_pending(struct sync_ctx *ctx);

/*
 * `refsync resolve KEY --sent REQUEST_ID` (request_id set: the create in
 * doubt made that Crosschq request; it is read and linked) or `--not-sent`
 * (NULL: back to planned, the next run sends it). Both are audited.
 * Returns an exit code.
 */
int act_resolve(struct sync_ctx *ctx, const char *key, const char *request_id);

/*
 * `refsync resolve KEY --dismiss` (act_dismiss.c): the failed action KEY is
 * settled for good by the operator: it stays failed, is never sent, and no
 * longer keeps the runs at exit 1 (audited). EXIT_USAGE when no failed
 * action has that key; otherwise an exit code.
 */
int act_dismiss_failed(struct sync_ctx *ctx, const char *key);

#endif
