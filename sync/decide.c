/*
 * decide.c - the trigger rule (design.md, "The rules").
 *
 * An entry (opportunity, entered_at) into the trigger stage at or after
 * live_since gets ONE Crosschq request, keyed lever:<opportunity>:<ms>.
 * Entries that cannot be served yet are held (no or ambiguous template) or
 * skipped (archived, anonymized, deleted, no email, no requester) with their
 * reason, and looked at again on every run, so that a tag or template added
 * later releases them.
 */
#include "decide.h"
#include "decide_internal.h"
#include "decide_sql.h"
#include "audit.h"
#include "db.h"
#include "intent.h"
#include "log.h"
#include "outbox.h"
#include "lever_parse.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void split_name(const char *name, char *first, size_t first_len, char *last, size_t last_len)
{
	first[0] = last[0] = '\0';
	if (!name)
		return;
	while (isspace((unsigned char)*name))
		name++;
	size_t n = strcspn(name, " \t\r\n");
	size_t fl = n < first_len - 1 ? n : first_len - 1;
	memcpy(first, name, fl);
	first[fl] = '\0';
	const char *rest = name + n;
	while (isspace((unsigned char)*rest))
		rest++;
	strlcpy_(last, rest, last_len);
	size_t ll = strlen(last);
	while (ll > 0 && isspace((unsigned char)last[ll - 1]))
		last[--ll] = '\0';
}

/* Resolve the trigger stage name (case-insensitive) to its id (malloc'd), or NULL. */
static char *decide_trigger_stage_id(sqlite3 *db, const char *name)
{
	return db_query_text(db, "SELECT id FROM lever_stages WHERE text = ? COLLATE NOCASE ORDER BY id", name);
}

/* The facts about one opportunity that the trigger rule looks at. */
struct candidate {
	char id[ID_MAX];
	int64_t entered_at;
	char prior_state[16], prior_reason[512];
	int exists, archived, anonymized, deleted;
	char *name, *email, *phone, *url, *posting_id, *posting_text;
	char *owner_name, *owner_email;
	char *posting_owner_name, *posting_owner_email;
	char *hm_name, *hm_email;
};

static void candidate_free(struct candidate *c)
{
	free(c->name);
	free(c->email);
	free(c->phone);
	free(c->url);
	free(c->posting_id);
	free(c->posting_text);
	free(c->owner_name);
	free(c->owner_email);
	free(c->posting_owner_name);
	free(c->posting_owner_email);
	free(c->hm_name);
	free(c->hm_email);
}

static int load_candidate(sqlite3 *db, struct candidate *c)
{
	sqlite3_stmt *st = db_prepare(db, DECIDE_CANDIDATE_SQL);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->exists = 1;
		c->name = db_column_strdup(st, 0);
		c->email = db_column_strdup(st, 1);
		c->phone = db_column_strdup(st, 2);
		c->url = db_column_strdup(st, 3);
		c->posting_id = db_column_strdup(st, 4);
		c->posting_text = db_column_strdup(st, 5);
		c->owner_name = db_column_strdup(st, 6);
		c->owner_email = db_column_strdup(st, 7);
		c->posting_owner_name = db_column_strdup(st, 8);
		c->posting_owner_email = db_column_strdup(st, 9);
		c->hm_name = db_column_strdup(st, 10);
		c->hm_email = db_column_strdup(st, 11);
		c->archived = sqlite3_column_int(st, 12);
		c->anonymized = sqlite3_column_int(st, 13);
		c->deleted = sqlite3_column_int(st, 14);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

struct template_choice {
	const struct template_cfg *tpl;
	char note[512];        /* e.g. a tag matched ignoring case */
	char why_not[1600];    /* when none could be chosen */
};

/*
 * Templates ([template NAME] in the config) whose ats_tag equals one of the
 * owner's tags, ignoring case. Returns the number of distinct templates
 * matched (the first, in config order, goes to out), or -1 on a database
 * error; names lists them.
 */
static int match_tags(sqlite3 *db, const struct config *cfg, const char *owner_kind, const char *owner_id,
		      struct template_choice *out, char *names, size_t names_len)
{
	sqlite3_stmt *st = db_prepare(db, DECIDE_MATCH_TAGS_SQL);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, owner_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner_id, -1, SQLITE_STATIC);
	char *matched = xcalloc(cfg->n_templates + 1, 1);
	char tag_of_first[TEXT_MAX] = "";
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *tag = (const char *)sqlite3_column_text(st, 0);
		for (size_t i = 0; i < cfg->n_templates; i++) {
			const struct template_cfg *t = &cfg->templates[i];
			if (t->ats_tag && str_ieq(t->ats_tag, tag) && !matched[i]) {
				matched[i] = 1;
				if (!tag_of_first[0] || i < (size_t)(out->tpl - cfg->templates)) {
					out->tpl = t;
					strlcpy_(tag_of_first, tag, sizeof tag_of_first);
				}
			}
		}
	}
	sqlite3_finalize(st);
	int n = 0;
	names[0] = '\0';
	for (size_t i = 0; i < cfg->n_templates; i++) {
		if (!matched[i])
			continue;
		size_t used = strlen(names);
		snprintf(names + used, names_len - used, "%s%s", n++ ? ", " : "", cfg->templates[i].name);
	}
	free(matched);
	if (rc != SQLITE_DONE)
		return -1;
	if (n == 1 && strcmp(out->tpl->ats_tag, tag_of_first) != 0)
		snprintf(out->note, sizeof out->note, "%s tag '%s' matched ats_tag '%s' of template %s ignoring case",
			 owner_kind, tag_of_first, out->tpl->ats_tag, out->tpl->name);
	return n;
}

