/*
 * backfill.c - the partitioned pull of a window of Lever opportunities
 * (refsync backfill, and a new install's first run).
 *
 * A window [since, until] holds two disjoint sets: the opportunities created
 * in it (created_at in the window; those whose updatedAt is null included),
 * and those created before it and updated in it (created_at_end = since - 1
 * together with updated_at in the window; Lever ANDs its filters). Each is
 * listed once, so a complete pull makes about one page per 100 records. A
 * window that starts at 0 (a new install) has no second set.
 *
 * How many chains of pages run at once follows the data, not the calendar:
 * each set starts as one listing (its root); the root's first page is a
 * sample of the set (Lever's order is not by time), and when it is full the
 * rest of the set is cut at the quantiles of that sample into `slices`
 * listings of about equal size, whatever the window's length and however
 * skewed the data. A slice whose first page is full while fewer chains than
 * wanted are running is cut again the same way. Each cut costs the page that
 * revealed the density (its records are listed again by the parts).
 *
 * Which chain sends next: roots and first pages first, then the chain with
 * the fewest pages so far (taking turns), so that the slices, of about equal
 * size, end together and enough chains run until the end.
 *
 * The other reads of a run (stages, archive reasons, postings and deleted
 * opportunities since their cursors) go out in the same stream of requests,
 * so that their round trips hide behind the listings'.
 *
 * Every listing has its cursor row (backfill.c, backfill.u for the roots,
 * backfill.c.N, backfill.u.N for the slices; pages = 0 means not started),
 * written with each page, so an interrupted backfill of the same window
 * resumes each listing where it stopped.
 */
#include "pull_internal.h"
#include "db.h"
#include "lever.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OFFSET_RESTARTS 3
#define SAMPLE_MAX 100
/* transfers kept queued but not yet started, so that the rate budget never
 * waits for a chain to be chosen */
#define WAITING_TARGET 3

enum set { SET_CREATED, SET_UPDATED };
enum chain_state { CH_IDLE, CH_QUEUED, CH_DONE };
enum chain_kind { CK_OPPORTUNITIES, CK_STAGES, CK_REASONS, CK_POSTINGS, CK_DELETED };

/* One listing: a chain of pages over [lo, hi] (for opportunities, on its set's time key). */
struct chain {
	char name[48];
	enum chain_kind kind;
	enum set set;
	int root;
	int64_t lo, hi;
	char token[TOKEN_MAX];
	enum chain_state state;
	int restarts, tries;
	int cut; /* cut into slices after its first page */
	long pages, items;
	struct http_async xfer;
};

struct backfill {
	struct sync_ctx *ctx;
	int64_t since, until;
	int slices;
	struct chain **chains;
	size_t n, cap;
	int next_child[2];
	struct chain *current;              /* the chain whose page is being stored */
	int64_t page[SAMPLE_MAX];           /* that page's records' time keys */
	int n_page;
	struct http_multi m;
	struct store store;
	long records, pages, deleted;
	int batch_open, batch; /* the transaction of pages already received; pages in it */
};

/* Pages stored in one transaction at most: fewer commits write each index
 * page to the WAL fewer times (a third of a backfill's writes at 8); a
 * crash loses at most these pages' work, fetched again when it resumes. */
#define BATCH_PAGES 8

static const char set_letter[2] = { 'c', 'u' };

/* A new chain (owned by b, freed in backfill_free). */
static struct chain *chain_add(struct backfill *b, enum set set, int root, int64_t lo, int64_t hi, int child)
{
	struct chain *c = xcalloc(1, sizeof *c);
	c->set = set;
	c->root = root;
	c->lo = lo;
	c->hi = hi;
	if (root)
		snprintf(c->name, sizeof c->name, "backfill.%c", set_letter[set]);
	else
		snprintf(c->name, sizeof c->name, "backfill.%c.%d", set_letter[set], child);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 32;
		b->chains = xrealloc(b->chains, b->cap * sizeof *b->chains);
	}
	b->chains[b->n++] = c;
	return c;
}

static int cmp_key(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, c = *(const int64_t *)y;
	return a < c ? -1 : a > c;
}

/* page_ctx observer: note each stored record's time key. */
static void observe(void *arg, const struct lever_opportunity *o)
{
	struct backfill *b = arg;
	struct chain *c = b->current;
	if (b->n_page < SAMPLE_MAX)
		b->page[b->n_page++] = c->set == SET_CREATED ? o->created_at : o->updated_at;
	c->items++;
}

