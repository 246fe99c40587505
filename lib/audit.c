/*
 * audit.c - append to and verify the hash-chained audit trail.
 */
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_word_char(char c)
{
	return c && c != ' ' && c != '\t' && c != '\n' && c != ',' && c != ';' && c != '"' &&
	       c != '\'' && c != '<' && c != '>' && c != '(' && c != ')';
}

void audit_redact_emails(char *s)
{
	char *at;
	char *from = s;
	while ((at = strchr(from, '@')) != NULL) {
		char *start = at, *end = at + 1;
		while (start > s && is_word_char(start[-1]))
			start--;
		while (is_word_char(*end))
			end++;
		if (start == at || end == at + 1 || !memchr(at, '.', (size_t)(end - at))) {
			from = at + 1;
			continue;
		}
		static const char repl[] = "<email>";
		size_t rl = sizeof repl - 1, wl = (size_t)(end - start);
		if (wl >= rl) {
			memcpy(start, repl, rl);
			memmove(start + rl, end, strlen(end) + 1);
			from = start + rl;
		} else {
			/* too short to hold the marker: blank it */
			memset(start, '*', wl);
			from = end;
		}
	}
}

/* Finish the SHA-256 of ctx (freed) as 64 lowercase hex digits and a NUL into out. */
static void digest_hex(EVP_MD_CTX *ctx, char *out)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

void audit_compute_hash(const char *prev_hash, int64_t seq, int64_t at, int64_t run_id,
			int run_id_null, const char *kind, const char *subject, const char *detail,
			char out[AUDIT_HASH_HEX])
{
	char head[160];
	char runbuf[24] = "";
	if (!run_id_null)
		snprintf(runbuf, sizeof runbuf, "%lld", (long long)run_id);
	int n = snprintf(head, sizeof head, "refsync-audit-v1|%lld|%lld|%s|", (long long)seq,
			 (long long)at, runbuf);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, prev_hash, strlen(prev_hash));
	EVP_DigestUpdate(ctx, head, (size_t)n);
	const char *fields[3] = { kind, subject, detail };
	for (int i = 0; i < 3; i++) {
		char len[32];
		int ln = snprintf(len, sizeof len, "%zu:", strlen(fields[i]));
		EVP_DigestUpdate(ctx, len, (size_t)ln);
		EVP_DigestUpdate(ctx, fields[i], strlen(fields[i]));
		if (i < 2)
			EVP_DigestUpdate(ctx, "|", 1);
	}
	digest_hex(ctx, out);
}

int audit_head(sqlite3 *db, int64_t *seq, char hash[AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = db_prepare(db, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1");
	if (!st)
		return -1;
	*seq = 0;
	hash[0] = '\0';
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		const char *h = (const char *)sqlite3_column_text(st, 1);
		strlcpy_(hash, h ? h : "", AUDIT_HASH_HEX);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int audit_append(sqlite3 *db, int64_t run_id, const char *kind, const char *subject, const char *detail)
{
	int64_t seq;
	char prev[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX];
	if (audit_head(db, &seq, prev))
		return -1;
	seq += 1;
	int64_t at = now_ms();
	char *d = xstrdup(detail ? detail : "");
	audit_redact_emails(d);
	audit_compute_hash(prev, seq, at, run_id, run_id <= 0, kind, subject, d, hash);
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO audit_events(seq, at, run_id, kind, subject, detail, "
					  "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)");
	if (!st) {
		free(d);
		return -1;
	}
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, at);
	db_bind_int64_or_null(st, 3, run_id, run_id <= 0);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, d, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, hash, -1, SQLITE_STATIC);
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	free(d);
	return rc == SQLITE_DONE ? 0 : -1;
}

int audit_appendf(sqlite3 *db, int64_t run_id, const char *kind, const char *subject, const char *fmt, ...)
{
	char detail[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return audit_append(db, run_id, kind, subject, detail);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	return t ? t : "";
}

int audit_verify(sqlite3 *db, int64_t *checked, int64_t *bad_seq, char *why, size_t whylen)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT seq, at, run_id, kind, subject, detail, prev_hash, hash "
					  "FROM audit_events ORDER BY seq");
	if (!st)
		return -1;
	char prev[AUDIT_HASH_HEX] = "", calc[AUDIT_HASH_HEX];
	int64_t n = 0, expect_seq = 1;
	int rc, result = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		n++;
		if (seq != expect_seq) {
			*bad_seq = seq;
			snprintf(why, whylen, "event %lld follows event %lld: events are missing", (long long)seq,
				 (long long)(expect_seq - 1));
			result = 1;
			break;
		}
		if (strcmp(col_text(st, 6), prev) != 0) {
			*bad_seq = seq;
			snprintf(why, whylen, "event %lld: prev_hash does not match the hash of event %lld",
				 (long long)seq, (long long)(seq - 1));
			result = 1;
			break;
		}
		audit_compute_hash(prev, seq, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
				   sqlite3_column_type(st, 2) == SQLITE_NULL, col_text(st, 3), col_text(st, 4),
				   col_text(st, 5), calc);
		if (strcmp(calc, col_text(st, 7)) != 0) {
			*bad_seq = seq;
			snprintf(why, whylen, "event %lld: content does not match its hash (edited)", (long long)seq);
			result = 1;
			break;
		}
		strlcpy_(prev, calc, sizeof prev);
		expect_seq = seq + 1;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		result = -1;
	sqlite3_finalize(st);
	*checked = n;
	return result;
}

