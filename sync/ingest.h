/*
 * ingest.h - taking in what refsync-hook left in the spool: Lever webhooks
 * (each names an opportunity, which is fetched again, since webhooks are
 * only hints), Crosschq webhooks (each carries a Request, stored as read;
 * it may also be the evidence that settles a create in doubt) and the
 * owners' answers (recorded in the answers table). A file leaves new/ only
 * after its effect is committed.
 */
#ifndef REFSYNC_INGEST_H
#define REFSYNC_INGEST_H

#include "context.h"

/* Returns EXIT_OK or an exit code with ctx->error set. */
int ingest_spool(struct sync_ctx *ctx);

#endif
