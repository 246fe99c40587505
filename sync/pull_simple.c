/*
 * pull_simple.c - Lever's small, unpaged answers: stages, archive reasons,
 * and the users that postings name, each stored in one transaction.
 */
#include "pull.h"
#include "pull_internal.h"
#include "db.h"
#include "lever.h"
#include "log.h"
#include "lever_parse.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_USER_LOOKUPS 50

/* The store of a small answer, and whether the database failed in it. */
struct simple_ctx {
	struct store store;
	int db_failed;
};

static int on_stage(void *p, const struct lever_simple *st)
{
	struct simple_ctx *sc = p;
	return (sc->db_failed = store_stage(&sc->store, st) != 0) ? -1 : 0;
}

static int on_reason(void *p, const struct lever_simple *r)
{
	struct simple_ctx *sc = p;
	return (sc->db_failed = store_archive_reason(&sc->store, r) != 0) ? -1 : 0;
}

static int on_user(void *p, const struct lever_simple *u)
{
	struct simple_ctx *sc = p;
	return (sc->db_failed = store_user(&sc->store, u) != 0) ? -1 : 0;
}

/*
 * Store a small, unpaged answer (stages, archive reasons, one user) in one
 * transaction. Returns EXIT_OK or an exit code.
 */
int pull_store_simple(struct sync_ctx *ctx, const struct http_response *resp, enum lever_simple_kind kind,
			const char *what)
{
	static const simple_fn fns[] = { [LS_STAGE] = on_stage, [LS_ARCHIVE_REASON] = on_reason,
					 [LS_USER] = on_user };
	struct simple_ctx sc = { .db_failed = 0 };
	store_init(&sc.store, ctx->db, ctx->run_id);
	struct page_info page;
	char err[512];
	int result = EXIT_OK;
	if (db_begin(ctx->db)) {
		result = pull_db_failure(ctx, what);
	} else if (parse_simple_page(resp->body.data ? resp->body.data : "", resp->body.len, kind, fns[kind], &sc,
				     &page, err, sizeof err)) {
		if (sc.db_failed) {
			result = pull_db_failure(ctx, what);
		} else {
			snprintf(ctx->error, sizeof ctx->error, "Lever %s: %s", what, err);
			log_err("%s; will retry at the next run", ctx->error);
			result = EXIT_TEMPFAIL;
		}
		db_rollback(ctx->db);
	} else if (db_commit(ctx->db)) {
		result = pull_db_failure(ctx, what);
	} else {
		ctx->pulled += page.records;
	}
	store_free(&sc.store);
	return result;
}

int pull_lever_users(struct sync_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(ctx->db,
		"SELECT id FROM lever_users WHERE name IS NULL AND email IS NULL AND id IN "
		"(SELECT hiring_manager_id FROM lever_postings UNION SELECT owner_id FROM lever_postings) "
		"ORDER BY id LIMIT ?");
	if (!st)
		return pull_db_failure(ctx, "listing unknown users");
	sqlite3_bind_int(st, 1, MAX_USER_LOOKUPS);
	char ids[MAX_USER_LOOKUPS][ID_MAX];
	int n = 0;
	while (n < MAX_USER_LOOKUPS && sqlite3_step(st) == SQLITE_ROW)
		strlcpy_(ids[n++], (const char *)sqlite3_column_text(st, 0), ID_MAX);
	sqlite3_finalize(st);
	if (n == 0)
		return EXIT_OK;
	/* all at once, within the rate budget: each costs a round trip */
	struct http_multi m;
	http_multi_init(&m, &ctx->lever);
	struct http_async *xfers = xcalloc((size_t)n, sizeof *xfers);
	for (int i = 0; i < n; i++) {
		struct buf path;
		buf_init(&path, 4096);
		lever_user_path(&path, ids[i]);
		xfers[i].user = ids[i];
		http_multi_get(&m, &xfers[i], path.data);
		buf_free(&path);
	}
	int result = EXIT_OK;
	struct http_async *a;
	while (result == EXIT_OK && (a = http_multi_next(&m, 1)) != NULL) {
		const char *id = a->user;
		char err[1024];
		enum remote_status s = http_async_status(&ctx->lever, a, err, sizeof err);
		if (s == REMOTE_DOWN || s == REMOTE_BAD || s == REMOTE_AUTH || s == REMOTE_SETUP) {
			result = pull_remote_failure(ctx, s, err);
		} else if (s != REMOTE_OK) {
			/* gone or refused: remember that we asked, so that we do not ask every run */
			log_warn("%s", err);
			if (db_begin(ctx->db) == 0) {
				sqlite3_stmt *u = db_prepare(ctx->db, "UPDATE lever_users SET name = '' WHERE id = ?");
				if (u) {
					sqlite3_bind_text(u, 1, id, -1, SQLITE_STATIC);
					db_step_done(u);
					sqlite3_finalize(u);
				}
				db_commit(ctx->db);
			}
		} else {
			result = pull_store_simple(ctx, &a->resp, LS_USER, "user");
		}
	}
	http_multi_free(&m);
	for (int i = 0; i < n; i++)
		http_async_free(&xfers[i]);
	free(xfers);
	return result;
}

