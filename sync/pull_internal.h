/*
 * pull_internal.h - what the pull files share: pull.c (the incremental
 * listings and their cursors), pull_simple.c (the small unpaged lists),
 * pull_hint.c (one opportunity a webhook names) and backfill.c (the
 * partitioned pull of a window). Not for other files.
 */
#ifndef REFSYNC_PULL_INTERNAL_H
#define REFSYNC_PULL_INTERNAL_H

#include "context.h"
#include "http.h"
#include "lever_parse.h"
#include "store.h"

enum listing_kind { K_POSTINGS, K_OPPORTUNITIES, K_OPPORTUNITIES_UPDATED, K_OPPORTUNITIES_CREATED, K_DELETED };

/* What the record callbacks of one page need. */
struct page_ctx {
	struct sync_ctx *ctx;
	struct store *store;
	int64_t max_updated;    /* the newest updatedAt (deletedAt) seen: the remote's clock */
	int db_failed;
	/* optional: shown every opportunity stored (the backfill samples them) */
	void (*observe)(void *arg, const struct lever_opportunity *o);
	void *observe_arg;
};

/* A listing's cursor row: its window and the offset token to resume at. */
struct cursor {
	int exists;
	int64_t since, until;
	char token[TOKEN_MAX];
	long pages;
};

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

/* Read cursor `name` (c->exists 0 when there is none). 0 or -1. */
int cursor_read(sqlite3 *db, const char *name, struct cursor *c);
/* Write cursor `name` and count one more page. 0 or -1. */
int cursor_write(sqlite3 *db, const char *name, int64_t since, int64_t until, const char *token);
/* Store one page and its cursor in one transaction (see pull.c). */
int store_page(struct sync_ctx *ctx, const char *name, enum listing_kind k, const struct http_response *resp,
	       struct page_ctx *pc, int64_t since, int64_t until, char *token, size_t token_len, int *tries,
	       int *more, long *records, const char *resume_hint);

/* Partitioned pull of the opportunities of [since, until] (backfill.c);
 * since <= 0: everything created up to until (a new install's first run).
 * *lever_now gets Lever's time as it began (a Date header), 0 when unknown. */
int backfill_window(struct sync_ctx *ctx, int64_t since, int64_t until, int slices, long *records,
		    int64_t *lever_now);

#endif
