/*
 * test_spool.c - the maildir-style spool: atomic queueing, once per name,
 * done/ as the replay memory, sorted visits, oversize files, pruning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define NOW_MS 1796000000000LL

/* A fresh spool under a new temporary directory, per test. */
struct fixture {
	char root[64];
	char spool[128];
};

/* Remove root and everything under it (shallow trees only). */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->root, sizeof f->root, "/tmp/refsync-spool-XXXXXX");
	if (!f || !mkdtemp(f->root))
		return -1;
	snprintf(f->spool, sizeof f->spool, "%s/state/spool", f->root);
	setenv("REFSYNC_TEST_NOW", "1796000000000", 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->root);
	free(f);
	unsetenv("REFSYNC_TEST_NOW");
	return 0;
}

/* Count the entries of spool/sub (all names, including invalid ones). */
static int count_entries(const char *spool, const char *sub)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", spool, sub);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Read spool/sub/name whole into a static buffer ("" when missing). */
static const char *read_entry(const char *spool, const char *sub, const char *name)
{
	static char data[256];
	char path[256];
	snprintf(path, sizeof path, "%s/%s/%s", spool, sub, name);
	data[0] = '\0';
	FILE *fp = fopen(path, "r");
	if (!fp)
		return data;
	size_t n = fread(data, 1, sizeof data - 1, fp);
	data[n] = '\0';
	fclose(fp);
	return data;
}

static void write_raw(const char *spool, const char *sub, const char *name, size_t size)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s/%s", spool, sub, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < size; i++)
		fputc('x', fp);
	fclose(fp);
}

static void test_name_valid(void **state)
{
	(void)state;
	char longest[SPOOL_NAME_MAX + 2];
	memset(longest, 'a', sizeof longest);
	longest[SPOOL_NAME_MAX] = '\0';
	assert_int_equal(spool_name_valid("wh-hired-0123456789abcdef.json"), 1);
	assert_int_equal(spool_name_valid("A_b.c-9"), 1);
	assert_int_equal(spool_name_valid(longest), 1);
	longest[SPOOL_NAME_MAX] = 'a';
	longest[SPOOL_NAME_MAX + 1] = '\0';
	assert_int_equal(spool_name_valid(longest), 0);
	assert_int_equal(spool_name_valid(""), 0);
	assert_int_equal(spool_name_valid(NULL), 0);
	assert_int_equal(spool_name_valid("."), 0);
	assert_int_equal(spool_name_valid(".."), 0);
	assert_int_equal(spool_name_valid(".hidden"), 0);
	assert_int_equal(spool_name_valid("a/b"), 0);
	assert_int_equal(spool_name_valid("a b"), 0);
	assert_int_equal(spool_name_valid("caf\xc3\xa9"), 0);
}

