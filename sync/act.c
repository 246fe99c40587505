/*
 * act.c - the outbox state machine: planned -> sending -> done | failed.
 */
#include "act.h"
#include "action_kinds.h"
#include "act_crosschq.h"
#include "act_send.h"
#include "outbox.h"
#include "audit.h"
#include "crosschq_store.h"
#include "db.h"
#include "log.h"
#include "posting_sql.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BASE_MS 60000LL
#define RETRY_MAX_MS 3600000LL

/* What "found" means for a's kind: in Crosschq (a request) or on Lever (a link, a note). */
static const char *found_text(const struct action *a)
{
	const struct action_kind *k = action_kind_of(a->kind);
	return k && k->remote == ON_CROSSCHQ ? "found in Crosschq, not created (adopted)"
					     : "found on Lever, not posted (adopted)";
}

/* Move a row to state with its outcome (outbox_record, audited). 0 or -1. */
static int record(struct sync_ctx *ctx, const struct action *a, const char *state, const char *result,
		  const char *error, int64_t next_attempt_at)
{
	if (strcmp(state, "found") == 0)
		return outbox_record_found(ctx->db, ctx->run_id, a, found_text(a), result);
	return outbox_record(ctx->db, ctx->run_id, a, state, result, error, next_attempt_at);
}

static int64_t retry_delay(int attempts)
{
	int64_t d = RETRY_BASE_MS;
	for (int i = 1; i < attempts && d < RETRY_MAX_MS; i++)
		d *= 2;
	return d < RETRY_MAX_MS ? d : RETRY_MAX_MS;
}

/* Apply a step's outcome. Returns 0 to go on, or the exit code to stop with. */
static int apply_step(struct sync_ctx *ctx, const struct action *a, enum step step, const char *result,
		      const char *err)
{
	int64_t now = now_ms();
	switch (step) {
	case STEP_DONE:
		if (record(ctx, a, "done", result, NULL, 0))
			return EXIT_SOFTWARE;
		ctx->done++;
		log_info("%s %s done%s%s", a->kind, a->key, result && *result ? ": " : "", result ? result : "");
		return 0;
	case STEP_FOUND:
		if (record(ctx, a, "found", result, NULL, 0))
			return EXIT_SOFTWARE;
		ctx->done++;
		log_notice("%s %s: %s: %s", a->kind, a->key, found_text(a), result);
		return 0;
	case STEP_SKIPPED:
		if (record(ctx, a, "skipped", NULL, err, 0))
			return EXIT_SOFTWARE;
		log_notice("%s %s not sent: %s", a->kind, a->key, err);
		return 0;
	case STEP_FAILED:
		if (record(ctx, a, "failed", NULL, err, 0))
			return EXIT_SOFTWARE;
		ctx->failed++;
		log_err("%s %s failed: %s", a->kind, a->key, err);
		return 0;
	case STEP_RETRY:
		if (record(ctx, a, "planned", NULL, err, now + retry_delay(a->attempts + 1)))
			return EXIT_SOFTWARE;
		log_warn("%s %s: %s; will retry", a->kind, a->key, err);
		return 0;
	case STEP_IN_DOUBT:
	case STEP_AWAIT:
		/* it stays 'sending' (in doubt) with the reason: the next run looks it up */
		if (record(ctx, a, "sending", NULL, err, 0))
			return EXIT_SOFTWARE;
		ctx_note_error(ctx, err);
		log_err("%s %s: %s; the outcome is unknown: the next run looks it up before sending anything",
			a->kind, a->key, err);
		return EXIT_TEMPFAIL;
	case STEP_STOP_DOWN:
	case STEP_STOP_AUTH:
		if (record(ctx, a, "planned", NULL, err, now))
			return EXIT_SOFTWARE;
		ctx_note_error(ctx, err);
		if (step == STEP_STOP_AUTH) {
			log_err("%s; refused credentials or settings: run 'refsync check'", err);
			return EXIT_CONFIG;
		}
		log_err("%s; the remaining actions wait for the next run", err);
		return EXIT_TEMPFAIL;
	case STEP_PARK:
		/* action_kind_ready said yes a moment ago: treat it as a retry */
		if (record(ctx, a, "planned", NULL, err, now))
			return EXIT_SOFTWARE;
		log_err("%s %s: %s", a->kind, a->key, err);
		return 0;
	case STEP_DB_ERROR:
		return EXIT_SOFTWARE;
	}
	return EXIT_SOFTWARE;
}

