/*
 * test_escape.c - lib/escape.c: UTF-8 decoding and sanitizing, CSV cells
 * (RFC 4180 quoting, OWASP formula neutralizing), HTML escaping, safe cuts.
 * Every case asserts the exact bytes written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "escape.h"
#include "util.h"

#define FFFD UTF8_REPLACEMENT

/* Which writer a case runs through. */
enum writer { WRITE_SANITIZE, WRITE_CSV, WRITE_HTML };

/* Run in[0..len) through writer; assert the output is exactly want. */
static void check_len(enum writer w, const char *in, size_t len, const char *want)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	struct sink out = sink_for_buf(&b);
	int rc = w == WRITE_SANITIZE ? text_sanitize(&out, in, len)
		 : w == WRITE_CSV    ? csv_write_cell(&out, in, len)
				     : html_write_escaped(&out, in, len);
	assert_int_equal(rc, 0);
	assert_int_equal(b.len, strlen(want));
	if (b.len)
		assert_memory_equal(b.data, want, b.len);
	buf_free(&b);
}

static void check(enum writer w, const char *in, const char *want)
{
	check_len(w, in, strlen(in), want);
}

static void test_utf8_decode_valid(void **state)
{
	(void)state;
	unsigned cp = 0;
	size_t bad = 0;
	assert_int_equal(utf8_decode((const unsigned char *)"A", 1, &cp, &bad), 1);
	assert_int_equal(cp, 'A');
	assert_int_equal(utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp, &bad), 2);
	assert_int_equal(cp, 0xE9);
	assert_int_equal(utf8_decode((const unsigned char *)"\xE2\x82\xAC", 3, &cp, &bad), 3);
	assert_int_equal(cp, 0x20AC);
	assert_int_equal(utf8_decode((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp, &bad), 4);
	assert_int_equal(cp, 0x1F600);
	assert_int_equal(utf8_decode((const unsigned char *)"\xF4\x8F\xBF\xBF", 4, &cp, &bad), 4);
	assert_int_equal(cp, 0x10FFFF);
}

