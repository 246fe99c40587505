/*
 * clock.h - the clock (REFSYNC_TEST_NOW), sleeping, the interruption of a
 * run by SIGINT or SIGTERM, and ISO 8601 times (clock.c).
 */
#ifndef REFSYNC_CLOCK_H
#define REFSYNC_CLOCK_H

#include <stddef.h>
#include <stdint.h>

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

#endif