/* Pick the template: posting tags, then opportunity tags, then the default. 1 chosen, 0 held, -1 error. */
static int choose_template(sqlite3 *db, const struct config *cfg, const struct candidate *c,
			   struct template_choice *out)
{
	memset(out, 0, sizeof *out);
	char names[1024];
	const char *kinds[2] = { "posting", "opportunity" };
	const char *owners[2] = { c->posting_id, c->id };
	for (int i = 0; i < 2; i++) {
		if (!owners[i])
			continue;
		out->tpl = NULL;
		int n = match_tags(db, cfg, kinds[i], owners[i], out, names, sizeof names);
		if (n < 0)
			return -1;
		if (n == 1)
			return 1;
		if (n > 1) {
			snprintf(out->why_not, sizeof out->why_not, "ambiguous: the %s's tags match %d templates (%s)",
				 kinds[i], n, names);
			out->tpl = NULL;
			return 0;
		}
	}
	out->tpl = config_template_default(cfg);
	if (out->tpl) {
		snprintf(out->note, sizeof out->note, "no tag matched; default template %s", out->tpl->name);
		return 1;
	}
	snprintf(out->why_not, sizeof out->why_not,
		 "no template: no [template] ats_tag matches the tags of posting %s or of the opportunity, and no "
		 "template has default = yes",
		 c->posting_id ? c->posting_id : "(none)");
	return 0;
}

/* Record a held/skipped/queued verdict; audit only when it changed. */
static int set_trigger(struct decide_ctx *ctx, const struct candidate *c, const char *state, const char *reason,
		       const char *template_id)
{
	if (strcmp(c->prior_state, state) == 0 && strcmp(c->prior_reason, reason) == 0)
		return 0;
	sqlite3_stmt *st = db_prepare(ctx->db,
		"INSERT INTO triggers(opportunity_id, entered_at, state, reason, template_id, first_seen_at, "
		"updated_at) VALUES (?1,?2,?3,?4,?5,?6,?6) ON CONFLICT(opportunity_id, entered_at) DO UPDATE SET "
		"state = ?3, reason = ?4, template_id = ?5, updated_at = ?6");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->entered_at);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	db_bind_text(st, 5, template_id);
	sqlite3_bind_int64(st, 6, now_ms());
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (strcmp(state, "queued") == 0)
		return 0; /* the planned action is audited instead */
	char subject[ID_MAX + 64];
	snprintf(subject, sizeof subject, "opportunity:%s:%lld", c->id, (long long)c->entered_at);
	return audit_append(ctx->db, ctx->run_id, strcmp(state, "held") == 0 ? "trigger.held" : "trigger.skipped",
			    subject, reason);
}

