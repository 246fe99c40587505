/*
 * decide.h - the rules, as a pure step: it reads the mirrored state and
 * writes the actions it implies into the outbox (each with its idempotency
 * key and reason), the verdicts on trigger entries (queued, held, skipped)
 * and their audit events, all in one transaction. It calls nothing remote.
 */
#ifndef REFSYNC_DECIDE_H
#define REFSYNC_DECIDE_H

#include "config.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* What deciding works with: the database and the config, no remote client. */
struct decide_ctx {
	sqlite3 *db;
	const struct config *cfg;
	int64_t run_id;
	int64_t now;                  /* the run's start (epoch ms): the clock of every rule */
	long decided;                 /* out: the actions planned */
	char error[2048];             /* out: what went wrong, when decide returns an error */
};

/*
 * Decide. With keep_open, the transaction is left open for the caller (plan
 * and --dry-run print what was planned, then roll back). Returns EXIT_OK or
 * an exit code with ctx->error set (EXIT_CONFIG when the trigger stage does
 * not exist in Lever); ctx->decided counts the actions planned.
 */
int decide(struct decide_ctx *ctx, int keep_open);

/*
 * Split a display name into first and last name: the first word is the
 * first name, the rest the last name ("Mary Ann Smith" -> "Mary",
 * "Ann Smith"); one word gives an empty last name. Whitespace is trimmed.
 */
void split_name(const char *name, char *first, size_t first_len, char *last, size_t last_len);

#endif
