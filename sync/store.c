/*
 * store.c - upserts into the mirror tables, and privacy erasure.
 */
#include "store.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sql[ST_COUNT] = {
	[ST_OPP_UPSERT] =
		"INSERT INTO lever_opportunities(id, name, email, phone, owner_id, posting_id, stage_id, "
		"confidential, archived_at, archive_reason_id, anonymized, deleted_at, url, links, created_at, "
		"updated_at, pulled_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,NULL,?12,?13,?14,?15,?16) "
		"ON CONFLICT(id) DO UPDATE SET name=excluded.name, email=excluded.email, phone=excluded.phone, "
		"owner_id=excluded.owner_id, posting_id=excluded.posting_id, stage_id=excluded.stage_id, "
		"confidential=excluded.confidential, archived_at=excluded.archived_at, "
		"archive_reason_id=excluded.archive_reason_id, anonymized=excluded.anonymized, "
		"url=excluded.url, links=excluded.links, created_at=excluded.created_at, "
		"updated_at=excluded.updated_at, pulled_at=excluded.pulled_at "
		"WHERE lever_opportunities.deleted_at IS NULL",
	[ST_OPP_SEQ] = "SELECT rowid FROM lever_opportunities WHERE id = ?",
	[ST_OPP_TAGS_DELETE] = "DELETE FROM lever_tags WHERE owner_kind = 'opportunity' AND owner_id = ?",
	[ST_TAG_INSERT] = "INSERT OR IGNORE INTO lever_tags(owner_kind, owner_id, tag) VALUES (?, ?, ?)",
	[ST_ENTRY_INSERT] = "INSERT OR IGNORE INTO stage_entries(opportunity_seq, opportunity_id, stage_id, "
			    "entered_at) VALUES (?, ?, ?, ?)",
	/* most records name an owner already known: write only what changed */
	[ST_USER_UPSERT] = "INSERT INTO lever_users(id, name, email) VALUES (?, ?, ?) ON CONFLICT(id) DO "
			   "UPDATE SET name = excluded.name, email = excluded.email "
			   "WHERE name IS NOT excluded.name OR email IS NOT excluded.email",
	/* a user seen only as an id: keep what we know */
	[ST_USER_UPSERT_KEEP] = "INSERT OR IGNORE INTO lever_users(id, name, email) VALUES (?, NULL, NULL)",
	[ST_POSTING_UPSERT] =
		"INSERT INTO lever_postings(id, text, state, owner_id, hiring_manager_id, updated_at) "
		"VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET text=excluded.text, state=excluded.state, "
		"owner_id=excluded.owner_id, hiring_manager_id=excluded.hiring_manager_id, "
		"updated_at=excluded.updated_at",
	[ST_POSTING_TAGS_DELETE] = "DELETE FROM lever_tags WHERE owner_kind = 'posting' AND owner_id = ?",
	[ST_STAGE_UPSERT] = "INSERT INTO lever_stages(id, text) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET "
			    "text = excluded.text",
	[ST_REASON_UPSERT] = "INSERT INTO lever_archive_reasons(id, text, type, status) VALUES (?,?,?,?) "
			     "ON CONFLICT(id) DO UPDATE SET text=excluded.text, type=excluded.type, "
			     "status=excluded.status",
	[ST_ERASE_OPP] = "UPDATE lever_opportunities SET name = NULL, email = NULL, phone = NULL, links = NULL, "
			 "deleted_at = COALESCE(deleted_at, ?2) WHERE id = ?1",
	[ST_DELETED_STUB] = "INSERT OR IGNORE INTO lever_opportunities(id, deleted_at, pulled_at) VALUES (?,?,?)",
	[ST_DIRTY] = "INSERT OR IGNORE INTO decide_dirty(opportunity_id) VALUES (?)",
	[ST_HAS_REQUEST] = "SELECT 1 FROM cq_requests WHERE opportunity_id = ?",
	[ST_HELD_RECHECK] = "INSERT OR IGNORE INTO settings(key, value) VALUES ('decide.recheck_held', '1')",
	[ST_OPP_IS_PRIVATE] = "SELECT 1 FROM lever_opportunities WHERE id = ? AND (deleted_at IS NOT NULL OR "
			      "anonymized = 1)",
};

