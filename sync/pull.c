/*
 * pull.c - listings with cursors, one transaction per page.
 */
#include "pull.h"
#include "pull_internal.h"
#include "crosschq.h"
#include "db.h"
#include "lever.h"
#include "log.h"
#include "records.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARSE_TRIES 3
#define OFFSET_RESTARTS 3
#define MAX_USER_LOOKUPS 50

/* Crosschq lists are ordered by updated_at: their cursor follows the newest
 * record seen. Lever's are not: a window advances only when complete. */
static int ordered(enum listing_kind k)
{
	return k == K_REQUESTS || k == K_PROSPECTS;
}

/* Map a remote failure to the run's exit code, keeping the first message. */
int remote_failure(struct sync_ctx *ctx, enum remote_status s, const char *err)
{
	if (!ctx->error[0])
		snprintf(ctx->error, sizeof ctx->error, "%s", err);
	if (s == REMOTE_AUTH) {
		log_err("%s: the API key was refused; check it (and, for Lever, that it has confidential "
			"access) and run 'refsync check'", err);
		return EXIT_CONFIG;
	}
	log_err("%s; will retry at the next run", err);
	return EXIT_TEMPFAIL;
}

/* A database failure: ctx->error set. */
int db_failure(struct sync_ctx *ctx, const char *what)
{
	snprintf(ctx->error, sizeof ctx->error, "database error while %s: %s", what, sqlite3_errmsg(ctx->db));
	log_err("%s", ctx->error);
	return EXIT_SOFTWARE;
}

/* ---- record callbacks: store each record as it is parsed --------------- */

static int on_opportunity(void *p, const struct lever_opportunity *o)
{
	struct page_ctx *pc = p;
	if (store_opportunity(pc->store, o)) {
		pc->db_failed = 1;
		return -1;
	}
	if (pc->observe)
		pc->observe(pc->observe_arg, o);
	return 0;
}

static int on_deleted(void *p, const struct lever_simple *s)
{
	struct page_ctx *pc = p;
	if (store_deleted_opportunity(pc->store, s->id, s->at)) {
		pc->db_failed = 1;
		return -1;
	}
	return 0;
}

static int on_posting(void *p, const struct lever_posting *post)
{
	struct page_ctx *pc = p;
	if (store_posting(pc->store, post)) {
		pc->db_failed = 1;
		return -1;
	}
	return 0;
}

static int on_template(void *p, const struct cq_template *t)
{
	struct page_ctx *pc = p;
	if (store_template(pc->store, t, pc->seen_at)) {
		pc->db_failed = 1;
		return -1;
	}
	return 0;
}

static int on_request(void *p, const struct cq_request *r)
{
	struct page_ctx *pc = p;
	if (r->updated_at > pc->max_updated)
		pc->max_updated = r->updated_at;
	if (store_request(pc->store, r)) {
		pc->db_failed = 1;
		return -1;
	}
	return 0;
}

static int on_prospect(void *p, const struct cq_prospect *pr)
{
	struct page_ctx *pc = p;
	if (pr->updated_at > pc->max_updated)
		pc->max_updated = pr->updated_at;
	if (store_prospect(pc->store, pr)) {
		pc->db_failed = 1;
		return -1;
	}
	return 0;
}

static enum remote_status fetch(struct sync_ctx *ctx, enum listing_kind k, int64_t since, int64_t until,
				const char *token, struct http_response *resp, char *err, size_t n)
{
	switch (k) {
	case K_POSTINGS:
		return lever_fetch_postings(&ctx->lever, since, token, resp, err, n);
	case K_OPPORTUNITIES:
		return lever_fetch_opportunities(&ctx->lever, since > 0 ? LEVER_UPDATED : LEVER_ALL, since, until,
						 token, resp, err, n);
	case K_OPPORTUNITIES_UPDATED:
		return lever_fetch_opportunities(&ctx->lever, LEVER_UPDATED, since, until, token, resp, err, n);
	case K_OPPORTUNITIES_CREATED:
		return lever_fetch_opportunities(&ctx->lever, LEVER_CREATED, since, until, token, resp, err, n);
	case K_DELETED:
		return lever_fetch_deleted(&ctx->lever, since, until, token, resp, err, n);
	case K_TEMPLATES:
		return crosschq_fetch_templates(&ctx->crosschq, token, resp, err, n);
	case K_REQUESTS:
		return crosschq_fetch_requests(&ctx->crosschq, since, token, resp, err, n);
	case K_PROSPECTS:
		return crosschq_fetch_prospects(&ctx->crosschq, since, token, resp, err, n);
	}
	return REMOTE_BAD;
}

