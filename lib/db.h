/*
 * db.h - the SQLite database of one tenant: opening (pragmas, application_id
 * check, migrations from schema/), transactions and small helpers.
 *
 * Durability rules (do not break them):
 *  - every write runs inside db_begin()/db_commit() (BEGIN IMMEDIATE);
 *  - no transaction is open while refsync waits for a remote (a backfill
 *    batches the pages already received into one transaction, each page in
 *    its own savepoint, and commits before it waits for more);
 *  - synchronous=FULL: a committed outbox state survives power loss, which is
 *    what makes "sending is committed before the call" mean something.
 */
#ifndef REFSYNC_DB_H
#define REFSYNC_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define REFSYNC_APPLICATION_ID 0x52465343 /* "RFSC" */

enum db_open_mode { DB_READWRITE, DB_READONLY };

/* One migration compiled in from schema/NNN_name.sql (see migrations.c). */
struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration db_migrations[];
extern const int db_migration_count;

/*
 * Open the database at path. DB_READWRITE creates it (and its directory,
 * mode 0700) when missing and applies pending migrations, each in its own
 * transaction. A database of another application or of a newer schema is
 * refused. Returns 0, or -1 with err set; *busy is set to 1 when the failure
 * was the database being locked by another writer.
 */
int db_open(const char *path, enum db_open_mode mode, sqlite3 **out, int *busy,
	    char *err, size_t errlen);

void db_close(sqlite3 *db);

/* The schema version the database is at, and the newest this build knows. */
int db_schema_version(sqlite3 *db);
int db_schema_latest(void);

/* 1 when table has a column named column (a database opened read-only is
 * not migrated, so a reader of a newer column asks first), else 0. */
int db_has_column(sqlite3 *db, const char *table, const char *column);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. 0 or an SQLite error code (logged). */
int db_begin(sqlite3 *db);
/* A transaction, or a savepoint when one is open already (a batch of pages):
 * *nested says which, for db_commit_nested and db_rollback_nested. */
int db_begin_nested(sqlite3 *db, int *nested);
int db_commit_nested(sqlite3 *db, int nested);
void db_rollback_nested(sqlite3 *db, int nested);
int db_commit(sqlite3 *db);
void db_rollback(sqlite3 *db);

/* Execute SQL with no parameters and no rows. 0 or SQLite error (logged). */
int db_exec(sqlite3 *db, const char *sql);

/* Prepare, logging the error with the statement. NULL on failure. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql);

/* Bind text or NULL when s is NULL. */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Bind an int64, or NULL when is_null. */
int db_bind_int64_or_null(sqlite3_stmt *st, int idx, int64_t v, int is_null);

/*
 * Run a statement to completion (binds already done), reset it and clear its
 * bindings. Returns SQLITE_DONE on success, else the error (logged).
 */
int db_step_done(sqlite3_stmt *st);

/* The first column of the first row of sql (one text parameter, arg) as a
 * malloc'd string, or NULL (no row, NULL, or an error, logged). */
char *db_query_text(sqlite3 *db, const char *sql, const char *arg);

/* settings table. get returns a malloc'd string or NULL. set: in a transaction. */
char *db_setting_get(sqlite3 *db, const char *key);
int db_setting_set(sqlite3 *db, const char *key, const char *value);

/*
 * The last database error any helper here met (or db_note_error was told):
 * "'<statement>': <SQLite's message>", kept at the point of failure, so that
 * a rollback after it does not replace it with "not an error". Static
 * storage; never NULL.
 */
const char *db_last_error(void);
/* Whether that error was corruption (SQLITE_CORRUPT or SQLITE_NOTADB). */
int db_last_corrupt(void);
/* Whether that error (or db_open's last failure) was the database or its
 * directory not being writable or openable by this user (SQLITE_READONLY,
 * CANTOPEN, PERM, AUTH): the environment's fault, not the data's. */
int db_last_cantwrite(void);
/* Whether that error was another writer holding the database (SQLITE_BUSY/LOCKED). */
int db_last_busy(void);
/* Record a failure of sql (rc; msg, or sqlite3_errmsg(db) when NULL). */
void db_note_error(sqlite3 *db, const char *sql, int rc, const char *msg);

/*
 * PRAGMA quick_check (full = 0) or integrity_check (full = 1). Returns 0
 * when the database is sound, 1 when it is corrupt, -1 when the check could
 * not run; err says what (naming the pragma) for 1 and -1.
 */
int db_check_integrity(sqlite3 *db, int full, char *err, size_t errlen);

/* A column as a malloc'd string, or NULL when the column is NULL. */
char *db_column_strdup(sqlite3_stmt *st, int col);

#endif