static void test_init_creates_dirs(void **state)
{
	struct fixture *f = *state;
	char err[256], path[256];
	struct stat sb;
	mode_t old = umask(022);
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	umask(old);
	const char *subs[] = { "", "/tmp", "/new", "/done" };
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s%s", f->spool, subs[i]);
		assert_int_equal(stat(path, &sb), 0);
		assert_true(S_ISDIR(sb.st_mode));
		assert_int_equal(sb.st_mode & 0777, 0770);
	}
	/* a second call is fine */
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	/* a file in the way is an error naming the path */
	snprintf(path, sizeof path, "%s/file", f->root);
	write_raw(f->root, ".", "file", 1);
	assert_int_equal(spool_init(path, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
}

static void test_put_once(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already = -1;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	assert_int_equal(spool_exists(f->spool, "a.json"), 0);
	assert_int_equal(spool_put(f->spool, "a.json", "{\"n\":1}", 7, &already, err, sizeof err), 0);
	assert_int_equal(already, 0);
	assert_string_equal(read_entry(f->spool, "new", "a.json"), "{\"n\":1}");
	assert_int_equal(spool_exists(f->spool, "a.json"), 1);
	/* the same name again: not rewritten */
	assert_int_equal(spool_put(f->spool, "a.json", "{\"n\":2}", 7, &already, err, sizeof err), 0);
	assert_int_equal(already, 1);
	assert_string_equal(read_entry(f->spool, "new", "a.json"), "{\"n\":1}");
	assert_int_equal(count_entries(f->spool, "new"), 1);
	assert_int_equal(count_entries(f->spool, "tmp"), 0);
	assert_int_equal(spool_count_new(f->spool), 1);
}

static void test_put_after_done(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already = -1;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	assert_int_equal(spool_put(f->spool, "b.json", "one", 3, &already, err, sizeof err), 0);
	assert_int_equal(spool_mark_done(f->spool, "b.json"), 0);
	assert_int_equal(count_entries(f->spool, "new"), 0);
	assert_string_equal(read_entry(f->spool, "done", "b.json"), "one");
	/* processed already: a redelivery is not queued again */
	assert_int_equal(spool_put(f->spool, "b.json", "two", 3, &already, err, sizeof err), 0);
	assert_int_equal(already, 1);
	assert_int_equal(count_entries(f->spool, "new"), 0);
	assert_int_equal(count_entries(f->spool, "tmp"), 0);
	assert_int_equal(spool_exists(f->spool, "b.json"), 1);
	/* marking done twice is not an error */
	assert_int_equal(spool_mark_done(f->spool, "b.json"), 0);
	/* marking an unknown name is */
	assert_int_equal(spool_mark_done(f->spool, "nope.json"), -1);
	assert_int_equal(spool_mark_done(f->spool, "../escape"), -1);
}

static void test_put_refuses(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already = -1;
	static char big[SPOOL_MAX_FILE + 1];
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	assert_int_equal(spool_put(f->spool, "../x", "a", 1, &already, err, sizeof err), -1);
	assert_int_equal(spool_put(f->spool, ".x", "a", 1, &already, err, sizeof err), -1);
	assert_int_equal(spool_put(f->spool, "big", big, sizeof big, &already, err, sizeof err), -1);
	assert_int_equal(spool_put(f->spool, "exact", big, SPOOL_MAX_FILE, &already, err, sizeof err), 0);
	assert_int_equal(already, 0);
	/* a spool that was never initialised: an error, not a crash */
	char missing[256];
	snprintf(missing, sizeof missing, "%s/missing", f->root);
	assert_int_equal(spool_put(missing, "a", "a", 1, &already, err, sizeof err), -1);
	assert_non_null(strstr(err, "missing"));
}

/*
 * Many processes queue the same name at the same moment (released together
 * through a pipe): exactly one queues it, and its content is whole.
 */
static void test_put_concurrent(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int gate[2];
	enum { WRITERS = 24 };
	pid_t pids[WRITERS];
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	assert_int_equal(pipe(gate), 0);
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char go, data[64];
			int already = -1;
			close(gate[1]);
			if (read(gate[0], &go, 1) != 0)
				_exit(3);
			int n = snprintf(data, sizeof data, "{\"writer\":\"%02d\",\"pad\":\"%032d\"}", i, 0);
			if (spool_put(f->spool, "same.json", data, (size_t)n, &already, err, sizeof err))
				_exit(2);
			_exit(already ? 1 : 0);
		}
	}
	close(gate[0]);
	close(gate[1]); /* EOF releases every writer at once */
	int queued = 0, already = 0;
	for (int i = 0; i < WRITERS; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			queued++;
		else if (WEXITSTATUS(status) == 1)
			already++;
	}
	assert_int_equal(queued, 1);
	assert_int_equal(already, WRITERS - 1);
	assert_int_equal(count_entries(f->spool, "new"), 1);
	assert_int_equal(count_entries(f->spool, "tmp"), 0);
	assert_int_equal(strlen(read_entry(f->spool, "new", "same.json")), strlen("{\"writer\":\"00\",\"pad\":\"\"}") + 32);
}

struct visits {
	char names[8][64];
	char data[8][64];
	int n;
	int stop_at;      /* stop (return 7) after this many, 0 = never */
	int mark_done;
	const char *spool;
};

static int visit(const char *name, const char *data, size_t len, void *ctx)
{
	struct visits *v = ctx;
	assert_true(v->n < 8);
	assert_int_equal(strlen(data), len);
	snprintf(v->names[v->n], sizeof v->names[v->n], "%s", name);
	snprintf(v->data[v->n], sizeof v->data[v->n], "%s", data);
	v->n++;
	if (v->mark_done)
		assert_int_equal(spool_mark_done(v->spool, name), 0);
	return v->stop_at && v->n >= v->stop_at ? 7 : 0;
}