/* Queue the next page of c. */
static void chain_fetch(struct backfill *b, struct chain *c)
{
	struct buf p;
	buf_init(&p, 8192);
	int64_t lo = c->lo > 0 ? c->lo : LEVER_NO_BOUND;
	if (c->kind == CK_STAGES)
		buf_appendz(&p, lever_stages_path());
	else if (c->kind == CK_REASONS)
		buf_appendz(&p, lever_archive_reasons_path());
	else if (c->kind == CK_POSTINGS)
		lever_postings_path(&p, c->lo, c->token);
	else if (c->kind == CK_DELETED)
		lever_deleted_path(&p, c->lo, c->hi, c->token);
	else if (c->set == SET_CREATED)
		lever_opportunities_range_path(&p, lo, c->hi, LEVER_NO_BOUND, LEVER_NO_BOUND, c->token);
	else
		lever_opportunities_range_path(&p, LEVER_NO_BOUND, b->since - 1, lo, c->hi, c->token);
	c->xfer.user = c;
	http_multi_get(&b->m, &c->xfer, p.data);
	c->state = CH_QUEUED;
	buf_free(&p);
}

/* How much a chain seems to have left (higher: send it first). */
static double remaining(const struct chain *c)
{
	if (c->root)
		return 3e18; /* their first pages decide the cuts */
	if (c->kind != CK_OPPORTUNITIES)
		return 2e18; /* a few requests, sent while the roots' answers are on their way */
	if (c->pages == 0)
		return 1e18; /* first pages finish the small slices */
	return -(double)c->pages; /* take turns */
}

/* Keep WAITING_TARGET transfers waiting for the rate budget, best first. Returns how many chains are queued. */
static int fill(struct backfill *b)
{
	int waiting = 0, queued = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct chain *c = b->chains[i];
		if (c->state == CH_QUEUED) {
			queued++;
			waiting += c->xfer.state == 0; /* not started by http_multi yet */
		}
	}
	while (waiting < WAITING_TARGET) {
		struct chain *best = NULL;
		double best_r = 0;
		for (size_t i = 0; i < b->n; i++) {
			struct chain *c = b->chains[i];
			if (c->state != CH_IDLE)
				continue;
			double r = remaining(c);
			if (!best || r > best_r) {
				best = c;
				best_r = r;
			}
		}
		if (!best)
			break;
		chain_fetch(b, best);
		waiting++;
		queued++;
	}
	return queued;
}

static int active_chains(const struct backfill *b)
{
	int n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += b->chains[i]->state != CH_DONE && b->chains[i]->kind == CK_OPPORTUNITIES;
	return n;
}

/* Insert the cursor of a slice not started yet (pages 0). */
static int cursor_plan(sqlite3 *db, const char *name, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT OR REPLACE INTO cursors(name, since, until, token, pages, updated_at) "
					  "VALUES (?, ?, ?, NULL, 0, ?)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, lo);
	sqlite3_bind_int64(st, 3, hi);
	sqlite3_bind_int64(st, 4, now_ms());
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Cut c, whose first page (b->page) was full, into up to `parts` slices at
 * the quantiles of that page's keys; c is finished (its records are listed
 * again by the parts). Returns 1 cut, 0 not worth it (c goes on), or -1 on a
 * database error.
 */
static int chain_split(struct backfill *b, struct chain *c, int parts)
{
	if (parts < 2 || b->n_page < 2)
		return 0;
	int64_t keys[SAMPLE_MAX];
	memcpy(keys, b->page, (size_t)b->n_page * sizeof *keys);
	qsort(keys, (size_t)b->n_page, sizeof *keys, cmp_key);
	int64_t bounds[SAMPLE_MAX + 1];
	int nb = 0;
	bounds[nb++] = c->lo;
	for (int j = 1; j < parts; j++) {
		int64_t q = keys[(size_t)j * (size_t)b->n_page / (size_t)parts];
		if (q > bounds[nb - 1] && q <= c->hi)
			bounds[nb++] = q;
	}
	if (nb < 2)
		return 0;
	sqlite3 *db = b->ctx->db;
	int nested;
	if (db_begin_nested(db, &nested))
		return -1;
	if (cursor_write(db, c->name, c->lo, c->hi, NULL))
		goto fail;
	for (int j = 0; j < nb; j++) {
		int64_t lo = bounds[j], hi = j + 1 < nb ? bounds[j + 1] - 1 : c->hi;
		struct chain *part = chain_add(b, c->set, 0, lo, hi, b->next_child[c->set]++);
		if (cursor_plan(db, part->name, lo, hi))
			goto fail;
	}
	if (db_commit_nested(db, nested))
		return -1;
	c->state = CH_DONE;
	c->cut = 1;
	log_debug("%s: first page full; cut into %d slices", c->name, nb);
	return 1;
fail:
	db_rollback_nested(db, nested);
	return -1;
}

