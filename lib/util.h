/*
 * util.h - small helpers shared by every refsync program: the clock (with
 * the REFSYNC_TEST_NOW hook), bounded dynamic buffers, ISO 8601 times and
 * the REFSYNC_TEST_CRASH_AT hook.
 */
#ifndef REFSYNC_UTIL_H
#define REFSYNC_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes shared by the programs (sysexits-style; see README). */
enum {
	EXIT_OK = 0,
	EXIT_SOME_FAILED = 1,    /* finished; failed actions or creates in doubt wait for the operator */
	EXIT_USAGE = 64,         /* bad command line */
	EXIT_DATAERR = 65,       /* refsync-export --verify: chain broken */
	EXIT_NOINPUT = 66,       /* refsync-export --verify-file: the export or key cannot be read */
	EXIT_UNAVAILABLE = 69,   /* transient failures persisted past [sync] outage_alert_minutes */
	EXIT_SOFTWARE = 70,      /* internal error (database corrupt, out of memory) */
	EXIT_CANTCREAT = 73,     /* cannot write an output file */
	EXIT_TEMPFAIL = 75,      /* could not run now (lock held, remote down): retry later */
	EXIT_NOPERM = 77,        /* run as root on a state directory another user owns */
	EXIT_CONFIG = 78         /* configuration or credential error */
};

/* The name of user uid (or its number when it has no name) into out; returns out. */
char *user_name(unsigned uid, char *out, size_t outlen);

/* Current time in epoch milliseconds, or REFSYNC_TEST_NOW when set. */
int64_t now_ms(void);

/* Real monotonic time in milliseconds (never affected by the test hook). */
int64_t monotonic_ms(void);

/* Sleep for ms milliseconds (real time); cut short when the run is interrupted. */
void sleep_ms(int64_t ms);

/*
 * Interruption of a run by SIGINT or SIGTERM. interrupt_install sets
 * handlers that only record the signal (async-signal-safe) and restore the
 * default action, so that a second signal ends the process at once. The
 * loops of a run ask interrupted() at their safe points (between pages,
 * before claiming an action, instead of a retry or a wait) and stop there.
 */
void interrupt_install(void);
/* The signal that interrupted the run (SIGINT, SIGTERM), or 0. */
int interrupted(void);
/* The exit status of a run stopped by that signal: 128 + its number (130, 143). */
int interrupt_exit_code(void);

/*
 * Format epoch ms as "YYYY-MM-DDTHH:MM:SSZ" (or with ".mmmZ" when with_ms)
 * into out (at least 32 bytes). A time outside the years 0000-9999 is
 * written as the nearest one inside them, so that the text always reads
 * back with parse_iso8601. Returns out.
 */
char *format_iso8601(int64_t ms, int with_ms, char *out, size_t outlen);

/*
 * Parse an ISO 8601 UTC time ("2026-11-28", "2026-11-28T16:49:59Z",
 * "...59.123Z", "...59+00:00", "...59+02:00") into epoch ms.
 * Returns 0 on success, -1 when the text is not such a time or names one
 * outside the years 0000-9999 (UTC).
 */
int parse_iso8601(const char *s, int64_t *ms_out);

/*
 * A growable byte buffer with a hard maximum set at birth (curl's dynbuf
 * habit): nothing grows without bound because a remote sent more.
 * data is always NUL-terminated when len > 0 or after buf_reset.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Returns 0, or -1 when appending would exceed max or memory ran out. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appendz(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* malloc/strdup that abort with a message when memory runs out. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Copy with truncation, always NUL-terminated. Returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t size);

/* Case-insensitive ASCII equality; NULL equals only NULL. */
int str_ieq(const char *a, const char *b);

/* 1 when s (may be NULL) is NULL or empty. */
int str_empty(const char *s);

/* The canonical form of an email address, for searching and comparing: the
 * surrounding white space removed, ASCII letters lowercased. malloc'd;
 * NULL stays NULL. */
char *email_canonical(const char *email);

/*
 * The REFSYNC_TEST_CRASH_AT hook: when the variable names point, the process
 * kills itself with SIGKILL. A value "point:N" crashes at the N-th time the
 * point is reached (1-based). Does nothing when unset.
 */
void crash_point(const char *point);

/* Write all of buf to fd, retrying on EINTR/short writes. 0 or -1 (errno). */
int write_all(int fd, const void *buf, size_t len);

/*
 * Write data to path atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory. mode is the file's mode.
 * Returns 0, or -1 with errno set (the temporary file is removed).
 */
int write_file_atomic(const char *path, const void *data, size_t len, int mode);

#endif
