/*
 * test_util.c - lib/clock.c and lib/buf.c (util.h): ISO 8601 parsing and formatting, bounded
 * buffers (the max set at birth), the REFSYNC_TEST_NOW clock hook, atomic
 * file writes and the small string helpers. crash_point is exercised by the
 * end-to-end tests, not here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* 2026-11-28T16:49:59Z and the midnight before it, in epoch ms. */
#define T_165959 1795884599000LL
#define T_MIDNIGHT 1795824000000LL

/* ---- helpers -------------------------------------------------------------- */

struct tmpdir {
	char path[64];
};

static int tmpdir_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	snprintf(t->path, sizeof t->path, "/tmp/refsync-util-XXXXXX");
	if (!mkdtemp(t->path)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

/* Remove dir and what is in it (one level, plus empty subdirectories). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char p[512];
			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			if (unlink(p) != 0)
				rmdir(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static int tmpdir_teardown(void **state)
{
	struct tmpdir *t = *state;
	remove_dir(t->path);
	free(t);
	return 0;
}

/* Number of entries in dir other than . and .., and the name of the last. */
static int count_entries(const char *dir, char *last, size_t lastlen)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (last)
			snprintf(last, lastlen, "%s", de->d_name);
	}
	closedir(d);
	return n;
}

/* Read a whole (small) file into buf; returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t buflen)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, buflen - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void expect_iso(const char *text, int64_t want)
{
	int64_t ms = -12345;
	if (parse_iso8601(text, &ms) != 0)
		fail_msg("parse_iso8601(\"%s\") refused a valid time", text);
	if (ms != want)
		fail_msg("parse_iso8601(\"%s\") = %lld, want %lld", text, (long long)ms, (long long)want);
}

static void expect_iso_refused(const char *text)
{
	int64_t ms = -12345;
	if (parse_iso8601(text, &ms) != -1)
		fail_msg("parse_iso8601(\"%s\") accepted it as %lld, want -1", text ? text : "(null)",
			 (long long)ms);
}

/* ---- parse_iso8601 ------------------------------------------------------- */

static void test_iso_parse_forms(void **state)
{
	(void)state;
	expect_iso("2026-11-28", T_MIDNIGHT);
	expect_iso("2026-11-28T16:49:59Z", T_165959);
	expect_iso("2026-11-28t16:49:59z", T_165959);
	expect_iso("2026-11-28 16:49:59Z", T_165959);
	expect_iso("2026-11-28T16:49:59", T_165959);       /* no zone: UTC */
	expect_iso("2026-11-28T16:49Z", T_165959 - 59000);  /* no seconds */
	expect_iso("1970-01-01T00:00:00Z", 0);
	expect_iso("2000-01-01T00:00:00Z", 946684800000LL);
	expect_iso("2028-02-29", 1835395200000LL);          /* leap day */
}

static void test_iso_parse_fractions(void **state)
{
	(void)state;
	expect_iso("2026-11-28T16:49:59.123Z", T_165959 + 123);
	expect_iso("2026-11-28T16:49:59.1Z", T_165959 + 100);
	expect_iso("2026-11-28T16:49:59.05Z", T_165959 + 50);
	expect_iso("2026-11-28T16:49:59.000Z", T_165959);
	/* digits past milliseconds are dropped, not rounded */
	expect_iso("2026-11-28T16:49:59.123999Z", T_165959 + 123);
}

static void test_iso_parse_offsets(void **state)
{
	(void)state;
	expect_iso("2026-11-28T16:49:59+00:00", T_165959);
	expect_iso("2026-11-28T16:49:59-00:00", T_165959);
	expect_iso("2026-11-28T16:49:59+02:00", T_165959 - 2 * 3600000LL);
	expect_iso("2026-11-28T16:49:59+0200", T_165959 - 2 * 3600000LL);
	expect_iso("2026-11-28T16:49:59+02", T_165959 - 2 * 3600000LL);
	expect_iso("2026-11-28T16:49:59-05:30", T_165959 + 5 * 3600000LL + 30 * 60000LL);
	expect_iso("2026-11-28T16:49:59.250+01:00", T_165959 - 3600000LL + 250);
	/* an offset that crosses midnight */
	expect_iso("2026-11-28T01:00:00+02:00", T_MIDNIGHT - 3600000LL);
}

