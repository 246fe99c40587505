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

/*
 * Runs in the chain. Every change of a runs row is followed, in the same
 * transaction, by an event (kind "run.start", "run.end" or, for a run the
 * next one closed, "run.abandoned"; subject "run:ID",
 * run_id ID) whose detail ends with "; row " and the row hash:
 *
 *   row hash = hex(SHA-256(canonical(runs row)))
 *   canonical = "refsync-run-v1|" id "|" T(command) "|" I(started_at) "|"
 *               I(ended_at) "|" I(exit_code) "|" T(invocation_id) "|"
 *               I(pulled) "|" I(decided) "|" I(done) "|" I(failed) "|"
 *               I(held) "|" T(error) "|" I(dry_run)
 *
 * where I(x) is x in decimal and T(x) is len(x) ":" x (bytes), and either is
 * "-" for NULL. The newest such event of a run holds the row as it must be
 * now. The first "run.start" event that carries a row hash is where the
 * runs are covered from: runs with a smaller id predate this scheme.
 */

/* Append the run event of kind for runs row run_id, detail "<fmt...>; row
 * HASH". Inside a write transaction, after the row was written. 0 or -1. */
int audit_run_recordf(sqlite3 *db, int64_t run_id, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The row hash of runs row run_id into out. 0, 1 no such row, -1 error. */
int audit_run_row_hash(sqlite3 *db, int64_t run_id, char out[AUDIT_HASH_HEX]);

/* What audit_verify_runs found. */
struct audit_runs_result {
	int64_t first_run;  /* the first covered run id (0: none is covered yet) */
	int64_t first_seq;  /* the event that starts the coverage */
	int64_t checked;    /* covered runs compared */
	int64_t bad_seq;    /* the event of the first mismatch (0: none, or a row with no event) */
	int64_t bad_run;    /* the run of the first mismatch */
};

/*
 * Compare every covered runs row with the newest run event of its run.
 * Returns 0 when they all match, 1 when not (r->bad_*, why says what:
 * a row deleted, edited, or not in the chain), -1 on a database error.
 * Meaningful after audit_verify found the chain intact.
 */
int audit_verify_runs(sqlite3 *db, struct audit_runs_result *r, char *why, size_t whylen);

/*
 * Check an anchored head (seq, hash) taken earlier against the trail:
 * returns 0 when event seq exists with that hash, 1 when not (the trail
 * was cut below seq, or rewritten at or before seq; why says which, and
 * *bad_seq names the first event that cannot be proven), -1 on error.
 * seq 0 (an empty trail was anchored) always holds.
 */
int audit_check_head(sqlite3 *db, int64_t seq, const char *hash, int64_t *bad_seq, char *why, size_t whylen);

#endif
