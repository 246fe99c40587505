/*
 * clock.c - the clock (with the REFSYNC_TEST_NOW hook), sleeping, the interruption of a run by a signal, ISO 8601 times (see clock.h).
 */
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t now_ms(void)
{
	const char *t = getenv("REFSYNC_TEST_NOW");
	if (t && *t) {
		char *end;
		long long v = strtoll(t, &end, 10);
		if (*end == '\0' && v > 0)
			return (int64_t)v;
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static volatile sig_atomic_t interrupt_signal;

/* The handler: record the signal, nothing else (async-signal-safe). */
static void on_interrupt(int sig)
{
	interrupt_signal = sig;
}

void interrupt_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: a wait in progress returns at once; SA_RESETHAND: a
	 * second signal takes its default action (the process ends) */
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int interrupted(void)
{
	return interrupt_signal;
}

int interrupt_exit_code(void)
{
	return interrupt_signal ? 128 + interrupt_signal : 0;
}

void sleep_ms(int64_t ms)
{
	if (ms <= 0 || interrupt_signal)
		return;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !interrupt_signal)
		;
}

/* The times ISO 8601's four-digit years can write: 0000-01-01T00:00:00.000Z
 * to 9999-12-31T23:59:59.999Z. */
#define ISO8601_MIN_MS (-62167219200000LL)
#define ISO8601_MAX_MS (253402300799999LL)

char *format_iso8601(int64_t ms, int with_ms, char *out, size_t outlen)
{
	/* clamped: a year past 9999 or before 0000 would not read back, and
	 * ms - 999 below would overflow for INT64_MIN */
	if (ms < ISO8601_MIN_MS)
		ms = ISO8601_MIN_MS;
	else if (ms > ISO8601_MAX_MS)
		ms = ISO8601_MAX_MS;
	time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)secs * 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	if (with_ms)
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	else
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return out;
}

/* Read exactly n digits from *p into *v. */
static int digits(const char **p, int n, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

int parse_iso8601(const char *s, int64_t *ms_out)
{
	int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
	const char *p = s;
	if (!s)
		return -1;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	static const int days_in[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in[mo - 1] + (mo == 2 && leap))
		return -1;
	int offset_min = 0;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &se))
				return -1;
			if (*p == '.') {
				p++;
				int n = 0, scale = 100;
				while (isdigit((unsigned char)*p)) {
					if (n < 3) {
						ms += (*p - '0') * scale;
						scale /= 10;
					}
					n++;
					p++;
				}
				if (n == 0)
					return -1;
			}
		}
		if (h > 23 || mi > 59 || se > 59)
			return -1;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1, oh, om = 0;
			p++;
			if (digits(&p, 2, &oh))
				return -1;
			if (*p == ':') {
				p++;
				if (digits(&p, 2, &om))
					return -1;
			} else if (*p && digits(&p, 2, &om)) {
				return -1;
			}
			if (oh > 23 || om > 59)
				return -1;
			offset_min = sign * (oh * 60 + om);
		}
	}
	if (*p != '\0')
		return -1;
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	/* -1 is also 1969-12-31T23:59:59Z: only errno tells an overflow */
	errno = 0;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && errno != 0)
		return -1;
	int64_t result = ((int64_t)t - (int64_t)offset_min * 60) * 1000 + ms;
	/* an offset can carry 0000-01-01 or 9999-12-31 out of the four-digit years */
	if (result < ISO8601_MIN_MS || result > ISO8601_MAX_MS)
		return -1;
	*ms_out = result;
	return 0;
}
