/*
 * fuzz_http_headers.c - the HTTP response headers refsync reads from Lever
 * and Crosschq (sync/http_text.c): picking a header's value out of a raw header
 * line (http_header_value, as libcurl hands lines over) and the two waits
 * (http_parse_retry_after: delta seconds or an HTTP date;
 * http_parse_ratelimit_reset: epoch seconds, epoch ms or delta seconds).
 *
 * Input: bytes 0-7 are the clock (epoch ms, little-endian, taken modulo
 * year 2200 so that it is a clock refsync could have), then the raw header
 * line (any bytes, NUL included, with or without its CRLF).
 *
 * Checked, as http.h promises:
 *  - the value is NUL-terminated inside its 64-byte buffer, starts with no
 *    blank and ends with no blank, CR or LF; a line that is not the header
 *    leaves the buffer alone;
 *  - each wait is -1 (unparsable) or at least 0, and no arithmetic on a
 *    hostile value overflows (UBSan); the same value parsed twice gives the
 *    same wait; a Retry-After of plain digits waits at most one day.
 */
#include "fuzz.h"
#include "http.h"
#include "util.h"

#include <ctype.h>
#include <string.h>

#define YEAR_2200_MS 7258118400000LL
#define UNTOUCHED "\x01untouched"

/* Check one header value buffer of 64 bytes filled by http_header_value. */
static void check_value(const char *v, size_t cap)
{
	FUZZ_CHECK(memchr(v, '\0', cap) != NULL);
	if (strcmp(v, UNTOUCHED) == 0)
		return;
	size_t n = strlen(v);
	FUZZ_CHECK(n == 0 || (v[0] != ' ' && v[0] != '\t'));
	FUZZ_CHECK(n == 0 || (v[n - 1] != ' ' && v[n - 1] != '\r' && v[n - 1] != '\n'));
}

/* Both parsers on value, with their promises. */
static void check_waits(const char *value, int64_t now)
{
	int64_t ra = http_parse_retry_after(value, now);
	FUZZ_CHECK(ra == -1 || ra >= 0);
	FUZZ_CHECK(http_parse_retry_after(value, now) == ra);
	if (value[0] && strspn(value, "0123456789") == strlen(value))
		FUZZ_CHECK(ra >= 0 && ra <= 86400LL * 1000);
	int64_t rr = http_parse_ratelimit_reset(value, now);
	FUZZ_CHECK(rr == -1 || rr >= 0);
	FUZZ_CHECK(http_parse_ratelimit_reset(value, now) == rr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t clock = 0;
	for (size_t i = 0; i < 8 && i < size; i++)
		clock |= (uint64_t)data[i] << (8 * i);
	int64_t now = (int64_t)(clock % (uint64_t)YEAR_2200_MS);
	const char *line = size > 8 ? (const char *)data + 8 : "";
	size_t n = size > 8 ? size - 8 : 0;
	/* the line in an allocation of its exact size: ASan sees any read past it */
	char *copy = xmalloc(n ? n : 1);
	memcpy(copy, line, n);

	static const char *const names[] = { "Retry-After", "X-RateLimit-Reset" };
	for (size_t i = 0; i < 2; i++) {
		char value[64];
		snprintf(value, sizeof value, "%s", UNTOUCHED);
		http_header_value(copy, n, names[i], value, sizeof value);
		check_value(value, sizeof value);
		if (strcmp(value, UNTOUCHED) != 0)
			check_waits(value, now);
	}
	/* the whole line as a value too (a header value may hold anything) */
	char *text = xstrndup(copy, n);
	check_waits(text, now);
	free(text);
	free(copy);
	return 0;
}
