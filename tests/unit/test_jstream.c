/*
 * test_jstream.c - sync/jstream.c: the streaming page walker. Each case
 * records every callback as one line of a transcript and compares the whole
 * transcript, so a missing, extra or misnamed event fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jstream.h"
#include "log.h"
#include "util.h"

/* ---- the recording handler ----------------------------------------------- */

struct recorder {
	struct buf log;
	int records;
	int fail_at;       /* record_end of this record (1-based) fails; 0 never */
};

static const char *type_name(enum jvalue_type t)
{
	switch (t) {
	case JV_NULL: return "null";
	case JV_BOOL: return "bool";
	case JV_NUMBER: return "number";
	case JV_STRING: return "string";
	}
	return "?";
}

static void rec_start(void *ctx)
{
	struct recorder *r = ctx;
	buf_appendz(&r->log, "start\n");
}

static int rec_end(void *ctx)
{
	struct recorder *r = ctx;
	r->records++;
	buf_appendz(&r->log, "end\n");
	return r->fail_at && r->records == r->fail_at ? -1 : 0;
}

static void rec_object(void *ctx, const char *path)
{
	struct recorder *r = ctx;
	buf_printf(&r->log, "object %s\n", path);
}

static void rec_field(void *ctx, const char *path, enum jvalue_type type, const char *text, size_t len)
{
	struct recorder *r = ctx;
	buf_printf(&r->log, "field %s %s %.*s\n", path, type_name(type), (int)len, text);
}

static void rec_top(void *ctx, const char *key, enum jvalue_type type, const char *text, size_t len)
{
	struct recorder *r = ctx;
	buf_printf(&r->log, "top %s %s %.*s\n", key, type_name(type), (int)len, text);
}

/* Parse json with the recorder; returns jstream_parse's result. */
static int run(const char *json, size_t len, int fail_at, char *transcript, size_t tlen, char *err,
	       size_t errlen)
{
	struct recorder r = { .fail_at = fail_at };
	buf_init(&r.log, 1 << 16);
	buf_appendz(&r.log, "");
	struct jstream_handler h = { &r, rec_start, rec_end, rec_object, rec_field, rec_top };
	err[0] = '\0';
	int rc = jstream_parse(json, len, &h, err, errlen);
	snprintf(transcript, tlen, "%s", r.log.data ? r.log.data : "");
	buf_free(&r.log);
	return rc;
}

/* json must parse and produce exactly want. */
static void expect_transcript(const char *json, const char *want)
{
	char got[8192], err[256];
	int rc = run(json, strlen(json), 0, got, sizeof got, err, sizeof err);
	if (rc != 0)
		fail_msg("jstream_parse failed: %s\n--- json ---\n%s", err, json);
	assert_string_equal(got, want);
}

/* "[[[...]]]" nested n deep. */
static char *nested_arrays(int n)
{
	char *s = xmalloc((size_t)n * 2 + 1);
	for (int i = 0; i < n; i++) {
		s[i] = '[';
		s[2 * n - 1 - i] = ']';
	}
	s[2 * n] = '\0';
	return s;
}

/* {"data":[{"k":{"k":...{"k":1}...}}]}: total container depth n (n >= 3). */
static char *nested_record(int n)
{
	struct buf b;
	buf_init(&b, 1 << 16);
	buf_appendz(&b, "{\"data\":[");
	/* the page object, the data array, then n - 2 objects: the record and
	 * n - 3 below it, each holding the next under "k" */
	for (int i = 3; i < n; i++)
		buf_appendz(&b, "{\"k\":");
	buf_appendz(&b, "{\"k\":1}");
	for (int i = 3; i < n; i++)
		buf_appendz(&b, "}");
	buf_appendz(&b, "]}");
	return b.data;
}

/* ---- paths ----------------------------------------------------------------- */

static void test_dotted_paths(void **state)
{
	(void)state;
	expect_transcript("{\"data\":[{\"id\":\"opp-1\",\"owner\":{\"id\":\"u1\",\"email\":\"o@example.com\"},"
			  "\"n\":1.5e3,\"ok\":true,\"no\":false,\"z\":null,\"after\":\"x\"}]}",
			  "start\n"
			  "field id string opp-1\n"
			  "object owner\n"
			  "field owner.id string u1\n"
			  "field owner.email string o@example.com\n"
			  "field n number 1.5e3\n"
			  "field ok bool true\n"
			  "field no bool false\n"
			  "field z null null\n"
			  "field after string x\n"
			  "end\n");
}

