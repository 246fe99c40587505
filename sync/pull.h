/*
 * pull.h - bringing Lever and Crosschq state into the database.
 *
 * Each listing has a row in `cursors`. A page is stored in one transaction
 * together with the cursor that covers it (a backfill commits up to 8 pages
 * already received together), so a crash loses at most the pages in flight
 * and those of the open batch, and the next run resumes at the stored offset token (or, when
 * Lever refuses an old token, restarts that window). Lever does not order
 * its listings, so an incremental window only moves on once a listing is
 * complete; the next window starts overlap_minutes before the last one
 * ended, since Lever's bounds are inclusive and updates are not strictly
 * ordered.
 *
 * Every function returns EXIT_OK, or the exit code the run should end with
 * (EXIT_TEMPFAIL remote down, EXIT_CONFIG unauthorized, EXIT_SOFTWARE
 * database error), with ctx->error set.
 */
#ifndef REFSYNC_PULL_H
#define REFSYNC_PULL_H

#include "context.h"

/* Everything a run reads from Lever but the users: pull_lever_reference,
 * pull_lever_opportunities and pull_lever_deleted, or, on a new install's
 * first run (no opportunity cursor yet, full 0), pull_lever_window over
 * everything created so far. */
int pull_lever(struct sync_ctx *ctx, int full);
/* Users that postings name (owner, hiring manager) and that no listing has
 * described yet (opportunities bring their owners expanded): run after the
 * opportunities, so that only the truly unknown are fetched, one by one. */
int pull_lever_users(struct sync_ctx *ctx);
/*
 * Opportunities created in [since, until], and those created before it and
 * updated in it (backfill; since 0: everything created up to until, a new
 * install's first run; until 0: now, or, when a backfill from the same since
 * was interrupted, its end, so that it resumes). Listed as a few listings at once with one shared
 * rate budget, cut where the data is dense into up to `slices` slices
 * (0: the default; 1: one sequential listing per set). See backfill.c. An
 * interrupted backfill of the same window resumes where each listing
 * stopped (cursors backfill.*), in the slices it stored, whatever slices
 * says (a notice says so). Interrupted (util.h), it returns 128 + the
 * signal's number with every cursor kept. The stages, archive reasons,
 * postings and deleted opportunities are read in the same stream.
 */
int pull_lever_window(struct sync_ctx *ctx, int64_t since, int64_t until, int slices);
/*
 * Fetch one opportunity again because a webhook named it (pull_hint.c).
 * EXIT_OK when stored or gone from Lever (404); PULL_HINT_FAILED when Lever
 * answered anything else (why says what; nothing is stored and the run goes
 * on); EXIT_SOFTWARE on a database error (ctx->error set).
 */
#define PULL_HINT_FAILED (-1)
int pull_lever_one(struct sync_ctx *ctx, const char *opportunity_id, char *why, size_t whylen);

#endif
