/*
 * decide_writeback.c - the rules that follow a reference request
 * (design.md, "The rules"), each an outbox action with its own key:
 *
 *   link:<request>           report link onto the candidate (Lever addLinks)
 *   note:<request>           one note with the report link, followers notified
 *   hired:<request>          Lever hire -> Crosschq hired (source "ats")
 *   archive-hired:<opp>      Crosschq or owner hire -> Lever archived as hired
 *   answer:<request>         the owner's answer -> Crosschq (source "owner_answer")
 *   cancel:<request>         archived as not hired -> open request cancelled
 *   prompt:<request>         the follow-up email, after_days after completion
 *   prospect:<prospect>      Crosschq prospect -> Lever opportunity (found or created)
 *   prospect-link:<prospect> the Lever id recorded on the prospect
 *
 * Loops: a change refsync made itself comes back in the next pull (an
 * archive shows as a hired archive, a request shows hired); every rule
 * looks at the state it would create and at its key, so it plans nothing
 * again. Like decide.c, nothing here calls a remote.
 *
 * Go-live: the write-backs obey the rule the trigger obeys. A link, note,
 * prompt, hire (either way) or cancel whose triggering event (the report's
 * completion, the hire, the archive) came before go-live is not planned but
 * recorded as skipped (outbox state 'skipped', audited as action.skipped
 * with the times), so that history pulled by a new install, or handed back
 * by Crosschq, is never written back. A skipped row stays skipped (its
 * key is taken), also if go-live is moved later.
 */
#include "audit.h"
#include "capability.h"
#include "db.h"
#include "decide_internal.h"
#include "intent.h"
#include "log.h"
#include "outbox.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

/* What this decide looks at (set by decide_writeback for its rules). */
static struct decide_scope scope;

/* The requests a rule reads (each rule is written over ALL_REQUESTS): all
 * of them, or those of the opportunities marked since the last decide
 * (decide_dirty; the store marks a request's opportunity when a request
 * changes); with `recent`, also those completed after ?9. CROSS JOIN keeps
 * the marks the outer loop: without statistics SQLite would rather scan
 * lever_opportunities. */
#define ALL_REQUESTS "FROM cq_requests r JOIN lever_opportunities o "
#define CHANGED_REQUESTS                                                                                         \
	"FROM decide_dirty d CROSS JOIN cq_requests r ON r.opportunity_id = d.opportunity_id "                    \
	"CROSS JOIN lever_opportunities o "
#define CHANGED_OR_RECENT_REQUESTS                                                                               \
	"FROM (SELECT r0.* FROM decide_dirty d CROSS JOIN cq_requests r0 ON r0.opportunity_id = d.opportunity_id " \
	"UNION SELECT r1.* FROM cq_requests r1 WHERE r1.completed_at > ?9) r CROSS JOIN lever_opportunities o "

