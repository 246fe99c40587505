/*
 * test_html_cells.c - which report URLs the HTML report makes links of
 * (export/html_cells.c): http and https only, nothing that could leave the
 * attribute or run (issue 18 item 7).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "html_cells.h"

/* 1 when the NUL-terminated s may be a link. */
static int linkable(const char *s)
{
	return html_url_linkable(s, strlen(s));
}

static void test_http_and_https_are_links(void **state)
{
	(void)state;
	assert_true(linkable("https://partner.crosschq.com/report/6571a2b3?view=full&lang=en"));
	assert_true(linkable("http://127.0.0.1:8080/report/1"));
	assert_true(linkable("HTTPS://EXAMPLE.COM/R"));
}

static void test_other_schemes_and_odd_text_are_not(void **state)
{
	(void)state;
	static const char *const refused[] = {
		"javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<script>", "ftp://x/y",
		"//example.com/r", "/report/1", "https://", "http:/x", " https://x/y", "https://x/ y",
		"https://x/\"onmouseover=\"a", "https://x/<b>", "https://x/\ty", "https://x/\x01", "",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		if (linkable(refused[i]))
			fail_msg("linked: %s", refused[i]);
	}
	/* invalid UTF-8 is not linked either */
	assert_false(html_url_linkable("https://x/\xff", 11));
	/* a NUL inside the stored text ends nothing early */
	assert_false(html_url_linkable("https://x/\0javascript:", 22));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_and_https_are_links),
		cmocka_unit_test(test_other_schemes_and_odd_text_are_not),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
