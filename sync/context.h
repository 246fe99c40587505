/*
 * context.h - what one invocation of refsync carries through its steps
 * (pull, decide, act): the config, the database, the remote clients, the
 * run record and its counters.
 */
#ifndef REFSYNC_CONTEXT_H
#define REFSYNC_CONTEXT_H

#include "config.h"
#include "http.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

struct sync_ctx {
	struct config *cfg;
	sqlite3 *db;
	int64_t run_id;
	int64_t started_at;
	int dry_run;
	int progress;                 /* show progress on a terminal */
	int64_t started_mono;         /* monotonic ms, for durations */
	struct http_client lever;
	struct http_client crosschq;
	int have_lever, have_crosschq;
	/* counters for the run record */
	long pulled, decided, done, failed, held;
	long awaiting;                /* Crosschq creates in doubt, without evidence yet */
	int crosschq_unread;          /* Crosschq was down while its states were read: the run ends 75 */
	/* Crosschq requests listed whole in this run (list capability; act_crosschq.h) */
	int cq_listed;                /* 1: every request changed since cq_listed_from is stored */
	int64_t cq_listed_from;       /* epoch ms, Crosschq's clock */
	int cq_create_listing;        /* the one listing for the creates: 0 not made, 1 made, -1 failed */
	char error[2048];             /* the first fatal error of the run */
};

/* Keep msg as the run's error unless an earlier one is kept (the first counts). */
static inline void ctx_note_error(struct sync_ctx *ctx, const char *msg)
{
	if (!ctx->error[0])
		snprintf(ctx->error, sizeof ctx->error, "%s", msg);
}

#endif