static void test_deeper_objects_restore_path(void **state)
{
	(void)state;
	expect_transcript("{\"data\":[{\"a\":{\"b\":{\"c\":1},\"d\":2},\"e\":{},\"f\":[],\"g\":3}]}",
			  "start\n"
			  "object a\n"
			  "object a.b\n"
			  "field a.b.c number 1\n"
			  "field a.d number 2\n"
			  "object e\n"
			  "field g number 3\n"
			  "end\n");
}

static void test_arrays_of_objects(void **state)
{
	(void)state;
	expect_transcript("{\"data\":[{\"id\":\"o\",\"stageChanges\":["
			  "{\"toStageId\":\"s1\",\"updatedAt\":100},"
			  "{\"toStageId\":\"s2\",\"updatedAt\":200,\"x\":{\"y\":true}}],"
			  "\"name\":\"N\"}]}",
			  "start\n"
			  "field id string o\n"
			  "object stageChanges\n"
			  "field stageChanges.toStageId string s1\n"
			  "field stageChanges.updatedAt number 100\n"
			  "object stageChanges\n"
			  "field stageChanges.toStageId string s2\n"
			  "field stageChanges.updatedAt number 200\n"
			  "object stageChanges.x\n"
			  "field stageChanges.x.y bool true\n"
			  "field name string N\n"
			  "end\n");
}

static void test_scalars_in_arrays(void **state)
{
	(void)state;
	/* array indices are not part of a path; nested arrays flatten */
	expect_transcript("{\"data\":[{\"tags\":[\"a\",\"b\",null,7],\"m\":[[1,2],[3]],\"empty\":[],\"k\":\"v\"}]}",
			  "start\n"
			  "field tags string a\n"
			  "field tags string b\n"
			  "field tags null null\n"
			  "field tags number 7\n"
			  "field m number 1\n"
			  "field m number 2\n"
			  "field m number 3\n"
			  "field k string v\n"
			  "end\n");
}

static void test_several_records(void **state)
{
	(void)state;
	expect_transcript("{\"data\":[{\"id\":\"1\",\"o\":{\"p\":1}},{\"id\":\"2\"},{}]}",
			  "start\n"
			  "field id string 1\n"
			  "object o\n"
			  "field o.p number 1\n"
			  "end\n"
			  "start\n"
			  "field id string 2\n"
			  "end\n"
			  "start\n"
			  "end\n");
}

static void test_single_object(void **state)
{
	(void)state;
	expect_transcript("{\"data\":{\"id\":\"u1\",\"name\":\"Ann\",\"o\":{\"a\":1}}}",
			  "start\n"
			  "field id string u1\n"
			  "field name string Ann\n"
			  "object o\n"
			  "field o.a number 1\n"
			  "end\n");
}

static void test_top_level_fields(void **state)
{
	(void)state;
	expect_transcript("{\"next\":\"tok-1\",\"data\":[{\"id\":\"a\",\"next\":\"inner\"}],\"hasNext\":true,"
			  "\"count\":1}",
			  "top next string tok-1\n"
			  "start\n"
			  "field id string a\n"
			  "field next string inner\n"
			  "end\n"
			  "top hasNext bool true\n"
			  "top count number 1\n");
	/* other containers at the top level are skipped, and do not hide what follows */
	expect_transcript("{\"meta\":{\"id\":\"m\",\"next\":\"no\"},\"list\":[{\"id\":\"x\"}],\"hasNext\":false,"
			  "\"next_cursor\":null}",
			  "top hasNext bool false\n"
			  "top next_cursor null null\n");
	expect_transcript("{\"data\":null,\"hasNext\":false}", "top data null null\ntop hasNext bool false\n");
	expect_transcript("{\"data\":[],\"hasNext\":false}", "top hasNext bool false\n");
}

static void test_ignored_shapes(void **state)
{
	(void)state;
	/* scalars directly in the data array are not records */
	expect_transcript("{\"data\":[1,\"x\",null,[{\"id\":\"deep\"}]]}", "");
	/* a bare array is not a page */
	expect_transcript("[{\"id\":\"a\"}]", "");
	expect_transcript("{}", "");
	expect_transcript("\"just a string\"", "");
}

static void test_string_escapes(void **state)
{
	(void)state;
	/* yajl hands over decoded text: quote, backslash, \u00e9 as UTF-8 */
	expect_transcript("{\"data\":[{\"n\":\"a\\\"b\\\\c\\u00e9\",\"k\\u0041\":1}]}",
			  "start\n"
			  "field n string a\"b\\c\xc3\xa9\n"
			  "field kA number 1\n"
			  "end\n");
}