static void test_iso_parse_refuses(void **state)
{
	(void)state;
	expect_iso_refused(NULL);
	expect_iso_refused("");
	expect_iso_refused("not a time");
	expect_iso_refused("26-11-28");
	expect_iso_refused("2026/11/28");
	expect_iso_refused("2026-1-28");
	expect_iso_refused("2026-13-01");
	expect_iso_refused("2026-00-10");
	expect_iso_refused("2026-11-00");
	expect_iso_refused("2026-11-32");
	expect_iso_refused("2026-11-28T");
	expect_iso_refused("2026-11-28T16");
	expect_iso_refused("2026-11-28T16:4");
	expect_iso_refused("2026-11-28T24:00:00Z");
	expect_iso_refused("2026-11-28T16:60:00Z");
	expect_iso_refused("2026-11-28T16:49:61Z");
	expect_iso_refused("2026-11-28T16:49:59.Z");
	expect_iso_refused("2026-11-28T16:49:59Zjunk");
	expect_iso_refused("2026-11-28T16:49:59 Z");
	expect_iso_refused("2026-11-28T16:49:59+2:00");
	expect_iso_refused("2026-11-28X");
	expect_iso_refused("1795884599000");
}

/*
 * BUG: parse_iso8601 accepts calendar dates that do not exist: timegm()
 * normalizes them, so "2026-02-31" is read as 2026-03-03 and "2027-02-29"
 * (not a leap year) as 2027-03-01, although util.h promises -1 "when the
 * text is not such a time". A trigger_since = 2026-02-30 in refsync.conf is
 * silently taken as March 2.
 */
static void test_iso_parse_refuses_impossible_dates(void **state)
{
	(void)state;
	expect_iso_refused("2026-02-31");
	expect_iso_refused("2026-02-30T00:00:00Z");
	expect_iso_refused("2027-02-29");
	expect_iso_refused("2026-04-31T12:00:00Z");
}

/*
 * BUG: the UTC offset is not range-checked: "+99:99" is accepted (as an
 * offset of 100 h 39 min), and so is a dangling "+02:" with no minutes.
 */
static void test_iso_parse_refuses_bad_offsets(void **state)
{
	(void)state;
	expect_iso_refused("2026-11-28T16:49:59+99:99");
	expect_iso_refused("2026-11-28T16:49:59+02:75");
	expect_iso_refused("2026-11-28T16:49:59+02:");
}

/* ---- format_iso8601 ------------------------------------------------------ */

