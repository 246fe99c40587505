/*
 * pull_internal.h - what the pull files (pull.c, pull_simple.c) share.
 */
#ifndef REFSYNC_PULL_INTERNAL_H
#define REFSYNC_PULL_INTERNAL_H

#include "context.h"
#include "http.h"
#include "records.h"

/* Map a remote failure to the run's exit code (logged), keeping the first
 * message in ctx->error: EXIT_CONFIG for what the admin must fix (401, 403,
 * a redirect elsewhere), else EXIT_TEMPFAIL. */
int pull_remote_failure(struct sync_ctx *ctx, enum remote_status s, const char *err);

/* A database failure while `what`: the statement and SQLite's message (kept
 * where it failed, before any rollback), corruption called by its name;
 * logged, in ctx->error. Returns EXIT_SOFTWARE. */
int pull_db_failure(struct sync_ctx *ctx, const char *what);

/* Store a small, unpaged answer (stages, archive reasons, one user) in one
 * transaction. Returns EXIT_OK or an exit code (logged). */
int pull_store_simple(struct sync_ctx *ctx, const struct http_response *resp, enum lever_simple_kind kind,
		      const char *what);

#endif
