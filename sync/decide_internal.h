/*
 * decide_internal.h - shared by the two halves of the decide step:
 * decide.c (the trigger) and decide_writeback.c (everything that follows a
 * request: report link and note, hires both ways, cancels, the follow-up
 * prompt, prospects).
 */
#ifndef REFSYNC_DECIDE_INTERNAL_H
#define REFSYNC_DECIDE_INTERNAL_H

#include "decide.h"

/* What deciding looks at this time (decide.c, "changed since the last decide"). */
struct decide_scope {
	int all;  /* everything: the first decide, or the config or trigger stage changed */
	int held; /* the held triggers and the time-based prompt over every request too:
		   * a template, posting or user changed */
	int64_t live_since; /* go-live (epoch ms): trigger_since, else the first run; set by
			     * the trigger rule; write-backs of events before it are skipped */
};

/* The write-back rules: over every request when scope->all, else over the
 * requests of the opportunities marked in decide_dirty (and, for the
 * follow-up prompt, those whose waiting time ended since the last decide).
 * EXIT_OK or an exit code with ctx->error set. */
int decide_writeback(struct decide_ctx *ctx, const struct decide_scope *scope);

#endif
