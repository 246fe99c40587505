/*
 * act_send.c - the remote effect of each action kind, and in-doubt lookups.
 */
#include "act_send.h"
#include "act_crosschq.h"
#include "answer_link.h"
#include "db.h"
#include "lever.h"
#include "log.h"
#include "mail.h"
#include "records.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#define NOTE_PAGES_MAX 20

/* Secrets that only some actions need, read on first use. */
static char *answer_secret, *smtp_password;
static int smtp_password_read;

void act_send_cleanup(struct sync_ctx *ctx)
{
	(void)ctx;
	free(answer_secret);
	free(smtp_password);
	answer_secret = smtp_password = NULL;
	smtp_password_read = 0;
}

/* A string member of the payload, or NULL. */
static const char *field(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);
	return s ? YAJL_GET_STRING(s) : NULL;
}

static enum step classify(enum remote_status s, int maybe_sent)
{
	switch (s) {
	case REMOTE_OK:
		return STEP_DONE;
	case REMOTE_DOWN:
		return maybe_sent ? STEP_IN_DOUBT : STEP_STOP_DOWN;
	case REMOTE_AUTH:
	case REMOTE_REDIRECTED:
		return STEP_STOP_AUTH;
	case REMOTE_BAD:
		return maybe_sent ? STEP_IN_DOUBT : STEP_RETRY;
	default:
		return STEP_FAILED;
	}
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
		for (const char *l = o->links; *l;) {
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
static int store_answer(struct sync_ctx *ctx, const struct http_response *resp, char *id, size_t len,
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

static enum step add_link(struct sync_ctx *ctx, yajl_val p, char *err, size_t elen)
{
	struct http_response resp;
	http_response_init(&resp);
	int maybe = 0;
	enum remote_status s = lever_add_link(&ctx->lever, field(p, "opportunity_id"), field(p, "url"),
					      ctx->cfg->perform_as, &resp, &maybe, err, elen);
	http_response_free(&resp);
	return classify(s, maybe);
}

/* The note refsync writes; it carries the report link, which is also how it is found again. */
static void note_text(yajl_val p, char *out, size_t n)
{
	snprintf(out, n, "The Crosschq reference check report is ready: %s\n\n(refsync, Crosschq request %s)",
		 field(p, "url"), field(p, "request_id"));
}

static enum step add_note(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err, size_t elen)
{
	char text[2048];
	note_text(p, text, sizeof text);
	struct http_response resp;
	http_response_init(&resp);
	int maybe = 0;
	enum remote_status s = lever_add_note(&ctx->lever, field(p, "opportunity_id"), text, ctx->cfg->perform_as,
					      &resp, &maybe, err, elen);
	enum step step = classify(s, maybe);
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
	char err[256];
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

static enum step archive_hired(struct sync_ctx *ctx, yajl_val p, char *err, size_t elen)
{
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_archive(&ctx->lever, field(p, "opportunity_id"), field(p, "reason_id"),
					     ctx->cfg->perform_as, &resp, err, elen);
	enum step step = classify(s, 0);
	if (step == STEP_DONE)
		store_archive_answer(ctx, &resp);
	http_response_free(&resp);
	return step;
}

/* Find an opportunity by email: STEP_DONE with its id, STEP_RETRY when none, or a stop/fail step. */
static enum step find_by_email(struct sync_ctx *ctx, const char *email, char *result, size_t rlen, char *err,
			       size_t elen)
{
	struct http_response resp;
	http_response_init(&resp);
	enum step step = classify(lever_find_by_email(&ctx->lever, email, &resp, err, elen), 0);
	if (step == STEP_DONE) {
		int n = store_answer(ctx, &resp, result, rlen, NULL, NULL);
		if (n < 0) {
			snprintf(err, elen, "Lever GET /opportunities?email=: answer not understood");
			step = STEP_RETRY;
		} else if (n == 0) {
			step = STEP_RETRY; /* not there */
		}
	}
	http_response_free(&resp);
	return step;
}

static enum step export_prospect(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err,
				 size_t elen)
{
	const char *email = field(p, "email");
	enum step step = find_by_email(ctx, email, result, rlen, err, elen);
	if (step == STEP_DONE) {
		log_info("prospect %s: Lever already has opportunity %s with that email; linked, not created",
			 field(p, "prospect_id"), result);
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
	const char *tags_text = field(p, "tags");
	char *copy = xstrdup(tags_text ? tags_text : "");
	const char *tags[64];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t && n < 64; t = strtok_r(NULL, "\n", &save))
		tags[n++] = t;
	struct lever_new_opportunity o = { field(p, "name"), email, field(p, "phone"), field(p, "headline"), tags, n };
	struct http_response resp;
	http_response_init(&resp);
	int maybe = 0;
	step = classify(lever_create_opportunity(&ctx->lever, &o, ctx->cfg->perform_as, &resp, &maybe, err, elen),
			maybe);
	free(copy);
	if (step == STEP_DONE && store_answer(ctx, &resp, result, rlen, NULL, NULL) <= 0) {
		snprintf(err, elen, "Lever POST /opportunities: HTTP %ld with a body that is not an opportunity",
			 resp.status);
		step = STEP_IN_DOUBT; /* it may exist: look it up by email next run */
	}
	http_response_free(&resp);
	return step;
}

/* ---- mail ---------------------------------------------------------------- */

static enum step send_prompt(struct sync_ctx *ctx, const struct action *a, yajl_val p, char *err, size_t elen)
{
	if (!answer_secret) {
		answer_secret = config_read_secret(ctx->cfg, SECRET_ANSWER_SECRET, err, elen);
		if (!answer_secret)
			return STEP_STOP_AUTH;
	}
	if (!smtp_password_read && ctx->cfg->smtp_user) {
		smtp_password = config_read_secret(ctx->cfg, SECRET_SMTP_PASSWORD, err, elen);
		if (!smtp_password)
			return STEP_STOP_AUTH;
	}
	smtp_password_read = 1;
	if (!ctx->cfg->answer_url) {
		snprintf(err, elen, "%s: [followup] answer_url is not set: the prompt needs the answer page's URL",
			 ctx->cfg->path);
		return STEP_STOP_AUTH;
	}
	const char *rid = field(p, "request_id"), *exp = field(p, "expires_at");
	int64_t expires_ms = exp ? strtoll(exp, NULL, 10) : 0;
	char *link = answer_link_build(ctx->cfg->answer_url, answer_secret, rid, expires_ms / 1000);
	struct mail_prompt m = {
		.request_id = rid,
		.to_name = field(p, "to_name"),
		.to_email = field(p, "to_email"),
		.candidate_name = field(p, "candidate") ? field(p, "candidate") : "the candidate",
		.job_title = field(p, "job"),
		.report_url = field(p, "report_url"),
		.answer_link = link,
		.expires_at_ms = expires_ms,
		.message_id = field(p, "message_id"),
		.date_ms = now_ms(),
	};
	char from_addr[512];
	enum step step;
	char *msg = mail_compose_prompt(ctx->cfg->from, &m);
	if (!msg || mail_address_of(ctx->cfg->from, from_addr, sizeof from_addr)) {
		snprintf(err, elen, "%s: [followup] from '%s' holds no usable address", ctx->cfg->path, ctx->cfg->from);
		step = STEP_STOP_AUTH;
	} else {
		int permanent = 0;
		if (mail_send(ctx->cfg->smtp_url, ctx->cfg->smtp_user, smtp_password, from_addr, m.to_email, msg,
			      &permanent, err, elen) == 0)
			step = STEP_DONE;
		else
			step = permanent ? STEP_FAILED : STEP_RETRY;
	}
	(void)a;
	free(msg);
	free(link);
	return step;
}

/* ---- dispatch ------------------------------------------------------------ */

/* The action's stored parameters, or NULL (err set) when they are not a JSON object. */
static yajl_val parse_payload(const struct action *a, char *err, size_t elen)
{
	char perr[128];
	yajl_val p = yajl_tree_parse(a->payload, perr, sizeof perr);
	if (!p || !YAJL_IS_OBJECT(p)) {
		yajl_tree_free(p);
		snprintf(err, elen, "%s: the stored payload is not a JSON object (erased or corrupt)", a->key);
		return NULL;
	}
	return p;
}

enum step act_send(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err, size_t elen)
{
	result[0] = '\0';
	if (strcmp(a->kind, "cq.create_request") == 0)
		return act_cq_create(ctx, a, result, rlen, err, elen);
	yajl_val p = parse_payload(a, err, elen);
	if (!p)
		return STEP_FAILED;
	enum step step;
	if (strcmp(a->kind, "lever.add_link") == 0)
		step = add_link(ctx, p, err, elen);
	else if (strcmp(a->kind, "lever.add_note") == 0)
		step = add_note(ctx, p, result, rlen, err, elen);
	else if (strcmp(a->kind, "lever.archive_hired") == 0)
		step = archive_hired(ctx, p, err, elen);
	else if (strcmp(a->kind, "cq.set_hired") == 0)
		step = act_cq_set_hired(ctx, p, result, rlen, err, elen);
	else if (strcmp(a->kind, "cq.cancel_request") == 0)
		step = act_cq_cancel(ctx, p, result, rlen, err, elen);
	else if (strcmp(a->kind, "mail.followup") == 0)
		step = send_prompt(ctx, a, p, err, elen);
	else if (strcmp(a->kind, "lever.export_prospect") == 0)
		step = export_prospect(ctx, p, result, rlen, err, elen);
	else if (strcmp(a->kind, "cq.link_prospect") == 0)
		step = act_cq_link_prospect(ctx, p, result, rlen, err, elen);
	else {
		snprintf(err, elen, "unknown action kind '%s' (written by a newer refsync?)", a->kind);
		step = STEP_FAILED;
	}
	yajl_tree_free(p);
	return step;
}

/* In doubt about a link: does the opportunity carry it? */
static enum step lookup_link(struct sync_ctx *ctx, yajl_val p, char *err, size_t elen)
{
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, field(p, "opportunity_id"), &resp, err, elen);
	enum step step = classify(s, 0);
	if (step == STEP_DONE) {
		char id[ID_MAX];
		int has = 0;
		if (store_answer(ctx, &resp, id, sizeof id, field(p, "url"), &has) < 0)
			step = STEP_STOP_DOWN;
		else
			step = has ? STEP_DONE : STEP_RETRY;
	} else if (s == REMOTE_NOT_FOUND) {
		snprintf(err, elen, "the opportunity no longer exists in Lever");
		step = STEP_FAILED;
	} else if (step == STEP_FAILED) {
		step = STEP_STOP_DOWN;
	}
	http_response_free(&resp);
	return step;
}

struct note_search {
	const char *url;
	char found[ID_MAX];
};

static int on_note(void *p, const struct lever_simple *n)
{
	struct note_search *s = p;
	if (!s->found[0] && strstr(n->text, s->url))
		strlcpy_(s->found, n->id, sizeof s->found);
	return 0;
}

/* In doubt about a note: list the opportunity's notes and find ours by its report link. */
static enum step lookup_note(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err, size_t elen)
{
	struct note_search s = { field(p, "url"), "" };
	char token[TOKEN_MAX] = "";
	struct http_response resp;
	http_response_init(&resp);
	enum step step = STEP_RETRY;
	for (int page_no = 0; page_no < NOTE_PAGES_MAX; page_no++) {
		enum remote_status rs = lever_list_notes(&ctx->lever, field(p, "opportunity_id"), token, &resp, err, elen);
		if (rs != REMOTE_OK) {
			step = rs == REMOTE_AUTH ? STEP_STOP_AUTH : STEP_STOP_DOWN;
			break;
		}
		struct page_info page;
		char perr[256];
		if (parse_simple_page(resp.body.data ? resp.body.data : "", resp.body.len, LS_NOTE, on_note, &s, &page,
				      perr, sizeof perr)) {
			snprintf(err, elen, "Lever notes of %s: %s", field(p, "opportunity_id"), perr);
			step = STEP_STOP_DOWN;
			break;
		}
		if (s.found[0]) {
			strlcpy_(result, s.found, rlen);
			step = STEP_DONE;
			break;
		}
		if (!page.has_next || !page.next[0])
			break;
		strlcpy_(token, page.next, sizeof token);
	}
	http_response_free(&resp);
	return step;
}

/* In doubt about an archive: does Lever show the opportunity archived with that reason? */
static enum step lookup_archive(struct sync_ctx *ctx, yajl_val p, char *err, size_t elen)
{
	const char *oid = field(p, "opportunity_id"), *reason = field(p, "reason_id");
	struct http_response resp;
	http_response_init(&resp);
	enum remote_status s = lever_fetch_opportunity(&ctx->lever, oid, &resp, err, elen);
	enum step step = classify(s, 0);
	if (step == STEP_DONE) {
		char id[ID_MAX];
		if (store_answer(ctx, &resp, id, sizeof id, NULL, NULL) < 0) {
			step = STEP_STOP_DOWN;
		} else {
			sqlite3_stmt *st = db_prepare(ctx->db, "SELECT 1 FROM lever_opportunities WHERE id = ? AND "
							       "archived_at IS NOT NULL AND archive_reason_id = ?");
			sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
			step = st && sqlite3_step(st) == SQLITE_ROW ? STEP_DONE : STEP_RETRY;
			sqlite3_finalize(st);
		}
	} else if (s == REMOTE_NOT_FOUND) {
		snprintf(err, elen, "the opportunity no longer exists in Lever");
		step = STEP_FAILED;
	} else if (step == STEP_FAILED) {
		step = STEP_STOP_DOWN;
	}
	http_response_free(&resp);
	return step;
}

/*
 * In doubt about a prospect link: Crosschq has no look-up of one prospect,
 * but this run's pull listed every prospect changed since the last one, and
 * the PATCH changed it: the stored prospect says whether it happened.
 */
static enum step lookup_prospect_link(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen)
{
	sqlite3_stmt *st = db_prepare(ctx->db, "SELECT 1 FROM cq_prospects WHERE id = ? AND ats_id = ?");
	if (!st)
		return STEP_DB_ERROR;
	sqlite3_bind_text(st, 1, field(p, "prospect_id"), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field(p, "ats_id"), -1, SQLITE_STATIC);
	enum step step = sqlite3_step(st) == SQLITE_ROW ? STEP_DONE : STEP_RETRY;
	sqlite3_finalize(st);
	if (step == STEP_DONE)
		strlcpy_(result, field(p, "ats_id"), rlen);
	return step;
}

enum step act_lookup(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
		     size_t elen)
{
	result[0] = '\0';
	if (strcmp(a->kind, "cq.create_request") == 0)
		return act_cq_lookup_create(ctx, a, result, rlen, err, elen);
	yajl_val p = parse_payload(a, err, elen);
	if (!p)
		return STEP_FAILED;
	enum step step;
	if (strcmp(a->kind, "lever.add_link") == 0)
		step = lookup_link(ctx, p, err, elen);
	else if (strcmp(a->kind, "lever.add_note") == 0)
		step = lookup_note(ctx, p, result, rlen, err, elen);
	else if (strcmp(a->kind, "lever.export_prospect") == 0) {
		step = find_by_email(ctx, field(p, "email"), result, rlen, err, elen);
		if (step == STEP_FAILED)
			step = STEP_STOP_DOWN;
	} else if (strcmp(a->kind, "lever.archive_hired") == 0) {
		step = lookup_archive(ctx, p, err, elen);
	} else if (strcmp(a->kind, "cq.set_hired") == 0 || strcmp(a->kind, "cq.cancel_request") == 0) {
		step = act_cq_lookup_state(ctx, a, p, result, rlen, err, elen);
	} else if (strcmp(a->kind, "cq.link_prospect") == 0) {
		step = lookup_prospect_link(ctx, p, result, rlen);
	} else {
		/* mail: the one effect that cannot be looked up; it is sent again
		 * with the same Message-ID, which mail systems deduplicate */
		step = STEP_RETRY;
	}
	yajl_tree_free(p);
	return step;
}
