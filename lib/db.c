/*
 * db.c - opening the tenant database and applying migrations.
 */
#include "db.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 10000

static int query_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int db_schema_version(sqlite3 *db)
{
	int v = -1;
	query_int(db, "PRAGMA user_version", &v);
	return v;
}

int db_schema_latest(void)
{
	return db_migration_count ? db_migrations[db_migration_count - 1].version : 0;
}

/* 1 when table has column: pragma_table_info, read with bound names. */
int db_has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	int found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* The last database error: its statement and SQLite's message, kept at the
 * point of failure (a later rollback resets sqlite3_errmsg to "not an error"). */
static char last_error[1024];
static int last_code;

/* Create the directory holding path when missing (one level), mode 0700. */
static int ensure_parent_dir(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char *dir = xstrndup(path, (size_t)(slash - path));
	struct stat sb;
	int r = 0;
	if (stat(dir, &sb) != 0) {
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot create the state directory: %s", dir, strerror(errno));
			r = -1;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		r = -1;
	}
	free(dir);
	return r;
}

static int apply_migrations(sqlite3 *db, const char *path, int *busy, char *err, size_t errlen)
{
	int appid = 0, version = 0, tables = 0;
	if (query_int(db, "PRAGMA application_id", &appid) || query_int(db, "PRAGMA user_version", &version) ||
	    query_int(db, "SELECT count(*) FROM sqlite_schema", &tables)) {
		int code = sqlite3_errcode(db);
		*busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
		snprintf(err, errlen, "%s: cannot read the database: %s", path, sqlite3_errmsg(db));
		return -1;
	}
	if (appid != 0 && appid != REFSYNC_APPLICATION_ID) {
		snprintf(err, errlen, "%s: not a refsync database (application_id 0x%08x)", path, (unsigned)appid);
		return -1;
	}
	if (appid == 0 && tables > 0) {
		snprintf(err, errlen, "%s: not a refsync database (it has tables but no refsync application_id)", path);
		return -1;
	}
	if (version > db_schema_latest()) {
		snprintf(err, errlen,
			 "%s: schema version %d is newer than this refsync knows (%d); upgrade refsync",
			 path, version, db_schema_latest());
		return -1;
	}
	for (int i = 0; i < db_migration_count; i++) {
		const struct migration *m = &db_migrations[i];
		if (m->version <= version)
			continue;
		int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			*busy = rc == SQLITE_BUSY;
			snprintf(err, errlen, "%s: cannot start migration %d: %s", path, m->version, sqlite3_errmsg(db));
			return -1;
		}
		/* Re-check inside the lock: another process may have migrated. */
		int now_version = 0;
		query_int(db, "PRAGMA user_version", &now_version);
		if (now_version >= m->version) {
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
			continue;
		}
		char *msg = NULL;
		char pragma[96];
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d; PRAGMA application_id = %d;",
			 m->version, REFSYNC_APPLICATION_ID);
		if (sqlite3_exec(db, m->sql, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "%s: migration %d (%s) failed: %s", path, m->version, m->name,
				 msg ? msg : sqlite3_errmsg(db));
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "%s: migration %d commit failed: %s", path, m->version,
				 msg ? msg : sqlite3_errmsg(db));
			sqlite3_free(msg);
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		log_info("database %s migrated to schema version %d (%s)", path, m->version, m->name);
	}
	return 0;
}