static void test_iso_format(void **state)
{
	(void)state;
	char out[32];
	assert_ptr_equal(format_iso8601(T_165959 + 123, 0, out, sizeof out), out);
	assert_string_equal(out, "2026-11-28T16:49:59Z");
	assert_ptr_equal(format_iso8601(T_165959 + 123, 1, out, sizeof out), out);
	assert_string_equal(out, "2026-11-28T16:49:59.123Z");
	format_iso8601(T_165959 + 7, 1, out, sizeof out);
	assert_string_equal(out, "2026-11-28T16:49:59.007Z");
	format_iso8601(0, 1, out, sizeof out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	format_iso8601(0, 0, out, sizeof out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	format_iso8601(1835395200000LL, 0, out, sizeof out);
	assert_string_equal(out, "2028-02-29T00:00:00Z");
}

static void test_iso_format_before_epoch(void **state)
{
	(void)state;
	char out[32];
	format_iso8601(-1, 1, out, sizeof out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	format_iso8601(-1000, 1, out, sizeof out);
	assert_string_equal(out, "1969-12-31T23:59:59.000Z");
	format_iso8601(-1001, 1, out, sizeof out);
	assert_string_equal(out, "1969-12-31T23:59:58.999Z");
	format_iso8601(-1, 0, out, sizeof out);
	assert_string_equal(out, "1969-12-31T23:59:59Z");
}

/* Found by fuzz_iso8601: outside the four-digit years the text did not read
 * back (and INT64_MIN overflowed); an offset could carry a parse there. */
static void test_iso_four_digit_years(void **state)
{
	(void)state;
	char out[32];
	int64_t back = 0;
	format_iso8601(INT64_MIN, 1, out, sizeof out);
	assert_string_equal(out, "0000-01-01T00:00:00.000Z");
	format_iso8601(INT64_MAX, 1, out, sizeof out);
	assert_string_equal(out, "9999-12-31T23:59:59.999Z");
	format_iso8601(253402300800000LL, 0, out, sizeof out); /* 10000-01-01 */
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	assert_int_equal(parse_iso8601(out, &back), 0);
	assert_int_equal(back, 253402300799000LL);
	format_iso8601(-62167219200001LL, 1, out, sizeof out);
	assert_string_equal(out, "0000-01-01T00:00:00.000Z");
	assert_int_equal(parse_iso8601(out, &back), 0);
	assert_int_equal(back, -62167219200000LL);
	expect_iso_refused("9999-12-31T23:59:59-23:00");
	expect_iso_refused("0000-01-01T00:00:00+00:01");
	expect_iso("9999-12-31T23:59:59.999+00:00", 253402300799999LL);
	/* timegm's -1 is also a time: one second before the epoch */
	expect_iso("1969-12-31T23:59:59Z", -1000);
	expect_iso("1969-12-31T23:59:59.999Z", -1);
	expect_iso("1970-01-01T01:59:59+02:00", -1000);
}

static void test_iso_round_trip(void **state)
{
	(void)state;
	const int64_t values[] = { 0, 1, 999, T_MIDNIGHT, T_165959, T_165959 + 1, T_165959 + 999,
				   1835395200000LL + 86399999LL };
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		char out[32];
		int64_t back = -1;
		format_iso8601(values[i], 1, out, sizeof out);
		assert_int_equal(parse_iso8601(out, &back), 0);
		assert_int_equal(back, values[i]);
	}
}

/* ---- struct buf ---------------------------------------------------------- */

static void test_buf_init(void **state)
{
	(void)state;
	struct buf b;
	memset(&b, 0x55, sizeof b);
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	buf_free(&b);
}

static void test_buf_append(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "hello");
	assert_int_equal(buf_appendz(&b, ", world"), 0);
	assert_int_equal(b.len, 12);
	assert_string_equal(b.data, "hello, world");
	/* zero bytes: no change */
	assert_int_equal(buf_append(&b, "x", 0), 0);
	assert_int_equal(b.len, 12);
	assert_string_equal(b.data, "hello, world");
	/* binary data with an embedded NUL, still terminated after it */
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.data, "hello, worlda\0b", 16);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_buf_max_exact(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456", 7), 0);
	assert_int_equal(buf_append(&b, "789", 3), 0); /* exactly max */
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	assert_true(b.cap <= 11);
	/* one more byte is refused and the content is untouched */
	assert_int_equal(buf_append(&b, "X", 1), -1);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(buf_appendz(&b, "YZ"), -1);
	assert_int_equal(buf_printf(&b, "%d", 7), -1);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	buf_free(&b);
}

static void test_buf_max_refuses_oversize_first_append(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4);
	assert_int_equal(buf_append(&b, "12345", 5), -1);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	/* a huge n does not wrap around the check */
	assert_int_equal(buf_append(&b, "1", SIZE_MAX), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append(&b, "1234", 4), 0);
	assert_string_equal(b.data, "1234");
	assert_int_equal(buf_append(&b, "5", SIZE_MAX - 2), -1);
	assert_string_equal(b.data, "1234");
	buf_free(&b);
}

static void test_buf_max_zero(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_append(&b, "x", 1), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_buf_grows(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 1 << 20);
	char want[10001];
	for (int i = 0; i < 1000; i++) {
		char piece[11];
		snprintf(piece, sizeof piece, "%010d", i);
		assert_int_equal(buf_append(&b, piece, 10), 0);
		memcpy(want + i * 10, piece, 10);
	}
	want[10000] = '\0';
	assert_int_equal(b.len, 10000);
	assert_true(b.cap >= 10001);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void test_buf_printf(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "%s=%d;", "a", 42), 0);
	assert_int_equal(buf_printf(&b, "%05.1f|%x", 3.14159, 255), 0);
	assert_string_equal(b.data, "a=42;003.1|ff");
	assert_int_equal(b.len, 13);
	buf_reset(&b);
	/* longer than the 512-byte fast path */
	char big[1500];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 1501);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[1500], '>');
	assert_int_equal(b.data[1501], '\0');
	assert_memory_equal(b.data + 1, big, 1499);
	buf_free(&b);
}

