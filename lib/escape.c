/*
 * escape.c - UTF-8 sanitizing, CSV cells (RFC 4180 quoting, OWASP formula
 * neutralizing) and HTML escaping, written to a sink. See escape.h.
 */
#include "escape.h"
#include "util.h"

#include <string.h>

/* How each format treats the printable ASCII specials. */
enum escape_mode { ESCAPE_NONE, ESCAPE_CSV, ESCAPE_HTML, ESCAPE_MODES };

/* Byte classes for the quick CSV scan. */
#define CLASS_QUOTE 1 /* the cell must be quoted: , " CR LF */
#define CLASS_CHECK 2 /* needs a closer look: controls, DEL, non-ASCII */

/* The byte class table for the CSV scan, built on first use. */
static const unsigned char *csv_classes(void)
{
	static unsigned char table[256];
	static int ready;
	if (!ready) {
		for (int c = 0; c < 256; c++) {
			unsigned char t = 0;
			if (c == ',' || c == '"' || c == '\r' || c == '\n')
				t |= CLASS_QUOTE;
			if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c >= 0x7f)
				t |= CLASS_CHECK;
			table[c] = t;
		}
		ready = 1;
	}
	return table;
}

/* Is b a UTF-8 continuation byte within [lo, hi]? */
static int cont_in(unsigned char b, unsigned char lo, unsigned char hi)
{
	return b >= lo && b <= hi;
}

/* Decode one UTF-8 sequence or measure its maximal ill-formed subpart. */
size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp, size_t *bad_len)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	unsigned value;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
		value = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		value = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		value = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else {
		*bad_len = 1; /* 80..C1, F5..FF never start a character */
		return 0;
	}
	size_t i = 1;
	for (; i < need; i++) {
		if (i >= len || !(i == 1 ? cont_in(s[i], lo, hi) : cont_in(s[i], 0x80, 0xBF))) {
			*bad_len = i;
			return 0;
		}
		value = (value << 6) | (s[i] & 0x3F);
	}
	*cp = value;
	return need;
}

/* 1 when cp is replaced by U+FFFD in every format. */
int text_char_forbidden(unsigned cp)
{
	if (cp < 0x20)
		return cp != '\t' && cp != '\n' && cp != '\r';
	if (cp >= 0x7F && cp <= 0x9F)
		return 1;
	return cp == 0xFFFE || cp == 0xFFFF;
}

/* 1 when sanitizing would leave s unchanged. */
int text_is_clean(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		if (c >= 0x20 && c < 0x7F) {
			i++;
			continue;
		}
		unsigned cp;
		size_t bad;
		size_t n = utf8_decode(p + i, len - i, &cp, &bad);
		if (!n || text_char_forbidden(cp))
			return 0;
		i += n;
	}
	return 1;
}

/* The replacement of printable ASCII byte c in mode, or NULL to copy it. */
static const char *ascii_replacement(unsigned char c, enum escape_mode mode)
{
	if (mode == ESCAPE_CSV)
		return c == '"' ? "\"\"" : NULL;
	if (mode == ESCAPE_HTML) {
		switch (c) {
		case '&':
			return "&amp;";
		case '<':
			return "&lt;";
		case '>':
			return "&gt;";
		case '"':
			return "&quot;";
		case '\'':
			return "&#39;";
		default:
			return NULL;
		}
	}
	return NULL;
}

/*
 * Copy s[0..len) to out, replacing what mode escapes and what is forbidden
 * everywhere. Unchanged runs are written in one call. Returns 0 or -1.
 */