/* The kinds parked in this run (action_kind_ready said no), with their reasons. */
struct parked {
	char kind[32];
	char reason[512];
	int waiting;
};

#define PARKED_MAX 8

/*
 * Record that kind is parked (settings row "parked:<kind>", shown by
 * status; audited when it starts or its reason changes). 0 or -1.
 */
static int park_note(struct sync_ctx *ctx, const char *kind, const char *reason)
{
	char key[64];
	snprintf(key, sizeof key, "parked:%s", kind);
	char *old = db_setting_get(ctx->db, key);
	int same = old && strcmp(old, reason) == 0;
	free(old);
	if (same)
		return 0;
	if (db_begin(ctx->db))
		return -1;
	if (db_setting_set(ctx->db, key, reason) ||
	    audit_appendf(ctx->db, ctx->run_id, "config.parked", "installation",
			  "%s actions wait: %s", kind, reason) || db_commit(ctx->db)) {
		db_rollback(ctx->db);
		return -1;
	}
	return 0;
}

/* Clear the parked marks of kinds that are ready again (audited). 0 or -1. */
static int unpark_ready(struct sync_ctx *ctx, const struct parked *parked, size_t n_parked)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT substr(key, 8) FROM settings WHERE substr(key, 1, 7) = 'parked:'");
	if (!st)
		return -1;
	char kinds[PARKED_MAX][32];
	size_t n = 0;
	while (n < PARKED_MAX && sqlite3_step(st) == SQLITE_ROW)
		strlcpy_(kinds[n++], (const char *)sqlite3_column_text(st, 0), sizeof kinds[0]);
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		int still = 0;
		for (size_t j = 0; j < n_parked; j++)
			still |= strcmp(parked[j].kind, kinds[i]) == 0;
		char err[512];
		if (still || !action_kind_ready(ctx, kinds[i], err, sizeof err))
			continue;
		if (db_begin(ctx->db))
			return -1;
		st = db_prepare(ctx->db, "DELETE FROM settings WHERE key = 'parked:' || ?");
		int ok = st != NULL;
		if (st) {
			sqlite3_bind_text(st, 1, kinds[i], -1, SQLITE_STATIC);
			ok = db_step_done(st) == SQLITE_DONE;
			sqlite3_finalize(st);
		}
		if (!ok || audit_appendf(ctx->db, ctx->run_id, "config.unparked", "installation",
					 "%s actions go out again", kinds[i]) || db_commit(ctx->db)) {
			db_rollback(ctx->db);
			return -1;
		}
		log_notice("%s actions are no longer parked: the configuration they need is there", kinds[i]);
	}
	return 0;
}

/*
 * Is a's kind parked for this run? Checks the kind's configuration on its
 * first action. 1 parked (the action waits), 0 not, -1 database error.
 */
static int kind_parked(struct sync_ctx *ctx, const struct action *a, struct parked *parked, size_t *n_parked,
		       char (*ready)[32], size_t *n_ready)
{
	for (size_t i = 0; i < *n_parked; i++) {
		if (strcmp(parked[i].kind, a->kind) == 0) {
			parked[i].waiting++;
			return 1;
		}
	}
	for (size_t i = 0; i < *n_ready; i++)
		if (strcmp(ready[i], a->kind) == 0)
			return 0;
	char err[512];
	if (action_kind_ready(ctx, a->kind, err, sizeof err) || *n_parked == PARKED_MAX) {
		if (*n_ready < PARKED_MAX)
			strlcpy_(ready[(*n_ready)++], a->kind, sizeof ready[0]);
		return 0;
	}
	struct parked *p = &parked[(*n_parked)++];
	strlcpy_(p->kind, a->kind, sizeof p->kind);
	strlcpy_(p->reason, err, sizeof p->reason);
	p->waiting = 1;
	return park_note(ctx, a->kind, err) ? -1 : 1;
}

