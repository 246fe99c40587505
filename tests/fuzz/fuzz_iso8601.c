/*
 * fuzz_iso8601.c - ISO 8601 times (lib/clock.c): parse_iso8601 reads what
 * Lever, Crosschq and the command line send, format_iso8601 writes what
 * refsync sends and shows.
 *
 * Input: bytes 0-7 are a time t (epoch ms, little-endian, any int64); the
 * rest, up to its first NUL, is a text x.
 *
 * Checked (the round trip):
 *  - when parse(x) succeeds with u: format(u) parses back to u, and
 *    formatting that again gives the same text (format(parse(x)) is stable);
 *    with_ms = 0 gives u without its milliseconds;
 *  - for every t within the years 0000-9999: parse(format(t)) == t, and the
 *    text has the promised shape (24 characters with ms, 20 without);
 *  - for any t: the text is NUL-terminated in its buffer (t outside those
 *    years is written as the nearest time inside them).
 */
#include "fuzz.h"
#include "util.h"

#include <string.h>

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
#define MIN_MS (-62167219200000LL)
#define MAX_MS (253402300799999LL)

/* The floor of t to a whole second. */
static int64_t whole_second(int64_t t)
{
	return t >= 0 ? t - t % 1000 : t - ((t % 1000) + 1000) % 1000;
}

/* parse(format(t)) == t for t in range, for both formats. */
static void round_trip(int64_t t)
{
	char a[64], b[64];
	int64_t back = 0;
	FUZZ_CHECK(t >= MIN_MS && t <= MAX_MS);
	format_iso8601(t, 1, a, sizeof a);
	FUZZ_CHECK(strlen(a) == 24 && a[23] == 'Z' && a[10] == 'T');
	FUZZ_CHECK(parse_iso8601(a, &back) == 0 && back == t);
	format_iso8601(back, 1, b, sizeof b);
	FUZZ_CHECK(strcmp(a, b) == 0);
	format_iso8601(t, 0, a, sizeof a);
	FUZZ_CHECK(strlen(a) == 20 && a[19] == 'Z');
	FUZZ_CHECK(parse_iso8601(a, &back) == 0 && back == whole_second(t));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t raw = 0;
	for (size_t i = 0; i < 8 && i < size; i++)
		raw |= (uint64_t)data[i] << (8 * i);
	int64_t t = (int64_t)raw;
	char *x = xstrndup(size > 8 ? (const char *)data + 8 : "", size > 8 ? size - 8 : 0);

	int64_t u = 0;
	if (parse_iso8601(x, &u) == 0)
		round_trip(u);

	char out[64];
	memset(out, 'x', sizeof out);
	format_iso8601(t, 1, out, sizeof out);
	FUZZ_CHECK(memchr(out, '\0', sizeof out) != NULL);
	if (t >= MIN_MS && t <= MAX_MS)
		round_trip(t);
	else
		FUZZ_CHECK(strcmp(out, t < 0 ? "0000-01-01T00:00:00.000Z" : "9999-12-31T23:59:59.999Z") == 0);
	/* a buffer too small is cut, never overrun */
	char small[8];
	format_iso8601(t, 1, small, sizeof small);
	FUZZ_CHECK(memchr(small, '\0', sizeof small) != NULL);
	free(x);
	return 0;
}
