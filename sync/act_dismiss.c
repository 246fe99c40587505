/*
 * act_dismiss.c - `refsync resolve KEY --dismiss`: an operator settles a
 * failed action for good. It stays failed and is never sent; it no longer
 * keeps the runs at exit 1 (main.c counts the failures that wait).
 */
#include "act.h"
#include "db.h"
#include "log.h"
#include "outbox.h"
#include "util.h"

#include <stdio.h>

/* See act.h. */
int act_dismiss_failed(struct sync_ctx *ctx, const char *key)
{
	int r = outbox_dismiss_failed(ctx->db, ctx->run_id, key);
	if (r == 0) {
		log_err("no failed action has the key %s (refsync status lists them)", key);
		return EXIT_USAGE;
	}
	if (r == 2) {
		printf("%s: already dismissed\n", key);
		return EXIT_OK;
	}
	if (r == -2)
		return db_last_busy() ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
	if (r < 0) {
		log_err("%s: %s", ctx->cfg->database, db_last_error());
		return EXIT_SOFTWARE;
	}
	printf("%s: dismissed; it is never sent and no longer fails the runs (refsync retry %s sends it after all)\n",
	       key, key);
	return EXIT_OK;
}