void store_init(struct store *s, sqlite3 *db, int64_t run_id)
{
	memset(s, 0, sizeof *s);
	s->db = db;
	s->run_id = run_id;
}

void store_free(struct store *s)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	memset(s->st, 0, sizeof s->st);
}

sqlite3_stmt *store_prepared(struct store *s, enum store_stmt id, const char *text)
{
	if (!s->st[id])
		s->st[id] = db_prepare(s->db, text);
	return s->st[id];
}

/* The prepared statement for id, prepared on first use. */
static sqlite3_stmt *stmt(struct store *s, enum store_stmt id)
{
	return store_prepared(s, id, sql[id]);
}

/* Bind s as text, or NULL when empty. Not copied: every statement here is
 * stepped, reset and cleared while the record it binds is alive. */
static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_ms(sqlite3_stmt *st, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static int done(sqlite3_stmt *st)
{
	return st && db_step_done(st) == SQLITE_DONE ? 0 : -1;
}

static int put_tags(struct store *s, const char *kind, const char *owner, char (*tags)[TEXT_MAX], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = stmt(s, ST_TAG_INSERT);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, tags[i], -1, SQLITE_STATIC);
		if (done(st))
			return -1;
	}
	return 0;
}

/* Store what Lever's answer to an archive call says (it is not expanded:
 * only the archive fields and updatedAt are trusted). */
int store_opportunity_archived(struct store *s, const struct lever_opportunity *o)
{
	sqlite3_stmt *st = db_prepare(s->db, "UPDATE lever_opportunities SET archived_at = ?1, archive_reason_id = ?2, "
					     "updated_at = max(coalesce(updated_at, 0), coalesce(?3, 0)), pulled_at = ?4 "
					     "WHERE id = ?5 AND deleted_at IS NULL");
	if (!st)
		return -1;
	bind_ms(st, 1, o->archive_reason[0] || o->archived_at ? o->archived_at : 0);
	bind_opt(st, 2, o->archive_reason);
	bind_ms(st, 3, o->updated_at);
	sqlite3_bind_int64(st, 4, now_ms());
	sqlite3_bind_text(st, 5, o->id, -1, SQLITE_STATIC);
	int rc = done(st);
	sqlite3_finalize(st);
	return rc;
}

/* Mark an opportunity for decide to look at again. 0 or -1. */
static int mark_dirty(struct store *s, const char *id)
{
	sqlite3_stmt *st = stmt(s, ST_DIRTY);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return done(st);
}

/* A posting or a user changed: held triggers (no template, no requester)
 * must be looked at again at the next decide. 0 or -1. */
static int recheck_held(struct store *s)
{
	return done(stmt(s, ST_HELD_RECHECK));
}

