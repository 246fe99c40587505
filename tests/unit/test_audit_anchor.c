/*
 * test_audit_anchor.c - unit tests of issue 18 item 5: runs in the audit
 * chain (audit_run_recordf, audit_run_row_hash, audit_verify_runs), anchored
 * heads (audit_check_head, anchor_parse_head_arg), the export head line
 * (anchor_write, anchor_read, anchor_verify_file) and the Ed25519 key
 * (sign.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "anchor.h"
#include "audit.h"
#include "db.h"
#include "export_csv.h"
#include "export_xml.h"
#include "output.h"
#include "sign.h"
#include "util.h"

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/refsync-anchor-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/refsync.db", f->dir);
	setenv("REFSYNC_TEST_NOW", "1795884599000", 1);
	char err[512] = "";
	if (db_open(f->path, DB_READWRITE, &f->db, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "db_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	unsetenv("REFSYNC_TEST_NOW");
	remove_tree(f->dir);
	free(f);
	return 0;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* A run as main.c records it: the row and run.start, then the end and run.end. */
static void record_run(sqlite3 *db, int64_t id, int exit_code, const char *error)
{
	char sql[512];
	assert_int_equal(db_begin(db), 0);
	snprintf(sql, sizeof sql, "INSERT INTO runs(id, command, started_at) VALUES (%lld, 'run', %lld)",
		 (long long)id, (long long)id * 1000);
	exec(db, sql);
	assert_int_equal(audit_run_recordf(db, id, "run.start", "%s started", "run"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(audit_append(db, id, "action.done", "opportunity:x", "something"), 0);
	assert_int_equal(db_begin(db), 0);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE runs SET ended_at = ?, exit_code = ?, done = 1, error = ? "
						"WHERE id = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, id * 1000 + 500);
	sqlite3_bind_int(st, 2, exit_code);
	if (error)
		sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(audit_run_recordf(db, id, "run.end", "run exit=%d", exit_code), 0);
	assert_int_equal(db_commit(db), 0);
}

/* The hex SHA-256 of s. */
static void sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(s, len, md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- runs in the chain ----------------------------------------------------- */

static void test_row_hash_is_the_canonical_form(void **state)
{
	struct fixture *f = *state;
	exec(f->db, "INSERT INTO runs(id, command, started_at, ended_at, exit_code, invocation_id, pulled, decided, "
		    "done, failed, held, error) VALUES (7, 'backfill', 1000, 2000, 75, NULL, 3, 2, 1, 0, 4, "
		    "'Lever: a|b')");
	static const char canon[] = "refsync-run-v1|7|8:backfill|1000|2000|75|-|3|2|1|0|4|10:Lever: a|b|0";
	char want[65], got[AUDIT_HASH_HEX];
	sha256_hex(canon, strlen(canon), want);
	assert_int_equal(audit_run_row_hash(f->db, 7, got), 0);
	assert_string_equal(got, want);
	/* NULL and empty text differ; a missing row is 1 */
	exec(f->db, "UPDATE runs SET invocation_id = '' WHERE id = 7");
	assert_int_equal(audit_run_row_hash(f->db, 7, got), 0);
	assert_string_not_equal(got, want);
	/* a real run marked as a dry run afterwards (or the reverse) is an edit */
	exec(f->db, "UPDATE runs SET invocation_id = NULL, dry_run = 1 WHERE id = 7");
	assert_int_equal(audit_run_row_hash(f->db, 7, got), 0);
	assert_string_not_equal(got, want);
	exec(f->db, "UPDATE runs SET dry_run = 0 WHERE id = 7");
	assert_int_equal(audit_run_row_hash(f->db, 7, got), 0);
	assert_string_equal(got, want);
	assert_int_equal(audit_run_row_hash(f->db, 8, got), 1);
}

static void test_run_events_carry_the_row_hash(void **state)
{
	struct fixture *f = *state;
	record_run(f->db, 1, 1, "HTTP 422 for someone@example.com");
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT kind, subject, run_id, detail FROM audit_events "
						   "WHERE kind LIKE 'run.%' ORDER BY seq", -1, &st, NULL), SQLITE_OK);
	char row[AUDIT_HASH_HEX], want[256];
	assert_int_equal(audit_run_row_hash(f->db, 1, row), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "run.start");
	assert_string_equal(sqlite3_column_text(st, 1), "run:1");
	assert_int_equal(sqlite3_column_int64(st, 2), 1);
	assert_true(strncmp((const char *)sqlite3_column_text(st, 3), "run started; row ", 17) == 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "run.end");
	snprintf(want, sizeof want, "run exit=1; row %s", row);
	assert_string_equal(sqlite3_column_text(st, 3), want);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	/* no row, no record */
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(audit_run_recordf(f->db, 9, "run.end", "x"), -1);
	db_rollback(f->db);
}

/* audit_verify_runs after sql: its verdict, bad seq and reason. */
static void expect_runs(struct fixture *f, const char *sql, int verdict, int64_t bad_seq, const char *why_want)
{
	if (sql)
		exec(f->db, sql);
	struct audit_runs_result r;
	char why[256] = "";
	int64_t checked, bad;
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 0);
	assert_int_equal(audit_verify_runs(f->db, &r, why, sizeof why), verdict);
	if (verdict == 1) {
		assert_int_equal(r.bad_seq, bad_seq);
		assert_string_equal(why, why_want);
	}
}