/* Resolve rows left in 'sending' by an interrupted run, before anything is sent. */
static int resolve_in_doubt(struct sync_ctx *ctx)
{
	struct action *list;
	size_t n;
	if (outbox_load(ctx->db, "sending", INT64_MAX, &list, &n))
		return EXIT_SOFTWARE;
	int result = EXIT_OK;
	for (size_t i = 0; i < n; i++) {
		struct action *a = &list[i];
		if (result == EXIT_OK) {
			char res[512] = "", err[2048] = "";
			enum step step = action_lookup(ctx, a, res, sizeof res, err, sizeof err);
			switch (step) {
			case STEP_DONE:
				log_notice("%s %s was in doubt: it happened (%s)", a->kind, a->key, res);
				result = apply_step(ctx, a, STEP_DONE, res, NULL);
				break;
			case STEP_RETRY:
				log_notice("%s %s was in doubt: it did not happen (or is safe to repeat); sending it",
					   a->kind, a->key);
				if (record(ctx, a, "planned", NULL, "in doubt after an interrupted run: sending again", 0))
					result = EXIT_SOFTWARE;
				break;
			case STEP_FAILED:
				result = apply_step(ctx, a, STEP_FAILED, NULL, err);
				break;
			case STEP_AWAIT:
				/* nothing is sent; the rest of the run goes on */
				log_warn("%s %s stays in doubt: %s", a->kind, a->key, err);
				ctx->awaiting++;
				break;
			case STEP_STOP_AUTH:
				log_err("%s; cannot resolve %s %s", err, a->kind, a->key);
				result = EXIT_CONFIG;
				break;
			default:
				/* cannot look it up now: it stays in doubt, nothing is sent */
				log_err("%s; %s %s stays in doubt until it can be looked up", err, a->kind, a->key);
				ctx_note_error(ctx, err);
				result = step == STEP_DB_ERROR ? EXIT_SOFTWARE : EXIT_TEMPFAIL;
			}
		}
		outbox_action_free(a);
	}
	free(list);
	return result;
}

