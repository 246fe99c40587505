/*
 * pull_hint.c - one opportunity fetched again because a webhook named it.
 * A webhook is a hint: whatever Lever answers, the caller decides what
 * becomes of the event; nothing here ends the run but the database.
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
#include <string.h>

/* Tries of one webhook's fetch in a run: the next try is a later run's. */
#define HINT_ATTEMPTS 2

struct hint_ctx {
	struct store store;
	int db_failed;
};

static int on_opportunity(void *p, const struct lever_opportunity *o)
{
	struct hint_ctx *h = p;
	if (store_opportunity(&h->store, o)) {
		h->db_failed = 1;
		return -1;
	}
	return 0;
}

int pull_lever_one(struct sync_ctx *ctx, const char *opportunity_id, char *why, size_t whylen)
{
	struct http_response resp;
	http_response_init(&resp);
	char err[1024];
	int result = EXIT_OK;
	int saved = ctx->lever.max_attempts;
	ctx->lever.max_attempts = HINT_ATTEMPTS;
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, opportunity_id, &resp, err, sizeof err);
	ctx->lever.max_attempts = saved;
	if (s == REMOTE_NOT_FOUND) {
		log_info("opportunity %s named by a webhook no longer exists in Lever", opportunity_id);
		goto out;
	}
	if (s != REMOTE_OK) {
		snprintf(why, whylen, "%s", err);
		result = PULL_HINT_FAILED;
		goto out;
	}
	struct hint_ctx h = { .db_failed = 0 };
	store_init(&h.store, ctx->db, ctx->run_id);
	struct page_info page;
	if (db_begin(ctx->db)) {
		result = EXIT_SOFTWARE;
	} else if (parse_opportunity_page(resp.body.data ? resp.body.data : "", resp.body.len, on_opportunity, &h,
					  &page, err, sizeof err)) {
		db_rollback(ctx->db);
		if (h.db_failed) {
			result = EXIT_SOFTWARE;
		} else {
			snprintf(why, whylen, "Lever GET /opportunities/%s: answer not understood: %s", opportunity_id,
				 err);
			result = PULL_HINT_FAILED;
		}
	} else if (db_commit(ctx->db)) {
		result = EXIT_SOFTWARE;
	} else {
		ctx->pulled += page.records;
	}
	store_free(&h.store);
	if (result == EXIT_SOFTWARE)
		pull_db_failure(ctx, "storing an opportunity");
out:
	http_response_free(&resp);
	return result;
}
