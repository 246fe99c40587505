/*
 * pull.c - listings with cursors, one transaction per page.
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
#include <unistd.h>

#define PARSE_TRIES 3
#define OFFSET_RESTARTS 3


/* Map a remote failure to the run's exit code, keeping the first message. */
int pull_remote_failure(struct sync_ctx *ctx, enum remote_status s, const char *err)
{
	if (interrupted()) {
		/* not the remote's fault: main closes the run as interrupted */
		log_info("%s", err);
		return interrupt_exit_code();
	}
	if (!ctx->error[0])
		snprintf(ctx->error, sizeof ctx->error, "%s", err);
	const char *hint = remote_config_hint(s);
	if (hint) {
		log_err("%s: %s", err, hint);
		return EXIT_CONFIG;
	}
	log_err("%s; will retry at the next run", err);
	return EXIT_TEMPFAIL;
}

/* A database failure: the statement and SQLite's message (kept where it
 * failed, before any rollback), and corruption called by its name. */
int pull_db_failure(struct sync_ctx *ctx, const char *what)
{
	snprintf(ctx->error, sizeof ctx->error, "database error while %s: %s%s", what, db_last_error(),
		 db_last_corrupt() ? " (the database is corrupt: restore it from a backup)" : "");
	log_err("%s", ctx->error);
	return EXIT_SOFTWARE;
}

/* ---- record callbacks: store each record as it is parsed --------------- */

static int on_opportunity(void *p, const struct lever_opportunity *o)
{
	struct page_ctx *pc = p;
	if (o->updated_at > pc->max_updated)
		pc->max_updated = o->updated_at;
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
	if (s->at > pc->max_updated)
		pc->max_updated = s->at;
	if (store_deleted_opportunity(pc->store, s->id, s->at)) {
		pc->db_failed = 1;
		return -1;
	}
	return 0;
}

static int on_posting(void *p, const struct lever_posting *post)
{
	struct page_ctx *pc = p;
	if (post->updated_at > pc->max_updated)
		pc->max_updated = post->updated_at;
	if (store_posting(pc->store, post)) {
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
	}
	return -1;
}

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
 * transaction (a savepoint inside a backfill's batch: committed with the
 * batch), then reach the after-page crash point. token holds the
 * offset the page was fetched with and receives the next one; *more says
 * whether the listing goes on. The cursor keeps its window until the listing
 * ends (Lever's lists are not ordered). Returns 0 stored, 1 unusable (fetch it again; *tries
 * counts up to PARSE_TRIES), or a negated exit code with ctx->error set.
 */
