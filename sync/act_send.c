/*
 * act_send.c - the remote effect of the Lever and mail action kinds
 * (act_lookup.c looks up the ones left in doubt, and the links and notes
 * before they are posted: one already there is adopted, not posted again;
 * the Crosschq kinds are act_crosschq.c's).
 */
#include "act_send.h"
#include "answer_link.h"
#include "db.h"
#include "lever.h"
#include "log.h"
#include "mail.h"
#include "lever_parse.h"
#include "store.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

/* Secrets that only some actions need, read on first use. */
static char *answer_secret, *smtp_password;
static int smtp_password_read;

void act_send_cleanup(struct sync_ctx *ctx)
{
	(void)ctx;
	secret_free(answer_secret);
	secret_free(smtp_password);
	answer_secret = smtp_password = NULL;
	smtp_password_read = 0;
}

int act_mail_ready(struct sync_ctx *ctx, char *err, size_t elen)
{
	const struct config *cfg = ctx->cfg;
	char from_addr[MAIL_ADDRESS_MAX + 1];
	if (!cfg->answer_url) {
		snprintf(err, elen, "%s: [followup] answer_url is not set: the prompt needs the answer page's URL",
			 cfg->path);
		return 0;
	}
	if (!cfg->smtp_url || !*cfg->smtp_url) {
		snprintf(err, elen, "%s: [followup] smtp_url is not set: the prompt cannot be sent", cfg->path);
		return 0;
	}
	if (!cfg->from || mail_address_of(cfg->from, from_addr, sizeof from_addr)) {
		snprintf(err, elen, "%s: [followup] from '%s' holds no usable address", cfg->path,
			 cfg->from ? cfg->from : "");
		return 0;
	}
	if (!answer_secret) {
		answer_secret = config_read_secret(cfg, SECRET_ANSWER_SECRET, err, elen);
		if (!answer_secret)
			return 0;
	}
	if (!smtp_password_read && cfg->smtp_user) {
		smtp_password = config_read_secret(cfg, SECRET_SMTP_PASSWORD, err, elen);
		if (!smtp_password)
			return 0;
	}
	smtp_password_read = 1;
	return 1;
}

enum step act_classify(enum remote_status s, int maybe_sent)
{
	switch (s) {
	case REMOTE_OK:
		return STEP_DONE;
	case REMOTE_DOWN:
		return maybe_sent ? STEP_IN_DOUBT : STEP_STOP_DOWN;
	case REMOTE_AUTH:
	case REMOTE_REDIRECTED:
	case REMOTE_SETUP:
		return STEP_STOP_AUTH;
	case REMOTE_BAD:
		return maybe_sent ? STEP_IN_DOUBT : STEP_RETRY;
	default:
		return STEP_FAILED;
	}
}

enum step act_classify_lookup(enum remote_status s)
{
	/* a key refused, a redirect elsewhere or a certificate that does not verify is the
	 * set-up (78), whatever the call; anything else stops the run until later (75) */
	return s == REMOTE_AUTH || s == REMOTE_REDIRECTED || s == REMOTE_SETUP ? STEP_STOP_AUTH : STEP_STOP_DOWN;
}

/* ---- storing what the remote answered ---------------------------------- */

struct first_id {
	struct store *store;
	char *id;
	size_t len;
	const char *want_url; /* for opportunities: does links hold it? */
	int has_url;
};

static int on_opportunity(void *p, const struct lever_opportunity *o)
{
	struct first_id *f = p;
	if (!f->id[0])
		strlcpy_(f->id, o->id, f->len);
	if (f->want_url) {
		for (const char *l = o->links ? o->links : ""; *l;) {
			size_t n = strcspn(l, "\n");
			if (n == strlen(f->want_url) && strncmp(l, f->want_url, n) == 0)
				f->has_url = 1;
			l += n + (l[n] == '\n');
		}
	}
	return store_opportunity(f->store, o);
}