/* ---- runs in the chain ---------------------------------------------------- */

/* Hash an integer column as I(x) of audit.h into ctx. */
static void hash_int_column(EVP_MD_CTX *ctx, sqlite3_stmt *st, int i)
{
	char num[32];
	int n = sqlite3_column_type(st, i) == SQLITE_NULL
			? snprintf(num, sizeof num, "-")
			: snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, i));
	EVP_DigestUpdate(ctx, num, (size_t)n);
}

/* Hash a text column as T(x) of audit.h into ctx. */
static void hash_text_column(EVP_MD_CTX *ctx, sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		EVP_DigestUpdate(ctx, "-", 1);
		return;
	}
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);
	char num[32];
	int n = snprintf(num, sizeof num, "%zu:", len);
	EVP_DigestUpdate(ctx, num, (size_t)n);
	EVP_DigestUpdate(ctx, t ? (const char *)t : "", len);
}

int audit_run_row_hash(sqlite3 *db, int64_t run_id, char out[AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, command, started_at, ended_at, exit_code, invocation_id, "
					  "pulled, decided, done, failed, held, error, dry_run FROM runs WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? 1 : -1;
	}
	/* column kinds in canonical order: 0 integer, 1 text */
	static const int is_text[13] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0 };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, "refsync-run-v1", 14);
	for (int i = 0; i < 13; i++) {
		EVP_DigestUpdate(ctx, "|", 1);
		if (is_text[i])
			hash_text_column(ctx, st, i);
		else
			hash_int_column(ctx, st, i);
	}
	sqlite3_finalize(st);
	digest_hex(ctx, out);
	return 0;
}

