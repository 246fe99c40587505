/*
 * outage.h - transient failures that persist stop looking like success:
 * a run that would exit 75 exits 69 once the failing runs since the last
 * good one have lasted [sync] outage_alert_minutes.
 */
#ifndef REFSYNC_OUTAGE_H
#define REFSYNC_OUTAGE_H

#include "context.h"

/*
 * The exit code of a run or backfill that ends with code (ctx->run_id is
 * its row in runs, not yet closed): code itself, except that
 * EXIT_TEMPFAIL becomes EXIT_UNAVAILABLE, with a line at warning priority
 * naming the remote, its host and the cause, when the runs before it since
 * the last one that did not fail transiently (exit 75 or 69) began at
 * least outage_alert_minutes ago. A database error reading runs leaves
 * code as it is.
 */
int outage_judge(struct sync_ctx *ctx, int code);

#endif
