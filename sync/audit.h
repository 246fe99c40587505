/*
 * audit.h - the append-only, hash-chained audit trail.
 *
 *   hash(e) = hex(SHA-256(hash(previous event) || canonical(e)))
 *
 * with "" as the hash before the first event, and
 *
 *   canonical(e) = "refsync-audit-v1|" seq "|" at "|" run_id "|"
 *                  len(kind) ":" kind "|" len(subject) ":" subject "|"
 *                  len(detail) ":" detail
 *
 * (decimal numbers, run_id empty when NULL, lengths in bytes). Length
 * prefixes make the encoding unambiguous whatever the fields contain.
 */
#ifndef REFSYNC_AUDIT_H
#define REFSYNC_AUDIT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_HEX 65 /* 64 hex digits and a NUL */

/*
 * Append one event. Must be called inside a write transaction. run_id <= 0
 * is stored as NULL. Anything that looks like an email address in detail is
 * replaced by "<email>" (the trail keeps ids, not personal data).
 * Returns 0 or -1 (logged).
 */
int audit_append(sqlite3 *db, int64_t run_id, const char *kind, const char *subject,
		 const char *detail);

/* printf-style detail. */
int audit_appendf(sqlite3 *db, int64_t run_id, const char *kind, const char *subject,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Compute the hash of an event from its fields into out (AUDIT_HASH_HEX). */
void audit_compute_hash(const char *prev_hash, int64_t seq, int64_t at, int64_t run_id,
			int run_id_null, const char *kind, const char *subject, const char *detail,
			char out[AUDIT_HASH_HEX]);

/* The newest event's seq and hash ("" and 0 for an empty trail). 0 or -1. */
int audit_head(sqlite3 *db, int64_t *seq, char hash[AUDIT_HASH_HEX]);

/*
 * Recompute the whole chain. Returns 0 when intact, 1 when broken (then
 * *bad_seq is the first event whose stored prev_hash or hash does not match,
 * and why says which), -1 on a database error.
 */
int audit_verify(sqlite3 *db, int64_t *checked, int64_t *bad_seq, char *why, size_t whylen);

/* Replace email-like words in s (in place) by "<email>". */
void audit_redact_emails(char *s);

#endif
