/*
 * fuzz_escape.c - the export escaping (lib/escape.c: UTF-8 sanitizing,
 * CSV cells, HTML text, utf8_cut) and the answer links
 * (lib/answer_link.c: answer_link_verify, answer_link_param, and the
 * build/verify round trip) on arbitrary bytes.
 *
 * Input: byte 0 sets the cut size for utf8_cut (4 + byte % 61); the rest is
 * the text (for the links: as a C string, up to its first NUL).
 *
 * Checked, as escape.h and answer_link.h promise:
 *  - text_sanitize's output is clean, and the input is clean exactly when
 *    sanitizing leaves it unchanged; text_sanitize_to_buf gives the same;
 *  - sanitizing the two pieces of utf8_cut gives the sanitized whole, and
 *    the cut is within bounds (never 0 for a non-empty text);
 *  - a CSV cell read back (RFC 4180) is the sanitized text, with a leading
 *    quote exactly when it is a formula; an unquoted cell holds no , " CR LF;
 *  - HTML text holds no raw & < > " ' and un-escapes to the sanitized text;
 *  - a link built for an id verifies to that id until it expires, then -2;
 *    answer_link_verify on any text returns 0, -1 or -2 and an id only on 0.
 */
#include "answer_link.h"
#include "escape.h"
#include "fuzz.h"
#include "util.h"

#include <string.h>

#define SECRET "fuzz-answer-secret-00112233445566778899"
/* the pinned clock: 2026-11-28T00:00:00Z */
#define NOW_S 1795824000LL

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("REFSYNC_TEST_NOW", "1795824000000", 1);
	return 0;
}

/* A sink into a buf large enough for any escaped input. */
static struct buf new_buf(void)
{
	struct buf b;
	buf_init(&b, 64 * 1024 * 1024);
	return b;
}

static const char *text_of(const struct buf *b)
{
	return b->data ? b->data : "";
}

