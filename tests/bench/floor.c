/*
 * floor.c - the floors that make bench compares refsync with, measured on the
 * same machine in the same run (tests/bench/README.md).
 *
 *   floor pages DIR DB
 *       The least local work a backfill can do with the pages it receives.
 *       DIR holds the Lever listing pages that refsync fetched (one JSON
 *       page per file, in name order; tests/bench/bench.py saves them).
 *       For each page, one at a time:
 *         (a) stream it through yajl's callback API, doing nothing but
 *             counting values (timed);
 *         then pick out a few top-level fields of each opportunity (not
 *             timed: a floor has to get its rows from somewhere);
 *         (b) upsert one row per opportunity into a bare SQLite table, one
 *             transaction per page, journal_mode=WAL and synchronous=FULL
 *             as refsync opens its database (timed).
 *       floor CPU = (a) + (b).
 *
 *   floor decide DB STAGE_ID SINCE_MS
 *       The reads that deciding cannot avoid, on a refsync database: the
 *       trigger stage's entries at or after SINCE_MS that are not queued
 *       yet, then for each one the candidate (with posting and users) and
 *       the templates its posting's tags match (the queries of
 *       sync/decide_sql.h, as decide.c runs them, read only, nothing written).
 *
 *   floor run OUT -- PROGRAM ARGS...
 *       Run PROGRAM and write its own rusage (wait4) to OUT as JSON; exits
 *       with its exit status. bench.py measures every process through this:
 *       Linux counts in a child's ru_maxrss the resident size of the process
 *       it was forked from, and the Python driver is large (it holds the
 *       tenant), so PROGRAM is forked from this small process instead.
 *
 * pages and decide print one JSON object on stdout; CPU is
 * CLOCK_PROCESS_CPUTIME_ID (user + system) and peak_rss_kib is getrusage's
 * ru_maxrss.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../../sync/decide_sql.h"
#include <yajl/yajl_parse.h>

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu(long *maxrss_kib)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*maxrss_kib = ru.ru_maxrss;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "floor: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		die("out of memory", NULL);
	return q;
}

/* ---- (a) counting ------------------------------------------------------- */

static int count_null(void *c)
{
	++*(uint64_t *)c;
	return 1;
}

static int count_bool(void *c, int v)
{
	(void)v;
	++*(uint64_t *)c;
	return 1;
}

static int count_number(void *c, const char *s, size_t n)
{
	(void)s;
	(void)n;
	++*(uint64_t *)c;
	return 1;
}

static int count_string(void *c, const unsigned char *s, size_t n)
{
	(void)s;
	(void)n;
	++*(uint64_t *)c;
	return 1;
}

static int count_key(void *c, const unsigned char *s, size_t n)
{
	(void)s;
	(void)n;
	++*(uint64_t *)c;
	return 1;
}

static int count_container(void *c)
{
	++*(uint64_t *)c;
	return 1;
}

static int count_end(void *c)
{
	(void)c;
	return 1;
}

static const yajl_callbacks count_callbacks = {
	.yajl_null = count_null,
	.yajl_boolean = count_bool,
	.yajl_number = count_number, /* raw text: no conversion, as refsync's parser */
	.yajl_string = count_string,
	.yajl_start_map = count_container,
	.yajl_map_key = count_key,
	.yajl_end_map = count_end,
	.yajl_start_array = count_container,
	.yajl_end_array = count_end,
};

/* ---- picking the rows out (not timed) ------------------------------------ */

enum column { C_ID, C_NAME, C_HEADLINE, C_CONFIDENTIALITY, C_CREATED, C_UPDATED, C_COUNT };
static const char *const column_keys[C_COUNT] = { "id", "name", "headline", "confidentiality", "createdAt",
						   "updatedAt" };

struct row {
	char *text[C_COUNT]; /* NULL when absent or null */
};

struct picker {
	int depth;          /* open containers */
	int in_data;        /* inside the top-level "data" array */
	int top_key_data;   /* the last top-level key was "data" */
	int column;         /* the record key being read, -1 for others */
	struct row *rows;
	size_t n, cap;
};