static void test_each_new_sorted(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	assert_int_equal(spool_put(f->spool, "c", "3", 1, &already, err, sizeof err), 0);
	assert_int_equal(spool_put(f->spool, "a", "1", 1, &already, err, sizeof err), 0);
	assert_int_equal(spool_put(f->spool, "b", "", 0, &already, err, sizeof err), 0);
	write_raw(f->spool, "new", ".ignored", 1);

	struct visits v = { .stop_at = 2, .spool = f->spool };
	assert_int_equal(spool_each_new(f->spool, visit, &v), 7);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.names[0], "a");
	assert_string_equal(v.names[1], "b");
	assert_string_equal(v.data[0], "1");
	assert_string_equal(v.data[1], "");

	struct visits all = { .mark_done = 1, .spool = f->spool };
	assert_int_equal(spool_each_new(f->spool, visit, &all), 0);
	assert_int_equal(all.n, 3);
	assert_string_equal(all.names[2], "c");
	assert_string_equal(all.data[2], "3");
	assert_int_equal(spool_count_new(f->spool), 0);
	assert_int_equal(count_entries(f->spool, "done"), 3);

	/* nothing left */
	struct visits none = { .spool = f->spool };
	assert_int_equal(spool_each_new(f->spool, visit, &none), 0);
	assert_int_equal(none.n, 0);
}

static void test_each_new_rejects_oversize(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	write_raw(f->spool, "new", "huge", SPOOL_MAX_FILE + 1);
	assert_int_equal(spool_put(f->spool, "small", "ok", 2, &already, err, sizeof err), 0);
	struct visits v = { .spool = f->spool };
	assert_int_equal(spool_each_new(f->spool, visit, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.names[0], "small");
	assert_string_equal(read_entry(f->spool, "new", "small"), "ok");
	char path[256];
	struct stat sb;
	snprintf(path, sizeof path, "%s/done/huge.rejected", f->spool);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, SPOOL_MAX_FILE + 1);
	assert_int_equal(spool_count_new(f->spool), 1);
}

static void test_each_new_missing_dir(void **state)
{
	struct fixture *f = *state;
	struct visits v = { .spool = f->spool };
	log_set_verbosity(0);
	assert_int_equal(spool_each_new(f->spool, visit, &v), -1);
	assert_int_equal(spool_count_new(f->spool), -1);
	assert_int_equal(spool_prune_done(f->spool, 1000), -1);
	log_set_verbosity(LOG_INFO);
}

/* Set the mtime of spool/sub/name to ms (epoch milliseconds). */
static void set_mtime_in(const char *spool, const char *sub, const char *name, int64_t ms)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s/%s", spool, sub, name);
	struct timespec ts[2] = { { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 },
				  { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 } };
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* Set the mtime of spool/done/name to ms (epoch milliseconds). */
static void set_mtime(const char *spool, const char *name, int64_t ms)
{
	set_mtime_in(spool, "done", name, ms);
}