int act(struct sync_ctx *ctx)
{
	ctx->awaiting = 0;
	int result = resolve_in_doubt(ctx);
	if (result != EXIT_OK)
		return result;
	struct action *list;
	size_t n;
	if (outbox_load(ctx->db, "planned", now_ms(), &list, &n))
		return EXIT_SOFTWARE;
	long failed_before = ctx->failed;
	struct parked parked[PARKED_MAX];
	char ready[PARKED_MAX][32];
	size_t n_parked = 0, n_ready = 0;
	for (size_t i = 0; i < n; i++) {
		struct action *a = &list[i];
		char why[512];
		int skip = 0;
		if (result == EXIT_OK && action_kind_waits(ctx, a->kind, why, sizeof why)) {
			/* an assumed Crosschq feature not offered: it waits, the run is not failed */
			log_info("%s %s: %s", a->kind, a->key, why);
			skip = 1;
		} else if (result == EXIT_OK) {
			skip = kind_parked(ctx, a, parked, &n_parked, ready, &n_ready);
		}
		if (skip < 0)
			result = EXIT_SOFTWARE;
		/* interrupted: the actions not claimed yet stay planned */
		if (result == EXIT_OK && !skip && interrupted())
			result = interrupt_exit_code();
		if (result == EXIT_OK && !skip) {
			char res[512] = "", err[2048] = "";
			/* 0. the wait for the remote's pace comes before the claim: a run killed
			 *    while waiting leaves the action planned, not in doubt */
			const struct action_kind *k = action_kind_of(a->kind);
			if (k && k->remote == ON_CROSSCHQ)
				http_pace_wait(&ctx->crosschq);
			else if (k && k->remote == ON_LEVER)
				http_pace_wait(&ctx->lever);
			/* 0b. an effect the remote has already (a create Crosschq made before) is adopted,
			 *     not made again; before the claim too: a run killed while looking leaves it planned */
			enum step before;
			int settled = action_before_claim(ctx, a, &before, res, sizeof res, err, sizeof err);
			if (settled) {
				result = apply_step(ctx, a, before, res, err);
			} else {
				/* 1. committed as sending before the call */
				int claimed = outbox_claim(ctx->db, a->id);
				if (claimed)
					result = claimed == -2 ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
			}
			if (result == EXIT_OK && !settled) {
				crash_point("before-send");
				/* 2. the call */
				enum step step = action_send(ctx, a, res, sizeof res, err, sizeof err);
				crash_point("after-send");
				/* 3. the outcome */
				result = apply_step(ctx, a, step, res, err);
			}
		}
		outbox_action_free(a);
	}
	free(list);
	if (result == EXIT_OK && unpark_ready(ctx, parked, n_parked))
		result = EXIT_SOFTWARE;
	act_send_cleanup(ctx);
	if (result == EXIT_OK && ctx->failed > failed_before)
		result = EXIT_SOME_FAILED;
	if (result == EXIT_OK && ctx->awaiting > 0) {
		snprintf(ctx->error, sizeof ctx->error, "%ld Crosschq create%s in doubt without evidence: see refsync "
			 "status, then refsync resolve", ctx->awaiting, ctx->awaiting == 1 ? "" : "s");
		log_warn("%s", ctx->error);
		result = EXIT_SOME_FAILED;
	}
	/*
	 * A parked kind does not heal by itself: every other action went out,
	 * and the run ends with EXIT_CONFIG (78), so that the unit is seen
	 * failing until the setting is fixed ('refsync check' names it).
	 */
	if (n_parked == 0 || (result != EXIT_OK && result != EXIT_SOME_FAILED))
		return result;
	for (size_t i = 0; i < n_parked; i++) {
		log_err("%d %s action%s parked (%s); every other kind went on; run 'refsync check'",
			parked[i].waiting, parked[i].kind, parked[i].waiting == 1 ? "" : "s", parked[i].reason);
		if (!ctx->error[0])
			snprintf(ctx->error, sizeof ctx->error, "%.31s actions parked: %.1900s", parked[i].kind, parked[i].reason);
	}
	return EXIT_CONFIG;
}

void act_print_pending(struct sync_ctx *ctx)
{
	/* the posting's name and tags beside the ids, for the person reading it; with the actions,
	 * the write-backs this decide recorded as skipped (their event came before go-live) */
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT state, kind, key, CASE state WHEN 'skipped' THEN last_error "
		"ELSE reason END, " POSTING_OF_OPPORTUNITY_SQL(OPPORTUNITY_OF_SUBJECT_SQL("subject")) " FROM outbox "
		"WHERE state IN ('planned', 'sending') OR (state = 'skipped' AND updated_at >= ?) ORDER BY id");
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, ctx->started_at);
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		const char *posting = (const char *)sqlite3_column_text(st, 4);
		int skipped = strcmp(state, "skipped") == 0;
		printf("%-8s %-18s %s%s%s%s\n         because %s\n",
		       skipped ? "SKIP" : strcmp(state, "sending") == 0 ? "IN-DOUBT" : "PLAN", sqlite3_column_text(st, 1),
		       sqlite3_column_text(st, 2), posting ? " (posting " : "", posting ? posting : "", posting ? ")" : "",
		       sqlite3_column_text(st, 3));
		n += !skipped;
	}
	sqlite3_finalize(st);
	st = db_prepare(ctx->db, "SELECT t.opportunity_id, t.entered_at, t.state, t.reason, "
		POSTING_OF_OPPORTUNITY_SQL("t.opportunity_id") " FROM triggers t WHERE t.state IN ('held', 'skipped') "
		"ORDER BY t.entered_at, t.opportunity_id");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char iso[40];
		const char *posting = (const char *)sqlite3_column_text(st, 4);
		printf("%-8s opportunity %s (entered %s%s%s)\n         because %s\n",
		       strcmp((const char *)sqlite3_column_text(st, 2), "held") == 0 ? "HOLD" : "SKIP",
		       sqlite3_column_text(st, 0), format_iso8601(sqlite3_column_int64(st, 1), 0, iso, sizeof iso),
		       posting ? "; posting " : "", posting ? posting : "", sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	printf("%d action%s would be carried out\n", n, n == 1 ? "" : "s");
}