/*
 * Parse and store a Crosschq request page or a Lever opportunity page from
 * resp; the first record's id goes to id. Returns the number of records, or
 * -1 when the body is not understood or the database failed.
 */
int act_store_response(struct sync_ctx *ctx, const struct http_response *resp, char *id, size_t len,
		       const char *want_url, int *has_url)
{
	struct store store;
	store_init(&store, ctx->db, ctx->run_id);
	struct first_id f = { &store, id, len, want_url, 0 };
	id[0] = '\0';
	struct page_info page;
	char err[256];
	int n = -1;
	const char *d = resp->body.data ? resp->body.data : "";
	if (db_begin(ctx->db) == 0) {
		int r = parse_opportunity_page(d, resp->body.len, on_opportunity, &f, &page, err, sizeof err);
		if (r == 0 && db_commit(ctx->db) == 0) {
			n = page.records;
		} else {
			log_warn("Lever answer not understood: %s", err);
			db_rollback(ctx->db);
		}
	}
	store_free(&store);
	if (has_url)
		*has_url = f.has_url;
	return n;
}

/* ---- Lever --------------------------------------------------------------- */

/* The report link onto the candidate (action_kinds.c looked for it first). */
enum step act_lever_add_link(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			     size_t rlen, char *err, size_t elen)
{
	(void)a;
	(void)result;
	(void)rlen;
	struct http_response resp;
	http_response_init(&resp);
	int maybe = 0;
	enum remote_status s = lever_add_link(&ctx->lever, in->report.opportunity_id, in->report.url,
					      ctx->cfg->perform_as, &resp, &maybe, err, elen);
	http_response_free(&resp);
	return act_classify(s, maybe);
}