/* Commit the open batch of pages. -1 on a database error (rolled back). */
static int batch_commit(struct backfill *b)
{
	if (!b->batch_open)
		return 0;
	b->batch_open = 0;
	b->batch = 0;
	return db_commit(b->ctx->db) ? -1 : 0;
}

/* Open a batch for the next page unless one is open. -1 on a database error. */
static int batch_begin(struct backfill *b)
{
	if (b->batch_open)
		return 0;
	if (db_begin(b->ctx->db))
		return -1;
	b->batch_open = 1;
	return 0;
}

/* Store the answer of a read that is not a listing of opportunities. 0, 1 or a negated exit code. */
static int other_store(struct backfill *b, struct chain *c)
{
	if (c->kind == CK_STAGES || c->kind == CK_REASONS) {
		int r = pull_store_simple(b->ctx, &c->xfer.resp, c->kind == CK_STAGES ? LS_STAGE : LS_ARCHIVE_REASON,
				     c->kind == CK_STAGES ? "stages" : "archive reasons");
		c->state = CH_DONE;
		return r == EXIT_OK ? 0 : -r;
	}
	struct page_ctx pc = { .ctx = b->ctx, .store = &b->store };
	int more = 0;
	long records = 0;
	int r = store_page(b->ctx, c->name, c->kind == CK_POSTINGS ? K_POSTINGS : K_DELETED, &c->xfer.resp, &pc, c->lo,
			   c->hi, c->token, sizeof c->token, &c->tries, &more, &records, "will retry at the next run");
	if (r != 0)
		return r;
	b->ctx->pulled += records;
	if (c->kind == CK_DELETED)
		b->deleted += records;
	c->state = more ? CH_IDLE : CH_DONE;
	return 0;
}

/* Store the page c received. 0 stored, 1 fetch again, or a negated exit code. */
static int chain_store(struct backfill *b, struct chain *c)
{
	if (c->kind != CK_OPPORTUNITIES)
		return other_store(b, c);
	struct page_ctx pc = { .ctx = b->ctx, .store = &b->store,
			       .observe = observe, .observe_arg = b };
	b->current = c;
	b->n_page = 0;
	long items = c->items;
	int more = 0;
	int r = store_page(b->ctx, c->name, K_OPPORTUNITIES, &c->xfer.resp, &pc, c->lo, c->hi, c->token,
			   sizeof c->token, &c->tries, &more, &b->records, "run the backfill again to resume");
	if (r != 0) {
		c->items = items; /* the page was rolled back */
		return r;
	}
	c->pages++;
	b->pages++;
	if (!more) {
		c->state = CH_DONE;
		return 0;
	}
	c->state = CH_IDLE;
	if (c->pages == 1 && b->slices > 1) {
		int active = active_chains(b);
		int parts = c->root ? b->slices : b->slices - active + 1;
		if (c->root || active < b->slices) {
			int s = chain_split(b, c, parts);
			if (s < 0)
				return -pull_db_failure(b->ctx, "cutting a backfill slice");
		}
	}
	return 0;
}

/*
 * Draw the progress line: opportunities listed by this run (the cut roots'
 * pages left out: their parts list those again), and once a slice has
 * finished, the estimated total (each unfinished slice counted as the mean
 * of the finished ones, or what it has listed when that is more), the
 * percentage and the time left at the pace so far. Exact once every listing
 * is done. At most every 200 ms, except for that last line.
 */
