/*
 * capability.c - probing and remembering the assumed Crosschq features
 * (see capability.h).
 */
#include "capability.h"
#include "audit.h"
#include "crosschq.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name, *feature;
} caps[CAP_COUNT] = {
	[CAP_LIST] = { "list", "reading changed requests in one list (else: open requests are read one by one)" },
	[CAP_HIRE] = { "hire", "hires, Lever to Crosschq, and owners' answers to Crosschq" },
	[CAP_HIRED_FIELD] = { "hired_field", "hires, Crosschq to Lever" },
	[CAP_CANCEL] = { "cancel", "cancel on archive" },
	[CAP_PROSPECTS] = { "prospects", "prospect export to Lever" },
};

const char *capability_name(enum cq_capability c)
{
	return c < CAP_COUNT ? caps[c].name : "?";
}

const char *capability_feature(enum cq_capability c)
{
	return c < CAP_COUNT ? caps[c].feature : "?";
}

/* The name of a verdict, as stored and audited. */
static const char *capability_state_name(enum cap_state s)
{
	return s == CAP_PRESENT ? "present" : s == CAP_ABSENT ? "absent" : "unknown";
}

enum cap_state capability_get(sqlite3 *db, enum cq_capability c)
{
	if (!db)
		return CAP_UNKNOWN;
	sqlite3_stmt *st = db_prepare(db, "SELECT state FROM capabilities WHERE name = ?");
	if (!st)
		return CAP_UNKNOWN;
	sqlite3_bind_text(st, 1, caps[c].name, -1, SQLITE_STATIC);
	enum cap_state s = CAP_UNKNOWN;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		s = v && strcmp(v, "present") == 0 ? CAP_PRESENT : v && strcmp(v, "absent") == 0 ? CAP_ABSENT : CAP_UNKNOWN;
	}
	sqlite3_finalize(st);
	return s;
}