static void pick_value(struct picker *p, const char *s, size_t n, int is_null)
{
	/* a record is an object at depth 3: {"data": [ {...} ]} */
	if (p->in_data && p->depth == 3 && p->column >= 0 && p->n > 0 && !is_null) {
		struct row *r = &p->rows[p->n - 1];
		free(r->text[p->column]);
		r->text[p->column] = xrealloc(NULL, n + 1);
		memcpy(r->text[p->column], s, n);
		r->text[p->column][n] = '\0';
	}
	if (p->depth == 3)
		p->column = -1;
}

static int pick_null(void *c)
{
	pick_value(c, "", 0, 1);
	return 1;
}

static int pick_bool(void *c, int v)
{
	pick_value(c, v ? "1" : "0", 1, 0);
	return 1;
}

static int pick_number(void *c, const char *s, size_t n)
{
	pick_value(c, s, n, 0);
	return 1;
}

static int pick_string(void *c, const unsigned char *s, size_t n)
{
	pick_value(c, (const char *)s, n, 0);
	return 1;
}

static int pick_key(void *c, const unsigned char *s, size_t n)
{
	struct picker *p = c;
	if (p->depth == 1)
		p->top_key_data = n == 4 && memcmp(s, "data", 4) == 0;
	if (p->depth == 3) {
		p->column = -1;
		for (int i = 0; i < C_COUNT; i++) {
			if (strlen(column_keys[i]) == n && memcmp(column_keys[i], s, n) == 0)
				p->column = i;
		}
	}
	return 1;
}

static int pick_start_map(void *c)
{
	struct picker *p = c;
	if (p->in_data && p->depth == 2) {
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 128;
			p->rows = xrealloc(p->rows, p->cap * sizeof *p->rows);
		}
		memset(&p->rows[p->n++], 0, sizeof *p->rows);
	}
	p->depth++;
	return 1;
}

static int pick_start_array(void *c)
{
	struct picker *p = c;
	if (p->depth == 1 && p->top_key_data)
		p->in_data = 1;
	p->depth++;
	return 1;
}

static int pick_end(void *c)
{
	struct picker *p = c;
	p->depth--;
	if (p->depth == 3)
		p->column = -1; /* a container value of a record key ended */
	if (p->depth == 1)
		p->in_data = 0;
	return 1;
}

static const yajl_callbacks pick_callbacks = {
	.yajl_null = pick_null,
	.yajl_boolean = pick_bool,
	.yajl_number = pick_number,
	.yajl_string = pick_string,
	.yajl_start_map = pick_start_map,
	.yajl_map_key = pick_key,
	.yajl_end_map = pick_end,
	.yajl_start_array = pick_start_array,
	.yajl_end_array = pick_end,
};

