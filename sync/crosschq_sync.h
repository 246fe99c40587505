/*
 * crosschq_sync.h - the Crosschq step of a run (crosschq-api.md):
 *  1. probe the section-2 capabilities that are due (at most once a day);
 *     on a database's first run, warn when trigger_since lies before it and
 *     the list capability is not present (a reinstall's creates cannot be
 *     checked against the requests Crosschq already has: act_crosschq.h);
 *  2. request states: with the "list" capability, one list of the requests
 *     changed since the cursor; without it, the open requests read one by
 *     one, each at most once per [crosschq] poll_open_minutes and at most
 *     poll_open_per_run per run, oldest check first, so that a quiet run
 *     stays cheap and every open request is seen within a bounded time
 *     (Crosschq's webhooks, taken in by ingest.c, are the fast path);
 *  3. prospects, when exporting them and the "prospects" capability is present.
 * A Crosschq that does not answer delays only this step: the run goes on.
 */
#ifndef REFSYNC_CROSSCHQ_SYNC_H
#define REFSYNC_CROSSCHQ_SYNC_H

#include "context.h"

#include <stddef.h>
#include <yajl/yajl_tree.h>

/*
 * The settings row that holds the first run's warning: trigger_since before
 * it, without the list capability, so its creates were not checked against
 * the requests Crosschq already had (shown by `status`).
 */
#define UNCHECKED_CREATES_KEY "warning:unchecked_creates"

/* EXIT_OK, EXIT_CONFIG (Crosschq refused the key) or EXIT_SOFTWARE (database). */
int pull_crosschq(struct sync_ctx *ctx);

/* Every request changed since `since` (Crosschq's clock) is stored: a listing
 * reached its last page (the run's cq_listed; act_crosschq.h uses it). */
void crosschq_listed(struct sync_ctx *ctx, int64_t since);

/*
 * Store the Request(s) in a JSON text (a webhook body, a GET answer) in one
 * transaction, as seen now. Returns the number stored, or -1 with err set
 * (not understood: err says why; database: err starts with "database").
 */
int crosschq_take_requests(struct sync_ctx *ctx, const char *json, size_t len, char *err, size_t n);
/* The same for a parsed document (the "request" of a spooled webhook). */
int crosschq_take_request_doc(struct sync_ctx *ctx, yajl_val doc, char *err, size_t n);

#endif
