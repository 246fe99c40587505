/*
 * anchor.h - the head line every export ends with, which anchors the audit
 * chain outside the database, and its Ed25519 signature.
 *
 * The last line of every export is its head line:
 *
 *   XML, HTML: <!-- HEAD -->\n        CSV: # HEAD\r\n
 *   HEAD = "refsync-export-head v1 format=F seq=N hash=H at=T"
 *          [" body-sha256=D key=K ed25519=S"]
 *
 * F is xml, csv or html; N, H, T the newest audit event when the export was
 * made (seq 0, hash and at "-" for an empty trail); D the hex SHA-256 of
 * every byte of the file before the head line; K the signing key's id
 * (sign.h); S the base64 Ed25519 signature of the head line's text from
 * "refsync-export-head" up to, not including, " ed25519=". The signature
 * thus binds the rows (through D) to the head (N, H).
 */
#ifndef REFSYNC_ANCHOR_H
#define REFSYNC_ANCHOR_H

#include "audit.h"
#include "export_rows.h"
#include "output.h"
#include "sign.h"

#include <sqlite3.h>
#include <stdint.h>

/* Write the head line of an export of format ("xml", "csv", "html") made
 * at head, signed with key when key is not NULL (then the output's digest
 * must have been started before the first byte). 0 or -1 (err). */
int anchor_write(struct output *out, const char *format, const struct chain_head *head,
		 const struct sign_key *key, char *err, size_t errlen);

/* A head line as read back from a file. */
struct anchor {
	char format[8];
	int64_t seq;
	char hash[AUDIT_HASH_HEX];       /* "" when seq is 0 */
	int is_signed;
	char body_sha256[65];
	char keyid[SIGN_KEYID_HEX];
	char sig[SIGN_B64_MAX];
	char text[1024];                 /* HEAD */
	size_t signed_len;               /* bytes of text that the signature covers */
	int64_t body_len;                /* bytes of the file before the head line */
};

/* "SEQ:HASH" (as refsync logs it) into seq and hash. 0 or -1. */
int anchor_parse_head_arg(const char *arg, int64_t *seq, char hash[AUDIT_HASH_HEX]);

/* Read the head line of the export at path. 0; 1 the file has no valid
 * head line (err says why); -1 it cannot be read (err). */
int anchor_read(const char *path, struct anchor *a, char *err, size_t errlen);

/*
 * Check the export at path offline with the public key at pubkey_path: the
 * head line is signed by that key, and the bytes before it have the signed
 * digest. Prints the verdict on stdout. Returns 0 valid, EXIT_DATAERR (65)
 * not valid (edited, unsigned, another key), EXIT_NOINPUT (66) when the
 * file or the key cannot be read.
 */
int anchor_verify_file(const char *path, const char *pubkey_path, struct anchor *a);

/*
 * Compare the events that the events export at path (XML or CSV; a is its
 * head line) lists with the trail in db: returns 1 with the first listed
 * event that is missing or has another hash in *bad_seq (why says which),
 * 0 when all match or the export lists no events, -1 on a database error.
 * With a chain that verifies, this names the first event changed before a
 * recomputation that an anchored head alone only shows happened.
 */
int anchor_compare_events(sqlite3 *db, const char *path, const struct anchor *a, int64_t *bad_seq, char *why,
			  size_t whylen);

#endif