static void progress(struct backfill *b, int64_t started_mono, int64_t *drawn)
{
	long done = 0, finished = 0, finished_items = 0;
	int running = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct chain *c = b->chains[i];
		if (c->kind != CK_OPPORTUNITIES || c->cut)
			continue;
		done += c->items;
		if (c->state == CH_DONE) {
			finished++;
			finished_items += c->items;
		} else {
			running++;
		}
	}
	int64_t now = monotonic_ms();
	if (running && now - *drawn < 200)
		return;
	*drawn = now;
	char line[256];
	if (!running) {
		snprintf(line, sizeof line, "backfill: %ld of %ld opportunities (100%%)", done, done);
	} else if (finished) {
		double mean = (double)finished_items / (double)finished, total = (double)finished_items;
		for (size_t i = 0; i < b->n; i++) {
			const struct chain *c = b->chains[i];
			if (c->kind == CK_OPPORTUNITIES && !c->cut && c->state != CH_DONE)
				total += (double)c->items + 1 > mean ? (double)c->items + 1 : mean;
		}
		double share = total > 0 ? (double)done / total : 0;
		int pct = (int)(share * 100);
		double left = share > 0 ? (double)(now - started_mono) / 1000.0 * (1 - share) / share : 0;
		snprintf(line, sizeof line, "backfill: %ld of ~%.0f opportunities (%d%%), %d listing%s running, about %.0f %s left",
			 done, total, pct > 99 ? 99 : pct, running, running == 1 ? "" : "s",
			 left >= 90 ? left / 60 : left, left >= 90 ? "min" : "s");
	} else {
		snprintf(line, sizeof line, "backfill: %ld opportunities, %d listing%s running", done, running,
			 running == 1 ? "" : "s");
	}
	log_progress(line);
}

/* Plan the listings: from the cursors of an interrupted backfill, or afresh. -1 on a database error. */
static int plan_chains(struct backfill *b)
{
	int have_root[2] = { 0, 0 };
	sqlite3_stmt *st = db_prepare(b->ctx->db, "SELECT name, since, until, token, pages FROM cursors "
						  "WHERE name LIKE 'backfill.%' ORDER BY name");
	if (!st)
		return -1;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char letter = 0;
		int child = -1;
		if (sscanf(name, "backfill.%c.%d", &letter, &child) < 1 || (letter != 'c' && letter != 'u'))
			continue;
		enum set set = letter == 'c' ? SET_CREATED : SET_UPDATED;
		const char *token = (const char *)sqlite3_column_text(st, 3);
		long pages = (long)sqlite3_column_int64(st, 4);
		if (child < 0)
			have_root[set] = 1;
		else if (child >= b->next_child[set])
			b->next_child[set] = child + 1;
		if (pages > 0 && !token)
			continue; /* finished (or cut) */
		struct chain *c = chain_add(b, set, child < 0, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
					    child);
		if (token) {
			strlcpy_(c->token, token, sizeof c->token);
			c->pages = pages;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (!have_root[SET_CREATED])
		chain_add(b, SET_CREATED, 1, b->since, b->until, 0);
	if (!have_root[SET_UPDATED] && b->since > 0)
		chain_add(b, SET_UPDATED, 1, b->since, b->until, 0);
	return 0;
}

/* Add the run's other Lever reads: stages, archive reasons, and the postings
 * and deleted listings from their cursors (as pull.c lists them). -1 on a database error. */
static int plan_reads(struct backfill *b)
{
	struct chain *c = chain_add(b, SET_CREATED, 0, 0, 0, 0);
	c->kind = CK_STAGES;
	c = chain_add(b, SET_CREATED, 0, 0, 0, 0);
	c->kind = CK_REASONS;
	static const char *const names[2] = { "lever.postings", "lever.deleted" };
	int64_t overlap = (int64_t)b->ctx->cfg->overlap_minutes * 60000;
	for (int i = 0; i < 2; i++) {
		struct cursor cur;
		if (cursor_read(b->ctx->db, names[i], &cur))
			return -1;
		c = chain_add(b, SET_CREATED, 0, cur.exists && cur.until > 0 ? cur.until - overlap : 0,
			      b->ctx->started_at, 0);
		c->kind = i == 0 ? CK_POSTINGS : CK_DELETED;
		strlcpy_(c->name, names[i], sizeof c->name);
		if (cur.exists && cur.token[0]) {
			/* an interrupted listing resumes */
			c->lo = cur.since;
			c->hi = cur.until;
			strlcpy_(c->token, cur.token, sizeof c->token);
		}
	}
	return 0;
}

/* The listings of opportunities that ran (the cut roots left out). */
static int count_slices(const struct backfill *b)
{
	int n = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct chain *c = b->chains[i];
		n += c->kind == CK_OPPORTUNITIES && !c->cut;
	}
	return n;
}

