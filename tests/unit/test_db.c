/*
 * test_db.c - lib/db.c (creating and opening a tenant database: pragmas,
 * application_id, user_version migrations, refusing foreign or newer
 * databases) and lib/audit.c (the hash chain as the header defines it,
 * verification finding edits, deletions and broken links, email redaction).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "audit.h"
#include "db.h"
#include "log.h"
#include "util.h"

#define NOW 1795884599000LL /* 2026-11-28T16:49:59Z */
#define NOW_TEXT "1795884599000"

struct fixture {
	char dir[64];
	char path[128];   /* <dir>/state/refsync.db: the parent does not exist yet */
	sqlite3 *db;
};

/* ---- helpers -------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/refsync-db-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/state/refsync.db", f->dir);
	setenv("REFSYNC_TEST_NOW", NOW_TEXT, 1);
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

/* Open f->path read-write into f->db; fail the test with err otherwise. */
static void open_rw(struct fixture *f)
{
	char err[512] = "";
	int busy = -1;
	if (db_open(f->path, DB_READWRITE, &f->db, &busy, err, sizeof err) != 0)
		fail_msg("db_open: %s", err);
	assert_non_null(f->db);
	assert_int_equal(busy, 0);
}

static void reopen_rw(struct fixture *f)
{
	db_close(f->db);
	f->db = NULL;
	open_rw(f);
}

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as text, into out. */
static void query_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *t = sqlite3_column_text(st, 0);
	snprintf(out, outlen, "%s", t ? (const char *)t : "(null)");
	sqlite3_finalize(st);
}

/* A plain SQLite database made without refsync, with sql run in it. */
static void make_foreign_db(const char *path, const char *sql)
{
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(raw), SQLITE_OK);
}

/* Run sql on path behind refsync's back (the tampering an attacker does). */
static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(raw, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		char copy[256];
		snprintf(copy, sizeof copy, "%s", msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(raw);
		fail_msg("%s: %s", sql, copy);
	}
	assert_int_equal(sqlite3_close(raw), SQLITE_OK);
}

static void expect_open_error(const char *path, enum db_open_mode mode, const char *want)
{
	char err[512] = "";
	sqlite3 *db = (sqlite3 *)&err; /* must be reset to NULL */
	int busy = -1;
	int r = db_open(path, mode, &db, &busy, err, sizeof err);
	if (r == 0)
		db_close(db);
	assert_int_equal(r, -1);
	assert_null(db);
	assert_int_equal(busy, 0);
	assert_string_equal(err, want);
}

/* ---- db_open ------------------------------------------------------------- */