/* Link request_id to the create a, with the candidate email and position its intent names. 0 or -1. */
static int link_resolved(sqlite3 *db, const struct action *a, const char *request_id)
{
	yajl_val tree = yajl_tree_parse(a->payload ? a->payload : "", NULL, 0);
	struct cq_create_intent in;
	intent_decode_cq_create(tree, &in);
	int both = in.email && in.job_position;
	int rc = cq_store_link(db, request_id, a->key, both ? in.email : NULL, both ? in.job_position : NULL, 0);
	yajl_tree_free(tree);
	return rc;
}

int act_resolve(struct sync_ctx *ctx, const char *key, const char *request_id)
{
	struct action a;
	int found = outbox_load_key(ctx->db, key, "sending", &a);
	if (found < 0)
		return EXIT_SOFTWARE;
	if (!found) {
		log_err("no action in doubt has the key %s (refsync status lists them)", key);
		return EXIT_USAGE;
	}
	int code = EXIT_OK;
	char err[2048] = "";
	if (request_id && strcmp(a.kind, "cq.create_request") != 0) {
		log_err("%s is a %s: --sent REQUEST_ID is for Crosschq creates; use --not-sent to send it again, or "
			"check the remote and leave it", key, a.kind);
		code = EXIT_USAGE;
	} else if (request_id) {
		enum step step = act_cq_fetch_for_resolve(ctx, request_id, err, sizeof err);
		if (step != STEP_DONE) {
			log_err("%s", err);
			code = step == STEP_FAILED ? EXIT_USAGE : step == STEP_STOP_AUTH ? EXIT_CONFIG : EXIT_TEMPFAIL;
		} else if (db_begin(ctx->db) || link_resolved(ctx->db, &a, request_id) ||
			   audit_appendf(ctx->db, ctx->run_id, "action.resolved", a.subject,
					 "%s key=%s: resolved by an operator: sent, as Crosschq request %s", a.kind, a.key,
					 request_id) ||
			   db_commit(ctx->db)) {
			db_rollback(ctx->db);
			code = EXIT_SOFTWARE;
		} else if (record(ctx, &a, "done", request_id, NULL, 0)) {
			code = EXIT_SOFTWARE;
		} else {
			printf("%s: done, as Crosschq request %s\n", key, request_id);
		}
	} else {
		if (db_begin(ctx->db) ||
		    audit_appendf(ctx->db, ctx->run_id, "action.resolved", a.subject,
				  "%s key=%s: resolved by an operator: not sent; the next run sends it", a.kind, a.key) ||
		    db_commit(ctx->db)) {
			db_rollback(ctx->db);
			code = EXIT_SOFTWARE;
		} else if (record(ctx, &a, "planned", NULL, "resolved by an operator: not sent", 0)) {
			code = EXIT_SOFTWARE;
		} else {
			printf("%s: back to planned; the next run sends it\n", key);
		}
	}
	outbox_action_free(&a);
	return code;
}