static void test_verify_runs_intact_and_tampered(void **state)
{
	struct fixture *f = *state;
	record_run(f->db, 1, 0, NULL);  /* events 1-3 */
	record_run(f->db, 2, 75, "Lever down"); /* events 4-6 */
	record_run(f->db, 3, 0, NULL);  /* events 7-9 */
	struct audit_runs_result r;
	char why[256] = "";
	assert_int_equal(audit_verify_runs(f->db, &r, why, sizeof why), 0);
	assert_int_equal(r.first_run, 1);
	assert_int_equal(r.first_seq, 1);
	assert_int_equal(r.checked, 3);
	expect_runs(f, "UPDATE runs SET exit_code = 0 WHERE id = 2", 1, 6,
		    "run 2 does not match event 6, its newest record: the runs row was edited");
	expect_runs(f, "UPDATE runs SET exit_code = 75 WHERE id = 2", 0, 0, "");
	expect_runs(f, "UPDATE runs SET error = NULL WHERE id = 2", 1, 6,
		    "run 2 does not match event 6, its newest record: the runs row was edited");
	expect_runs(f, "DELETE FROM runs WHERE id = 2", 1, 6,
		    "run 2, recorded by event 6, is missing from the runs table (deleted)");
	/* two problems: the one at the earlier event is named */
	expect_runs(f, "UPDATE runs SET held = 9 WHERE id = 1", 1, 3,
		    "run 1 does not match event 3, its newest record: the runs row was edited");
}

static void test_verify_runs_inserted_row(void **state)
{
	struct fixture *f = *state;
	record_run(f->db, 1, 0, NULL);
	expect_runs(f, "INSERT INTO runs(id, command, started_at) VALUES (5, 'run', 1)", 1, 0,
		    "run 5 is in the runs table but not in the audit chain (inserted)");
}

static void test_verify_runs_truncated_trail(void **state)
{
	struct fixture *f = *state;
	record_run(f->db, 1, 0, NULL);
	record_run(f->db, 2, 1, NULL);
	/* the end of run 2 (event 6) and its action are cut: its row says it ended */
	expect_runs(f, "DELETE FROM audit_events WHERE seq > 4", 1, 4,
		    "run 2 does not match event 4, its newest record: the runs row was edited");
}

static void test_verify_runs_covers_from_the_first_hashed_start(void **state)
{
	struct fixture *f = *state;
	/* a database from before runs were chained: rows and old-style run.end events */
	exec(f->db, "INSERT INTO runs(id, command, started_at, ended_at, exit_code) VALUES "
		    "(1, 'run', 1, 2, 0), (2, 'run', 3, 4, 1)");
	assert_int_equal(audit_append(f->db, 1, "run.end", "run:1", "run exit=0"), 0);
	assert_int_equal(audit_append(f->db, 2, "run.end", "run:2", "run exit=1"), 0);
	struct audit_runs_result r;
	char why[256] = "";
	assert_int_equal(audit_verify_runs(f->db, &r, why, sizeof why), 0);
	assert_int_equal(r.first_run, 0);
	/* the upgraded binary's first run starts the coverage at event 3 */
	record_run(f->db, 3, 0, NULL);
	assert_int_equal(audit_verify_runs(f->db, &r, why, sizeof why), 0);
	assert_int_equal(r.first_run, 3);
	assert_int_equal(r.first_seq, 3);
	assert_int_equal(r.checked, 1);
	/* the runs before it are not covered (documented); run 3 is */
	expect_runs(f, "DELETE FROM runs WHERE id = 2", 0, 0, "");
	expect_runs(f, "DELETE FROM runs WHERE id = 3", 1, 5,
		    "run 3, recorded by event 5, is missing from the runs table (deleted)");
}

/* ---- anchored heads ---------------------------------------------------------- */