int backfill_window(struct sync_ctx *ctx, int64_t since, int64_t until, int slices, long *records, int64_t *lever_now)
{
	struct backfill b;
	memset(&b, 0, sizeof b);
	b.ctx = ctx;
	b.since = since;
	b.until = until;
	b.slices = slices;
	int result = EXIT_OK;
	http_multi_init(&b.m, &ctx->lever);
	store_init(&b.store, ctx->db, ctx->run_id);
	if (plan_chains(&b) || plan_reads(&b)) {
		result = pull_db_failure(ctx, "reading the backfill's cursors");
		goto out;
	}
	/* on a terminal only: never in the journal or a file */
	int tty = ctx->progress && log_progress_wanted();
	int64_t started_mono = monotonic_ms(), drawn = 0;
	while (!interrupted() && fill(&b) > 0) {
		/* the answers already here go into the open batch; before
		 * waiting for more, the batch is committed */
		struct http_async *a = http_multi_next(&b.m, 0);
		if (!a && !interrupted()) {
			if (batch_commit(&b)) {
				result = pull_db_failure(ctx, "saving a batch of pages");
				break;
			}
			a = http_multi_next(&b.m, 1);
		}
		if (!a)
			break;
		struct chain *c = a->user;
		char err[1024];
		/* Lever's "Invalid offset token", whatever its status */
		enum remote_status s = lever_offset_status(http_async_status(&ctx->lever, a, err, sizeof err), &a->resp);
		if (s != REMOTE_OK && interrupted())
			break; /* a transfer dropped by the interruption: its listing resumes */
		if (s == REMOTE_OK && !*lever_now)
			*lever_now = a->resp.date_ms; /* Lever's clock, as the backfill began */
		if (s == REMOTE_BAD_OFFSET && c->token[0] && c->restarts < OFFSET_RESTARTS) {
			log_warn("%s: Lever refused the stored offset token; restarting this slice", c->name);
			c->token[0] = '\0';
			c->restarts++;
			chain_fetch(&b, c);
			continue;
		}
		if (s != REMOTE_OK) {
			result = pull_remote_failure(ctx, s, err);
			break; /* the other listings keep their cursors: the next backfill resumes */
		}
		/* the other reads store in their own transactions */
		if (c->kind == CK_OPPORTUNITIES ? batch_begin(&b) : batch_commit(&b)) {
			result = pull_db_failure(ctx, "saving a batch of pages");
			break;
		}
		int r = chain_store(&b, c);
		if (r == 0 && b.batch_open && ++b.batch >= BATCH_PAGES && batch_commit(&b))
			r = -pull_db_failure(ctx, "saving a batch of pages");
		if (r == 1) {
			chain_fetch(&b, c);
			continue;
		}
		if (r < 0) {
			result = -r;
			break;
		}
		if (tty)
			progress(&b, started_mono, &drawn);
	}
	/* what was stored is kept, also when the run stops here */
	if (batch_commit(&b) && result == EXIT_OK)
		result = pull_db_failure(ctx, "saving a batch of pages");
	if (result == EXIT_OK && interrupted())
		result = interrupt_exit_code(); /* every listing keeps its cursor: the same backfill resumes */
	if (tty)
		log_progress_clear();
	for (size_t i = 0; i < b.n; i++) {
		const struct chain *c = b.chains[i];
		if (c->kind == CK_OPPORTUNITIES)
			log_debug("%s: %ld pages, %ld records", c->name, c->pages, c->items);
	}
	if (b.deleted)
		log_info("%ld deleted opportunities: personal data erased", b.deleted);
	log_info("backfill: %ld opportunity records in %ld pages, %d slices%s", b.records, b.pages, count_slices(&b),
		 interrupted() ? " (interrupted)" : "");
out:
	http_multi_free(&b.m);
	for (size_t i = 0; i < b.n; i++) {
		http_async_free(&b.chains[i]->xfer);
		free(b.chains[i]);
	}
	free(b.chains);
	store_free(&b.store);
	*records = b.records;
	return result;
}
