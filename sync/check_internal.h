/*
 * check_internal.h - what the parts of `refsync check` share (check.c:
 * config, secrets, Lever, SMTP; check_crosschq.c: Crosschq; check_state.c:
 * the state directory). Not for other
 * modules.
 */
#ifndef REFSYNC_CHECK_INTERNAL_H
#define REFSYNC_CHECK_INTERNAL_H

#include "check.h"
#include "http.h"

/* The tally of one check. */
struct checker {
	int problems, unavailable;
};

/* Print "ok      <what><a>". */
void check_ok(const char *what, const char *a);
/* Print "PROBLEM <msg>" and count it. */
void check_problem(struct checker *c, const char *msg);
/* One remote call's outcome: reported (and 0 returned) when it answered 2xx, else a problem and -1. */
int check_call_ok(struct checker *c, enum remote_status s, const char *err);

/*
 * Crosschq: the key, every [template NAME] against the surveys and limits
 * Crosschq reports, and the section-2 capabilities (probed, and stored when
 * the database exists).
 */
void check_crosschq(struct checker *c, const struct config *cfg, const char *key);

/*
 * The state directory and the database files in it: a problem line for each
 * thing wrong, with its fix. Returns -1 when the directory is missing or not
 * a directory (nothing in it can be looked at), else 0.
 */
int check_state(struct checker *c, const struct config *cfg);

#endif