/* The bytes and lengths of every string field, as the handler gets them. */
struct raw_fields {
	char bytes[8][16];
	size_t lens[8];
	int n;
};

static void raw_field(void *ctx, const char *path, enum jvalue_type type, const char *text, size_t len)
{
	struct raw_fields *r = ctx;
	(void)path;
	if (type != JV_STRING || r->n >= 8 || len > sizeof r->bytes[0])
		return;
	memcpy(r->bytes[r->n], text, len);
	r->lens[r->n++] = len;
}

static void test_text_length_exact(void **state)
{
	(void)state;
	/* text is not NUL-terminated and may hold a NUL: len is what counts */
	struct raw_fields r;
	memset(&r, 0, sizeof r);
	struct jstream_handler h = { .ctx = &r, .field = raw_field };
	char err[256] = "";
	const char json[] = "{\"data\":[{\"s\":\"x\\u0000y\",\"e\":\"\",\"u\":\"\\u00e9t\\u00e9\"}]}";
	assert_int_equal(jstream_parse(json, strlen(json), &h, err, sizeof err), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.lens[0], 3);
	assert_memory_equal(r.bytes[0], "x\0y", 3);
	assert_int_equal(r.lens[1], 0);
	assert_int_equal(r.lens[2], 5);
	assert_memory_equal(r.bytes[2], "\xc3\xa9t\xc3\xa9", 5);
}

static void test_parse_only_len_bytes(void **state)
{
	(void)state;
	char got[512], err[256];
	const char *json = "{\"data\":[{\"id\":\"a\"}]}GARBAGE";
	assert_int_equal(run(json, strlen(json) - 7, 0, got, sizeof got, err, sizeof err), 0);
	assert_string_equal(got, "start\nfield id string a\nend\n");
}

static void test_null_callbacks(void **state)
{
	(void)state;
	struct jstream_handler h = { 0 };
	char err[256] = "";
	const char *json = "{\"next\":\"t\",\"data\":[{\"id\":\"a\",\"o\":{\"b\":[1]}}],\"hasNext\":true}";
	assert_int_equal(jstream_parse(json, strlen(json), &h, err, sizeof err), 0);
	assert_string_equal(err, "");
}

/* ---- errors ---------------------------------------------------------------- */

static void expect_malformed(const char *json)
{
	char got[4096], err[256];
	int rc = run(json, strlen(json), 0, got, sizeof got, err, sizeof err);
	if (rc != -1)
		fail_msg("accepted malformed JSON: %s", json);
	if (strncmp(err, "malformed JSON: ", 16) != 0 || strlen(err) <= 16)
		fail_msg("err for %s is \"%s\"", json, err);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_malformed("{\"data\": [}");
	expect_malformed("{\"data\":[{\"id\":\"a\"}]");
	expect_malformed("{\"data\":[{\"id\":\"a\",}]}");
	expect_malformed("{data:[]}");
	expect_malformed("<html>502 Bad Gateway</html>");
	expect_malformed("{\"data\":[]} trailing");
	expect_malformed("{}{}");
	expect_malformed("{\"s\":\"\xff\xfe\"}");

	char got[256], err[256];
	assert_int_equal(run("{\"data\": [}", 11, 0, got, sizeof got, err, sizeof err), -1);
	assert_memory_equal(err, "malformed JSON: parse error: unallowed token at this point in JSON text",
			    strlen("malformed JSON: parse error: unallowed token at this point in JSON text"));
	assert_int_equal(run("nope", 4, 0, got, sizeof got, err, sizeof err), -1);
	assert_memory_equal(err, "malformed JSON: lexical error: invalid string in json text.",
			    strlen("malformed JSON: lexical error: invalid string in json text."));
}

/*
 * BUG: the message of a malformed page ends with a newline: jstream.c copies
 * yajl_get_error()'s text, which yajl terminates with "\n", so err is
 * "malformed JSON: parse error: unallowed token at this point in JSON
 * text\n". Error strings are one line without a newline; this one leaves
 * a trailing blank in log lines (log_msg folds the newline) and a newline in
 * whatever else keeps the message.
 */
static void test_malformed_message_is_one_line(void **state)
{
	(void)state;
	char got[256], err[256];
	assert_int_equal(run("{\"data\": [}", 11, 0, got, sizeof got, err, sizeof err), -1);
	assert_string_equal(err, "malformed JSON: parse error: unallowed token at this point in JSON text");
}