/* Store a verdict; audit it when the state changed. 0 or -1. */
static int store_verdict(sqlite3 *db, int64_t run_id, enum cq_capability c, enum cap_state s, const char *detail)
{
	enum cap_state before = capability_get(db, c);
	sqlite3_stmt *q = db_prepare(db, "SELECT 1 FROM capabilities WHERE name = ?");
	int existed = 0;
	if (q) {
		sqlite3_bind_text(q, 1, caps[c].name, -1, SQLITE_STATIC);
		existed = sqlite3_step(q) == SQLITE_ROW;
		sqlite3_finalize(q);
	}
	if (db_begin(db))
		return -1;
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO capabilities(name, state, detail, probed_at) VALUES (?1,?2,?3,?4) "
					  "ON CONFLICT(name) DO UPDATE SET state = ?2, detail = ?3, probed_at = ?4");
	int ok = st != NULL;
	if (st) {
		sqlite3_bind_text(st, 1, caps[c].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, capability_state_name(s), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, detail, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, now_ms());
		ok = db_step_done(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	char subject[64];
	snprintf(subject, sizeof subject, "capability:%s", caps[c].name);
	if (ok && (!existed || before != s))
		ok = audit_appendf(db, run_id, "capability.probed", subject, "%s: %s (%s)", capability_state_name(s),
				   caps[c].feature, detail) == 0;
	if (!ok || db_commit(db)) {
		db_rollback(db);
		return -1;
	}
	if (existed && before != s)
		log_notice("Crosschq capability %s is now %s: %s (%s)", caps[c].name, capability_state_name(s),
			   caps[c].feature, detail);
	return 0;
}

/* A request refsync knows, for the object probes (malloc'd), or NULL. */
static char *sample_request(sqlite3 *db)
{
	if (!db)
		return NULL;
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM cq_requests WHERE status <> 'gone' "
					  "ORDER BY external_id IS NULL, created_at DESC LIMIT 1");
	char *id = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		id = db_column_strdup(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* 1 when the comma-separated Allow value names method. */
static int allows(const char *allow, const char *method)
{
	size_t ml = strlen(method);
	for (const char *p = allow; *p;) {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, " ,\t");
		if (n == ml && strncasecmp(p, method, n) == 0)
			return 1;
		p += n;
	}
	return 0;
}

/* Verdict of a status for a probe whose success is a 2xx. */
static enum cap_state by_status(enum remote_status rs, const struct http_response *resp)
{
	if (rs == REMOTE_OK)
		return CAP_PRESENT;
	if (resp->status == 404 || resp->status == 405 || resp->status == 501)
		return CAP_ABSENT;
	return CAP_UNKNOWN;
}

/* The hired field of the sample request. */
static int on_sample(void *p, const struct cq_request *r)
{
	*(int *)p = r->has_hired;
	return 0;
}

/* Run one probe; fill detail. */
static enum cap_state probe(struct http_client *cq, enum cq_capability c, const char *sample, char *detail,
			    size_t n)
{
	struct http_response resp;
	http_response_init(&resp);
	char err[1024] = "";
	enum cap_state s = CAP_UNKNOWN;
	/* far in the future: a list that answers holds nothing, and costs nothing */
	int64_t future = now_ms() + 3650LL * 24 * 3600 * 1000;
	enum remote_status rs;
	switch (c) {
	case CAP_LIST:
	case CAP_PROSPECTS:
		rs = c == CAP_LIST ? crosschq_list_requests(cq, future, NULL, &resp, err, sizeof err)
				   : crosschq_list_prospects(cq, future, NULL, &resp, err, sizeof err);
		s = by_status(rs, &resp);
		if (rs == REMOTE_OK)
			snprintf(detail, n, "GET %s?updated_since=...: HTTP %ld",
				 c == CAP_LIST ? "/partners/reference-request/" : "/partners/prospects/", resp.status);
		else
			snprintf(detail, n, "%s", err);
		break;
	case CAP_HIRE:
	case CAP_CANCEL:
	case CAP_HIRED_FIELD:
		if (!sample) {
			snprintf(detail, n, "no Crosschq request known yet to probe with");
			break;
		}
		if (c == CAP_HIRED_FIELD) {
			rs = crosschq_get_request(cq, sample, &resp, err, sizeof err);
			int has = -1;
			if (rs == REMOTE_OK && crosschq_parse_requests(resp.body.data ? resp.body.data : "", resp.body.len,
								       on_sample, &has, NULL, 0, err, sizeof err) == 1) {
				s = has ? CAP_PRESENT : CAP_ABSENT;
				snprintf(detail, n, "GET /partners/reference-request/<id>/: %s",
					 s == CAP_PRESENT ? "the Request has a hired field" : "the Request has no hired field");
			} else {
				snprintf(detail, n, "GET /partners/reference-request/<id>/: %s", err);
			}
			break;
		}
		rs = crosschq_options(cq, sample, c == CAP_HIRE ? "/" : "/cancel/", &resp, err, sizeof err);
		const char *want = c == CAP_HIRE ? "PATCH" : "POST";
		if (rs == REMOTE_OK) {
			s = allows(resp.allow, want) ? CAP_PRESENT : CAP_ABSENT;
			snprintf(detail, n, "OPTIONS /partners/reference-request/<id>/%s: Allow: %s",
				 c == CAP_HIRE ? "" : "cancel/", resp.allow[0] ? resp.allow : "(none)");
		} else {
			s = by_status(rs, &resp);
			snprintf(detail, n, "OPTIONS /partners/reference-request/<id>/%s: %s", c == CAP_HIRE ? "" : "cancel/",
				 err);
		}
		break;
	default:
		break;
	}
	http_response_free(&resp);
	return s;
}

int capabilities_probe(sqlite3 *db, int64_t run_id, struct http_client *cq, int force, int lines)
{
	char *sample = NULL;
	int sampled = 0, rc = 0;
	for (int i = 0; i < CAP_COUNT && rc == 0; i++) {
		enum cq_capability c = (enum cq_capability)i;
		if (!force && db) {
			sqlite3_stmt *st = db_prepare(db, "SELECT state, probed_at FROM capabilities WHERE name = ?");
			if (!st)
				return -1;
			sqlite3_bind_text(st, 1, caps[c].name, -1, SQLITE_STATIC);
			int fresh = 0;
			if (sqlite3_step(st) == SQLITE_ROW)
				fresh = strcmp((const char *)sqlite3_column_text(st, 0), "unknown") != 0 &&
					sqlite3_column_int64(st, 1) > now_ms() - CAP_PROBE_EVERY_MS;
			sqlite3_finalize(st);
			if (fresh)
				continue;
		}
		if (!sampled) {
			sample = sample_request(db);
			sampled = 1;
		}
		if (!force && db && !sample && (c == CAP_HIRE || c == CAP_CANCEL || c == CAP_HIRED_FIELD) &&
		    capability_get(db, c) == CAP_UNKNOWN) {
			/* nothing to probe with yet: no call, no new verdict */
			sqlite3_stmt *st = db_prepare(db, "SELECT 1 FROM capabilities WHERE name = ?");
			int have = 0;
			if (st) {
				sqlite3_bind_text(st, 1, caps[c].name, -1, SQLITE_STATIC);
				have = sqlite3_step(st) == SQLITE_ROW;
				sqlite3_finalize(st);
			}
			if (have)
				continue;
		}
		char detail[1200];
		enum cap_state s = probe(cq, c, sample, detail, sizeof detail);
		if (lines)
			printf("%-7s Crosschq capability %s: %s: %s (%s)\n", s == CAP_PRESENT ? "ok" : "note", caps[c].name,
			       s == CAP_PRESENT ? "present" : s == CAP_ABSENT ? "not offered by this Crosschq API, off"
									 : "unknown, off",
			       caps[c].feature, detail);
		if (s == CAP_UNKNOWN && capability_get(db, c) != CAP_UNKNOWN &&
		    strstr(detail, "no Crosschq request") == NULL)
			continue; /* the remote did not answer: the earlier verdict stands */
		if (db && store_verdict(db, run_id, c, s, detail))
			rc = -1;
	}
	free(sample);
	return rc;
}

int capability_saw_request(sqlite3 *db, int64_t run_id, int has_hired)
{
	/* called outside a transaction: store_verdict opens its own */
	enum cap_state want = has_hired ? CAP_PRESENT : CAP_ABSENT;
	if (capability_get(db, CAP_HIRED_FIELD) == want)
		return 0;
	return store_verdict(db, run_id, CAP_HIRED_FIELD, want,
			     has_hired ? "a Request read from Crosschq has a hired field"
				       : "a Request read from Crosschq has no hired field");
}
