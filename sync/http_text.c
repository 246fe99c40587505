/*
 * http_text.c - the text of HTTP that needs no client: a header's value out
 * of a raw header line, Retry-After and X-RateLimit-Reset as a wait, and
 * ids percent-encoded into a path. Pure functions (see http.h).
 */
#include "http.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* See http.h. */
void http_header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t len = (size_t)(end - v);
	/* refused rather than cut or read up to a NUL: a value cut short could
	 * read as another wait */
	int bad = len >= outlen;
	for (const char *p = v; p < end && !bad; p++)
		bad = (unsigned char)*p < 0x20 && *p != '\t';
	if (bad)
		len = 0;
	memcpy(out, v, len);
	out[len] = '\0';
}

/* See http.h. */
char *http_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(e ? e : "");
	curl_free(e);
	return r;
}

/* See http.h. */
void http_path_with_id(struct buf *p, const char *before, const char *id, const char *after)
{
	char *e = http_escape(id);
	buf_printf(p, "%s%s%s", before, e, after);
	free(e);
}

/* See http.h. */
int64_t http_parse_retry_after(const char *value, int64_t now_epoch_ms)
{
	if (!value || !*value)
		return -1;
	const char *p = value;
	while (isdigit((unsigned char)*p))
		p++;
	if (p != value && *p == '\0') {
		long long s = strtoll(value, NULL, 10);
		if (s > 86400)
			s = 86400;
		return (int64_t)s * 1000;
	}
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1)
		return -1;
	/* in seconds first: a date centuries away must not overflow */
	int64_t now_s = now_epoch_ms / 1000;
	if ((int64_t)t <= now_s)
		return 0;
	if ((int64_t)t - now_s > 86400)
		return 86400 * 1000;
	int64_t wait = ((int64_t)t - now_s) * 1000 - now_epoch_ms % 1000;
	return wait < 0 ? 0 : wait;
}

/* See http.h. */
int64_t http_parse_ratelimit_reset(const char *value, int64_t now_epoch_ms)
{
	if (!value || !*value)
		return -1;
	char *end;
	double v = strtod(value, &end);
	/* a server's header: refuse anything that is not a plain, sane number */
	if (end == value || *end != '\0' || !(v >= 0) || v > 1e14)
		return -1;
	int64_t wait;
	if (v > 1e12) /* epoch milliseconds */
		wait = (int64_t)v - now_epoch_ms;
	else if (v > 1e9) /* epoch seconds */
		wait = (int64_t)(v * 1000) - now_epoch_ms;
	else /* seconds from now */
		wait = (int64_t)(v * 1000);
	return wait < 0 ? 0 : wait;
}