static void test_check_head(void **state)
{
	struct fixture *f = *state;
	record_run(f->db, 1, 0, NULL);
	record_run(f->db, 2, 0, NULL);
	int64_t seq, bad = -1;
	char hash[AUDIT_HASH_HEX], old[AUDIT_HASH_HEX], why[256] = "";
	assert_int_equal(audit_head(f->db, &seq, hash), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(audit_check_head(f->db, 6, hash, &bad, why, sizeof why), 0);
	assert_int_equal(audit_check_head(f->db, 0, "", &bad, why, sizeof why), 0);
	/* an older head holds too */
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT hash FROM audit_events WHERE seq = 3", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	strlcpy_(old, (const char *)sqlite3_column_text(st, 0), sizeof old);
	sqlite3_finalize(st);
	assert_int_equal(audit_check_head(f->db, 3, old, &bad, why, sizeof why), 0);
	/* another hash at that seq: rewritten */
	assert_int_equal(audit_check_head(f->db, 3, hash, &bad, why, sizeof why), 1);
	assert_int_equal(bad, 3);
	assert_string_equal(why, "event 3 has another hash than the anchored head: the trail up to event 3 was "
				 "rewritten (edited or cut, and the chain recomputed)");
	/* cut below the head */
	exec(f->db, "DELETE FROM audit_events WHERE seq > 2");
	assert_int_equal(audit_check_head(f->db, 6, hash, &bad, why, sizeof why), 1);
	assert_int_equal(bad, 3);
	assert_string_equal(why, "the trail ends at event 2, but the anchored head is event 6: events 3 to 6 were cut");
}

static void test_parse_head_arg(void **state)
{
	(void)state;
	static const char h[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	char arg[128], hash[AUDIT_HASH_HEX];
	int64_t seq = -1;
	snprintf(arg, sizeof arg, "12:%s", h);
	assert_int_equal(anchor_parse_head_arg(arg, &seq, hash), 0);
	assert_int_equal(seq, 12);
	assert_string_equal(hash, h);
	assert_int_equal(anchor_parse_head_arg("0:", &seq, hash), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(hash, "");
	assert_int_equal(anchor_parse_head_arg("0:-", &seq, hash), 0);
	const char *bad[] = { "12", ":abc", "-1:abc", "12:9f86", "x:9f86", " 12:" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(anchor_parse_head_arg(bad[i], &seq, hash), -1);
	snprintf(arg, sizeof arg, "12:%.63sG", h);
	assert_int_equal(anchor_parse_head_arg(arg, &seq, hash), -1);
	snprintf(arg, sizeof arg, "12:%s0", h);
	assert_int_equal(anchor_parse_head_arg(arg, &seq, hash), -1);
}

/* ---- keys and signed head lines ------------------------------------------------ */

/* Make a key pair under f->dir/name.key; its public PEM into f->dir/name.pub. */
static void make_key(struct fixture *f, const char *name, struct sign_key *k, char pub_path[256])
{
	char path[256], err[256] = "", keyid[SIGN_KEYID_HEX], *pub = NULL;
	snprintf(path, sizeof path, "%s/%s.key", f->dir, name);
	assert_int_equal(sign_keygen(path, &pub, keyid, err, sizeof err), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* never over an existing key */
	char *again = NULL;
	assert_int_equal(sign_keygen(path, &again, keyid, err, sizeof err), -1);
	assert_non_null(strstr(err, "a key is there already"));
	snprintf(pub_path, 256, "%s/%s.pub", f->dir, name);
	FILE *out = fopen(pub_path, "w");
	fputs(pub, out);
	fclose(out);
	free(pub);
	FILE *in = fopen(path, "r");
	char pem[1024];
	size_t n = fread(pem, 1, sizeof pem - 1, in);
	fclose(in);
	pem[n] = '\0';
	assert_int_equal(sign_load_private(pem, k, err, sizeof err), 0);
	assert_string_equal(k->keyid, keyid);
}

static void test_sign_and_verify(void **state)
{
	struct fixture *f = *state;
	struct sign_key priv, other, pub;
	char pub_path[256], other_path[256], err[256] = "", sig[SIGN_B64_MAX];
	make_key(f, "a", &priv, pub_path);
	make_key(f, "b", &other, other_path);
	assert_int_equal(sign_load_public(pub_path, &pub, err, sizeof err), 0);
	assert_string_equal(pub.keyid, priv.keyid);
	assert_string_not_equal(other.keyid, priv.keyid);
	assert_int_equal(sign_message(&priv, "head", 4, sig), 0);
	assert_int_equal(strlen(sig), 88);
	assert_int_equal(sign_verify(&pub, "head", 4, sig), 0);
	assert_int_equal(sign_verify(&pub, "heae", 4, sig), 1);
	assert_int_equal(sign_verify(&other, "head", 4, sig), 1);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	assert_int_equal(sign_verify(&pub, "head", 4, sig), 1);
	assert_int_equal(sign_verify(&pub, "head", 4, "short=="), 1);
	sign_key_free(&other);
	/* not keys */
	assert_int_equal(sign_load_private("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", &other,
					   err, sizeof err), -1);
	assert_string_equal(err, "not an Ed25519 private key in PEM form (make one with refsync-export --keygen)");
	assert_int_equal(sign_load_public("/nonexistent/x.pub", &other, err, sizeof err), -1);
	sign_key_free(&priv);
	sign_key_free(&pub);
}

/* Write an export body and its head line to path. */
static void write_export(const char *path, const char *format, const char *body, const struct chain_head *head,
			 const struct sign_key *key)
{
	static struct output out;
	char err[256] = "";
	assert_int_equal(output_open(&out, path, err, sizeof err), 0);
	if (key)
		assert_int_equal(output_digest_start(&out), 0);
	output_puts(&out, body);
	assert_int_equal(anchor_write(&out, format, head, key, err, sizeof err), 0);
	assert_int_equal(output_commit(&out, err, sizeof err), 0);
}

static char *slurp(const char *path)
{
	FILE *in = fopen(path, "rb");
	static char data[8192];
	size_t n = fread(data, 1, sizeof data - 1, in);
	fclose(in);
	data[n] = '\0';
	return data;
}

static void test_head_line_round_trip(void **state)
{
	struct fixture *f = *state;
	struct sign_key priv, other;
	char pub_path[256], other_path[256], path[256], want[1024];
	make_key(f, "a", &priv, pub_path);
	make_key(f, "b", &other, other_path);
	struct chain_head head = { 12, 1795884599000LL, "" };
	memset(head.hash, 'a', 64);
	head.hash[64] = '\0';
	/* unsigned CSV: the exact line */
	snprintf(path, sizeof path, "%s/e.csv", f->dir);
	write_export(path, "csv", "seq,hash\r\n1,x\r\n", &head, NULL);
	snprintf(want, sizeof want, "seq,hash\r\n1,x\r\n# refsync-export-head v1 format=csv seq=12 hash=%s "
		 "at=2026-11-28T16:49:59.000Z\r\n", head.hash);
	assert_string_equal(slurp(path), want);
	struct anchor a;
	char err[256] = "";
	assert_int_equal(anchor_read(path, &a, err, sizeof err), 0);
	assert_int_equal(a.seq, 12);
	assert_string_equal(a.hash, head.hash);
	assert_int_equal(a.is_signed, 0);
	assert_int_equal(a.body_len, 15);
	assert_int_equal(anchor_verify_file(path, pub_path, &a), EXIT_DATAERR);
	/* signed XML: verified with its key, not with another; an edit fails */
	snprintf(path, sizeof path, "%s/e.xml", f->dir);
	write_export(path, "xml", "<?xml version=\"1.0\"?>\n<refsync-audit/>\n", &head, &priv);
	assert_int_equal(anchor_read(path, &a, err, sizeof err), 0);
	assert_int_equal(a.is_signed, 1);
	char body_hex[65];
	sha256_hex("<?xml version=\"1.0\"?>\n<refsync-audit/>\n", 39, body_hex);
	assert_string_equal(a.body_sha256, body_hex);
	assert_string_equal(a.keyid, priv.keyid);
	assert_int_equal(anchor_verify_file(path, pub_path, &a), EXIT_OK);
	assert_int_equal(anchor_verify_file(path, other_path, &a), EXIT_DATAERR);
	char *data = slurp(path);
	data[30] ^= 1;
	FILE *out = fopen(path, "wb");
	fputs(data, out);
	fclose(out);
	assert_int_equal(anchor_verify_file(path, pub_path, &a), EXIT_DATAERR);
	/* an empty trail: seq 0, hash and at "-" */
	struct chain_head empty = { 0, 0, "" };
	snprintf(path, sizeof path, "%s/e.html", f->dir);
	write_export(path, "html", "<html></html>\n", &empty, &priv);
	assert_non_null(strstr(slurp(path), "<!-- refsync-export-head v1 format=html seq=0 hash=- at=- body-sha256="));
	assert_int_equal(anchor_verify_file(path, pub_path, &a), EXIT_OK);
	assert_int_equal(a.seq, 0);
	/* a CSV wrapper around an XML head line, a missing line, unknown fields: not head lines */
	const char *bad[] = {
		"x\n# refsync-export-head v1 format=xml seq=0 hash=- at=-\r\n",
		"x\n<!-- refsync-export-head v1 format=xml seq=0 hash=- at=- extra=1 -->\n",
		"x\n<!-- refsync-export-head v1 format=xml seq=1 hash=- at=- -->\n",
		"x\n<!-- refsync-export-head v1 format=xml seq=0 hash=- at=- key=0011223344556677 -->\n",
		"<!-- refsync-export-head v1 format=xml seq=0 hash=- at=- -->",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		out = fopen(path, "wb");
		fputs(bad[i], out);
		fclose(out);
		assert_int_equal(anchor_read(path, &a, err, sizeof err), 1);
	}
	snprintf(path, sizeof path, "%s/missing", f->dir);
	assert_int_equal(anchor_read(path, &a, err, sizeof err), -1);
	assert_int_equal(anchor_verify_file(path, pub_path, &a), EXIT_NOINPUT);
	sign_key_free(&priv);
	sign_key_free(&other);
}

/* Export the events of f->db as format into path, with its head line. */
static void export_events(struct fixture *f, const char *format, const char *path)
{
	static struct output out;
	struct export_window all = { 0, 0, 0, 0 };
	struct chain_head head;
	char err[256] = "";
	assert_int_equal(output_open(&out, path, err, sizeof err), 0);
	assert_int_equal(rows_chain_head(f->db, &head, err, sizeof err), 0);
	int rc = strcmp(format, "csv") == 0 ? export_csv(f->db, ROWS_EVENTS, &all, &out, err, sizeof err)
					    : export_xml(f->db, ROWS_EVENTS, &all, &out, err, sizeof err);
	assert_int_equal(rc, 0);
	assert_int_equal(anchor_write(&out, format, &head, NULL, err, sizeof err), 0);
	assert_int_equal(output_commit(&out, err, sizeof err), 0);
}

static void test_compare_events_with_an_export(void **state)
{
	struct fixture *f = *state;
	record_run(f->db, 1, 0, NULL);
	/* text that a CSV reader must get right: commas, quotes, line ends */
	assert_int_equal(audit_append(f->db, 1, "note", "x", "a,\"b\"\r\nc,,\"\""), 0);
	assert_int_equal(audit_append(f->db, 1, "note", "=y,z", "\"quoted\" at the start"), 0);
	record_run(f->db, 2, 0, NULL); /* events 6-8 */
	static const char *const formats[] = { "csv", "xml" };
	for (int i = 0; i < 2; i++) {
		char path[256], why[256] = "", err[256] = "";
		snprintf(path, sizeof path, "%s/events.%s", f->dir, formats[i]);
		export_events(f, formats[i], path);
		struct anchor a;
		assert_int_equal(anchor_read(path, &a, err, sizeof err), 0);
		int64_t bad = -1;
		assert_int_equal(anchor_compare_events(f->db, path, &a, &bad, why, sizeof why), 0);
		assert_int_equal(bad, 0);
		/* event 5 stored with another hash (as after a recomputation) */
		exec(f->db, "UPDATE audit_events SET hash = 'x' || hash WHERE seq = 5");
		assert_int_equal(anchor_compare_events(f->db, path, &a, &bad, why, sizeof why), 1);
		assert_int_equal(bad, 5);
		assert_string_equal(why, "event 5 has another hash than the export lists: it was edited, or an event "
					 "before it was removed, and the chain recomputed");
		exec(f->db, "UPDATE audit_events SET hash = substr(hash, 2) WHERE seq = 5");
		exec(f->db, "CREATE TABLE saved AS SELECT * FROM audit_events WHERE seq = 4");
		exec(f->db, "DELETE FROM audit_events WHERE seq = 4");
		assert_int_equal(anchor_compare_events(f->db, path, &a, &bad, why, sizeof why), 1);
		assert_int_equal(bad, 4);
		assert_string_equal(why, "event 4, listed in the export, is missing from the trail");
		exec(f->db, "INSERT INTO audit_events SELECT * FROM saved; DROP TABLE saved");
		assert_int_equal(anchor_compare_events(f->db, path, &a, &bad, why, sizeof why), 0);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_row_hash_is_the_canonical_form),
		T(test_run_events_carry_the_row_hash),
		T(test_verify_runs_intact_and_tampered),
		T(test_verify_runs_inserted_row),
		T(test_verify_runs_truncated_trail),
		T(test_verify_runs_covers_from_the_first_hashed_start),
		T(test_check_head),
		cmocka_unit_test(test_parse_head_arg),
		T(test_sign_and_verify),
		T(test_head_line_round_trip),
		T(test_compare_events_with_an_export),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
