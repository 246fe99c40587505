/*
 * test_vendor_errors.c - a remote's error answer in its own words: the
 * transport (http_describe_error) writes "<Name> <METHOD> <path>: HTTP
 * <status> <line>", and the line comes from the client's error_line: Lever's
 * {"code","message"} (lever.c), Crosschq's {"detail"} and {"errors": any
 * shape} (crosschq_parse.c). Another shape shows the body's printable start.
 * No network: the clients are set up, never used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "crosschq.h"
#include "http.h"
#include "lever.h"

/* The message of a final answer with status and body from client c. */
static void expect_message(struct http_client *c, const char *method, const char *path, long status,
			   const char *body, const char *want)
{
	struct http_response r;
	http_response_init(&r);
	r.status = status;
	buf_appendz(&r.body, body);
	char err[1024];
	http_describe_error(c, method, path, &r, err, sizeof err);
	http_response_free(&r);
	if (strcmp(err, want) != 0)
		fail_msg("body %s: got \"%s\", want \"%s\"", body, err, want);
}

/* Lever's error body: code and message, or the message alone. */
static void test_lever_error_body(void **state)
{
	(void)state;
	struct http_client lv;
	char err[256];
	assert_int_equal(lever_client_init(&lv, "http://127.0.0.1:9", "key", 10, err, sizeof err), 0);
	expect_message(&lv, "GET", "/opportunities?email=a%40b.example", 400,
		       "{\"code\":\"BadRequestError\",\"message\":\"Invalid offset token: abc\"}",
		       "Lever GET /opportunities: HTTP 400 BadRequestError: Invalid offset token: abc");
	expect_message(&lv, "POST", "/opportunities/o1/notes", 422, "{\"message\":\"value is required\"}",
		       "Lever POST /opportunities/o1/notes: HTTP 422 value is required");
	/* Crosschq's shape is not Lever's: the body's start is shown */
	expect_message(&lv, "GET", "/stages", 400, "{\"detail\":\"x\"}", "Lever GET /stages: HTTP 400 {\"detail\":\"x\"}");
	http_client_free(&lv);
}

/* Crosschq's error bodies: {"detail"} and {"errors"} of any shape, one line. */
static void test_crosschq_error_body(void **state)
{
	(void)state;
	struct http_client cq;
	char err[256];
	assert_int_equal(crosschq_client_init(&cq, "http://127.0.0.1:9", "Token k", 10, err, sizeof err), 0);
	expect_message(&cq, "POST", "/partners/reference-request/", 422, "{\"detail\":\"Invalid candidate email\"}",
		       "Crosschq POST /partners/reference-request/: HTTP 422 Invalid candidate email");
	expect_message(&cq, "POST", "/partners/reference-request/", 400,
		       "{\"errors\":{\"email\":[\"Enter a valid email.\",\"Too long.\"],\"phone\":\"bad\\nnumber\"}}",
		       "Crosschq POST /partners/reference-request/: HTTP 400 "
		       "email: Enter a valid email. Too long.; phone: bad number");
	expect_message(&cq, "GET", "/partners/reference-request/r1/", 404, "{\"errors\":[\"not\",\"found\",3]}",
		       "Crosschq GET /partners/reference-request/r1/: HTTP 404 not found 3");
	/* not JSON: the printable start of the body */
	expect_message(&cq, "GET", "/x", 502, "<html>\001bad</html>", "Crosschq GET /x: HTTP 502 <html> bad</html>");
	http_client_free(&cq);
}

int main(void)
{
	http_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lever_error_body),
		cmocka_unit_test(test_crosschq_error_body),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_cleanup();
	return rc;
}