/* A malloc'd printf. */
static char *xformat(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xformat(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *out = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	out[0] = '\0';
	if (n > 0) {
		va_start(ap, fmt);
		vsnprintf(out, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return out;
}

char *act_note_marker(const char *request_id)
{
	return xformat("(refsync, Crosschq request %s)", request_id ? request_id : "");
}

/* The note refsync writes: the report link (any length), then the marker it is found again by. malloc'd. */
static char *note_text(const struct lever_report_intent *in)
{
	char *marker = act_note_marker(in->request_id);
	char *text = xformat("The Crosschq reference check report is ready: %s\n\n%s", in->url, marker);
	free(marker);
	return text;
}

/* The note with the report link (action_kinds.c looked for ours, or one holding the link, first). */
enum step act_lever_add_note(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			     size_t rlen, char *err, size_t elen)
{
	(void)a;
	char *text = note_text(&in->report);
	struct http_response resp;
	http_response_init(&resp);
	int maybe = 0;
	enum remote_status s = lever_add_note(&ctx->lever, in->report.opportunity_id, text, ctx->cfg->perform_as,
					      &resp, &maybe, err, elen);
	free(text);
	enum step step = act_classify(s, maybe);
	if (step == STEP_DONE) {
		/* {"data":{"noteId":...}} (some answer data.id): keep the id */
		char perr[128];
		yajl_val v = yajl_tree_parse(resp.body.data ? resp.body.data : "", perr, sizeof perr);
		const char *p1[] = { "data", "noteId", NULL }, *p2[] = { "data", "id", NULL };
		yajl_val id = v ? yajl_tree_get(v, p1, yajl_t_string) : NULL;
		if (!id && v)
			id = yajl_tree_get(v, p2, yajl_t_string);
		strlcpy_(result, id ? YAJL_GET_STRING(id) : "", rlen);
		yajl_tree_free(v);
	}
	http_response_free(&resp);
	return step;
}

static int on_archived(void *p, const struct lever_opportunity *o)
{
	return store_opportunity_archived(p, o);
}

/* The archive call's answer is not expanded (owner, applications are ids):
 * store only what it really says (archived, reason, updatedAt). */
static void store_archive_answer(struct sync_ctx *ctx, const struct http_response *resp)
{
	struct store store;
	store_init(&store, ctx->db, ctx->run_id);
	struct page_info page;
	char err[256] = "";
	if (db_begin(ctx->db) == 0) {
		if (parse_opportunity_page(resp->body.data ? resp->body.data : "", resp->body.len, on_archived, &store,
					   &page, err, sizeof err) ||
		    db_commit(ctx->db)) {
			log_warn("Lever archive answer not stored: %s", err);
			db_rollback(ctx->db);
		}
	}
	store_free(&store);
}

/* Archive the opportunity as hired; what Lever answers is stored. */
enum step act_lever_archive(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			    size_t rlen, char *err, size_t elen)
{
	(void)a;
	(void)result;
	(void)rlen;
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_archive(&ctx->lever, in->archive.opportunity_id, in->archive.reason_id,
					     ctx->cfg->perform_as, &resp, err, elen);
	enum step step = act_classify(s, 0);
	if (step == STEP_DONE)
		store_archive_answer(ctx, &resp);
	http_response_free(&resp);
	return step;
}

/* The id of a live opportunity of the mirror with that canonical email, into result: 1 found, 0 not, -1. */
static int mirror_by_email(struct sync_ctx *ctx, const char *canonical, char *result, size_t rlen)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT id FROM lever_opportunities WHERE lower(trim(email)) = ? "
					       "AND deleted_at IS NULL AND anonymized = 0 ORDER BY created_at, id LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, canonical, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		strlcpy_(result, (const char *)sqlite3_column_text(st, 0), rlen);
		found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

enum step act_find_by_email(struct sync_ctx *ctx, const char *email, char *result, size_t rlen, char *err,
			    size_t elen)
{
	/* Lever matches the canonical email exactly: "Ann@X.com " finds nothing */
	char *canonical = email_canonical(email);
	int local = mirror_by_email(ctx, canonical, result, rlen);
	if (local != 0) {
		free(canonical);
		if (local < 0)
			snprintf(err, elen, "database: looking up an opportunity by email: %s", sqlite3_errmsg(ctx->db));
		return local > 0 ? STEP_DONE : STEP_DB_ERROR;
	}
	struct http_response resp;
	http_response_init(&resp);
	enum step step = act_classify(lever_find_by_email(&ctx->lever, canonical, &resp, err, elen), 0);
	if (step == STEP_DONE) {
		int n = act_store_response(ctx, &resp, result, rlen, NULL, NULL);
		if (n < 0) {
			snprintf(err, elen, "Lever GET /opportunities?email=: answer not understood");
			step = STEP_RETRY;
		} else if (n == 0) {
			step = STEP_RETRY; /* not there */
		}
	}
	http_response_free(&resp);
	free(canonical);
	return step;
}

/* A prospect into Lever: the opportunity with its email, else a new one. */
enum step act_lever_export_prospect(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				    char *result, size_t rlen, char *err, size_t elen)
{
	(void)a;
	const struct lever_prospect_intent *p = &in->prospect;
	const char *email = p->email;
	enum step step = act_find_by_email(ctx, email, result, rlen, err, elen);
	if (step == STEP_DONE) {
		log_info("prospect %s: Lever already has opportunity %s with that email; linked, not created",
			 p->prospect_id, result);
		return STEP_DONE;
	}
	if (step != STEP_RETRY)
		return step;
	if (!ctx->cfg->perform_as) {
		snprintf(err, elen, "%s: [lever] perform_as must name a Lever user: Lever requires it to create "
			 "opportunities", ctx->cfg->path);
		return STEP_FAILED;
	}
	/* tags arrive newline-separated */
	const char *tags_text = p->tags;
	char *copy = xstrdup(tags_text ? tags_text : "");
	const char *tags[64];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t && n < 64; t = strtok_r(NULL, "\n", &save))
		tags[n++] = t;
	char *canonical = email_canonical(email);
	struct lever_new_opportunity o = { p->name, canonical, p->phone, p->headline, tags, n };
	struct http_response resp;
	http_response_init(&resp);
	int maybe = 0;
	step = act_classify(lever_create_opportunity(&ctx->lever, &o, ctx->cfg->perform_as, &resp, &maybe, err, elen),
			maybe);
	free(copy);
	free(canonical);
	if (step == STEP_DONE && act_store_response(ctx, &resp, result, rlen, NULL, NULL) <= 0) {
		snprintf(err, elen, "Lever POST /opportunities: HTTP %ld with a body that is not an opportunity",
			 resp.status);
		step = STEP_IN_DOUBT; /* it may exist: look it up by email next run */
	}
	http_response_free(&resp);
	return step;
}

/* ---- mail ---------------------------------------------------------------- */

/*
 * Was the prompt for request_id due under an earlier installation? Its note
 * was found on Lever, not posted by this database, at a time when the report
 * was already after_days old: that installation sent the prompt (or had it
 * due), and an email cannot be looked up. 1 yes (why set), 0 no, -1 error.
 */
static int prompt_sent_before(struct sync_ctx *ctx, const char *request_id, char *why, size_t n)
{
	sqlite3_stmt *st = db_prepare(ctx->db,
		"SELECT x.found_at, r.completed_at FROM outbox x JOIN cq_requests r ON x.key = 'note:' || r.id "
		"WHERE r.id = ?1 AND x.state = 'done' AND x.found_at IS NOT NULL AND r.completed_at IS NOT NULL "
		"AND x.found_at >= r.completed_at + ?2");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)ctx->cfg->after_days * 86400000LL);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char found[40], completed[40];
		snprintf(why, n, "an earlier installation had it due: the report's note was on Lever already (found "
			 "%s), and the report was completed %s, %d or more days before; an email cannot be looked up, "
			 "so it is not sent again",
			 format_iso8601(sqlite3_column_int64(st, 0), 0, found, sizeof found),
			 format_iso8601(sqlite3_column_int64(st, 1), 0, completed, sizeof completed), ctx->cfg->after_days);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The follow-up prompt to the owner, unless an earlier installation had it due. */
enum step act_mail_prompt(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			  size_t rlen, char *err, size_t elen)
{
	(void)a;
	(void)result;
	(void)rlen;
	const struct mail_prompt_intent *p = &in->prompt;
	int earlier = prompt_sent_before(ctx, p->request_id, err, elen);
	if (earlier)
		return earlier > 0 ? STEP_SKIPPED : STEP_DB_ERROR;
	if (!act_mail_ready(ctx, err, elen))
		return STEP_PARK;
	const char *to = p->to_email;
	if (!mail_address_plausible(to, strlen(to))) {
		snprintf(err, elen, "the owner's email address in Lever is not a usable address: not sent");
		return STEP_FAILED;
	}
	const char *rid = p->request_id;
	int64_t expires_ms = p->expires_at;
	char *link = answer_link_build(ctx->cfg->answer_url, answer_secret, rid, expires_ms / 1000);
	struct mail_prompt m = {
		.request_id = rid,
		.to_name = p->to_name,
		.to_email = p->to_email,
		.candidate_name = p->candidate ? p->candidate : "the candidate",
		.job_title = p->job,
		.report_url = p->report_url,
		.answer_link = link,
		.expires_at_ms = expires_ms,
		.message_id = p->message_id,
		.date_ms = now_ms(),
	};
	char from_addr[512];
	enum step step;
	char *msg = mail_compose_prompt(ctx->cfg->from, &m);
	if (!msg || mail_address_of(ctx->cfg->from, from_addr, sizeof from_addr)) {
		snprintf(err, elen, "the prompt could not be composed (out of memory)");
		step = STEP_RETRY;
	} else {
		int permanent = 0;
		if (mail_send(ctx->cfg->smtp_url, ctx->cfg->smtp_user, smtp_password, from_addr, m.to_email, msg,
			      &permanent, err, elen) == 0)
			step = STEP_DONE;
		else
			step = permanent ? STEP_FAILED : STEP_RETRY;
	}
	free(msg);
	free(link);
	return step;
}