static int parse(enum listing_kind k, const struct http_response *resp, struct page_ctx *pc,
		 struct page_info *page, char *err, size_t n)
{
	const char *d = resp->body.data ? resp->body.data : "";
	size_t len = resp->body.len;
	switch (k) {
	case K_POSTINGS:
		return parse_posting_page(d, len, on_posting, pc, page, err, n);
	case K_OPPORTUNITIES:
	case K_OPPORTUNITIES_UPDATED:
	case K_OPPORTUNITIES_CREATED:
		return parse_opportunity_page(d, len, on_opportunity, pc, page, err, n);
	case K_DELETED:
		return parse_simple_page(d, len, LS_DELETED, on_deleted, pc, page, err, n);
	case K_TEMPLATES:
		return parse_template_page(d, len, on_template, pc, page, err, n);
	case K_REQUESTS:
		return parse_request_page(d, len, on_request, pc, page, err, n);
	case K_PROSPECTS:
		return parse_prospect_page(d, len, on_prospect, pc, page, err, n);
	}
	return -1;
}

/* Read a cursor row. */
int cursor_read(sqlite3 *db, const char *name, struct cursor *c)
{
	memset(c, 0, sizeof *c);
	sqlite3_stmt *st = db_prepare(db, "SELECT since, until, token, pages FROM cursors WHERE name = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->exists = 1;
		c->since = sqlite3_column_int64(st, 0);
		c->until = sqlite3_column_int64(st, 1);
		const char *t = (const char *)sqlite3_column_text(st, 2);
		if (t)
			strlcpy_(c->token, t, sizeof c->token);
		c->pages = (long)sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Write a cursor row, one more page. */
int cursor_write(sqlite3 *db, const char *name, int64_t since, int64_t until, const char *token)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO cursors(name, since, until, token, pages, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5) "
		"ON CONFLICT(name) DO UPDATE SET since = ?2, until = ?3, token = ?4, pages = pages + 1, "
		"updated_at = ?5");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	db_bind_int64_or_null(st, 2, since, since <= 0);
	db_bind_int64_or_null(st, 3, until, until <= 0);
	db_bind_text(st, 4, token && *token ? token : NULL);
	sqlite3_bind_int64(st, 5, now_ms());
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Store one fetched page of listing `name` and its cursor in one
 * transaction, then reach the after-page crash point. token holds the
 * offset the page was fetched with and receives the next one; *more says
 * whether the listing goes on. Ordered (Crosschq) listings move their cursor
 * to the newest record seen (pc->max_updated); the others keep their window
 * until the listing ends. Returns 0 stored, 1 unusable (fetch it again; *tries
 * counts up to PARSE_TRIES), or a negated exit code with ctx->error set.
 */
int store_page(struct sync_ctx *ctx, const char *name, enum listing_kind k, const struct http_response *resp,
	       struct page_ctx *pc, int64_t since, int64_t until, char *token, size_t token_len, int *tries, int *more,
	       long *records, const char *resume_hint)
{
	char err[1024];
	struct page_info page;
	if (db_begin(ctx->db))
		return -db_failure(ctx, "starting a page");
	if (parse(k, resp, pc, &page, err, sizeof err)) {
		db_rollback(ctx->db);
		if (pc->db_failed)
			return -db_failure(ctx, "storing a page");
		if (++*tries < PARSE_TRIES) {
			log_warn("%s: unusable page (%s); fetching it again", name, err);
			return 1;
		}
		snprintf(ctx->error, sizeof ctx->error, "%s: unusable page after %d tries: %s", name, PARSE_TRIES, err);
		log_err("%s; %s", ctx->error, resume_hint);
		return -EXIT_TEMPFAIL;
	}
	*tries = 0;
	*more = page.has_next && page.next[0];
	if (*more && strcmp(page.next, token) == 0) {
		/* a server repeating the same token would loop forever */
		*more = 0;
		log_warn("%s: the remote returned the same next token twice; ending the listing", name);
	}
	const char *next = *more ? page.next : NULL;
	int rc = ordered(k) ? cursor_write(ctx->db, name, *more ? since : pc->max_updated, pc->max_updated, next)
			    : cursor_write(ctx->db, name, since, until, next);
	if (rc || db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return -db_failure(ctx, "saving a page");
	}
	crash_point("after-page");
	*records += page.records;
	if (*more)
		strlcpy_(token, page.next, token_len);
	return 0;
}

/*
 * Run one listing to its end. For a new window [since, until]; a listing
 * left unfinished under the same cursor name resumes at its token instead.
 */
static int run_listing(struct sync_ctx *ctx, const char *name, enum listing_kind k, int64_t since,
		       int64_t until, long *records_out)
{
	struct cursor cur;
	if (cursor_read(ctx->db, name, &cur))
		return db_failure(ctx, "reading a cursor");
	char token[TOKEN_MAX] = "";
	if (cur.exists && cur.token[0]) {
		since = cur.since;
		until = cur.until;
		strlcpy_(token, cur.token, sizeof token);
		log_info("%s: resuming an interrupted listing", name);
	}
	struct store store;
	store_init(&store, ctx->db, ctx->run_id);
	struct http_response resp;
	http_response_init(&resp);
	char err[1024];
	int result = EXIT_OK, restarts = 0, tries = 0;
	long pages = 0, records = 0;
	int64_t max_updated = ordered(k) ? since : 0;
	int tty = ctx->progress && isatty(2);
	for (;;) {
		enum remote_status s = fetch(ctx, k, since, until, token, &resp, err, sizeof err);
		if (s == REMOTE_BAD_OFFSET && token[0] && restarts < OFFSET_RESTARTS) {
			log_warn("%s: Lever refused the stored offset token; restarting this window", name);
			token[0] = '\0';
			restarts++;
			continue;
		}
		if (s != REMOTE_OK) {
			result = remote_failure(ctx, s, err);
			break;
		}
		struct page_ctx pc = { .ctx = ctx, .store = &store, .max_updated = max_updated, .seen_at = ctx->started_at };
		int more = 0;
		int r = store_page(ctx, name, k, &resp, &pc, since, until, token, sizeof token, &tries, &more, &records,
				   "will retry at the next run");
		if (r == 1)
			continue;
		if (r < 0) {
			result = -r;
			break;
		}
		max_updated = pc.max_updated;
		pages++;
		if (tty)
			fprintf(stderr, "\r%s: %ld pages, %ld records", name, pages, records);
		if (!more)
			break;
	}
	if (tty && pages)
		fputc('\n', stderr);
	log_debug("%s: %ld pages, %ld records", name, pages, records);
	ctx->pulled += records;
	if (records_out)
		*records_out = records;
	http_response_free(&resp);
	store_free(&store);
	return result;
}

static int on_stage(void *p, const struct lever_simple *st)
{
	return store_stage(p, st);
}

static int on_reason(void *p, const struct lever_simple *r)
{
	return store_archive_reason(p, r);
}

static int on_user(void *p, const struct lever_simple *u)
{
	return store_user(p, u);
}

/*
 * Store a small, unpaged answer (stages, archive reasons, one user) in one
 * transaction. Returns EXIT_OK or an exit code.
 */
int store_simple(struct sync_ctx *ctx, const struct http_response *resp, enum lever_simple_kind kind,
		 const char *what)
{
	static const simple_fn fns[] = { [LS_STAGE] = on_stage, [LS_ARCHIVE_REASON] = on_reason,
					 [LS_USER] = on_user };
	struct store store;
	store_init(&store, ctx->db, ctx->run_id);
	struct page_info page;
	char err[512];
	int result = EXIT_OK;
	if (db_begin(ctx->db)) {
		result = db_failure(ctx, what);
	} else if (parse_simple_page(resp->body.data ? resp->body.data : "", resp->body.len, kind, fns[kind], &store,
				     &page, err, sizeof err)) {
		db_rollback(ctx->db);
		snprintf(ctx->error, sizeof ctx->error, "Lever %s: %s", what, err);
		log_err("%s; will retry at the next run", ctx->error);
		result = EXIT_TEMPFAIL;
	} else if (db_commit(ctx->db)) {
		result = db_failure(ctx, what);
	} else {
		ctx->pulled += page.records;
	}
	store_free(&store);
	return result;
}

int pull_lever_users(struct sync_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(ctx->db,
		"SELECT id FROM lever_users WHERE name IS NULL AND email IS NULL AND id IN "
		"(SELECT hiring_manager_id FROM lever_postings UNION SELECT owner_id FROM lever_postings) "
		"ORDER BY id LIMIT ?");
	if (!st)
		return db_failure(ctx, "listing unknown users");
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
	while (result == EXIT_OK && (a = http_multi_next(&m)) != NULL) {
		const char *id = a->user;
		char err[1024];
		enum remote_status s = http_async_status(&ctx->lever, a, err, sizeof err);
		if (s == REMOTE_DOWN || s == REMOTE_BAD || s == REMOTE_AUTH) {
			result = remote_failure(ctx, s, err);
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
			result = store_simple(ctx, &a->resp, LS_USER, "user");
		}
	}
	http_multi_free(&m);
	for (int i = 0; i < n; i++)
		http_async_free(&xfers[i]);
	free(xfers);
	return result;
}

int pull_lever_reference(struct sync_ctx *ctx)
{
	struct http_response resp;
	http_response_init(&resp);
	char err[1024];
	int result;
	enum remote_status s = lever_fetch_stages(&ctx->lever, &resp, err, sizeof err);
	if (s != REMOTE_OK) {
		result = remote_failure(ctx, s, err);
		goto out;
	}
	if ((result = store_simple(ctx, &resp, LS_STAGE, "stages")))
		goto out;
	s = lever_fetch_archive_reasons(&ctx->lever, &resp, err, sizeof err);
	if (s != REMOTE_OK) {
		result = remote_failure(ctx, s, err);
		goto out;
	}
	if ((result = store_simple(ctx, &resp, LS_ARCHIVE_REASON, "archive reasons")))
		goto out;
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.postings", &cur)) {
		result = db_failure(ctx, "reading a cursor");
		goto out;
	}
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	int64_t since = cur.exists && cur.until > 0 ? cur.until - overlap : 0;
	result = run_listing(ctx, "lever.postings", K_POSTINGS, since, ctx->started_at, NULL);
out:
	http_response_free(&resp);
	return result;
}