/* Evaluate one entry. Returns 0 or -1 on a database error. */
static int evaluate_entry(struct decide_ctx *ctx, struct candidate *c)
{
	if (load_candidate(ctx->db, c))
		return -1;
	const char *skip = NULL;
	if (!c->exists)
		skip = "the opportunity is not in the database";
	else if (c->deleted)
		skip = "deleted in Lever";
	else if (c->anonymized)
		skip = "anonymized in Lever";
	else if (c->archived)
		skip = "archived in Lever";
	else if (str_empty(c->email))
		skip = "the candidate has no email address";
	if (skip)
		return set_trigger(ctx, c, "skipped", skip, NULL);

	/* the requester: the opportunity's owner (else the posting's owner) */
	const char *req_email = c->owner_email;
	if (str_empty(req_email))
		req_email = c->posting_owner_email;
	if (str_empty(req_email))
		return set_trigger(ctx, c, "held",
				   "no requester: neither the opportunity's owner nor the posting's owner has an "
				   "email address in Lever", NULL);

	struct template_choice tc;
	int r = choose_template(ctx->db, ctx->cfg, c, &tc);
	if (r < 0)
		return -1;
	if (r == 0)
		return set_trigger(ctx, c, "held", tc.why_not, NULL);

	const struct template_cfg *tpl = tc.tpl;
	const char *position = tpl->position ? tpl->position : c->posting_text;
	if (str_empty(position)) {
		char why[600];
		snprintf(why, sizeof why, "no job position: the opportunity has no posting with a title, and template "
			 "%s sets no position", tpl->name);
		return set_trigger(ctx, c, "held", why, NULL);
	}
	char first[TEXT_MAX], last[TEXT_MAX];
	split_name(c->name, first, sizeof first, last, sizeof last);
	if (!first[0]) {
		/* no name at all: the local part of the email stands in */
		size_t at = strcspn(c->email, "@");
		snprintf(first, sizeof first, "%.*s", (int)(at < sizeof first - 1 ? at : sizeof first - 1), c->email);
	}
	char key[ID_MAX + 64], subject[ID_MAX + 32];
	snprintf(key, sizeof key, "lever:%s:%lld", c->id, (long long)c->entered_at);
	snprintf(subject, sizeof subject, "opportunity:%s", c->id);
	/* the hiring manager: the posting's (default), none, or the template's own */
	const char *hm_name = NULL, *hm_email = NULL;
	if (tpl->hiring_manager == HM_FIXED) {
		hm_name = tpl->hm_name;
		hm_email = tpl->hm_email;
	} else if (tpl->hiring_manager == HM_POSTING && !str_empty(c->hm_email)) {
		hm_name = c->hm_name;
		hm_email = c->hm_email;
	}
	char hm_first[TEXT_MAX], hm_last[TEXT_MAX];
	split_name(hm_name, hm_first, sizeof hm_first, hm_last, sizeof hm_last);
	struct cq_create_intent in = {
		.first_name = first,
		.last_name = last,
		.email = c->email,
		.phone = c->phone,
		.job_position = position,
		.requestor = req_email,
		.jobrole = tpl->jobrole,
		.use_sms = tpl->use_sms,
		.any_relationship = tpl->any_relationship,
		.references = tpl->references,
		.candidate_message = tpl->candidate_message,
		.hm_first = hm_first,
		.hm_last = hm_last,
		.hm_email = hm_email,
	};
	memcpy(in.counts, tpl->counts, sizeof in.counts);
	char *payload = intent_encode_cq_create(&in);
	char reason[1024];
	char entered[40];
	format_iso8601(c->entered_at, 0, entered, sizeof entered);
	snprintf(reason, sizeof reason, "entered the trigger stage at %s; template %s%s%s", entered, tpl->name,
		 tc.note[0] ? "; " : "", tc.note);
	int planned = outbox_plan(ctx->db, ctx->run_id, key, "cq.create_request", subject, payload, reason);
	free(payload);
	if (planned < 0)
		return -1;
	if (tc.note[0] && strstr(tc.note, "ignoring case"))
		log_notice("opportunity %s: %s", c->id, tc.note);
	ctx->decided += planned;
	return set_trigger(ctx, c, "queued", reason, tpl->name);
}