static void test_buf_printf_over_max(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 600);
	assert_int_equal(buf_appendz(&b, "keep"), 0);
	char big[700];
	memset(big, 'z', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(buf_printf(&b, "%s", big), -1);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "keep");
	buf_free(&b);
}

static void test_buf_reset(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(buf_appendz(&b, "first"), 0);
	char *data = b.data;
	size_t cap = b.cap;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);  /* memory kept */
	assert_int_equal(b.cap, cap);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_appendz(&b, "second"), 0);
	assert_string_equal(b.data, "second");
	assert_int_equal(b.len, 6);
	/* after buf_free the buffer can be used again with the same max */
	buf_free(&b);
	assert_int_equal(b.max, 64);
	assert_int_equal(buf_appendz(&b, "third"), 0);
	assert_string_equal(b.data, "third");
	buf_free(&b);
}

/* ---- now_ms and REFSYNC_TEST_NOW ---------------------------------------- */

static void test_now_ms_hook(void **state)
{
	(void)state;
	setenv("REFSYNC_TEST_NOW", "1795884599123", 1);
	assert_int_equal(now_ms(), 1795884599123LL);
	assert_int_equal(now_ms(), 1795884599123LL); /* the clock stands still */
	setenv("REFSYNC_TEST_NOW", "1", 1);
	assert_int_equal(now_ms(), 1);
	unsetenv("REFSYNC_TEST_NOW");
}

static void expect_real_clock(void)
{
	int64_t before = wall_ms();
	int64_t t = now_ms();
	int64_t after = wall_ms();
	if (t < before || t > after)
		fail_msg("now_ms() = %lld, not within the real clock [%lld, %lld]", (long long)t,
			 (long long)before, (long long)after);
}

static void test_now_ms_real(void **state)
{
	(void)state;
	unsetenv("REFSYNC_TEST_NOW");
	expect_real_clock();
	/* invalid hook values fall back to the real clock */
	const char *bad[] = { "", "abc", "0", "-5", "12x", " ", "1.5" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("REFSYNC_TEST_NOW", bad[i], 1);
		expect_real_clock();
	}
	unsetenv("REFSYNC_TEST_NOW");
}

/* ---- write_file_atomic --------------------------------------------------- */

static void test_write_atomic_creates(void **state)
{
	struct tmpdir *t = *state;
	char path[128], got[64], last[256];
	snprintf(path, sizeof path, "%s/out.txt", t->path);
	mode_t old = umask(022);
	int r = write_file_atomic(path, "hello\nworld\n", 12, 0600);
	umask(old);
	assert_int_equal(r, 0);
	assert_int_equal(slurp(path, got, sizeof got), 12);
	assert_string_equal(got, "hello\nworld\n");
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	/* no temporary file is left beside it */
	assert_int_equal(count_entries(t->path, last, sizeof last), 1);
	assert_string_equal(last, "out.txt");
}

static void test_write_atomic_mode(void **state)
{
	struct tmpdir *t = *state;
	char path[128];
	snprintf(path, sizeof path, "%s/shared.txt", t->path);
	mode_t old = umask(022);
	int r = write_file_atomic(path, "x", 1, 0640);
	umask(old);
	assert_int_equal(r, 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_size, 1);
}

static void test_write_atomic_replaces(void **state)
{
	struct tmpdir *t = *state;
	char path[128], got[64], last[256];
	snprintf(path, sizeof path, "%s/state.json", t->path);
	assert_int_equal(write_file_atomic(path, "old content that is longer", 26, 0600), 0);
	struct stat before;
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(write_file_atomic(path, "new", 3, 0600), 0);
	assert_int_equal(slurp(path, got, sizeof got), 3);
	assert_string_equal(got, "new");
	struct stat after;
	assert_int_equal(stat(path, &after), 0);
	/* renamed over, not rewritten in place */
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_int_equal(count_entries(t->path, last, sizeof last), 1);
	assert_string_equal(last, "state.json");
	/* an empty file is written as such */
	assert_int_equal(write_file_atomic(path, "", 0, 0600), 0);
	assert_int_equal(slurp(path, got, sizeof got), 0);
}

