/*
 * decide_internal.h - shared by the two halves of the decide step:
 * decide.c (the trigger) and decide_writeback.c (everything that follows a
 * request: report link and note, hires both ways, cancels, the follow-up
 * prompt, prospects).
 */
#ifndef REFSYNC_DECIDE_INTERNAL_H
#define REFSYNC_DECIDE_INTERNAL_H

#include "context.h"

/*
 * Insert an outbox action unless its key exists (audited as action.planned).
 * Returns 1 inserted, 0 the key existed, -1 on a database error.
 */
int decide_plan_action(struct sync_ctx *ctx, const char *key, const char *kind, const char *subject,
		       const char *payload, const char *reason);

/* The write-back rules. EXIT_OK or an exit code with ctx->error set. */
int decide_writeback(struct sync_ctx *ctx);

#endif