int pull_lever_opportunities(struct sync_ctx *ctx, int full)
{
	if (full)
		return run_listing(ctx, "lever.opportunities.full", K_OPPORTUNITIES, 0, ctx->started_at, NULL);
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.opportunities", &cur))
		return db_failure(ctx, "reading a cursor");
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	/* --full, or an interrupted first run of an older version: everything
	 * (records with updatedAt null included) */
	int64_t since = cur.exists && cur.until > 0 ? cur.until - overlap : 0;
	if (since < 0)
		since = 1;
	return run_listing(ctx, "lever.opportunities", K_OPPORTUNITIES, since, ctx->started_at, NULL);
}

int pull_lever(struct sync_ctx *ctx, int full)
{
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.opportunities", &cur))
		return db_failure(ctx, "reading a cursor");
	/* a new install's first run: everything created so far, partitioned
	 * like a backfill (see backfill.c) */
	if (!full && !cur.exists)
		return pull_lever_window(ctx, 0, 0, 0);
	int r = pull_lever_reference(ctx);
	if (r == EXIT_OK)
		r = pull_lever_opportunities(ctx, full);
	if (r == EXIT_OK)
		r = pull_lever_deleted(ctx);
	return r;
}

int pull_lever_deleted(struct sync_ctx *ctx)
{
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.deleted", &cur))
		return db_failure(ctx, "reading a cursor");
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	int64_t since = cur.exists && cur.until > 0 ? cur.until - overlap : 0;
	long n = 0;
	int r = run_listing(ctx, "lever.deleted", K_DELETED, since, ctx->started_at, &n);
	if (n)
		log_info("%ld deleted opportunities: personal data erased", n);
	return r;
}