/* Has a Crosschq request been made for this opportunity? (Only asked once decide has run.) */
static int has_request(struct store *s, const char *id)
{
	if (!s->trigger_stage[0])
		return 0;
	sqlite3_stmt *st = stmt(s, ST_HAS_REQUEST);
	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

/* Does o enter the trigger stage decide last used? (Unknown before the first decide: then decide reads everything.) */
static int enters_trigger_stage(struct store *s, const struct lever_opportunity *o)
{
	if (!s->trigger_loaded) {
		s->trigger_loaded = 1;
		char *v = db_setting_get(s->db, "decide.trigger_stage");
		strlcpy_(s->trigger_stage, v ? v : "", sizeof s->trigger_stage);
		free(v);
	}
	if (!s->trigger_stage[0])
		return 0;
	for (size_t i = 0; i < o->n_changes; i++)
		if (strcmp(o->changes[i].stage_id, s->trigger_stage) == 0)
			return 1;
	return 0;
}

/* The rowid of stored opportunity id into *seq. -1 on a database error. */
static int opportunity_seq(struct store *s, const char *id, sqlite3_int64 *seq)
{
	sqlite3_stmt *q = stmt(s, ST_OPP_SEQ);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	*seq = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_ROW) {
		db_note_error(s->db, sql[ST_OPP_SEQ], rc, NULL);
		log_err("database: reading opportunity %s: %s", id, sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

int store_opportunity(struct store *s, const struct lever_opportunity *o)
{
	int private = o->anonymized || o->deleted_at > 0;
	/* erased already (an anonymized candidate is listed again and again):
	 * nothing new was stored about it since, decide plans nothing for it */
	int was_private = 0;
	if (private) {
		sqlite3_stmt *q = stmt(s, ST_OPP_IS_PRIVATE);
		if (!q)
			return -1;
		sqlite3_bind_text(q, 1, o->id, -1, SQLITE_STATIC);
		was_private = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_reset(q);
		sqlite3_clear_bindings(q);
	}
	sqlite3_stmt *st = stmt(s, ST_OPP_UPSERT);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
	bind_opt(st, 2, private ? NULL : o->name);
	bind_opt(st, 3, private ? NULL : o->email);
	bind_opt(st, 4, private ? NULL : o->phone);
	bind_opt(st, 5, o->owner_id);
	bind_opt(st, 6, o->posting_id);
	bind_opt(st, 7, o->stage_id);
	sqlite3_bind_int(st, 8, strcmp(o->confidentiality, "confidential") == 0);
	bind_ms(st, 9, o->archive_reason[0] || o->archived_at ? o->archived_at : 0);
	bind_opt(st, 10, o->archive_reason);
	sqlite3_bind_int(st, 11, o->anonymized);
	bind_opt(st, 12, o->url);
	bind_opt(st, 13, private ? NULL : o->links);
	bind_ms(st, 14, o->created_at);
	bind_ms(st, 15, o->updated_at);
	sqlite3_bind_int64(st, 16, now_ms());
	/* No RETURNING: SQLite buffers its rows in a temporary b-tree, which cost
	 * a tenth of a backfill. A new row moved the last insert rowid to it; an
	 * update (or a rowid that happens to equal the last insert into another
	 * table) is looked up; no change means the opportunity was deleted. */
	sqlite3_int64 last_insert = sqlite3_last_insert_rowid(s->db);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		db_note_error(s->db, sql[ST_OPP_UPSERT], rc, NULL);
		log_err("database: storing opportunity %s: %s", o->id, sqlite3_errmsg(s->db));
		return -1;
	}
	if (sqlite3_changes(s->db) == 0)
		return 0; /* deleted in Lever: nothing more of it is kept */
	sqlite3_int64 seq = sqlite3_last_insert_rowid(s->db);
	if (seq == last_insert) {
		/* an update: the row has tags to replace */
		if (opportunity_seq(s, o->id, &seq))
			return -1;
		st = stmt(s, ST_OPP_TAGS_DELETE);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, o->id, -1, SQLITE_STATIC);
		if (done(st))
			return -1;
	}
	if (put_tags(s, "opportunity", o->id, o->tags, o->n_tags))
		return -1;

	for (size_t i = 0; i < o->n_changes; i++) {
		const struct stage_change *c = &o->changes[i];
		if (!c->has_at || !c->stage_id[0])
			continue;
		st = stmt(s, ST_ENTRY_INSERT);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_text(st, 2, o->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->stage_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, c->at);
		if (done(st))
			return -1;
	}
	if (o->owner_id[0]) {
		int expanded = o->owner_name[0] || o->owner_email[0];
		st = stmt(s, expanded ? ST_USER_UPSERT : ST_USER_UPSERT_KEEP);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, o->owner_id, -1, SQLITE_STATIC);
		if (expanded) {
			bind_opt(st, 2, o->owner_name);
			bind_opt(st, 3, o->owner_email);
		}
		if (done(st) || (expanded && sqlite3_changes(s->db) > 0 && recheck_held(s)))
			return -1;
	}
	if ((private || enters_trigger_stage(s, o) || has_request(s, o->id)) && mark_dirty(s, o->id))
		return -1;
	if (private && !was_private && store_erase_actions(s, o->id))
		return -1;
	return 0;
}

