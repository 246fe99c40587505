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