int pull_lever_one(struct sync_ctx *ctx, const char *opportunity_id)
{
	struct http_response resp;
	http_response_init(&resp);
	char err[1024];
	int result = EXIT_OK;
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, opportunity_id, &resp, err, sizeof err);
	if (s == REMOTE_NOT_FOUND) {
		log_info("opportunity %s named by a webhook no longer exists in Lever", opportunity_id);
		goto out;
	}
	if (s != REMOTE_OK) {
		result = remote_failure(ctx, s, err);
		goto out;
	}
	struct store store;
	store_init(&store, ctx->db, ctx->run_id);
	struct page_ctx pc = { .ctx = ctx, .store = &store, .seen_at = ctx->started_at };
	struct page_info page;
	if (db_begin(ctx->db)) {
		result = db_failure(ctx, "storing an opportunity");
	} else if (parse_opportunity_page(resp.body.data ? resp.body.data : "", resp.body.len, on_opportunity, &pc,
					  &page, err, sizeof err)) {
		db_rollback(ctx->db);
		if (pc.db_failed) {
			result = db_failure(ctx, "storing an opportunity");
		} else {
			snprintf(ctx->error, sizeof ctx->error, "Lever opportunity %s: %s", opportunity_id, err);
			log_err("%s", ctx->error);
			result = EXIT_TEMPFAIL;
		}
	} else if (db_commit(ctx->db)) {
		result = db_failure(ctx, "storing an opportunity");
	} else {
		ctx->pulled += page.records;
	}
	store_free(&store);