/*
 * BUG: an empty body never reaches the "empty body where JSON was expected"
 * branch: yajl_complete_parse() fails first on no input, so the message is
 * "malformed JSON: parse error: premature EOF\n" (the len == 0 branch in
 * jstream_parse is dead code). The same for a body of blanks.
 */
static void test_empty_body(void **state)
{
	(void)state;
	char got[256], err[256];
	assert_int_equal(run("", 0, 0, got, sizeof got, err, sizeof err), -1);
	assert_string_equal(got, "");
	assert_string_equal(err, "empty body where JSON was expected");
	assert_int_equal(run(" \r\n", 3, 0, got, sizeof got, err, sizeof err), -1);
	assert_string_equal(err, "empty body where JSON was expected");
}

static void test_depth_limit(void **state)
{
	(void)state;
	char got[8192], err[256];
	char *ok = nested_arrays(32);
	int rc = run(ok, strlen(ok), 0, got, sizeof got, err, sizeof err);
	free(ok);
	assert_int_equal(rc, 0);
	char *deep = nested_arrays(33);
	rc = run(deep, strlen(deep), 0, got, sizeof got, err, sizeof err);
	free(deep);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "JSON nested deeper than 32 levels");
	/* far deeper input is refused the same way, without overflowing */
	deep = nested_arrays(5000);
	rc = run(deep, strlen(deep), 0, got, sizeof got, err, sizeof err);
	free(deep);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "JSON nested deeper than 32 levels");
}

static void test_depth_limit_in_record(void **state)
{
	(void)state;
	char got[8192], err[256];
	char *ok = nested_record(32);
	int rc = run(ok, strlen(ok), 0, got, sizeof got, err, sizeof err);
	free(ok);
	assert_int_equal(rc, 0);
	/* 30 keys "k" from the record down: the path k.k.....k */
	char want[256] = "field ";
	for (int i = 0; i < 30; i++)
		strcat(want, i ? ".k" : "k");
	strcat(want, " number 1\nend\n");
	assert_non_null(strstr(got, want));
	char *deep = nested_record(33);
	rc = run(deep, strlen(deep), 0, got, sizeof got, err, sizeof err);
	free(deep);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "JSON nested deeper than 32 levels");
}

static void test_record_end_failure_stops(void **state)
{
	(void)state;
	char got[1024], err[256];
	const char *json = "{\"data\":[{\"id\":\"1\"},{\"id\":\"2\"},{\"id\":\"3\"}],\"hasNext\":true}";
	assert_int_equal(run(json, strlen(json), 2, got, sizeof got, err, sizeof err), -1);
	assert_string_equal(err, "a record could not be stored");
	assert_string_equal(got, "start\nfield id string 1\nend\nstart\nfield id string 2\nend\n");
}

/*
 * BUG: a key too long for the 256-byte path buffer is reported under its
 * parent's path: jstream.c says it keeps "a marker no handler matches", but
 * it only truncates back to the parent. So {"owner": {"<300 x>": "evil"}}
 * reports field "owner" = "evil", which lever_parse.c takes as the owner id.
 */
static void test_overlong_key_not_misreported(void **state)
{
	(void)state;
	char json[1024], got[4096], err[256];
	char key[301];
	memset(key, 'x', 300);
	key[300] = '\0';
	snprintf(json, sizeof json, "{\"data\":[{\"id\":\"a\",\"owner\":{\"%s\":\"evil\"},\"%s\":\"top\"}]}", key,
		 key);
	assert_int_equal(run(json, strlen(json), 0, got, sizeof got, err, sizeof err), 0);
	assert_null(strstr(got, "field owner string evil\n"));
	assert_null(strstr(got, "field  string top\n"));
	/* what must be there either way */
	assert_non_null(strstr(got, "start\nfield id string a\nobject owner\n"));
}

int main(void)
{
	log_init("test_jstream", LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dotted_paths),
		cmocka_unit_test(test_deeper_objects_restore_path),
		cmocka_unit_test(test_arrays_of_objects),
		cmocka_unit_test(test_scalars_in_arrays),
		cmocka_unit_test(test_several_records),
		cmocka_unit_test(test_single_object),
		cmocka_unit_test(test_top_level_fields),
		cmocka_unit_test(test_ignored_shapes),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_text_length_exact),
		cmocka_unit_test(test_parse_only_len_bytes),
		cmocka_unit_test(test_null_callbacks),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_message_is_one_line),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_depth_limit_in_record),
		cmocka_unit_test(test_record_end_failure_stops),
		cmocka_unit_test(test_overlong_key_not_misreported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