/* The time from which stage entries count (set on the first run). */
static int live_since(struct decide_ctx *ctx, int64_t *out)
{
	if (ctx->cfg->trigger_since > 0) {
		*out = ctx->cfg->trigger_since;
		return 0;
	}
	char *v = db_setting_get(ctx->db, "live_since");
	if (v) {
		*out = strtoll(v, NULL, 10);
		free(v);
		return 0;
	}
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)ctx->now);
	if (db_setting_set(ctx->db, "live_since", buf))
		return -1;
	char iso[40];
	log_notice("first run: stage entries from %s on start reference requests (set trigger_since to change)",
		   format_iso8601(ctx->now, 0, iso, sizeof iso));
	if (audit_appendf(ctx->db, ctx->run_id, "config.live_since", "installation", "live since %s", iso))
		return -1;
	*out = ctx->now;
	return 0;
}

/* Continue a 64-bit FNV-1a hash over n bytes. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/*
 * What the verdicts depend on besides the stored objects: the config file
 * (trigger stage, default template, templates...), the trigger stage's id
 * and live_since. A change makes decide read every trigger-stage entry.
 */
static void inputs_fingerprint(struct decide_ctx *ctx, const char *stage_id, int64_t since, char *out, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	h = fnv1a(h, stage_id, strlen(stage_id) + 1);
	h = fnv1a(h, &since, sizeof since);
	FILE *f = ctx->cfg->path ? fopen(ctx->cfg->path, "rb") : NULL;
	if (f) {
		char chunk[4096];
		size_t got;
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
			h = fnv1a(h, chunk, got);
		fclose(f);
	} else {
		h = fnv1a(h, &ctx->now, sizeof ctx->now); /* unreadable: never the same */
	}
	snprintf(out, n, "%016llx", (unsigned long long)h);
}

/* The Crosschq capabilities (capability.c) as a fingerprint: when one turns
 * on or off, the write-back rules look at every request again. 0 or -1. */
static int capabilities_fingerprint(sqlite3 *db, char *out, size_t n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT name, state FROM capabilities ORDER BY name");
	if (!st)
		return -1;
	uint64_t h = 14695981039346656037ULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < 2; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);
			h = fnv1a(h, v ? (const char *)v : "\x01", (v ? strlen((const char *)v) : 1) + 1);
		}
	}
	sqlite3_finalize(st);
	snprintf(out, n, "%016llx", (unsigned long long)h);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Set key to value unless it holds it already. 0 or -1. */
static int setting_update(sqlite3 *db, const char *key, const char *have, const char *value)
{
	return have && strcmp(have, value) == 0 ? 0 : db_setting_set(db, key, value);
}


/*
 * Which entries to look at: all of them when the inputs changed (or on the
 * first decide), else those of the opportunities stored since the last
 * decide, and the held ones when a template, posting or user changed. The
 * marks are consumed (in the transaction of the decisions). Returns the
 * prepared query (bound), or NULL on a database error.
 */