out:
	http_response_free(&resp);
	return result;
}

int pull_crosschq(struct sync_ctx *ctx)
{
	/* templates: listed whole, so that a deleted template stops matching */
	int r = run_listing(ctx, "crosschq.templates", K_TEMPLATES, 0, 0, NULL);
	if (r)
		return r;
	if (db_begin(ctx->db))
		return db_failure(ctx, "pruning templates");
	sqlite3_stmt *st = db_prepare(ctx->db, "DELETE FROM cq_templates WHERE seen_at < ?");
	if (!st) {
		db_rollback(ctx->db);
		return db_failure(ctx, "pruning templates");
	}
	sqlite3_bind_int64(st, 1, ctx->started_at);
	db_step_done(st);
	sqlite3_finalize(st);
	if (db_commit(ctx->db))
		return db_failure(ctx, "pruning templates");

	struct cursor cur;
	if (cursor_read(ctx->db, "crosschq.requests", &cur))
		return db_failure(ctx, "reading a cursor");
	r = run_listing(ctx, "crosschq.requests", K_REQUESTS, cur.exists ? cur.since : 0, 0, NULL);
	if (r)
		return r;
	if (ctx->cfg->export_existing || ctx->cfg->auto_export_new) {
		if (cursor_read(ctx->db, "crosschq.prospects", &cur))
			return db_failure(ctx, "reading a cursor");
		r = run_listing(ctx, "crosschq.prospects", K_PROSPECTS, cur.exists ? cur.since : 0, 0, NULL);
	}
	return r;
}