int store_deleted_opportunity(struct store *s, const char *id, int64_t deleted_at)
{
	if (deleted_at <= 0)
		deleted_at = now_ms();
	/* first time we learn of this deletion? */
	sqlite3_stmt *q = db_prepare(s->db, "SELECT 1 FROM lever_opportunities WHERE id = ? AND deleted_at IS NOT NULL");
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int known = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	sqlite3_stmt *st = stmt(s, ST_DELETED_STUB);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, deleted_at);
	sqlite3_bind_int64(st, 3, now_ms());
	if (done(st))
		return -1;
	st = stmt(s, ST_ERASE_OPP);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, deleted_at);
	if (done(st) || store_erase_actions(s, id))
		return -1;
	/* tags may say things about a person; ids and actions stay */
	st = stmt(s, ST_OPP_TAGS_DELETE);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (done(st))
		return -1;
	if (!known) {
		if (mark_dirty(s, id))
			return -1;
		char subject[ID_MAX + 16];
		snprintf(subject, sizeof subject, "opportunity:%s", id);
		if (audit_append(s->db, s->run_id, "privacy.erased", subject,
				 "deleted in Lever: name, email, phone, links and tags removed"))
			return -1;
	}
	return 0;
}

int store_posting(struct store *s, const struct lever_posting *p)
{
	sqlite3_stmt *st = stmt(s, ST_POSTING_UPSERT);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	bind_opt(st, 2, p->text);
	bind_opt(st, 3, p->state);
	bind_opt(st, 4, p->owner_id);
	bind_opt(st, 5, p->hiring_manager_id);
	bind_ms(st, 6, p->updated_at);
	if (done(st))
		return -1;
	st = stmt(s, ST_POSTING_TAGS_DELETE);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
	if (done(st) || put_tags(s, "posting", p->id, p->tags, p->n_tags) || recheck_held(s))
		return -1;
	const char *users[2] = { p->owner_id, p->hiring_manager_id };
	for (int i = 0; i < 2; i++) {
		if (!users[i][0])
			continue;
		st = stmt(s, ST_USER_UPSERT_KEEP);
		if (!st)
			return -1;
		sqlite3_bind_text(st, 1, users[i], -1, SQLITE_STATIC);
		if (done(st))
			return -1;
	}
	return 0;
}

int store_stage(struct store *s, const struct lever_simple *stage)
{
	sqlite3_stmt *st = stmt(s, ST_STAGE_UPSERT);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, stage->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, stage->text, -1, SQLITE_STATIC);
	return done(st);
}

int store_archive_reason(struct store *s, const struct lever_simple *reason)
{
	sqlite3_stmt *st = stmt(s, ST_REASON_UPSERT);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, reason->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason->text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason->type[0] ? reason->type : "non-hired", -1, SQLITE_STATIC);
	bind_opt(st, 4, reason->status);
	return done(st);
}

int store_user(struct store *s, const struct lever_simple *user)
{
	sqlite3_stmt *st = stmt(s, ST_USER_UPSERT);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
	bind_opt(st, 2, user->text);
	bind_opt(st, 3, user->email);
	if (done(st))
		return -1;
	return sqlite3_changes(s->db) > 0 ? recheck_held(s) : 0;
}

int store_parse_external_id(const char *external_id, char *opportunity, int64_t *entered_at)
{
	if (strncmp(external_id, "lever:", 6) != 0)
		return -1;
	const char *id = external_id + 6;
	const char *colon = strrchr(id, ':');
	if (!colon || colon == id || (size_t)(colon - id) >= ID_MAX)
		return -1;
	/* refsync writes plain decimal milliseconds: nothing else is ours */
	const char *digits = colon + 1;
	size_t nd = strspn(digits, "0123456789");
	if (nd == 0 || nd > 15 || digits[nd] != '\0' || digits[0] == '0')
		return -1;
	long long ms = strtoll(digits, NULL, 10);
	memcpy(opportunity, id, (size_t)(colon - id));
	opportunity[colon - id] = '\0';
	*entered_at = ms;
	return 0;
}