static int same(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Read a CSV cell back (RFC 4180) into out. Returns 0, or -1 when it is not
 * a well-formed cell. */
static int csv_read_cell(const struct buf *cell, struct buf *out)
{
	const char *s = text_of(cell);
	size_t n = cell->len;
	if (n == 0 || s[0] != '"') {
		if (memchr(s, '"', n) || memchr(s, ',', n) || memchr(s, '\r', n) || memchr(s, '\n', n))
			return -1;
		return buf_append(out, s, n);
	}
	if (n < 2 || s[n - 1] != '"')
		return -1;
	for (size_t i = 1; i < n - 1; i++) {
		if (s[i] == '"') {
			if (i + 1 >= n - 1 || s[i + 1] != '"')
				return -1; /* a lone quote inside */
			i++;
		}
		if (buf_append(out, s + i, 1))
			return -1;
	}
	return 0;
}

/* Undo the HTML escaping into out. Returns 0, or -1 when a special
 * character is raw or an entity is not one of the five. */
static int html_unescape(const struct buf *html, struct buf *out)
{
	static const struct {
		const char *entity;
		char c;
	} entities[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&#39;", '\'' } };
	const char *s = text_of(html);
	for (size_t i = 0; i < html->len;) {
		char c = s[i];
		if (c == '<' || c == '>' || c == '"' || c == '\'')
			return -1;
		if (c != '&') {
			if (buf_append(out, &c, 1))
				return -1;
			i++;
			continue;
		}
		size_t k;
		for (k = 0; k < 5; k++) {
			size_t n = strlen(entities[k].entity);
			if (html->len - i >= n && memcmp(s + i, entities[k].entity, n) == 0) {
				if (buf_append(out, &entities[k].c, 1))
					return -1;
				i += n;
				break;
			}
		}
		if (k == 5)
			return -1;
	}
	return 0;
}

static void check_text(const char *text, size_t len, size_t max)
{
	struct buf clean = new_buf(), again = new_buf(), piece = new_buf(), csv = new_buf(), back = new_buf(),
		   want = new_buf(), html = new_buf(), to_buf = new_buf();
	struct sink out = sink_for_buf(&clean);

	/* sanitizing */
	FUZZ_CHECK(text_sanitize(&out, text, len) == 0);
	FUZZ_CHECK(text_is_clean(text_of(&clean), clean.len));
	int is_clean = text_is_clean(text, len);
	int unchanged = clean.len == len && (len == 0 || memcmp(clean.data, text, len) == 0);
	FUZZ_CHECK(is_clean == unchanged);
	out = sink_for_buf(&again);
	FUZZ_CHECK(text_sanitize(&out, text_of(&clean), clean.len) == 0);
	FUZZ_CHECK(same(&clean, &again));
	FUZZ_CHECK(text_sanitize_to_buf(&to_buf, text, len) == 0);
	FUZZ_CHECK(to_buf.data && same(&clean, &to_buf) && to_buf.data[to_buf.len] == '\0');

	/* cutting: the pieces sanitize to the whole */
	size_t cut = utf8_cut(text, len, max);
	FUZZ_CHECK(cut <= len && cut <= (len <= max ? len : max));
	FUZZ_CHECK(len == 0 || cut > 0);
	FUZZ_CHECK(len > max || cut == len);
	out = sink_for_buf(&piece);
	FUZZ_CHECK(text_sanitize(&out, text, cut) == 0);
	FUZZ_CHECK(text_sanitize(&out, text + cut, len - cut) == 0);
	FUZZ_CHECK(same(&clean, &piece));

	/* CSV */
	out = sink_for_buf(&csv);
	FUZZ_CHECK(csv_write_cell(&out, text, len) == 0);
	FUZZ_CHECK(csv_read_cell(&csv, &back) == 0);
	int formula = csv_cell_is_formula(text, len);
	if (formula)
		FUZZ_CHECK(csv.len > 0 && csv.data[0] == '"');
	if (formula)
		buf_append(&want, "'", 1);
	buf_append(&want, text_of(&clean), clean.len);
	FUZZ_CHECK(same(&back, &want));
	if (clean.len && (memchr(clean.data, ',', clean.len) || memchr(clean.data, '"', clean.len) ||
			  memchr(clean.data, '\r', clean.len) || memchr(clean.data, '\n', clean.len)))
		FUZZ_CHECK(csv.data[0] == '"');

	/* HTML */
	out = sink_for_buf(&html);
	FUZZ_CHECK(html_write_escaped(&out, text, len) == 0);
	buf_reset(&back);
	FUZZ_CHECK(html_unescape(&html, &back) == 0);
	FUZZ_CHECK(same(&back, &clean));

	buf_free(&clean);
	buf_free(&again);
	buf_free(&piece);
	buf_free(&csv);
	buf_free(&back);
	buf_free(&want);
	buf_free(&html);
	buf_free(&to_buf);
}

/* The answer links on the text. */
static void check_links(const char *params)
{
	char *id = NULL, *value = NULL;
	int64_t expiry = -1;
	int r = answer_link_verify(SECRET, params, &id, &expiry);
	FUZZ_CHECK(r == 0 || r == -1 || r == -2);
	FUZZ_CHECK((r == 0) == (id != NULL));
	if (id)
		FUZZ_CHECK(strlen(id) <= ANSWER_LINK_ID_MAX && expiry >= NOW_S);
	free(id);
	r = answer_link_param(params, "r", &value);
	FUZZ_CHECK(r == 1 || r == 0 || r == -1);
	FUZZ_CHECK((r == 1) == (value != NULL));
	free(value);

	/* round trip: the text as a request id */
	size_t n = strlen(params);
	if (n == 0 || n > ANSWER_LINK_ID_MAX) {
		FUZZ_CHECK(answer_link_build("https://h/answer", SECRET, params, NOW_S) == NULL);
		return;
	}
	static const char *urls[] = { "https://refsync.example.com/cgi-bin/refsync-hook/answer",
				      "https://h/answer?lang=en" };
	for (int u = 0; u < 2; u++) {
		for (int expired = 0; expired < 2; expired++) {
			int64_t e = expired ? NOW_S - 1 : NOW_S + 86400;
			char *link = answer_link_build(urls[u], SECRET, params, e);
			FUZZ_CHECK(link != NULL);
			FUZZ_CHECK(strncmp(link, urls[u], strlen(urls[u])) == 0);
			const char *query = strchr(link, '?') + 1;
			id = NULL;
			expiry = -1;
			r = answer_link_verify(SECRET, query, &id, &expiry);
			FUZZ_CHECK(r == (expired ? -2 : 0) && expiry == e);
			if (!expired)
				FUZZ_CHECK(id && strcmp(id, params) == 0);
			free(id);
			/* a different secret refuses it */
			FUZZ_CHECK(answer_link_verify(SECRET "x", query, NULL, NULL) == -1);
			free(link);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max = 4 + data[0] % 61;
	size_t len = size - 1;
	/* the text in an allocation of its exact size */
	char *text = xmalloc(len ? len : 1);
	memcpy(text, data + 1, len);
	check_text(text, len, max);
	free(text);

	char *params = xstrndup((const char *)data + 1, len);
	check_links(params);
	free(params);
	return 0;
}
