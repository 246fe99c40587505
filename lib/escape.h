/*
 * escape.h - making text from outside safe: refsync's one UTF-8 decoder
 * (utf8_decode, used by mail headers too), its one HTML escaper (the
 * exports' reports and refsync-hook's answer page) and the export formats.
 *
 * Everything here is a pure function of its input: no database, no files.
 * Text from the database (names, tags, remote messages) may hold anything:
 * invalid UTF-8, control bytes, markup, spreadsheet formulas. The rules:
 *
 *  - invalid UTF-8 becomes U+FFFD, one per maximal ill-formed subpart
 *    (the Unicode "substitution of maximal subparts" practice);
 *  - C0 controls other than tab, LF and CR, DEL, the C1 controls
 *    (U+0080..U+009F) and the non-characters U+FFFE/U+FFFF also become
 *    U+FFFD: they are not allowed in XML 1.0, are parse errors in HTML and
 *    can drive a terminal that displays a CSV file;
 *  - CSV (RFC 4180): a cell is quoted when it holds a comma, a double quote,
 *    CR or LF, and quotes are doubled. A cell that starts with = + - @, tab
 *    or CR (or their fullwidth forms U+FF1D U+FF0B U+FF0D U+FF20) is
 *    neutralized as OWASP advises: a single quote is put in front and the
 *    cell is quoted, so that no spreadsheet runs it as a formula;
 *  - HTML: & < > " ' become entities;
 *  - XML: only sanitized here; libxml2's writer escapes the markup.
 *
 * Output goes to a sink, so that long cells stream through without a
 * per-cell allocation.
 */
#ifndef REFSYNC_ESCAPE_H
#define REFSYNC_ESCAPE_H

#include <stddef.h>

struct buf;

/*
 * Where escaped text goes: refsync's one writer type. write returns 0, or -1
 * when it failed (the sink keeps its own error; callers stop at the first
 * -1). The two destinations behind it stay separate types because they own
 * different things: a struct buf (buf.h) is text in memory with a hard
 * maximum (sink_for_buf), a struct output (export/output.h) is a file
 * written atomically with its digest (output_sink). The escapers write only
 * to a sink; the export formats write their own fixed markup straight to
 * their struct output (output_puts, output_printf).
 */
struct sink {
	int (*write)(void *ctx, const char *data, size_t len);
	void *ctx;
};

/* The UTF-8 encoding of U+FFFD, the replacement character. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/*
 * Length of the well-formed UTF-8 sequence at s (at most len bytes) and its
 * code point in *cp; or 0 when s starts an ill-formed sequence, then
 * *bad_len is the length of its maximal subpart (1..3) to replace with one
 * U+FFFD. len must be > 0.
 */
size_t utf8_decode(const unsigned char *s, size_t len, unsigned *cp, size_t *bad_len);

/* 1 when code point cp is replaced by U+FFFD in every format (see above). */
int text_char_forbidden(unsigned cp);

/* 1 when s[0..len) is well-formed UTF-8 without a forbidden character,
 * i.e. text_sanitize would copy it unchanged. */
int text_is_clean(const char *s, size_t len);

/* Write s[0..len) with invalid UTF-8 and forbidden characters replaced by
 * U+FFFD. Returns 0 or -1 (sink failed). */
int text_sanitize(const struct sink *out, const char *s, size_t len);

/* Sanitize s[0..len) into b (reset first), NUL-terminated: for APIs such as
 * libxml2's writer that take C strings. Returns 0, or -1 when b's maximum
 * was reached. */
int text_sanitize_to_buf(struct buf *b, const char *s, size_t len);

/* 1 when a CSV cell holding s[0..len) must be neutralized (it starts with
 * a character a spreadsheet takes as the start of a formula). */
int csv_cell_is_formula(const char *s, size_t len);

/* Write one CSV text cell (no separator): sanitized, neutralized when it
 * looks like a formula, quoted when needed. Returns 0 or -1 (sink failed). */
int csv_write_cell(const struct sink *out, const char *s, size_t len);

/* Write s[0..len) sanitized, with & < > " ' as HTML entities, fit for both
 * element content and quoted attribute values. Returns 0 or -1. */
int html_write_escaped(const struct sink *out, const char *s, size_t len);

/*
 * Where to cut s[0..len) so that the first piece has at most max bytes
 * and no UTF-8 sequence is split: sanitizing the pieces one by one gives the
 * same text as sanitizing the whole (for max >= 4; a smaller max may give
 * an empty piece). Returns the cut (len when len <= max).
 */
size_t utf8_cut(const char *s, size_t len, size_t max);

/* A sink that appends to a struct buf (for tests and small strings). */
struct sink sink_for_buf(struct buf *b);

#endif