int db_open(const char *path, enum db_open_mode mode, sqlite3 **out, int *busy, char *err, size_t errlen)
{
	int dummy_busy = 0;
	if (!busy)
		busy = &dummy_busy;
	*busy = 0;
	*out = NULL;
	last_code = 0;
	if (mode == DB_READWRITE && ensure_parent_dir(path, err, errlen)) {
		last_code = SQLITE_CANTOPEN;
		return -1;
	}
	if (mode == DB_READONLY && access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: cannot open the database: %s", path, strerror(errno));
		return -1;
	}
	sqlite3 *db = NULL;
	int flags = mode == DB_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		last_code = rc & 0xff;
		snprintf(err, errlen, "%s: cannot open the database: %s", path,
			 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(db, 0);
	if (mode == DB_READWRITE) {
		char *msg = NULL;
		rc = sqlite3_exec(db,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
				  /* 8 MiB of page cache and fewer checkpoints: a backfill writes
				   * hundreds of pages per commit */
				  "PRAGMA cache_size=-8192; PRAGMA wal_autocheckpoint=4000; "
				  /* a page's savepoint journal stays in memory (a batch of
				   * pages; a few hundred KiB) instead of a temporary file */
				  "PRAGMA temp_store=MEMORY;",
				  NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			last_code = rc & 0xff;
			*busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
			snprintf(err, errlen, "%s: cannot set up the database: %s", path,
				 msg ? msg : sqlite3_errmsg(db));
			sqlite3_free(msg);
			sqlite3_close(db);
			return -1;
		}
		if (apply_migrations(db, path, busy, err, errlen)) {
			last_code = sqlite3_errcode(db) & 0xff;
			sqlite3_close(db);
			return -1;
		}
	} else {
		int appid = 0, version = 0;
		if (query_int(db, "PRAGMA application_id", &appid) || query_int(db, "PRAGMA user_version", &version)) {
			snprintf(err, errlen, "%s: cannot read the database: %s", path, sqlite3_errmsg(db));
			sqlite3_close(db);
			return -1;
		}
		if (appid != REFSYNC_APPLICATION_ID) {
			snprintf(err, errlen, "%s: not a refsync database", path);
			sqlite3_close(db);
			return -1;
		}
		if (version > db_schema_latest()) {
			snprintf(err, errlen, "%s: schema version %d is newer than this program knows (%d)", path,
				 version, db_schema_latest());
			sqlite3_close(db);
			return -1;
		}
		sqlite3_exec(db, "PRAGMA query_only=ON", NULL, NULL, NULL);
	}
	*out = db;
	return 0;
}

void db_close(sqlite3 *db)
{
	if (db)
		sqlite3_close_v2(db);
}


void db_note_error(sqlite3 *db, const char *sql, int rc, const char *msg)
{
	last_code = rc & 0xff;
	snprintf(last_error, sizeof last_error, "'%.160s': %s", sql ? sql : "?",
		 msg ? msg : sqlite3_errmsg(db));
	log_debug("database: %s", last_error);
}

const char *db_last_error(void)
{
	return last_error[0] ? last_error : "unknown database error";
}

int db_last_busy(void)
{
	return last_code == SQLITE_BUSY || last_code == SQLITE_LOCKED;
}

int db_last_cantwrite(void)
{
	return last_code == SQLITE_READONLY || last_code == SQLITE_CANTOPEN || last_code == SQLITE_PERM ||
	       last_code == SQLITE_AUTH;
}

int db_last_corrupt(void)
{
	return last_code == SQLITE_CORRUPT || last_code == SQLITE_NOTADB;
}

int db_check_integrity(sqlite3 *db, int full, char *err, size_t errlen)
{
	const char *sql = full ? "PRAGMA integrity_check(10)" : "PRAGMA quick_check(10)";
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	int bad = 0;
	char first[512] = "";
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		if (line && strcmp(line, "ok") != 0 && !bad++)
			snprintf(first, sizeof first, "%s", line);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		int code = sqlite3_errcode(db) & 0xff;
		snprintf(first, sizeof first, "%s", sqlite3_errmsg(db));
		bad = code == SQLITE_CORRUPT || code == SQLITE_NOTADB ? 1 : -1;
	}
	sqlite3_finalize(st);
	if (bad > 0)
		snprintf(err, errlen, "the database is corrupt (%s: %s); restore it from a backup (see refsync(1))",
			 sql, first);
	else if (bad < 0)
		snprintf(err, errlen, "database error during %s: %s", sql, first);
	return bad > 0 ? 1 : bad;
}

int db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		db_note_error(db, sql, rc, msg);
		log_err("database: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
	}
	return rc == SQLITE_OK ? 0 : rc;
}

int db_begin(sqlite3 *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int db_commit(sqlite3 *db)
{
	int rc = db_exec(db, "COMMIT");
	if (rc)
		db_rollback(db);
	return rc;
}

void db_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

int db_begin_nested(sqlite3 *db, int *nested)
{
	*nested = !sqlite3_get_autocommit(db);
	return *nested ? db_exec(db, "SAVEPOINT nested") : db_begin(db);
}

int db_commit_nested(sqlite3 *db, int nested)
{
	if (!nested)
		return db_commit(db);
	int rc = db_exec(db, "RELEASE nested");
	if (rc)
		db_rollback_nested(db, 1);
	return rc;
}

void db_rollback_nested(sqlite3 *db, int nested)
{
	if (!nested)
		db_rollback(db);
	else if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK TO nested; RELEASE nested", NULL, NULL, NULL);
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		db_note_error(db, sql, rc, NULL);
		log_err("database: cannot prepare '%.80s': %s", sql, sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

int db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

int db_bind_int64_or_null(sqlite3_stmt *st, int idx, int64_t v, int is_null)
{
	if (is_null)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_int64(st, idx, v);
}

int db_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_note_error(sqlite3_db_handle(st), sqlite3_sql(st), rc, NULL);
		log_err("database: '%.80s': %s", sqlite3_sql(st), sqlite3_errmsg(sqlite3_db_handle(st)));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

char *db_column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? xstrdup((const char *)t) : NULL;
}

char *db_query_text(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = db_prepare(db, sql);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	char *v = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = db_column_strdup(st, 0);
	sqlite3_finalize(st);
	return v;
}

char *db_setting_get(sqlite3 *db, const char *key)
{
	return db_query_text(db, "SELECT value FROM settings WHERE key = ?", key);
}

int db_setting_set(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO settings(key, value) VALUES (?, ?) "
					  "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int rc = db_step_done(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
