/*
 * test_answer_link.c - signed answer links: the exact format (checked against
 * HMAC values computed outside this code, with Python's hmac module),
 * escaping, and every way a link can be altered, cut or expire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer_link.h"
#include "util.h"

#define SECRET "answer-secret-xyz"
#define EXPIRY 1796086400LL
/* python3: hmac.new(b"answer-secret-xyz", b"refsync-answer-v1|cq-req-42|1796086400", sha256) */
#define SIG_42 "1bf8be33c0271efc8e7c41740a0de509dcdf05057484559aa3018962836ad2af"
/* the same for the id "req 1&x/y" */
#define SIG_ODD "aea881d5f1b467f24172ec20936f257c50a3d332540b755a962c9fce44b41fd4"

static int setup(void **state)
{
	(void)state;
	/* one day before the expiry */
	setenv("REFSYNC_TEST_NOW", "1796000000000", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unsetenv("REFSYNC_TEST_NOW");
	return 0;
}

static void test_build_exact(void **state)
{
	(void)state;
	char *url = answer_link_build("https://h.example/cgi-bin/refsync-hook/answer", SECRET, "cq-req-42", EXPIRY);
	assert_non_null(url);
	assert_string_equal(url, "https://h.example/cgi-bin/refsync-hook/answer?r=cq-req-42&e=1796086400&s=" SIG_42);
	free(url);
}

static void test_build_escapes_id(void **state)
{
	(void)state;
	char *url = answer_link_build("https://h.example/answer?tenant=a", SECRET, "req 1&x/y", EXPIRY);
	assert_non_null(url);
	assert_string_equal(url, "https://h.example/answer?tenant=a&r=req%201%26x%2Fy&e=1796086400&s=" SIG_ODD);
	/* and it verifies back to the same id */
	char *id = NULL;
	int64_t e = 0;
	assert_int_equal(answer_link_verify(SECRET, strchr(url, '?') + 1, &id, &e), 0);
	assert_string_equal(id, "req 1&x/y");
	assert_int_equal(e, EXPIRY);
	free(id);
	free(url);
}

static void test_build_refuses(void **state)
{
	(void)state;
	char longid[ANSWER_LINK_ID_MAX + 2];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_null(answer_link_build(NULL, SECRET, "x", EXPIRY));
	assert_null(answer_link_build("https://h/answer", NULL, "x", EXPIRY));
	assert_null(answer_link_build("https://h/answer", "", "x", EXPIRY));
	assert_null(answer_link_build("https://h/answer", SECRET, "", EXPIRY));
	assert_null(answer_link_build("https://h/answer", SECRET, "x", -1));
	assert_null(answer_link_build("https://h/answer", SECRET, longid, EXPIRY));
}

static void test_verify_valid(void **state)
{
	(void)state;
	char *id = NULL;
	int64_t e = 0;
	assert_int_equal(answer_link_verify(SECRET, "r=cq-req-42&e=1796086400&s=" SIG_42, &id, &e), 0);
	assert_string_equal(id, "cq-req-42");
	assert_int_equal(e, EXPIRY);
	free(id);
	/* order does not matter, other parameters are ignored, uppercase hex is fine */
	char upper[128];
	snprintf(upper, sizeof upper, "answer=hired&s=%s&e=1796086400&r=cq-req-42", SIG_42);
	for (char *p = strstr(upper, "s=") + 2; *p && *p != '&'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(answer_link_verify(SECRET, upper, &id, NULL), 0);
	assert_string_equal(id, "cq-req-42");
	free(id);
	/* NULL out-parameters are allowed */
	assert_int_equal(answer_link_verify(SECRET, "r=cq-req-42&e=1796086400&s=" SIG_42, NULL, NULL), 0);
}

/* Expect -1 and no id for params. */
static void expect_refused(const char *params)
{
	char *id = (char *)"untouched";
	assert_int_equal(answer_link_verify(SECRET, params, &id, NULL), -1);
	assert_null(id);
}

static void test_verify_altered(void **state)
{
	(void)state;
	/* another request id, a later expiry, a flipped signature digit */
	expect_refused("r=cq-req-43&e=1796086400&s=" SIG_42);
	expect_refused("r=cq-req-42&e=1796086401&s=" SIG_42);
	expect_refused("r=cq-req-42&e=1896086400&s=" SIG_42);
	expect_refused("r=cq-req-42&e=1796086400&s=0bf8be33c0271efc8e7c41740a0de509dcdf05057484559aa3018962836ad2af");
	/* another secret */
	char *id = NULL;
	assert_int_equal(answer_link_verify("other-secret", "r=cq-req-42&e=1796086400&s=" SIG_42, &id, NULL), -1);
	assert_null(id);
	assert_int_equal(answer_link_verify("", "r=cq-req-42&e=1796086400&s=" SIG_42, &id, NULL), -1);
	assert_int_equal(answer_link_verify(NULL, "r=cq-req-42&e=1796086400&s=" SIG_42, &id, NULL), -1);
}

static void test_verify_malformed(void **state)
{
	(void)state;
	expect_refused("");
	expect_refused("r=cq-req-42&e=1796086400");
	expect_refused("r=cq-req-42&s=" SIG_42);
	expect_refused("e=1796086400&s=" SIG_42);
	/* cut short, too long, not hex */
	expect_refused("r=cq-req-42&e=1796086400&s=1bf8be33c0271efc8e7c41740a0de509dcdf05057484559aa3018962836ad2a");
	expect_refused("r=cq-req-42&e=1796086400&s=" SIG_42 "0");
	expect_refused("r=cq-req-42&e=1796086400&s=zbf8be33c0271efc8e7c41740a0de509dcdf05057484559aa3018962836ad2af");
	/* repeated parameters are ambiguous */
	expect_refused("r=cq-req-42&r=cq-req-42&e=1796086400&s=" SIG_42);
	expect_refused("r=cq-req-42&e=1796086400&e=1796086400&s=" SIG_42);
	/* expiry not a plain number */
	expect_refused("r=cq-req-42&e=+1796086400&s=" SIG_42);
	expect_refused("r=cq-req-42&e=-1&s=" SIG_42);
	expect_refused("r=cq-req-42&e=99999999999999999999&s=" SIG_42);
	/* bad escapes, encoded NUL */
	expect_refused("r=cq-req-4%2&e=1796086400&s=" SIG_42);
	expect_refused("r=cq-req-42%00&e=1796086400&s=" SIG_42);
	expect_refused("r=&e=1796086400&s=" SIG_42);
	char *id = NULL;
	assert_int_equal(answer_link_verify(SECRET, NULL, &id, NULL), -1);
}

static void test_verify_expired(void **state)
{
	(void)state;
	char *id = NULL;
	int64_t e = 0;
	/* at the expiry second: still valid; one second later: expired */
	setenv("REFSYNC_TEST_NOW", "1796086400999", 1);
	assert_int_equal(answer_link_verify(SECRET, "r=cq-req-42&e=1796086400&s=" SIG_42, &id, &e), 0);
	free(id);
	id = NULL;
	setenv("REFSYNC_TEST_NOW", "1796086401000", 1);
	assert_int_equal(answer_link_verify(SECRET, "r=cq-req-42&e=1796086400&s=" SIG_42, &id, &e), -2);
	assert_null(id);
	assert_int_equal(e, EXPIRY);
	/* an expired AND altered link is simply not valid */
	assert_int_equal(answer_link_verify(SECRET, "r=cq-req-41&e=1796086400&s=" SIG_42, &id, NULL), -1);
	/* a link re-dated by hand does not verify */
	assert_int_equal(answer_link_verify(SECRET, "r=cq-req-42&e=1796999999&s=" SIG_42, &id, NULL), -1);
}

static void test_round_trip(void **state)
{
	(void)state;
	const char *ids[] = { "a", "0a1b2c3d-4e5f-6789-abcd-ef0123456789", "ü+ö=ä", "x%y;z#w?v" };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char *url = answer_link_build("https://h.example/answer", SECRET, ids[i], EXPIRY);
		assert_non_null(url);
		char *id = NULL;
		assert_int_equal(answer_link_verify(SECRET, strchr(url, '?') + 1, &id, NULL), 0);
		assert_string_equal(id, ids[i]);
		free(id);
		free(url);
	}
}

static void test_param(void **state)
{
	(void)state;
	char *v = NULL;
	assert_int_equal(answer_link_param("a=1&answer=not_hired&b", "answer", &v), 1);
	assert_string_equal(v, "not_hired");
	free(v);
	assert_int_equal(answer_link_param("a=x+y%2Bz%3d", "a", &v), 1);
	assert_string_equal(v, "x y+z=");
	free(v);
	assert_int_equal(answer_link_param("a&b=2", "a", &v), 1);
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(answer_link_param("ab=1&&b=2", "a", &v), 0);
	assert_null(v);
	assert_int_equal(answer_link_param("", "a", &v), 0);
	assert_int_equal(answer_link_param(NULL, "a", &v), 0);
	assert_int_equal(answer_link_param("a=1&a=2", "a", &v), -1);
	assert_null(v);
	assert_int_equal(answer_link_param("a=%zz", "a", &v), -1);
	assert_int_equal(answer_link_param("%61=1", "a", &v), 1);
	assert_string_equal(v, "1");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_escapes_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_altered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_param, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