int audit_run_recordf(sqlite3 *db, int64_t run_id, const char *kind, const char *fmt, ...)
{
	char detail[2048], subject[32], row[AUDIT_HASH_HEX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(detail, sizeof detail - 80, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (audit_run_row_hash(db, run_id, row) != 0) {
		log_err("audit: run %lld has no runs row to record", (long long)run_id);
		return -1;
	}
	size_t len = strlen(detail);
	snprintf(detail + len, sizeof detail - len, "; row %s", row);
	snprintf(subject, sizeof subject, "run:%lld", (long long)run_id);
	return audit_append(db, run_id, kind, subject, detail);
}

/* The row hash at the end of a run event's detail, or NULL when it has none. */
static const char *detail_row_hash(const char *detail)
{
	size_t len = strlen(detail);
	if (len < 70 || memcmp(detail + len - 70, "; row ", 6) != 0)
		return NULL;
	const char *h = detail + len - 64;
	for (int i = 0; i < 64; i++) {
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return NULL;
	}
	return h;
}

/* Where the runs are covered from: the first run.start with a row hash.
 * 0 found, 1 none, -1 error. */
static int runs_coverage(sqlite3 *db, int64_t *first_seq, int64_t *first_run)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT seq, run_id, detail FROM audit_events "
					  "WHERE kind = 'run.start' AND run_id IS NOT NULL ORDER BY seq");
	if (!st)
		return -1;
	int rc, found = 1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (detail_row_hash(col_text(st, 2))) {
			*first_seq = sqlite3_column_int64(st, 0);
			*first_run = sqlite3_column_int64(st, 1);
			found = 0;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

/* Keep the problem with the smallest event (a row with no event, seq 0, last). */
static void note_problem(struct audit_runs_result *r, int *bad, int64_t seq, int64_t run, char *why,
			 size_t whylen, const char *text)
{
	int64_t key = seq > 0 ? seq : INT64_MAX, have = r->bad_seq > 0 ? r->bad_seq : INT64_MAX;
	if (*bad && key >= have)
		return;
	*bad = 1;
	r->bad_seq = seq;
	r->bad_run = run;
	snprintf(why, whylen, "%s", text);
}

/* Compare run's row with the row hash of its newest event (seq, detail). */
static int check_run(sqlite3 *db, struct audit_runs_result *r, int *bad, int64_t run, int64_t seq,
		     const char *detail, char *why, size_t whylen)
{
	char text[256], row[AUDIT_HASH_HEX];
	const char *want = detail_row_hash(detail);
	int rc = audit_run_row_hash(db, run, row);
	if (rc < 0)
		return -1;
	r->checked++;
	if (!want) {
		snprintf(text, sizeof text, "event %lld, the newest record of run %lld, carries no row hash",
			 (long long)seq, (long long)run);
		note_problem(r, bad, seq, run, why, whylen, text);
	} else if (rc == 1) {
		snprintf(text, sizeof text, "run %lld, recorded by event %lld, is missing from the runs table (deleted)",
			 (long long)run, (long long)seq);
		note_problem(r, bad, seq, run, why, whylen, text);
	} else if (strcmp(want, row) != 0) {
		snprintf(text, sizeof text, "run %lld does not match event %lld, its newest record: the runs row "
			 "was edited", (long long)run, (long long)seq);
		note_problem(r, bad, seq, run, why, whylen, text);
	}
	return 0;
}

int audit_verify_runs(sqlite3 *db, struct audit_runs_result *r, char *why, size_t whylen)
{
	memset(r, 0, sizeof *r);
	int found = runs_coverage(db, &r->first_seq, &r->first_run);
	if (found != 0)
		return found < 0 ? -1 : 0;
	/* the newest event of each covered run, in run order, merged with the rows */
	sqlite3_stmt *ev = db_prepare(db, "SELECT run_id, seq, detail FROM audit_events WHERE seq >= ?1 "
					  "AND run_id >= ?2 AND kind IN ('run.start', 'run.end', 'run.abandoned') ORDER BY run_id, seq");
	sqlite3_stmt *rows = db_prepare(db, "SELECT id FROM runs WHERE id >= ? ORDER BY id");
	int bad = 0, result = -1, erc, rrc;
	if (!ev || !rows)
		goto out;
	sqlite3_bind_int64(ev, 1, r->first_seq);
	sqlite3_bind_int64(ev, 2, r->first_run);
	sqlite3_bind_int64(rows, 1, r->first_run);
	erc = sqlite3_step(ev);
	rrc = sqlite3_step(rows);
	while (erc == SQLITE_ROW || rrc == SQLITE_ROW) {
		int64_t erun = erc == SQLITE_ROW ? sqlite3_column_int64(ev, 0) : INT64_MAX;
		int64_t rrun = rrc == SQLITE_ROW ? sqlite3_column_int64(rows, 0) : INT64_MAX;
		if (rrun < erun) {
			char text[160];
			snprintf(text, sizeof text, "run %lld is in the runs table but not in the audit chain (inserted)",
				 (long long)rrun);
			note_problem(r, &bad, 0, rrun, why, whylen, text);
			rrc = sqlite3_step(rows);
			continue;
		}
		/* the newest event of run erun */
		int64_t seq = 0;
		char *detail = NULL;
		while (erc == SQLITE_ROW && sqlite3_column_int64(ev, 0) == erun) {
			seq = sqlite3_column_int64(ev, 1);
			free(detail);
			detail = xstrdup(col_text(ev, 2));
			erc = sqlite3_step(ev);
		}
		int crc = check_run(db, r, &bad, erun, seq, detail, why, whylen);
		free(detail);
		if (crc < 0)
			goto out;
		if (rrun == erun)
			rrc = sqlite3_step(rows);
	}
	if ((erc != SQLITE_DONE) || (rrc != SQLITE_DONE))
		goto out;
	result = bad;
out:
	sqlite3_finalize(ev);
	sqlite3_finalize(rows);
	return result;
}

int audit_check_head(sqlite3 *db, int64_t seq, const char *hash, int64_t *bad_seq, char *why, size_t whylen)
{
	int64_t head_seq;
	char head_hash[AUDIT_HASH_HEX];
	*bad_seq = 0;
	if (seq <= 0)
		return 0;
	if (audit_head(db, &head_seq, head_hash))
		return -1;
	if (head_seq < seq) {
		*bad_seq = head_seq + 1;
		snprintf(why, whylen, "the trail ends at event %lld, but the anchored head is event %lld: events "
			 "%lld to %lld were cut", (long long)head_seq, (long long)seq, (long long)head_seq + 1,
			 (long long)seq);
		return 1;
	}
	sqlite3_stmt *st = db_prepare(db, "SELECT hash FROM audit_events WHERE seq = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return -1;
	}
	int result = 0;
	if (rc == SQLITE_DONE) {
		*bad_seq = seq;
		snprintf(why, whylen, "event %lld, the anchored head, is missing (deleted)", (long long)seq);
		result = 1;
	} else if (strcmp(col_text(st, 0), hash) != 0) {
		*bad_seq = seq;
		snprintf(why, whylen, "event %lld has another hash than the anchored head: the trail up to event %lld "
			 "was rewritten (edited or cut, and the chain recomputed)", (long long)seq, (long long)seq);
		result = 1;
	}
	sqlite3_finalize(st);
	return result;
}