static void test_write_atomic_missing_dir(void **state)
{
	struct tmpdir *t = *state;
	char path[128];
	snprintf(path, sizeof path, "%s/no-such-dir/out.txt", t->path);
	errno = 0;
	assert_int_equal(write_file_atomic(path, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(t->path, NULL, 0), 0);
}

static void test_write_atomic_rename_fails(void **state)
{
	struct tmpdir *t = *state;
	char path[128], last[256];
	/* the target is a non-empty directory: rename() must fail */
	snprintf(path, sizeof path, "%s/target", t->path);
	assert_int_equal(mkdir(path, 0700), 0);
	char inner[160];
	snprintf(inner, sizeof inner, "%s/keep", path);
	assert_int_equal(mkdir(inner, 0700), 0);
	errno = 0;
	int r = write_file_atomic(path, "data", 4, 0600);
	int e = errno;
	rmdir(inner);
	assert_int_equal(r, -1);
	assert_int_equal(e, EISDIR);
	/* the temporary file was removed: only the directory remains */
	assert_int_equal(count_entries(t->path, last, sizeof last), 1);
	assert_string_equal(last, "target");
}

/* ---- small string helpers ------------------------------------------------ */

static void test_strlcpy(void **state)
{
	(void)state;
	char dst[6];
	memset(dst, 'X', sizeof dst);
	assert_int_equal(strlcpy_(dst, "abc", sizeof dst), 3);
	assert_string_equal(dst, "abc");
	assert_int_equal(strlcpy_(dst, "abcdefgh", sizeof dst), 8);
	assert_string_equal(dst, "abcde");
	assert_int_equal(strlcpy_(dst, "", sizeof dst), 0);
	assert_string_equal(dst, "");
	dst[0] = 'Q';
	assert_int_equal(strlcpy_(dst, "abc", 0), 3);
	assert_int_equal(dst[0], 'Q'); /* size 0: nothing written */
}

/* issue 16: emails are searched and compared trimmed and lowercased */
static void test_email_canonical(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "  Ann.Lee@Example.COM \t\r\n", "ann.lee@example.com" },
		{ "ann@example.com", "ann@example.com" },
		{ "\xc3\x89lise@Example.org", "\xc3\x89lise@example.org" }, /* non-ASCII bytes kept */
		{ " \t ", "" },
		{ "", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *c = email_canonical(cases[i][0]);
		assert_string_equal(c, cases[i][1]);
		free(c);
	}
	assert_null(email_canonical(NULL));
}

static void test_str_helpers(void **state)
{
	(void)state;
	assert_int_equal(str_ieq("Hired", "hIRED"), 1);
	assert_int_equal(str_ieq("Hired", "Hire"), 0);
	assert_int_equal(str_ieq(NULL, NULL), 1);
	assert_int_equal(str_ieq(NULL, ""), 0);
	assert_int_equal(str_ieq("", NULL), 0);
	assert_int_equal(str_empty(NULL), 1);
	assert_int_equal(str_empty(""), 1);
	assert_int_equal(str_empty(" "), 0);
	char *s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrdup(NULL);
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
	log_init("test_util", LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_parse_forms),
		cmocka_unit_test(test_iso_parse_fractions),
		cmocka_unit_test(test_iso_parse_offsets),
		cmocka_unit_test(test_iso_parse_refuses),
		cmocka_unit_test(test_iso_parse_refuses_impossible_dates),
		cmocka_unit_test(test_iso_parse_refuses_bad_offsets),
		cmocka_unit_test(test_iso_format),
		cmocka_unit_test(test_iso_format_before_epoch),
		cmocka_unit_test(test_iso_round_trip),
		cmocka_unit_test(test_iso_four_digit_years),
		cmocka_unit_test(test_buf_init),
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_buf_max_exact),
		cmocka_unit_test(test_buf_max_refuses_oversize_first_append),
		cmocka_unit_test(test_buf_max_zero),
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_buf_printf),
		cmocka_unit_test(test_buf_printf_over_max),
		cmocka_unit_test(test_buf_reset),
		cmocka_unit_test(test_now_ms_hook),
		cmocka_unit_test(test_now_ms_real),
		cmocka_unit_test_setup_teardown(test_write_atomic_creates, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_mode, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_replaces, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_missing_dir, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_write_atomic_rename_fails, tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_str_helpers),
		cmocka_unit_test(test_email_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