static void test_utf8_decode_maximal_subparts(void **state)
{
	(void)state;
	unsigned cp;
	size_t bad = 0;
	static const struct {
		const char *in;
		size_t len, bad;
	} cases[] = {
		{ "\x80", 1, 1 },             /* stray continuation */
		{ "\xC0\xAF", 2, 1 },         /* overlong lead */
		{ "\xC1\xBF", 2, 1 },
		{ "\xF5\x80\x80\x80", 4, 1 }, /* above U+10FFFF by lead */
		{ "\xFF", 1, 1 },
		{ "\xC3", 1, 1 },             /* cut at the end */
		{ "\xC3(", 2, 1 },
		{ "\xE2\x82", 2, 2 },         /* cut 3-byte sequence */
		{ "\xE2\x82(", 3, 2 },
		{ "\xE0\x80\x80", 3, 1 },     /* overlong 3-byte */
		{ "\xED\xA0\x80", 3, 1 },     /* surrogate U+D800 */
		{ "\xF0\x8F\xBF\xBF", 4, 1 }, /* overlong 4-byte */
		{ "\xF4\x90\x80\x80", 4, 1 }, /* U+110000 */
		{ "\xF0\x9F\x98", 3, 3 },     /* cut 4-byte sequence */
		{ "\xF0\x9F\x98" "A", 4, 3 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(utf8_decode((const unsigned char *)cases[i].in, cases[i].len, &cp, &bad), 0);
		assert_int_equal(bad, cases[i].bad);
	}
}

static void test_forbidden_characters(void **state)
{
	(void)state;
	assert_false(text_char_forbidden('\t'));
	assert_false(text_char_forbidden('\n'));
	assert_false(text_char_forbidden('\r'));
	assert_false(text_char_forbidden(' '));
	assert_false(text_char_forbidden(0xA0));
	assert_false(text_char_forbidden(0xFFFD));
	assert_false(text_char_forbidden(0x10FFFF));
	assert_true(text_char_forbidden(0));
	assert_true(text_char_forbidden(0x1B));
	assert_true(text_char_forbidden(0x0B));
	assert_true(text_char_forbidden(0x7F));
	assert_true(text_char_forbidden(0x85));
	assert_true(text_char_forbidden(0x9B));
	assert_true(text_char_forbidden(0xFFFE));
	assert_true(text_char_forbidden(0xFFFF));
}

static void test_text_is_clean(void **state)
{
	(void)state;
	assert_true(text_is_clean("", 0));
	assert_true(text_is_clean("plain text, tab\tnewline\n", 24));
	assert_true(text_is_clean("Jos\xC3\xA9 \xE2\x82\xAC", 9));
	assert_false(text_is_clean("a\x01", 2));
	assert_false(text_is_clean("a\0b", 3));
	assert_false(text_is_clean("a\xFF", 2));
	assert_false(text_is_clean("\xC2\x9B", 2)); /* C1 CSI */
	assert_false(text_is_clean("\xEF\xBF\xBE", 3)); /* U+FFFE */
}

static void test_sanitize(void **state)
{
	(void)state;
	check(WRITE_SANITIZE, "", "");
	check(WRITE_SANITIZE, "Ada <b>&\"'", "Ada <b>&\"'");
	check(WRITE_SANITIZE, "tab\tLF\nCR\r", "tab\tLF\nCR\r");
	check(WRITE_SANITIZE, "Ctl\x01\x1B[31mRed\x7F", "Ctl" FFFD FFFD "[31mRed" FFFD);
	check(WRITE_SANITIZE, "Bad\xFF\xC3(\xED\xA0\x80Name", "Bad" FFFD FFFD "(" FFFD FFFD FFFD "Name");
	check(WRITE_SANITIZE, "cut \xE2\x82", "cut " FFFD);
	check(WRITE_SANITIZE, "\xF0\x9F\x98\x80 ok", "\xF0\x9F\x98\x80 ok");
	check(WRITE_SANITIZE, "c1 \xC2\x85 \xC2\xA0", "c1 " FFFD " \xC2\xA0");
	check_len(WRITE_SANITIZE, "nul\0byte", 8, "nul" FFFD "byte");
}

static void test_sanitize_to_buf(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(text_sanitize_to_buf(&b, "", 0), 0);
	assert_string_equal(b.data, "");
	assert_int_equal(text_sanitize_to_buf(&b, "x\x02y", 3), 0);
	assert_string_equal(b.data, "x" FFFD "y");
	assert_int_equal(text_sanitize_to_buf(&b, "again", 5), 0);
	assert_string_equal(b.data, "again");
	/* the buffer's maximum is respected */
	char big[100];
	memset(big, 'a', sizeof big);
	assert_int_equal(text_sanitize_to_buf(&b, big, sizeof big), -1);
	buf_free(&b);
}

static void test_csv_plain_and_quoted(void **state)
{
	(void)state;
	check(WRITE_CSV, "", "");
	check(WRITE_CSV, "Ada Lovelace", "Ada Lovelace");
	check(WRITE_CSV, "Engineer, Platform", "\"Engineer, Platform\"");
	check(WRITE_CSV, "say \"hi\"", "\"say \"\"hi\"\"\"");
	check(WRITE_CSV, "two\nlines", "\"two\nlines\"");
	check(WRITE_CSV, "cr\rhere", "\"cr\rhere\"");
	check(WRITE_CSV, "tab\tinside", "tab\tinside");
	check(WRITE_CSV, "Jos\xC3\xA9", "Jos\xC3\xA9");
	check(WRITE_CSV, "bad\xFF", "bad" FFFD);
	check(WRITE_CSV, "bad\xFF, \"q\"", "\"bad" FFFD ", \"\"q\"\"\"");
	check(WRITE_CSV, "<script>alert(1)</script>", "<script>alert(1)</script>");
	check(WRITE_CSV, "a-b=c+d@e", "a-b=c+d@e"); /* only the start matters */
}

/* The eight-bytes-at-a-time scan: each byte that decides quoting or
 * sanitizing is found at every position of a cell of 1 to 20 bytes. */
static void test_csv_every_position(void **state)
{
	(void)state;
	static const struct {
		const char *byte, *plain_as, *quoted; /* quoted: 1 when the cell is */
	} cases[] = {
		{ ",", ",", "1" }, { "\"", "\"\"", "1" }, { "\n", "\n", "1" }, { "\r", "\r", "1" },
		{ "\x01", FFFD, "" }, { "\x7F", FFFD, "" }, { "\xFF", FFFD, "" }, { "\xC3\xA9", "\xC3\xA9", "" },
		{ "\t", "\t", "" }, { "~", "~", "" }, { " ", " ", "" },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (size_t len = 1; len <= 20; len++) {
			for (size_t at = 1; at < len; at++) { /* not at 0: a leading tab is a formula */
				char in[64] = "", want[128] = "";
				for (size_t i = 0; i < len; i++)
					strcat(in, i == at ? cases[c].byte : "x");
				if (cases[c].quoted[0])
					strcat(want, "\"");
				for (size_t i = 0; i < len; i++)
					strcat(want, i == at ? cases[c].plain_as : "x");
				if (cases[c].quoted[0])
					strcat(want, "\"");
				check(WRITE_CSV, in, want);
			}
		}
	}
}

static void test_csv_formulas_neutralized(void **state)
{
	(void)state;
	check(WRITE_CSV, "=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	check(WRITE_CSV, "=1+1", "\"'=1+1\"");
	check(WRITE_CSV, "+1", "\"'+1\"");
	check(WRITE_CSV, "-2", "\"'-2\"");
	check(WRITE_CSV, "@SUM(A1)", "\"'@SUM(A1)\"");
	check(WRITE_CSV, "\t=1", "\"'\t=1\"");
	check(WRITE_CSV, "\r=1", "\"'\r=1\"");
	check(WRITE_CSV, "=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"");
	check(WRITE_CSV, "\xEF\xBC\x9D" "1+1", "\"'\xEF\xBC\x9D" "1+1\""); /* fullwidth = */
	check(WRITE_CSV, "\xEF\xBC\xA0x", "\"'\xEF\xBC\xA0x\"");        /* fullwidth @ */
	check(WRITE_CSV, "\xEF\xBC\xA1x", "\xEF\xBC\xA1x");             /* fullwidth A: fine */
	check(WRITE_CSV, " =1", " =1");
	check(WRITE_CSV, "\x01=1", FFFD "=1"); /* the control goes, no formula remains */
	assert_true(csv_cell_is_formula("=", 1));
	assert_false(csv_cell_is_formula("", 0));
	assert_false(csv_cell_is_formula("a=", 2));
	assert_false(csv_cell_is_formula("\xEF\xBC", 2));
}

static void test_html_escaping(void **state)
{
	(void)state;
	check(WRITE_HTML, "", "");
	check(WRITE_HTML, "Ada", "Ada");
	check(WRITE_HTML, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
	check(WRITE_HTML, "a & b \"c\" 'd'", "a &amp; b &quot;c&quot; &#39;d&#39;");
	check(WRITE_HTML, "&amp;", "&amp;amp;");
	check(WRITE_HTML, "x\x1B[2J\x07y", "x" FFFD "[2J" FFFD "y");
	check(WRITE_HTML, "<\xFF>", "&lt;" FFFD "&gt;");
	check(WRITE_HTML, "line\nnext\ttab", "line\nnext\ttab");
	check(WRITE_HTML, "\xE2\x80\xAE rtl", "\xE2\x80\xAE rtl");
}

/* A sink that fails after n bytes. */
static int failing_write(void *ctx, const char *data, size_t len)
{
	(void)data;
	size_t *left = ctx;
	if (len > *left)
		return -1;
	*left -= len;
	return 0;
}

static void test_sink_failure_is_reported(void **state)
{
	(void)state;
	size_t left = 3;
	struct sink out = { failing_write, &left };
	assert_int_equal(csv_write_cell(&out, "=1+1, long enough", 17), -1);
	left = 3;
	assert_int_equal(html_write_escaped(&out, "<<<<", 4), -1);
	left = 100;
	assert_int_equal(html_write_escaped(&out, "<<<<", 4), 0);
	assert_int_equal(left, 84);
}

static void test_utf8_cut(void **state)
{
	(void)state;
	/* "ab" then U+20AC (3 bytes): a cut inside the euro sign moves before it */
	const char *s = "ab\xE2\x82\xAC" "cd";
	assert_int_equal(utf8_cut(s, 7, 100), 7);
	assert_int_equal(utf8_cut(s, 7, 5), 5);
	assert_int_equal(utf8_cut(s, 7, 4), 2);
	assert_int_equal(utf8_cut(s, 7, 3), 2);
	/* a run of stray continuation bytes is cut anywhere */
	const char *stray = "\x80\x80\x80\x80\x80\x80\x80\x80";
	assert_int_equal(utf8_cut(stray, 8, 5), 5);
	/* 4-byte sequence right before the cut stays whole */
	const char *emoji = "a\xF0\x9F\x98\x80" "b";
	assert_int_equal(utf8_cut(emoji, 6, 4), 1);
	assert_int_equal(utf8_cut(emoji, 6, 5), 5);
}

/* Sanitizing in pieces cut by utf8_cut equals sanitizing the whole. */
static void test_utf8_cut_pieces_match_whole(void **state)
{
	(void)state;
	static const char text[] = "x\xE2\x82\xAC\xF0\x9F\x98\x80\xFF\xC3(\xE2\x82\x80\x80\x80\xED\xA0\x80"
				   "\x01\xC3\xA9z";
	size_t len = sizeof text - 1;
	struct buf whole, pieces;
	buf_init(&whole, 4096);
	buf_init(&pieces, 4096);
	struct sink w = sink_for_buf(&whole), p = sink_for_buf(&pieces);
	assert_int_equal(text_sanitize(&w, text, len), 0);
	for (size_t max = 4; max <= len; max++) {
		buf_reset(&pieces);
		const char *s = text;
		size_t left = len;
		while (left) {
			size_t cut = utf8_cut(s, left, max);
			assert_true(cut > 0 && cut <= max);
			assert_int_equal(text_sanitize(&p, s, cut), 0);
			s += cut;
			left -= cut;
		}
		assert_int_equal(pieces.len, whole.len);
		assert_memory_equal(pieces.data, whole.data, whole.len);
	}
	buf_free(&whole);
	buf_free(&pieces);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_decode_valid),
		cmocka_unit_test(test_utf8_decode_maximal_subparts),
		cmocka_unit_test(test_forbidden_characters),
		cmocka_unit_test(test_text_is_clean),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_to_buf),
		cmocka_unit_test(test_csv_plain_and_quoted),
		cmocka_unit_test(test_csv_every_position),
		cmocka_unit_test(test_csv_formulas_neutralized),
		cmocka_unit_test(test_html_escaping),
		cmocka_unit_test(test_sink_failure_is_reported),
		cmocka_unit_test(test_utf8_cut),
		cmocka_unit_test(test_utf8_cut_pieces_match_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