/* Prepare a rule's query (written over ALL_REQUESTS) for this decide's scope. NULL on error. */
static sqlite3_stmt *prepare_rule(struct decide_ctx *ctx, const char *sql, int all, int recent)
{
	const char *at = strstr(sql, ALL_REQUESTS);
	if (all || !at)
		return db_prepare(ctx->db, sql);
	const char *source = recent ? CHANGED_OR_RECENT_REQUESTS : CHANGED_REQUESTS;
	size_t head = (size_t)(at - sql);
	char *text = xmalloc(strlen(sql) + strlen(source) + 1);
	memcpy(text, sql, head);
	strcpy(text + head, source);
	strcat(text, at + strlen(ALL_REQUESTS));
	sqlite3_stmt *st = db_prepare(ctx->db, text);
	free(text);
	return st;
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static void ms_text(int64_t ms, char *out, size_t n)
{
	snprintf(out, n, "%lld", (long long)ms);
}

/* The opportunity o is still a person we may act for: not deleted nor
 * anonymized in Lever (nothing is sent for an erased candidate). */
#define ALIVE "o.deleted_at IS NULL AND o.anonymized = 0"

/* Lever's view: 1 when the opportunity is archived with a hired-type reason. */
#define LEVER_SHOWS_HIRED \
	"(o.archived_at IS NOT NULL AND EXISTS (SELECT 1 FROM lever_archive_reasons a " \
	"WHERE a.id = o.archive_reason_id AND a.type = 'hired'))"

/* 1 when an event at `at` (epoch ms; 0: unknown) came before go-live. */
static int before_go_live(int64_t at)
{
	return at > 0 && at < scope.live_since;
}

/* The write-backs skipped by this decide (logged once at its end). */
static long skipped_now;

/*
 * Record an action decided but never to be sent: an outbox row in state
 * 'skipped' (unless its key exists), audited as action.skipped with why.
 * Takes body. 0 or -1.
 */
static int skip(struct decide_ctx *ctx, const char *key, const char *kind, const char *subject, char *body,
		const char *reason, const char *why)
{
	int r = outbox_skip(ctx->db, ctx->run_id, key, kind, subject, body, reason, why);
	free(body);
	if (r <= 0)
		return r;
	skipped_now++;
	return 0;
}

/*
 * Plan one action, or, when its triggering event (what, at `event_at`; 0:
 * unknown) came before go-live, record it as skipped. Takes body; counts a
 * planned action. 0 or -1.
 */
static int plan_after_go_live(struct decide_ctx *ctx, const char *key_prefix, const char *key_id, const char *kind,
			      const char *subject_kind, const char *subject_id, char *body, const char *reason,
			      const char *what, int64_t event_at)
{
	char key[256], subject[160];
	snprintf(key, sizeof key, "%s:%s", key_prefix, key_id);
	snprintf(subject, sizeof subject, "%s:%s", subject_kind, subject_id);
	if (before_go_live(event_at)) {
		char at[40], live[40], why[512];
		snprintf(why, sizeof why, "%s at %s, before go-live %s (trigger_since, else the first run): "
			 "write-backs are for what happens from go-live on", what,
			 format_iso8601(event_at, 0, at, sizeof at), format_iso8601(scope.live_since, 0, live, sizeof live));
		return skip(ctx, key, kind, subject, body, reason, why);
	}
	int r = outbox_plan(ctx->db, ctx->run_id, key, kind, subject, body, reason);
	free(body);
	if (r < 0)
		return -1;
	ctx->decided += r;
	return 0;
}

/* Plan one action (no go-live rule: prospects, answers); counts it. Takes body. 0 or -1. */
static int plan(struct decide_ctx *ctx, const char *key_prefix, const char *key_id, const char *kind,
		const char *subject_kind, const char *subject_id, char *body, const char *reason)
{
	return plan_after_go_live(ctx, key_prefix, key_id, kind, subject_kind, subject_id, body, reason, NULL, 0);
}

/* Report link and note for every completed request. */
static int rule_report(struct decide_ctx *ctx)
{
	sqlite3_stmt *st = prepare_rule(ctx,
		"SELECT r.id, r.opportunity_id, r.report_url, r.completed_at FROM cq_requests r "
		"JOIN lever_opportunities o ON o.id = r.opportunity_id "
		"WHERE r.status = 'completed' AND r.report_url IS NOT NULL AND r.report_url <> '' "
		"AND " ALIVE " AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'note:' || r.id) ORDER BY r.id",
		scope.all, 0);
	int rc = st ? 0 : -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		const char *rid = col(st, 0), *oid = col(st, 1);
		int64_t completed = sqlite3_column_int64(st, 3);
		struct lever_report_intent in = { oid, rid, col(st, 2) };
		rc = plan_after_go_live(ctx, "link", rid, "lever.add_link", "opportunity", oid,
					intent_encode_lever_report(&in),
					"the Crosschq report is ready: its link goes on the candidate in Lever",
					"the report was completed", completed);
		if (rc == 0)
			rc = plan_after_go_live(ctx, "note", rid, "lever.add_note", "opportunity", oid,
						intent_encode_lever_report(&in),
						"the Crosschq report is ready: a note tells the recruiter and followers",
						"the report was completed", completed);
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Hired in Lever (archived with a hired-type reason): tell Crosschq. The
 * latest fact wins: an earlier "not hired" answer of the owner does not hold
 * back a hire Lever shows now; only an owner's "hired" answer, which tells
 * Crosschq the same, makes this one unneeded.
 */
static int rule_hired_in_lever(struct decide_ctx *ctx)
{
	if (capability_get(ctx->db, CAP_HIRE) != CAP_PRESENT)
		return 0; /* Crosschq offers no way to be told (capability.h) */
	sqlite3_stmt *st = prepare_rule(ctx,
		"SELECT r.id, r.opportunity_id, o.archived_at FROM cq_requests r "
		"JOIN lever_opportunities o ON o.id = r.opportunity_id "
		"JOIN lever_archive_reasons a ON a.id = o.archive_reason_id "
		"WHERE a.type = 'hired' AND o.archived_at IS NOT NULL AND COALESCE(r.hired, 0) = 0 AND " ALIVE " "
		"AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'hired:' || r.id) "
		"AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'answer:' || r.id AND x.state <> 'failed' "
		"AND json_valid(x.payload) AND json_extract(x.payload, '$.hired') IN (1, 'true')) "
		"ORDER BY r.id", scope.all, 0);
	int rc = st ? 0 : -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct cq_hired_intent in = { col(st, 0), 1, sqlite3_column_int64(st, 2), "ats" };
		rc = plan_after_go_live(ctx, "hired", col(st, 0), "cq.set_hired", "opportunity", col(st, 1),
					intent_encode_cq_hired(&in),
					"archived in Lever with a hired-type reason", "hired in Lever",
					sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	return rc;
}

/* The id of the configured hired reason, or NULL (malloc'd). */
static char *hired_reason_id(struct decide_ctx *ctx)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT id FROM lever_archive_reasons WHERE text = ? COLLATE NOCASE "
					       "ORDER BY type = 'hired' DESC, id LIMIT 1");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, ctx->cfg->hired_reason, -1, SQLITE_STATIC);
	char *id = sqlite3_step(st) == SQLITE_ROW ? db_column_strdup(st, 0) : NULL;
	sqlite3_finalize(st);
	return id;
}