static void test_prune_done(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already;
	const int64_t hour = 3600 * 1000;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	const char *names[] = { "old", "recent", "queued" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(spool_put(f->spool, names[i], "x", 1, &already, err, sizeof err), 0);
	assert_int_equal(spool_mark_done(f->spool, "old"), 0);
	assert_int_equal(spool_mark_done(f->spool, "recent"), 0);
	write_raw(f->spool, "done", "older.rejected", 3);
	set_mtime(f->spool, "old", NOW_MS - 25 * hour);
	set_mtime(f->spool, "older.rejected", NOW_MS - 48 * hour);
	set_mtime(f->spool, "recent", NOW_MS - 23 * hour);

	assert_int_equal(spool_prune_done(f->spool, NOW_MS - 24 * hour), 0);
	assert_int_equal(count_entries(f->spool, "done"), 1);
	assert_string_equal(read_entry(f->spool, "done", "recent"), "x");
	/* new/ is never pruned */
	assert_int_equal(spool_count_new(f->spool), 1);
	/* once pruned, the name can be queued again */
	assert_int_equal(spool_exists(f->spool, "old"), 0);
	assert_int_equal(spool_put(f->spool, "old", "y", 1, &already, err, sizeof err), 0);
	assert_int_equal(already, 0);
}

/* A name recorded as seen (a test delivery) is in done/ at once, and blocks a later put. */
static void test_put_seen(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already = -1;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	assert_int_equal(spool_put_seen(f->spool, "wh-t", "test", 4, &already, err, sizeof err), 0);
	assert_int_equal(already, 0);
	assert_string_equal(read_entry(f->spool, "done", "wh-t"), "test");
	assert_int_equal(count_entries(f->spool, "new"), 0);
	assert_int_equal(count_entries(f->spool, "tmp"), 0);
	assert_int_equal(spool_exists(f->spool, "wh-t"), 1);
	/* a put of the same name (the envelope replayed with data) queues nothing */
	assert_int_equal(spool_put(f->spool, "wh-t", "data", 4, &already, err, sizeof err), 0);
	assert_int_equal(already, 1);
	assert_int_equal(count_entries(f->spool, "new"), 0);
	assert_string_equal(read_entry(f->spool, "done", "wh-t"), "test");
	/* seen twice: already, the first record stays */
	assert_int_equal(spool_put_seen(f->spool, "wh-t", "again", 5, &already, err, sizeof err), 0);
	assert_int_equal(already, 1);
	assert_string_equal(read_entry(f->spool, "done", "wh-t"), "test");
	/* queued names count as seen too */
	assert_int_equal(spool_put(f->spool, "wh-q", "q", 1, &already, err, sizeof err), 0);
	assert_int_equal(spool_put_seen(f->spool, "wh-q", "t", 1, &already, err, sizeof err), 0);
	assert_int_equal(already, 1);
	assert_int_equal(count_entries(f->spool, "done"), 1);
	/* the same checks as spool_put */
	assert_int_equal(spool_put_seen(f->spool, "../x", "t", 1, &already, err, sizeof err), -1);
	assert_int_equal(spool_put_seen(f->spool, "big", "t", SPOOL_MAX_FILE + 1, &already, err, sizeof err), -1);
}

/* A damaged file set aside does not block the valid redelivery of its name. */
static void test_set_aside(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int already = -1;
	struct spool_counts c;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	write_raw(f->spool, "new", "wh-d", 5);
	assert_int_equal(spool_set_aside(f->spool, "wh-d"), 0);
	assert_string_equal(read_entry(f->spool, "done", "wh-d.rejected"), "xxxxx");
	assert_int_equal(count_entries(f->spool, "new"), 0);
	assert_int_equal(spool_exists(f->spool, "wh-d"), 0);
	spool_count(f->spool, &c);
	assert_int_equal(c.queued, 0);
	assert_int_equal(c.rejected, 1);
	assert_int_equal(spool_put(f->spool, "wh-d", "good", 4, &already, err, sizeof err), 0);
	assert_int_equal(already, 0);
	assert_string_equal(read_entry(f->spool, "new", "wh-d"), "good");
	assert_int_equal(spool_mark_done(f->spool, "wh-d"), 0);
	assert_string_equal(read_entry(f->spool, "done", "wh-d"), "good");
	assert_int_equal(count_entries(f->spool, "done"), 2);
	/* gone meanwhile: an error, logged */
	log_set_verbosity(0);
	assert_int_equal(spool_set_aside(f->spool, "wh-missing"), -1);
	log_set_verbosity(LOG_INFO);
	assert_int_equal(spool_set_aside(f->spool, ".hidden"), -1);
}

/* Files killed writers left in tmp/ are removed once older than the cut-off; younger ones stay. */
static void test_clean_tmp(void **state)
{
	struct fixture *f = *state;
	char err[256];
	struct spool_counts c;
	const int64_t hour = 3600 * 1000;
	assert_int_equal(spool_init(f->spool, err, sizeof err), 0);
	write_raw(f->spool, "tmp", "wh-a.json.101", 3);
	write_raw(f->spool, "tmp", "wh-b.json.102", 3);
	write_raw(f->spool, "tmp", "answer-c.json.103", 3);
	write_raw(f->spool, "done", "wh-e.rejected", 1);
	write_raw(f->spool, "done", "wh-f", 1);
	set_mtime_in(f->spool, "tmp", "wh-a.json.101", NOW_MS - 2 * hour);
	set_mtime_in(f->spool, "tmp", "wh-b.json.102", NOW_MS - hour - 1);
	set_mtime_in(f->spool, "tmp", "answer-c.json.103", NOW_MS - hour + 1000);
	spool_count(f->spool, &c);
	assert_int_equal(c.queued, 0);
	assert_int_equal(c.unfinished, 3);
	assert_int_equal(c.rejected, 1);
	assert_int_equal(spool_clean_tmp(f->spool, NOW_MS - SPOOL_TMP_STALE_MS), 2);
	assert_int_equal(count_entries(f->spool, "tmp"), 1);
	assert_string_equal(read_entry(f->spool, "tmp", "answer-c.json.103"), "xxx");
	assert_int_equal(count_entries(f->spool, "done"), 2);
	spool_count(f->spool, &c);
	assert_int_equal(c.unfinished, 1);
	assert_int_equal(spool_clean_tmp(f->spool, NOW_MS - SPOOL_TMP_STALE_MS), 0);
}

int main(void)
{
	log_init("test_spool", LOG_INFO);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test_setup_teardown(test_init_creates_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_after_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_new_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_new_rejects_oversize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_new_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_done, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_aside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_tmp, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