static int parse_with(const yajl_callbacks *cb, void *ctx, const unsigned char *data, size_t len)
{
	yajl_handle h = yajl_alloc(cb, NULL, ctx);
	if (!h)
		die("out of memory", NULL);
	yajl_status st = yajl_parse(h, data, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	yajl_free(h);
	return st == yajl_status_ok ? 0 : -1;
}

/* ---- (b) the bare upsert ---------------------------------------------------- */

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_int_or_null(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_int64(st, i, strtoll(v, NULL, 10));
	else
		sqlite3_bind_null(st, i);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_page(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static int floor_pages(const char *dir, const char *db_path)
{
	struct dirent **names;
	int n_files = scandir(dir, &names, is_page, by_name);
	if (n_files < 0)
		die(dir, strerror(errno));
	sqlite3 *db;
	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		die(db_path, sqlite3_errmsg(db));
	exec_or_die(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
	exec_or_die(db, "CREATE TABLE IF NOT EXISTS opportunities (id TEXT PRIMARY KEY, name TEXT, headline TEXT, "
			"confidential INTEGER NOT NULL, created_at INTEGER, updated_at INTEGER)");
	sqlite3_stmt *upsert;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO opportunities(id, name, headline, confidential, created_at, updated_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
			       "headline = excluded.headline, confidential = excluded.confidential, "
			       "created_at = excluded.created_at, updated_at = excluded.updated_at",
			       -1, &upsert, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));

	unsigned char *buf = NULL;
	size_t cap = 0;
	uint64_t values = 0, bytes = 0, rows = 0;
	double parse_cpu = 0, upsert_cpu = 0;
	struct picker p;
	memset(&p, 0, sizeof p);
	for (int f = 0; f < n_files; f++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[f]->d_name);
		FILE *in = fopen(path, "rb");
		if (!in)
			die(path, strerror(errno));
		size_t len = 0, got;
		for (;;) {
			if (cap - len < 65536) {
				cap = cap ? 2 * cap : 1 << 20;
				buf = xrealloc(buf, cap);
			}
			got = fread(buf + len, 1, cap - len, in);
			if (got == 0)
				break;
			len += got;
		}
		fclose(in);
		bytes += len;

		double t0 = cpu_now();
		if (parse_with(&count_callbacks, &values, buf, len))
			die(path, "not valid JSON");
		parse_cpu += cpu_now() - t0;

		for (size_t i = 0; i < p.n; i++)
			for (int c = 0; c < C_COUNT; c++)
				free(p.rows[i].text[c]);
		p.n = 0;
		p.depth = p.in_data = p.top_key_data = 0;
		p.column = -1;
		if (parse_with(&pick_callbacks, &p, buf, len))
			die(path, "not valid JSON");

		t0 = cpu_now();
		exec_or_die(db, "BEGIN IMMEDIATE");
		for (size_t i = 0; i < p.n; i++) {
			const struct row *r = &p.rows[i];
			if (!r->text[C_ID])
				continue;
			bind_text_or_null(upsert, 1, r->text[C_ID]);
			bind_text_or_null(upsert, 2, r->text[C_NAME]);
			bind_text_or_null(upsert, 3, r->text[C_HEADLINE]);
			sqlite3_bind_int(upsert, 4,
					 r->text[C_CONFIDENTIALITY] && strcmp(r->text[C_CONFIDENTIALITY], "confidential") == 0);
			bind_int_or_null(upsert, 5, r->text[C_CREATED]);
			bind_int_or_null(upsert, 6, r->text[C_UPDATED]);
			if (sqlite3_step(upsert) != SQLITE_DONE)
				die("upsert", sqlite3_errmsg(db));
			sqlite3_reset(upsert);
			rows++;
		}
		exec_or_die(db, "COMMIT");
		upsert_cpu += cpu_now() - t0;
		free(names[f]);
	}
	free(names);
	for (size_t i = 0; i < p.n; i++)
		for (int c = 0; c < C_COUNT; c++)
			free(p.rows[i].text[c]);
	free(p.rows);
	free(buf);
	sqlite3_finalize(upsert);
	sqlite3_int64 distinct = 0;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM opportunities", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		distinct = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	long maxrss;
	double total = process_cpu(&maxrss);
	printf("{\"pages\": %d, \"bytes\": %llu, \"values\": %llu, \"rows\": %llu, \"distinct_rows\": %lld, "
	       "\"parse_cpu_s\": %.4f, \"upsert_cpu_s\": %.4f, \"floor_cpu_s\": %.4f, \"process_cpu_s\": %.4f, "
	       "\"peak_rss_kib\": %ld}\n",
	       n_files, (unsigned long long)bytes, (unsigned long long)values, (unsigned long long)rows,
	       (long long)distinct, parse_cpu, upsert_cpu, parse_cpu + upsert_cpu, total, maxrss);
	return 0;
}

/* ---- the decide floor --------------------------------------------------------- */

static sqlite3_stmt *prepare_or_die(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	return st;
}

/* Step through every row, touching each column as text. Returns the rows. */
static long drain(sqlite3_stmt *st, size_t *touched)
{
	long n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const unsigned char *t = sqlite3_column_text(st, i);
			if (t)
				*touched += (size_t)sqlite3_column_bytes(st, i);
		}
		n++;
	}
	sqlite3_reset(st);
	return n;
}