static void test_open_creates(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	char dir[128];
	snprintf(dir, sizeof dir, "%s/state", f->dir);
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);

	assert_int_equal(pragma_int(f->db, "PRAGMA application_id"), 0x52465343);
	assert_int_equal(REFSYNC_APPLICATION_ID, 0x52465343);
	assert_true(db_migration_count >= 1);
	assert_int_equal(db_migrations[0].version, 1);
	assert_string_equal(db_migrations[0].name, "initial");
	assert_int_equal(db_schema_latest(), db_migrations[db_migration_count - 1].version);
	assert_int_equal(pragma_int(f->db, "PRAGMA user_version"), db_schema_latest());
	assert_int_equal(db_schema_version(f->db), db_schema_latest());

	char mode[32];
	query_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
	assert_string_equal(mode, "wal");
	assert_int_equal(pragma_int(f->db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(pragma_int(f->db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(pragma_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
					   "('settings', 'cursors', 'audit_events', 'runs')"), 4);
}

static void test_reopen_is_idempotent(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	int64_t objects = pragma_int(f->db, "SELECT count(*) FROM sqlite_schema");
	assert_true(objects > 0);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(db_setting_set(f->db, "live_since", "1795884599000"), 0);
	assert_int_equal(db_commit(f->db), 0);
	for (int i = 0; i < 2; i++) {
		reopen_rw(f);
		assert_int_equal(db_schema_version(f->db), db_schema_latest());
		assert_int_equal(pragma_int(f->db, "PRAGMA application_id"), REFSYNC_APPLICATION_ID);
		assert_int_equal(pragma_int(f->db, "SELECT count(*) FROM sqlite_schema"), objects);
		char *v = db_setting_get(f->db, "live_since");
		assert_non_null(v);
		assert_string_equal(v, "1795884599000");
		free(v);
	}
}

static void test_settings(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	assert_null(db_setting_get(f->db, "absent"));
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(db_setting_set(f->db, "k", "one"), 0);
	assert_int_equal(db_setting_set(f->db, "k", "two"), 0);
	assert_int_equal(db_commit(f->db), 0);
	char *v = db_setting_get(f->db, "k");
	assert_string_equal(v, "two");
	free(v);
	assert_int_equal(pragma_int(f->db, "SELECT count(*) FROM settings"), 1);
	/* a rolled back write leaves nothing */
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(db_setting_set(f->db, "k", "three"), 0);
	db_rollback(f->db);
	v = db_setting_get(f->db, "k");
	assert_string_equal(v, "two");
	free(v);
}

/* A backfill's batch: each page in a savepoint of one transaction. A page
 * rolled back leaves the pages before it; the batch commits them together. */
static void test_nested_pages_in_one_batch(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	int nested = -1;
	/* alone, a nested begin is a transaction of its own */
	assert_int_equal(db_begin_nested(f->db, &nested), 0);
	assert_int_equal(nested, 0);
	assert_int_equal(db_setting_set(f->db, "alone", "1"), 0);
	assert_int_equal(db_commit_nested(f->db, nested), 0);
	assert_int_equal(sqlite3_get_autocommit(f->db), 1);

	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(db_begin_nested(f->db, &nested), 0);
	assert_int_equal(nested, 1);
	assert_int_equal(db_setting_set(f->db, "page1", "1"), 0);
	assert_int_equal(db_commit_nested(f->db, nested), 0);
	assert_int_equal(db_begin_nested(f->db, &nested), 0);
	assert_int_equal(db_setting_set(f->db, "page2", "1"), 0);
	db_rollback_nested(f->db, nested);
	/* the batch is still open, with page 1 in it */
	assert_int_equal(sqlite3_get_autocommit(f->db), 0);
	assert_int_equal(db_begin_nested(f->db, &nested), 0);
	assert_int_equal(db_setting_set(f->db, "page3", "1"), 0);
	assert_int_equal(db_commit_nested(f->db, nested), 0);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(pragma_int(f->db, "SELECT count(*) FROM settings WHERE key IN ('alone', 'page1', 'page3')"),
			 3);
	assert_int_equal(pragma_int(f->db, "SELECT count(*) FROM settings WHERE key = 'page2'"), 0);
}

static void test_refuses_other_application(void **state)
{
	struct fixture *f = *state;
	char path[160], want[512];
	snprintf(path, sizeof path, "%s/other.db", f->dir);
	make_foreign_db(path, "PRAGMA application_id = 42; CREATE TABLE t(x);");
	snprintf(want, sizeof want, "%s: not a refsync database (application_id 0x0000002a)", path);
	expect_open_error(path, DB_READWRITE, want);
	snprintf(want, sizeof want, "%s: not a refsync database", path);
	expect_open_error(path, DB_READONLY, want);
	/* the foreign database was left alone */
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(pragma_int(raw, "PRAGMA user_version"), 0);
	assert_int_equal(pragma_int(raw, "SELECT count(*) FROM sqlite_schema"), 1);
	sqlite3_close(raw);
}

static void test_refuses_tables_without_application_id(void **state)
{
	struct fixture *f = *state;
	char path[160], want[512];
	snprintf(path, sizeof path, "%s/plain.db", f->dir);
	make_foreign_db(path, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);");
	snprintf(want, sizeof want, "%s: not a refsync database (it has tables but no refsync application_id)", path);
	expect_open_error(path, DB_READWRITE, want);
	sqlite3 *raw = NULL;
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(pragma_int(raw, "PRAGMA application_id"), 0);
	assert_int_equal(pragma_int(raw, "PRAGMA user_version"), 0);
	assert_int_equal(pragma_int(raw, "SELECT count(*) FROM sqlite_schema"), 1);
	sqlite3_close(raw);
}

static void test_empty_file_is_migrated(void **state)
{
	struct fixture *f = *state;
	/* a zero-byte file (as `touch` leaves it) is a new database */
	char dir[128];
	snprintf(dir, sizeof dir, "%s/state", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	int fd = open(f->path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	open_rw(f);
	assert_int_equal(db_schema_version(f->db), db_schema_latest());
	assert_int_equal(pragma_int(f->db, "PRAGMA application_id"), REFSYNC_APPLICATION_ID);
}

static void test_refuses_newer_schema(void **state)
{
	struct fixture *f = *state;
	char want[512], sql[64];
	open_rw(f);
	db_close(f->db);
	f->db = NULL;
	int newer = db_schema_latest() + 1;
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", newer);
	raw_exec(f->path, sql);
	snprintf(want, sizeof want, "%s: schema version %d is newer than this refsync knows (%d); upgrade refsync",
		 f->path, newer, db_schema_latest());
	expect_open_error(f->path, DB_READWRITE, want);
	snprintf(want, sizeof want, "%s: schema version %d is newer than this program knows (%d)", f->path, newer,
		 db_schema_latest());
	expect_open_error(f->path, DB_READONLY, want);
}

static void test_readonly(void **state)
{
	struct fixture *f = *state;
	char err[512] = "", want[512];
	snprintf(want, sizeof want, "%s: cannot open the database: No such file or directory", f->path);
	expect_open_error(f->path, DB_READONLY, want);
	/* read-only never creates */
	struct stat sb;
	assert_int_equal(stat(f->path, &sb), -1);

	open_rw(f);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(db_setting_set(f->db, "k", "v"), 0);
	assert_int_equal(db_commit(f->db), 0);
	db_close(f->db);
	f->db = NULL;
	assert_int_equal(db_open(f->path, DB_READONLY, &f->db, NULL, err, sizeof err), 0);
	char *v = db_setting_get(f->db, "k");
	assert_string_equal(v, "v");
	free(v);
	assert_int_not_equal(sqlite3_exec(f->db, "INSERT INTO settings VALUES ('x', 'y')", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_equal(pragma_int(f->db, "SELECT count(*) FROM settings"), 1);
}

static void test_parent_not_a_directory(void **state)
{
	struct fixture *f = *state;
	char file[128], path[160], want[512];
	snprintf(file, sizeof file, "%s/state", f->dir);
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof path, "%s/refsync.db", file);
	snprintf(want, sizeof want, "%s: not a directory", file);
	expect_open_error(path, DB_READWRITE, want);
}

static void test_not_a_database(void **state)
{
	struct fixture *f = *state;
	char path[160], want[512];
	snprintf(path, sizeof path, "%s/garbage.db", f->dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	char junk[4096];
	memset(junk, 'G', sizeof junk);
	assert_int_equal(write_all(fd, junk, sizeof junk), 0);
	close(fd);
	snprintf(want, sizeof want, "%s: cannot set up the database: file is not a database", path);
	expect_open_error(path, DB_READWRITE, want);
}

/* ---- audit: the chain as audit.h defines it ------------------------------ */

/* hex(SHA-256(prev || canonical)), computed here from the header's words. */
static void reference_hash(const char *prev, int64_t seq, int64_t at, const char *run_id, const char *kind,
			   const char *subject, const char *detail, char out[AUDIT_HASH_HEX])
{
	char canon[4096];
	snprintf(canon, sizeof canon, "%srefsync-audit-v1|%lld|%lld|%s|%zu:%s|%zu:%s|%zu:%s", prev, (long long)seq,
		 (long long)at, run_id, strlen(kind), kind, strlen(subject), subject, strlen(detail), detail);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(canon, strlen(canon), md, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

struct event_row {
	int64_t seq, at, run_id;
	int run_id_null;
	char kind[64], subject[128], detail[512], prev_hash[AUDIT_HASH_HEX], hash[AUDIT_HASH_HEX];
};

static void read_event(sqlite3 *db, int64_t seq, struct event_row *e)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq, at, run_id, kind, subject, detail, prev_hash, hash "
						"FROM audit_events WHERE seq = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	e->seq = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 1);
	e->run_id_null = sqlite3_column_type(st, 2) == SQLITE_NULL;
	e->run_id = sqlite3_column_int64(st, 2);
	snprintf(e->kind, sizeof e->kind, "%s", (const char *)sqlite3_column_text(st, 3));
	snprintf(e->subject, sizeof e->subject, "%s", (const char *)sqlite3_column_text(st, 4));
	snprintf(e->detail, sizeof e->detail, "%s", (const char *)sqlite3_column_text(st, 5));
	snprintf(e->prev_hash, sizeof e->prev_hash, "%s", (const char *)sqlite3_column_text(st, 6));
	snprintf(e->hash, sizeof e->hash, "%s", (const char *)sqlite3_column_text(st, 7));
	sqlite3_finalize(st);
}

/* Four events: run 7 twice, one with no run, one at a later time. */
static void append_four(struct fixture *f)
{
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(audit_append(f->db, 7, "trigger.sent", "opportunity:opp-1", "request req-1 created"), 0);
	assert_int_equal(audit_append(f->db, 7, "request.completed", "request:req-1", "status completed"), 0);
	assert_int_equal(audit_append(f->db, 0, "config.changed", "tenant", NULL), 0);
	setenv("REFSYNC_TEST_NOW", "1795884600500", 1);
	assert_int_equal(audit_appendf(f->db, 8, "hire.learnt", "opportunity:opp-1", "archived as %s after %d days",
				       "Hired", 3), 0);
	setenv("REFSYNC_TEST_NOW", NOW_TEXT, 1);
	assert_int_equal(db_commit(f->db), 0);
}

static void test_audit_chain(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	int64_t seq = -1;
	char head[AUDIT_HASH_HEX] = "junk";
	assert_int_equal(audit_head(f->db, &seq, head), 0);
	assert_int_equal(seq, 0);
	assert_string_equal(head, "");

	append_four(f);
	static const struct {
		int64_t at;
		const char *run_id, *kind, *subject, *detail;
	} want[] = {
		{ NOW, "7", "trigger.sent", "opportunity:opp-1", "request req-1 created" },
		{ NOW, "7", "request.completed", "request:req-1", "status completed" },
		{ NOW, "", "config.changed", "tenant", "" },
		{ 1795884600500LL, "8", "hire.learnt", "opportunity:opp-1", "archived as Hired after 3 days" },
	};
	char prev[AUDIT_HASH_HEX] = "";
	for (int i = 0; i < 4; i++) {
		struct event_row e;
		char expect[AUDIT_HASH_HEX], computed[AUDIT_HASH_HEX];
		read_event(f->db, i + 1, &e);
		assert_int_equal(e.at, want[i].at);
		assert_int_equal(e.run_id_null, want[i].run_id[0] == '\0');
		if (!e.run_id_null)
			assert_int_equal(e.run_id, strtoll(want[i].run_id, NULL, 10));
		assert_string_equal(e.kind, want[i].kind);
		assert_string_equal(e.subject, want[i].subject);
		assert_string_equal(e.detail, want[i].detail);
		assert_string_equal(e.prev_hash, prev);
		reference_hash(prev, i + 1, want[i].at, want[i].run_id, want[i].kind, want[i].subject, want[i].detail,
			       expect);
		assert_string_equal(e.hash, expect);
		audit_compute_hash(prev, i + 1, want[i].at, e.run_id, e.run_id_null, want[i].kind, want[i].subject,
				   want[i].detail, computed);
		assert_string_equal(computed, expect);
		snprintf(prev, sizeof prev, "%s", e.hash);
	}
	assert_int_equal(audit_head(f->db, &seq, head), 0);
	assert_int_equal(seq, 4);
	assert_string_equal(head, prev);
}

static void test_audit_length_prefixes(void **state)
{
	(void)state;
	/* moving a "|" between fields changes the hash */
	char a[AUDIT_HASH_HEX], b[AUDIT_HASH_HEX], c[AUDIT_HASH_HEX];
	audit_compute_hash("", 1, NOW, 0, 1, "a|b", "c", "d", a);
	audit_compute_hash("", 1, NOW, 0, 1, "a", "b|c", "d", b);
	assert_string_not_equal(a, b);
	/* run_id 0 and no run_id differ */
	audit_compute_hash("", 1, NOW, 0, 0, "k", "s", "d", a);
	audit_compute_hash("", 1, NOW, 0, 1, "k", "s", "d", b);
	assert_string_not_equal(a, b);
	reference_hash("", 1, NOW, "0", "k", "s", "d", c);
	assert_string_equal(a, c);
	reference_hash("", 1, NOW, "", "k", "s", "d", c);
	assert_string_equal(b, c);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
}

static void test_audit_redacts_detail(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(audit_append(f->db, 1, "answer.received", "request:req-9",
				      "owner mary.ann+hr@example.com said hired, cc bob@corp.example.org"), 0);
	assert_int_equal(db_commit(f->db), 0);
	struct event_row e;
	read_event(f->db, 1, &e);
	assert_string_equal(e.detail, "owner <email> said hired, cc <email>");
	char expect[AUDIT_HASH_HEX];
	reference_hash("", 1, NOW, "1", "answer.received", "request:req-9", "owner <email> said hired, cc <email>",
		       expect);
	assert_string_equal(e.hash, expect);
	int64_t checked = -1, bad = -1;
	char why[256] = "";
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 0);
	assert_int_equal(checked, 1);
}

static void test_audit_verify_intact(void **state)
{
	struct fixture *f = *state;
	open_rw(f);
	int64_t checked = -1, bad = -1;
	char why[256] = "";
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 0);
	assert_int_equal(checked, 0);
	append_four(f);
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 0);
	assert_int_equal(checked, 4);
	/* still intact after a reopen and more appends */
	reopen_rw(f);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(audit_append(f->db, 9, "run.end", "run:9", "ok"), 0);
	assert_int_equal(db_commit(f->db), 0);
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 0);
	assert_int_equal(checked, 5);
}

/* Tamper with the trail behind refsync's back, then verify. */
static void expect_broken(struct fixture *f, const char *tamper, int64_t want_bad, const char *want_why)
{
	open_rw(f);
	append_four(f);
	db_close(f->db);
	f->db = NULL;
	raw_exec(f->path, tamper);
	open_rw(f);
	int64_t checked = -1, bad = -1;
	char why[256] = "";
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 1);
	assert_int_equal(bad, want_bad);
	assert_string_equal(why, want_why);
}

static void test_audit_detects_detail_update(void **state)
{
	expect_broken(*state, "UPDATE audit_events SET detail = 'status cancelled' WHERE seq = 2", 2,
		      "event 2: content does not match its hash (edited)");
}

static void test_audit_detects_other_field_updates(void **state)
{
	struct fixture *f = *state;
	expect_broken(f, "UPDATE audit_events SET at = at + 1 WHERE seq = 3", 3,
		      "event 3: content does not match its hash (edited)");
	db_close(f->db);
	f->db = NULL;
	unlink(f->path);
	expect_broken(f, "UPDATE audit_events SET run_id = 7 WHERE seq = 3", 3,
		      "event 3: content does not match its hash (edited)");
	db_close(f->db);
	f->db = NULL;
	unlink(f->path);
	expect_broken(f, "UPDATE audit_events SET subject = 'opportunity:opp-2' WHERE seq = 4", 4,
		      "event 4: content does not match its hash (edited)");
}

static void test_audit_detects_deleted_middle(void **state)
{
	expect_broken(*state, "DELETE FROM audit_events WHERE seq = 2", 3,
		      "event 3 follows event 1: events are missing");
}

static void test_audit_detects_deleted_first(void **state)
{
	expect_broken(*state, "DELETE FROM audit_events WHERE seq = 1", 2,
		      "event 2 follows event 0: events are missing");
}

static void test_audit_detects_edited_hash(void **state)
{
	expect_broken(*state,
		      "UPDATE audit_events SET hash = "
		      "'0000000000000000000000000000000000000000000000000000000000000000' WHERE seq = 2",
		      2, "event 2: content does not match its hash (edited)");
}

static void test_audit_detects_broken_link(void **state)
{
	/* seq 3's own hash is right for what it claims, but the link is wrong:
	 * rewriting prev_hash is caught before the content */
	expect_broken(*state, "UPDATE audit_events SET prev_hash = 'ff' WHERE seq = 3", 3,
		      "event 3: prev_hash does not match the hash of event 2");
}

static void test_audit_detects_resealed_edit(void **state)
{
	struct fixture *f = *state;
	/* an editor who changes event 2 and recomputes its hash breaks event 3's link */
	open_rw(f);
	append_four(f);
	struct event_row e1, e2;
	read_event(f->db, 1, &e1);
	read_event(f->db, 2, &e2);
	char resealed[AUDIT_HASH_HEX], sql[512];
	reference_hash(e1.hash, 2, e2.at, "7", e2.kind, e2.subject, "status cancelled", resealed);
	db_close(f->db);
	f->db = NULL;
	snprintf(sql, sizeof sql, "UPDATE audit_events SET detail = 'status cancelled', hash = '%s' WHERE seq = 2",
		 resealed);
	raw_exec(f->path, sql);
	open_rw(f);
	int64_t checked = -1, bad = -1;
	char why[256] = "";
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 1);
	assert_int_equal(bad, 3);
	assert_string_equal(why, "event 3: prev_hash does not match the hash of event 2");
}

/* ---- audit_redact_emails ------------------------------------------------- */

static void expect_redacted(const char *in, const char *want)
{
	char s[256];
	snprintf(s, sizeof s, "%s", in);
	audit_redact_emails(s);
	if (strcmp(s, want) != 0)
		fail_msg("audit_redact_emails(\"%s\") = \"%s\", want \"%s\"", in, s, want);
}

static void test_redact_emails(void **state)
{
	(void)state;
	expect_redacted("mary@example.com", "<email>");
	expect_redacted("to mary@example.com now", "to <email> now");
	expect_redacted("a: first.last+tag@mail.example.org, b: bob@x.io;", "a: <email>, b: <email>;");
	expect_redacted("Mary <mary@example.com>", "Mary <<email>>");
	expect_redacted("(\"mary@example.com\")", "(\"<email>\")");
	expect_redacted("x\tmary@example.com\n", "x\t<email>\n");
	/* shorter than the marker: blanked instead */
	expect_redacted("a@b.co", "******");
	expect_redacted("1 a@b.c 2", "1 ***** 2");
	/* not email-like: left alone */
	expect_redacted("user@localhost", "user@localhost");
	expect_redacted("@example.com", "@example.com");
	expect_redacted("mary@", "mary@");
	expect_redacted("x @ y.z", "x @ y.z");
	expect_redacted("score 3@4", "score 3@4");
	expect_redacted("first.last@host", "first.last@host");
	expect_redacted("", "");
	expect_redacted("no at sign.", "no at sign.");
	/* two in a row */
	expect_redacted("ann@example.com bob@example.com", "<email> <email>");
}

int main(void)
{
	log_init("test_db", LOG_ERR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_open_creates),
		T(test_reopen_is_idempotent),
		T(test_settings),
		T(test_nested_pages_in_one_batch),
		T(test_refuses_other_application),
		T(test_refuses_tables_without_application_id),
		T(test_empty_file_is_migrated),
		T(test_refuses_newer_schema),
		T(test_readonly),
		T(test_parent_not_a_directory),
		T(test_not_a_database),
		T(test_audit_chain),
		cmocka_unit_test(test_audit_length_prefixes),
		T(test_audit_redacts_detail),
		T(test_audit_verify_intact),
		T(test_audit_detects_detail_update),
		T(test_audit_detects_other_field_updates),
		T(test_audit_detects_deleted_middle),
		T(test_audit_detects_deleted_first),
		T(test_audit_detects_edited_hash),
		T(test_audit_detects_broken_link),
		T(test_audit_detects_resealed_edit),
		cmocka_unit_test(test_redact_emails),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