static sqlite3_stmt *changed_entries(struct decide_ctx *ctx, const char *stage_id, int64_t since,
				     struct decide_scope *scope)
{
	char inputs[32], caps[32];
	inputs_fingerprint(ctx, stage_id, since, inputs, sizeof inputs);
	if (capabilities_fingerprint(ctx->db, caps, sizeof caps))
		return NULL;
	char *have_inputs = db_setting_get(ctx->db, "decide.inputs");
	char *have_caps = db_setting_get(ctx->db, "decide.capabilities");
	char *have_stage = db_setting_get(ctx->db, "decide.trigger_stage");
	char *recheck = db_setting_get(ctx->db, "decide.recheck_held");
	/* the config (its templates included) or a capability changed: everything */
	int all = !have_inputs || strcmp(have_inputs, inputs) != 0 || !have_caps || strcmp(have_caps, caps) != 0;
	int held = all || recheck;
	scope->all = all;
	scope->held = held;
	sqlite3_stmt *st = db_prepare(ctx->db, all ? DECIDE_ALL_ENTRIES_SQL : DECIDE_CHANGED_ENTRIES_SQL);
	if (st) {
		sqlite3_bind_text(st, 1, stage_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, since);
		if (!all)
			sqlite3_bind_int(st, 3, held);
	}
	int failed = !st || setting_update(ctx->db, "decide.inputs", have_inputs, inputs) ||
		     setting_update(ctx->db, "decide.capabilities", have_caps, caps) ||
		     setting_update(ctx->db, "decide.trigger_stage", have_stage, stage_id) ||
		     (recheck && db_exec(ctx->db, "DELETE FROM settings WHERE key = 'decide.recheck_held'"));
	log_debug("decide: %s entries%s", all ? "all trigger-stage" : "changed", held ? " and the held ones" : "");
	free(have_inputs);
	free(have_caps);
	free(have_stage);
	free(recheck);
	if (failed) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static int decide_triggers(struct decide_ctx *ctx, struct decide_scope *scope)
{
	char *stage_id = decide_trigger_stage_id(ctx->db, ctx->cfg->trigger_stage);
	if (!stage_id) {
		sqlite3_stmt *st = db_prepare(ctx->db, "SELECT count(*) FROM lever_stages");
		int known = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
		sqlite3_finalize(st);
		if (known == 0) {
			snprintf(ctx->error, sizeof ctx->error,
				 "no Lever stages in the database yet: run 'refsync run --dry-run' once (it reads Lever "
				 "and Crosschq and sends nothing), then 'refsync plan'");
			log_err("%s", ctx->error);
			return EXIT_TEMPFAIL;
		}
		snprintf(ctx->error, sizeof ctx->error,
			 "%s: [lever] trigger_stage '%s' is not a stage in Lever; 'refsync check' lists the stages",
			 ctx->cfg->path, ctx->cfg->trigger_stage);
		log_err("%s", ctx->error);
		return EXIT_CONFIG;
	}
	int64_t since;
	if (live_since(ctx, &since)) {
		free(stage_id);
		return EXIT_SOFTWARE;
	}
	scope->live_since = since;
	sqlite3_stmt *st = changed_entries(ctx, stage_id, since, scope);
	if (!st) {
		free(stage_id);
		return EXIT_SOFTWARE;
	}
	/* collect first: evaluating writes to the tables being read */
	size_t n = 0, cap = 0;
	struct candidate *list = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			list = xrealloc(list, cap * sizeof *list);
		}
		struct candidate *c = &list[n++];
		memset(c, 0, sizeof *c);
		strlcpy_(c->id, (const char *)sqlite3_column_text(st, 0), sizeof c->id);
		c->entered_at = sqlite3_column_int64(st, 1);
		const char *ps = (const char *)sqlite3_column_text(st, 2);
		const char *pr = (const char *)sqlite3_column_text(st, 3);
		strlcpy_(c->prior_state, ps ? ps : "", sizeof c->prior_state);
		strlcpy_(c->prior_reason, pr ? pr : "", sizeof c->prior_reason);
	}
	if (rc != SQLITE_DONE)
		db_note_error(ctx->db, sqlite3_sql(st), rc, NULL);
	sqlite3_finalize(st);
	free(stage_id);
	int result = rc == SQLITE_DONE ? EXIT_OK : EXIT_SOFTWARE;
	for (size_t i = 0; i < n; i++) {
		if (result == EXIT_OK && evaluate_entry(ctx, &list[i]))
			result = EXIT_SOFTWARE;
		candidate_free(&list[i]);
	}
	free(list);
	return result;
}

int decide(struct decide_ctx *ctx, int keep_open)
{
	if (db_begin(ctx->db)) {
		snprintf(ctx->error, sizeof ctx->error, "cannot start deciding: %s", db_last_error());
		log_err("%s", ctx->error);
		return db_last_busy() ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
	}
	struct decide_scope scope = { 1, 1, 0 };
	int r = decide_triggers(ctx, &scope);
	if (r == EXIT_OK)
		r = decide_writeback(ctx, &scope);
	/* the marks are consumed with the decisions they led to */
	if (r == EXIT_OK && db_exec(ctx->db, "DELETE FROM decide_dirty"))
		r = EXIT_SOFTWARE;
	if (r != EXIT_OK) {
		if (r == EXIT_SOFTWARE) {
			/* the rules write their own message only for what is not the database's */
			snprintf(ctx->error, sizeof ctx->error, "database error while deciding: %s%s", db_last_error(),
				 db_last_corrupt() ? " (the database is corrupt: restore it from a backup)" : "");
			log_err("%s", ctx->error);
		}
		db_rollback(ctx->db);
		return r;
	}
	if (keep_open)
		return EXIT_OK;
	if (db_commit(ctx->db)) {
		snprintf(ctx->error, sizeof ctx->error, "cannot commit decisions: %s", db_last_error());
		log_err("%s", ctx->error);
		return db_last_busy() ? EXIT_TEMPFAIL : EXIT_SOFTWARE;
	}
	crash_point("after-decide");
	return EXIT_OK;
}