int store_page(struct sync_ctx *ctx, const char *name, enum listing_kind k, const struct http_response *resp,
	       struct page_ctx *pc, int64_t since, int64_t until, char *token, size_t token_len, int *tries, int *more,
	       long *records, const char *resume_hint)
{
	char err[1024];
	struct page_info page;
	int nested;
	if (db_begin_nested(ctx->db, &nested))
		return -pull_db_failure(ctx, "starting a page");
	if (parse(k, resp, pc, &page, err, sizeof err)) {
		if (pc->db_failed) {
			int r = pull_db_failure(ctx, "storing a page");
			db_rollback_nested(ctx->db, nested);
			return -r;
		}
		db_rollback_nested(ctx->db, nested);
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
	if (cursor_write(ctx->db, name, since, until, next) || db_commit_nested(ctx->db, nested)) {
		int r = pull_db_failure(ctx, "saving a page");
		db_rollback_nested(ctx->db, nested);
		return -r;
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
/* Forget a stored offset token the remote refused, so that no later run
 * tries it again (the window itself is kept). */
static void cursor_forget_token(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE cursors SET token = NULL WHERE name = ?");
	if (st && db_begin(db) == 0) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (db_step_done(st) != SQLITE_DONE || db_commit(db))
			db_rollback(db);
	}
	sqlite3_finalize(st);
}

/*
 * Close a finished Lever window on Lever's clock, so that the next window
 * (its end minus the overlap) loses nothing to a skew of the local clock:
 * the end is Lever's time when the listing began (the Date of its first
 * answer, at most the window's until); without one, the newest updatedAt (deletedAt) Lever returned; when
 * nothing came back either, the next window starts where this one did.
 */
static int close_window(struct sync_ctx *ctx, const char *name, int64_t since, int64_t until, int64_t lever_now,
			int64_t max_seen)
{
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	/* never past the window's own end: a local clock behind Lever's must not leave a gap either */
	if (lever_now > 0 && until > 0 && lever_now > until)
		lever_now = until;
	int64_t end = lever_now > 0 ? lever_now : max_seen > 0 ? max_seen : since > 0 ? since + overlap : 0;
	if (db_begin(ctx->db) || cursor_write(ctx->db, name, since, end, NULL) || db_commit(ctx->db)) {
		int r = pull_db_failure(ctx, "saving a cursor");
		db_rollback(ctx->db);
		return r;
	}
	return EXIT_OK;
}

static int run_listing(struct sync_ctx *ctx, const char *name, enum listing_kind k, int64_t since,
		       int64_t until, long *records_out)
{
	struct cursor cur;
	if (cursor_read(ctx->db, name, &cur))
		return pull_db_failure(ctx, "reading a cursor");
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
	int result = EXIT_OK, restarts = 0, tries = 0, full_postings = 0;
	long pages = 0, records = 0;
	int64_t max_updated = 0, lever_now = 0;
	int tty = ctx->progress && log_progress_wanted(); /* a terminal, never the journal */
	for (;;) {
		enum remote_status s = fetch(ctx, k, since, until, token, &resp, err, sizeof err);
		if (s == REMOTE_BAD_OFFSET && token[0] && restarts < OFFSET_RESTARTS) {
			log_warn("%s: Lever refused the stored offset token (%s); restarting this window", name, err);
			cursor_forget_token(ctx->db, name);
			token[0] = '\0';
			restarts++;
			continue;
		}
		if (k == K_POSTINGS && since > 0 && !full_postings && s == REMOTE_REJECTED) {
			/* updated_at may go only with confidentiality; a Lever that refuses
			 * even that gets the whole list instead, once in this run */
			log_warn("%s: Lever refused the updated_at filter (%s); listing every posting", name, err);
			since = 0;
			token[0] = '\0';
			full_postings = 1;
			continue;
		}
		if (s != REMOTE_OK) {
			result = pull_remote_failure(ctx, s, err);
			break;
		}
		if (!lever_now)
			lever_now = resp.date_ms;
		struct page_ctx pc = { .ctx = ctx, .store = &store, .max_updated = max_updated };
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
		if (tty) {
			char line[160];
			snprintf(line, sizeof line, "%s: %ld pages, %ld listed", name, pages, records);
			log_progress(line);
		}
		if (more && k == K_POSTINGS && since > 0) {
			/* an updated_at listing cannot page (no offset allowed with it) */
			log_info("%s: more postings changed than one answer holds; listing every posting", name);
			since = 0;
			token[0] = '\0';
			full_postings = 1;
			continue;
		}
		if (!more) {
			if (k == K_POSTINGS || k == K_OPPORTUNITIES || k == K_DELETED)
				result = close_window(ctx, name, since, until, lever_now, max_updated);
			break;
		}
	}
	if (tty)
		log_progress_clear();
	log_debug("%s: %ld pages, %ld records", name, pages, records);
	ctx->pulled += records;
	if (records_out)
		*records_out = records;
	http_response_free(&resp);
	store_free(&store);
	return result;
}

/* Stages, archive reasons, postings changed since the cursor. */
static int pull_lever_reference(struct sync_ctx *ctx)
{
	struct http_response resp;
	http_response_init(&resp);
	char err[1024];
	int result;
	enum remote_status s = lever_fetch_stages(&ctx->lever, &resp, err, sizeof err);
	if (s != REMOTE_OK) {
		result = pull_remote_failure(ctx, s, err);
		goto out;
	}
	if ((result = pull_store_simple(ctx, &resp, LS_STAGE, "stages")))
		goto out;
	s = lever_fetch_archive_reasons(&ctx->lever, &resp, err, sizeof err);
	if (s != REMOTE_OK) {
		result = pull_remote_failure(ctx, s, err);
		goto out;
	}
	if ((result = pull_store_simple(ctx, &resp, LS_ARCHIVE_REASON, "archive reasons")))
		goto out;
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.postings", &cur)) {
		result = pull_db_failure(ctx, "reading a cursor");
		goto out;
	}
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	int64_t since = cur.exists && cur.until > 0 ? cur.until - overlap : 0;
	result = run_listing(ctx, "lever.postings", K_POSTINGS, since, ctx->started_at, NULL);
out:
	http_response_free(&resp);
	return result;
}

/* Opportunities changed since the cursor (full listing on the first run or with full). */
static int pull_lever_opportunities(struct sync_ctx *ctx, int full)
{
	if (full)
		return run_listing(ctx, "lever.opportunities.full", K_OPPORTUNITIES, 0, ctx->started_at, NULL);
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.opportunities", &cur))
		return pull_db_failure(ctx, "reading a cursor");
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	/* the first run lists everything (records with updatedAt null included) */
	int64_t since = cur.exists && cur.until > 0 ? cur.until - overlap : 0;
	if (since < 0)
		since = 1;
	return run_listing(ctx, "lever.opportunities", K_OPPORTUNITIES, since, ctx->started_at, NULL);
}

static int pull_lever_deleted(struct sync_ctx *ctx);

int pull_lever(struct sync_ctx *ctx, int full)
{
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.opportunities", &cur))
		return pull_db_failure(ctx, "reading a cursor");
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

/* Deleted opportunities since the cursor: personal data erased. */
static int pull_lever_deleted(struct sync_ctx *ctx)
{
	struct cursor cur;
	if (cursor_read(ctx->db, "lever.deleted", &cur))
		return pull_db_failure(ctx, "reading a cursor");
	int64_t overlap = (int64_t)ctx->cfg->overlap_minutes * 60000;
	int64_t since = cur.exists && cur.until > 0 ? cur.until - overlap : 0;
	long n = 0;
	int r = run_listing(ctx, "lever.deleted", K_DELETED, since, ctx->started_at, &n);
	if (n)
		log_info("%ld deleted opportunities: personal data erased", n);
	return r;
}