/* Archive an opportunity as hired in Lever unless Lever shows it hired;
 * skipped when the hire (at hired_at; 0: unknown) came before go-live. */
static int plan_archive_hired(struct decide_ctx *ctx, const char *oid, const char *why, int64_t hired_at)
{
	static int warned;
	char *reason = hired_reason_id(ctx);
	if (!reason) {
		if (!warned++)
			log_err("%s: [lever] hired_reason '%s' is not an archive reason in Lever: hires from Crosschq "
				"cannot be written to Lever (run 'refsync check')", ctx->cfg->path, ctx->cfg->hired_reason);
		return 0;
	}
	struct lever_archive_intent in = { oid, reason };
	int rc = plan_after_go_live(ctx, "archive-hired", oid, "lever.archive_hired", "opportunity", oid,
				    intent_encode_lever_archive(&in), why,
				    "hired in Crosschq", hired_at);
	free(reason);
	return rc;
}

/* Hired in Crosschq: archive in Lever with the hired reason. */
static int rule_hired_in_crosschq(struct decide_ctx *ctx)
{
	sqlite3_stmt *st = prepare_rule(ctx,
		"SELECT r.opportunity_id, max(COALESCE(r.hired_at, 0)) FROM cq_requests r "
		"JOIN lever_opportunities o ON o.id = r.opportunity_id "
		"WHERE r.hired = 1 AND COALESCE(r.hired_source, '') <> 'ats' AND " ALIVE " "
		"AND NOT " LEVER_SHOWS_HIRED " "
		"AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'archive-hired:' || r.opportunity_id) "
		"GROUP BY r.opportunity_id ORDER BY r.opportunity_id", scope.all, 0);
	int rc = st ? 0 : -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
		rc = plan_archive_hired(ctx, col(st, 0), "marked hired in Crosschq; Lever does not show the hire",
					sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
	return rc;
}

/*
 * The owners' answers to the follow-up prompt. A "not hired" answer never
 * undoes a hire: it is not passed on while Lever shows the candidate hired,
 * nor when Crosschq holds a hire newer than the answer (a stale click on an
 * old prompt); it waits, and goes out only if the hire goes away.
 */
static int rule_answers(struct decide_ctx *ctx)
{
	int can_tell_crosschq = capability_get(ctx->db, CAP_HIRE) == CAP_PRESENT;
	sqlite3_stmt *st = db_prepare(ctx->db,
		"SELECT a.request_id, a.hired, a.answered_at, r.opportunity_id, " LEVER_SHOWS_HIRED " "
		"FROM answers a JOIN cq_requests r ON r.id = a.request_id "
		"JOIN lever_opportunities o ON o.id = r.opportunity_id "
		"WHERE " ALIVE " AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'answer:' || a.request_id) "
		"AND (a.hired = 1 OR (NOT " LEVER_SHOWS_HIRED " AND NOT (COALESCE(r.hired, 0) = 1 "
		"AND COALESCE(r.hired_at, 0) >= a.answered_at))) "
		"AND (?1 OR (a.hired = 1 AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = "
		"'archive-hired:' || r.opportunity_id))) ORDER BY a.request_id");
	if (st)
		sqlite3_bind_int(st, 1, can_tell_crosschq);
	int rc = st ? 0 : -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int hired = sqlite3_column_int(st, 1);
		struct cq_hired_intent in = { col(st, 0), hired, sqlite3_column_int64(st, 2), "owner_answer" };
		if (can_tell_crosschq)
			rc = plan(ctx, "answer", col(st, 0), "cq.set_hired", "opportunity", col(st, 3),
				  intent_encode_cq_hired(&in),
				  hired ? "the owner answered: hired" : "the owner answered: not hired");
		if (rc == 0 && hired && !sqlite3_column_int(st, 4))
			rc = plan_archive_hired(ctx, col(st, 3), "the owner answered: hired", 0);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Archived as not hired: cancel open requests, so references stop getting reminders. */
static int rule_cancel(struct decide_ctx *ctx)
{
	if (!ctx->cfg->cancel_on_archive || capability_get(ctx->db, CAP_CANCEL) != CAP_PRESENT)
		return 0;
	sqlite3_stmt *st = prepare_rule(ctx,
		"SELECT r.id, r.opportunity_id, o.archived_at FROM cq_requests r "
		"JOIN lever_opportunities o ON o.id = r.opportunity_id "
		"WHERE r.status = 'open' AND o.archived_at IS NOT NULL AND NOT " LEVER_SHOWS_HIRED " "
		"AND " ALIVE " "
		"AND COALESCE(r.hired, 0) = 0 "
		"AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'cancel:' || r.id) "
		"ORDER BY r.id", scope.all, 0);
	int rc = st ? 0 : -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
		rc = plan_after_go_live(ctx, "cancel", col(st, 0), "cq.cancel_request", "opportunity", col(st, 1),
					intent_encode_cq_cancel(&(struct cq_cancel_intent){ col(st, 0) }),
					"archived in Lever as not hired (cancel_on_archive = yes)",
					"archived in Lever", sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	return rc;
}

/* The domain of the From address, for Message-IDs. */
static void from_domain(const char *from, char *out, size_t n)
{
	const char *at = from ? strrchr(from, '@') : NULL;
	size_t len = at ? strcspn(at + 1, "> \t") : 0;
	if (!len) {
		strlcpy_(out, "refsync.invalid", n);
		return;
	}
	snprintf(out, n, "%.*s", (int)len, at + 1);
}

/* The follow-up prompt: after_days after completion, neither hired nor archived. */
static int rule_prompt(struct decide_ctx *ctx)
{
	/* time-based: the requests whose waiting time ended since the last
	 * decide (by an index on completed_at), and those that changed */
	int64_t bound = ctx->now - (int64_t)ctx->cfg->after_days * DAY_MS;
	char *from = db_setting_get(ctx->db, "decide.prompt_through");
	int64_t prompt_from = from ? strtoll(from, NULL, 10) : 0;
	int all = scope.all || scope.held || prompt_from <= 0;
	sqlite3_stmt *st = prepare_rule(ctx,
		"SELECT r.id, r.opportunity_id, r.report_url, o.name, p.text, u.name, u.email, r.completed_at "
		"FROM cq_requests r "
		"JOIN lever_opportunities o ON o.id = r.opportunity_id "
		"LEFT JOIN lever_postings p ON p.id = o.posting_id "
		"JOIN lever_users u ON u.id = o.owner_id "
		"WHERE r.status = 'completed' AND r.completed_at IS NOT NULL AND r.completed_at <= ?1 "
		"AND COALESCE(r.hired, 0) = 0 AND o.archived_at IS NULL AND o.deleted_at IS NULL "
		"AND o.anonymized = 0 AND u.email IS NOT NULL AND u.email <> '' "
		"AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.request_id = r.id) "
		"AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'prompt:' || r.id) "
		"ORDER BY r.id",
		all, 1);
	if (!st) {
		free(from);
		return -1;
	}
	sqlite3_bind_int64(st, 1, bound);
	if (!all)
		sqlite3_bind_int64(st, 9, prompt_from);
	char domain[256];
	from_domain(ctx->cfg->from, domain, sizeof domain);
	int rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		char message_id[512];
		snprintf(message_id, sizeof message_id, "refsync-prompt.%s@%s", col(st, 0), domain);
		char reason[128];
		snprintf(reason, sizeof reason, "report completed %d or more days ago; candidate neither hired nor archived",
			 ctx->cfg->after_days);
		struct mail_prompt_intent in = {
			.request_id = col(st, 0), .opportunity_id = col(st, 1), .report_url = col(st, 2),
			.candidate = col(st, 3), .job = col(st, 4), .to_name = col(st, 5), .to_email = col(st, 6),
			.message_id = message_id,
			.expires_at = ctx->now + (int64_t)ctx->cfg->answer_expiry_days * DAY_MS,
		};
		rc = plan_after_go_live(ctx, "prompt", col(st, 0), "mail.followup", "opportunity", col(st, 1),
					intent_encode_mail_prompt(&in),
					reason, "the report was completed", sqlite3_column_int64(st, 7));
	}
	sqlite3_finalize(st);
	char through[24];
	ms_text(bound, through, sizeof through);
	if (rc == 0 && (!from || strcmp(from, through) != 0) && db_setting_set(ctx->db, "decide.prompt_through", through))
		rc = -1;
	free(from);
	return rc;
}

/* The time from which new prospects are exported automatically. */
static int auto_export_since(struct decide_ctx *ctx, int64_t *out)
{
	char *v = db_setting_get(ctx->db, "auto_export_since");
	if (v) {
		*out = strtoll(v, NULL, 10);
		free(v);
		return 0;
	}
	char buf[24];
	ms_text(ctx->now, buf, sizeof buf);
	if (db_setting_set(ctx->db, "auto_export_since", buf))
		return -1;
	*out = ctx->now;
	return audit_append(ctx->db, ctx->run_id, "config.auto_export_new", "installation",
			    "prospects created from now on are exported to Lever");
}

/* Prospects into Lever, then their Lever id back onto the prospect. */
static int rule_prospects(struct decide_ctx *ctx)
{
	int all = ctx->cfg->export_existing;
	if ((!all && !ctx->cfg->auto_export_new) || capability_get(ctx->db, CAP_PROSPECTS) != CAP_PRESENT)
		return 0;
	int64_t since = 0;
	if (!all && auto_export_since(ctx, &since))
		return -1;
	sqlite3_stmt *st = db_prepare(ctx->db,
		"SELECT id, trim(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '')), email, phone, job_title, "
		"tags FROM cq_prospects WHERE (ats_id IS NULL OR ats_id = '') AND email IS NOT NULL AND email <> '' "
		"AND (?1 OR created_at >= ?2) "
		"AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.key = 'prospect:' || cq_prospects.id) ORDER BY id");
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, all);
	sqlite3_bind_int64(st, 2, since);
	int rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct lever_prospect_intent in = { col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4),
						    col(st, 5) };
		rc = plan(ctx, "prospect", col(st, 0), "lever.export_prospect", "prospect", col(st, 0),
			  intent_encode_lever_prospect(&in),
			  all ? "export_existing = yes: a Crosschq prospect not yet in Lever"
			      : "auto_export_new = yes: a new Crosschq prospect");
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	st = db_prepare(ctx->db,
		"SELECT p.id, x.result FROM outbox x JOIN cq_prospects p ON x.key = 'prospect:' || p.id "
		"WHERE x.state = 'done' AND x.result IS NOT NULL AND COALESCE(p.ats_id, '') <> x.result "
		"AND NOT EXISTS (SELECT 1 FROM lever_opportunities o WHERE o.id = x.result AND NOT (" ALIVE ")) "
		"AND NOT EXISTS (SELECT 1 FROM outbox y WHERE y.key = 'prospect-link:' || p.id) ORDER BY p.id");
	rc = st ? 0 : -1;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW)
		rc = plan(ctx, "prospect-link", col(st, 0), "cq.link_prospect", "prospect", col(st, 0),
			  intent_encode_cq_link_prospect(&(struct cq_link_prospect_intent){ col(st, 0), col(st, 1) }),
			  "the prospect is in Lever: record its Lever id in Crosschq");
	sqlite3_finalize(st);
	return rc;
}

int decide_writeback(struct decide_ctx *ctx, const struct decide_scope *sc)
{
	scope = *sc;
	skipped_now = 0;
	int (*rules[])(struct decide_ctx *) = { rule_report, rule_hired_in_lever, rule_answers, rule_hired_in_crosschq,
					      rule_cancel, rule_prompt, rule_prospects };
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		if (rules[i](ctx))
			return EXIT_SOFTWARE; /* decide() names the statement */
	}
	if (skipped_now > 0) {
		char live[40];
		log_notice("%ld write-back%s skipped: %s for events before go-live %s (audit events action.skipped)",
			   skipped_now, skipped_now == 1 ? "" : "s", skipped_now == 1 ? "it is" : "they are",
			   format_iso8601(scope.live_since, 0, live, sizeof live));
	}
	return EXIT_OK;
}