static int write_escaped(const struct sink *out, const char *s, size_t len, enum escape_mode mode)
{
	/* the printable ASCII bytes mode copies as they are, looked up, not asked
	 * for one by one (most of an export's bytes) */
	static unsigned char plain[ESCAPE_MODES][256];
	static int ready;
	if (!ready) {
		for (int m = 0; m < ESCAPE_MODES; m++)
			for (int c = 0x20; c < 0x7F; c++)
				plain[m][c] = !ascii_replacement((unsigned char)c, (enum escape_mode)m);
		ready = 1;
	}
	const unsigned char *copy = plain[mode];
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	while (i < len) {
		if (copy[p[i]]) {
			i++;
			continue;
		}
		unsigned char c = p[i];
		const char *rep;
		size_t advance = 1;
		if (c >= 0x20 && c < 0x7F) {
			rep = ascii_replacement(c, mode);
			if (!rep) {
				i++;
				continue;
			}
		} else {
			unsigned cp;
			size_t bad;
			size_t n = utf8_decode(p + i, len - i, &cp, &bad);
			if (n && !text_char_forbidden(cp)) {
				i += n;
				continue;
			}
			rep = UTF8_REPLACEMENT;
			advance = n ? n : bad;
		}
		if (i > run && out->write(out->ctx, s + run, i - run))
			return -1;
		if (out->write(out->ctx, rep, strlen(rep)))
			return -1;
		i += advance;
		run = i;
	}
	if (i > run && out->write(out->ctx, s + run, i - run))
		return -1;
	return 0;
}

/* Write s with invalid UTF-8 and forbidden characters replaced. */
int text_sanitize(const struct sink *out, const char *s, size_t len)
{
	return write_escaped(out, s, len, ESCAPE_NONE);
}

/* Sink callback appending to a struct buf. */
static int buf_sink_write(void *ctx, const char *data, size_t len)
{
	return buf_append(ctx, data, len);
}

/* A sink appending to b. */
struct sink sink_for_buf(struct buf *b)
{
	struct sink s = { buf_sink_write, b };
	return s;
}

/* Sanitize s into b as a C string. */
int text_sanitize_to_buf(struct buf *b, const char *s, size_t len)
{
	struct sink out = sink_for_buf(b);
	buf_reset(b);
	if (write_escaped(&out, s, len, ESCAPE_NONE))
		return -1;
	/* an empty result still needs a terminated string */
	return b->data ? 0 : buf_append(b, "", 0);
}

/* Where to cut s to at most max bytes without splitting a sequence. */
size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	/* back up over continuation bytes to the start of a sequence; after
	 * three of them any further one cannot belong to a valid sequence */
	for (size_t back = 0; back < 4 && back <= max; back++) {
		unsigned char c = (unsigned char)s[max - back];
		if ((c & 0xC0) != 0x80)
			return max - back;
	}
	return max;
}

/* 1 when a spreadsheet would take the cell as a formula. */
int csv_cell_is_formula(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	switch (s[0]) {
	case '=':
	case '+':
	case '-':
	case '@':
	case '\t':
	case '\r':
		return 1;
	default:
		break;
	}
	/* fullwidth = + - @ (U+FF1D U+FF0B U+FF0D U+FF20), which some
	 * spreadsheets fold to their ASCII forms */
	if (len >= 3 && (unsigned char)s[0] == 0xEF) {
		unsigned char b1 = (unsigned char)s[1], b2 = (unsigned char)s[2];
		if (b1 == 0xBC && (b2 == 0x9D || b2 == 0x8B || b2 == 0x8D || b2 == 0xA0))
			return 1;
	}
	return 0;
}

/* Write one CSV text cell: sanitized, neutralized, quoted as needed. */
int csv_write_cell(const struct sink *out, const char *s, size_t len)
{
	const unsigned char *table = csv_classes();
	const unsigned char *p = (const unsigned char *)s;
	int formula = csv_cell_is_formula(s, len);
	unsigned char seen = 0;
	for (size_t i = 0; i < len; i++)
		seen |= table[p[i]];
	int quote = formula || (seen & CLASS_QUOTE);
	if (!quote) {
		if (!(seen & CLASS_CHECK))
			return out->write(out->ctx, s, len);
		return write_escaped(out, s, len, ESCAPE_NONE);
	}
	if (out->write(out->ctx, formula ? "\"'" : "\"", formula ? 2 : 1))
		return -1;
	if (write_escaped(out, s, len, ESCAPE_CSV))
		return -1;
	return out->write(out->ctx, "\"", 1);
}

/* Write s sanitized and HTML-escaped. */
int html_write_escaped(const struct sink *out, const char *s, size_t len)
{
	return write_escaped(out, s, len, ESCAPE_HTML);
}