static int floor_decide(const char *db_path, const char *stage_id, long long since)
{
	double t0 = cpu_now();
	sqlite3 *db;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		die(db_path, sqlite3_errmsg(db));
	exec_or_die(db, "BEGIN");
	/* deciding's own queries (sync/decide_sql.h), not copies */
	sqlite3_stmt *entries = prepare_or_die(db, DECIDE_ALL_ENTRIES_SQL);
	sqlite3_stmt *candidate = prepare_or_die(db, DECIDE_CANDIDATE_SQL);
	sqlite3_stmt *templates = prepare_or_die(db, DECIDE_MATCH_TAGS_SQL);
	sqlite3_bind_text(entries, 1, stage_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(entries, 2, since);
	char **ids = NULL;
	size_t n = 0, cap = 0, touched = 0;
	while (sqlite3_step(entries) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		const char *id = (const char *)sqlite3_column_text(entries, 0);
		ids[n] = strdup(id ? id : "");
		if (!ids[n])
			die("out of memory", NULL);
		n++;
	}
	long candidates = 0, matches = 0;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(candidate, 1, ids[i], -1, SQLITE_STATIC);
		char posting[128] = "";
		if (sqlite3_step(candidate) == SQLITE_ROW) {
			candidates++;
			const unsigned char *pid = sqlite3_column_text(candidate, 4);
			if (pid)
				snprintf(posting, sizeof posting, "%s", (const char *)pid);
			for (int c = 0; c < sqlite3_column_count(candidate); c++)
				touched += (size_t)sqlite3_column_bytes(candidate, c);
		}
		sqlite3_reset(candidate);
		if (posting[0]) {
			sqlite3_bind_text(templates, 1, "posting", -1, SQLITE_STATIC);
			sqlite3_bind_text(templates, 2, posting, -1, SQLITE_STATIC);
			matches += drain(templates, &touched);
		}
		free(ids[i]);
	}
	free(ids);
	sqlite3_finalize(entries);
	sqlite3_finalize(candidate);
	sqlite3_finalize(templates);
	exec_or_die(db, "COMMIT");
	sqlite3_close(db);
	double cpu = cpu_now() - t0;
	long maxrss;
	double total = process_cpu(&maxrss);
	printf("{\"entries\": %zu, \"candidates\": %ld, \"template_matches\": %ld, \"bytes_read\": %zu, "
	       "\"floor_cpu_s\": %.4f, \"process_cpu_s\": %.4f, \"peak_rss_kib\": %ld}\n",
	       n, candidates, matches, touched, cpu, total, maxrss);
	return 0;
}

/* ---- measuring another program ------------------------------------------------ */

static double seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int run_measured(const char *out_path, char **argv)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", strerror(errno));
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "floor run: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status = 0;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR)
			die("wait4", strerror(errno));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	FILE *out = fopen(out_path, "w");
	if (!out)
		die(out_path, strerror(errno));
	fprintf(out,
		"{\"exit\": %d, \"signal\": %d, \"wall_s\": %.6f, \"user_s\": %.6f, \"system_s\": %.6f, "
		"\"maxrss_kib\": %ld}\n",
		code, WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, seconds(ru.ru_utime),
		seconds(ru.ru_stime), ru.ru_maxrss);
	if (fclose(out) != 0)
		die(out_path, strerror(errno));
	return code;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "run") == 0 && strcmp(argv[3], "--") == 0)
		return run_measured(argv[2], argv + 4);
	if (argc == 4 && strcmp(argv[1], "pages") == 0)
		return floor_pages(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "decide") == 0)
		return floor_decide(argv[2], argv[3], strtoll(argv[4], NULL, 10));
	fprintf(stderr, "usage: floor pages DIR DB\n       floor decide DB STAGE_ID SINCE_MS\n"
			"       floor run OUT -- PROGRAM [ARGS...]\n");
	return 64;
}
