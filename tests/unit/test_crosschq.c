/*
 * test_crosschq.c - what refsync sends to Crosschq and reads from it
 * (sync/crosschq.c, sync/crosschq_parse.c), against crosschq-api.md
 * section 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "crosschq.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MAXREC 8

/* A copy of what one Request said (the parser's strings live only during the callback). */
struct seen {
	char id[64], first[64], last[64], email[128], position[128], word[64], report[2048];
	enum cq_state state;
	int known, progress, has_hired, hired;
	int64_t created, updated, status_updated;
};

struct seen_list {
	struct seen r[MAXREC];
	int n;
};

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "(null)");
}

static int on_request(void *p, const struct cq_request *r)
{
	struct seen_list *l = p;
	assert_true(l->n < MAXREC);
	struct seen *s = &l->r[l->n++];
	copy(s->id, sizeof s->id, r->id);
	copy(s->first, sizeof s->first, r->first_name);
	copy(s->last, sizeof s->last, r->last_name);
	copy(s->email, sizeof s->email, r->email);
	copy(s->position, sizeof s->position, r->job_position);
	copy(s->word, sizeof s->word, r->status_word);
	copy(s->report, sizeof s->report, r->report_url);
	s->state = r->state;
	s->known = r->word_known;
	s->progress = r->progress;
	s->has_hired = r->has_hired;
	s->hired = r->hired;
	s->created = r->created_at;
	s->updated = r->updated_at;
	s->status_updated = r->status_updated_at;
	return 0;
}

static int parse(const char *json, struct seen_list *l, char *next, size_t next_len, char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	return crosschq_parse_requests(json, strlen(json), on_request, l, next, next_len, err, errlen);
}

/* A GET answer: every documented field, unknown ones ignored, times in three spellings. */
static void test_request_fields(void **state)
{
	(void)state;
	const char *json =
		"{\"id\": \"r-1\", \"candidate\": {\"first_name\": \"Zoë\", \"last_name\": \"Müller\", "
		"\"email\": \"Zoe.Muller@Example.org\", \"mobile_phone\": \"+15551234567\", \"extra\": 1}, "
		"\"job_position\": \"Senior Backend Engineer\", \"status\": \"Completed\", "
		"\"status_updated_on\": \"2026-12-01T10:00:00.123456Z\", \"progress\": 100, "
		"\"references\": [{\"first_name\": \"A\", \"status\": \"Done\"}], "
		"\"report_url\": \"https://app.crosschq.com/report/r-1/\", \"report_summary_pdf\": null, "
		"\"report_full_pdf\": null, \"created_at\": \"2026-11-30T05:00:00-05:00\", "
		"\"updated_on\": \"2026-12-01T10:00:00+00:00\", \"new_field\": {\"a\": [1, 2]}}";
	struct seen_list l;
	char err[256], next[64] = "x";
	assert_int_equal(parse(json, &l, next, sizeof next, err, sizeof err), 1);
	assert_string_equal(next, "");
	struct seen *s = &l.r[0];
	assert_string_equal(s->id, "r-1");
	assert_string_equal(s->first, "Zoë");
	assert_string_equal(s->last, "Müller");
	assert_string_equal(s->email, "Zoe.Muller@Example.org");
	assert_string_equal(s->position, "Senior Backend Engineer");
	assert_string_equal(s->word, "Completed");
	assert_int_equal(s->state, CQ_COMPLETED);
	assert_int_equal(s->known, 1);
	assert_int_equal(s->progress, 100);
	assert_string_equal(s->report, "https://app.crosschq.com/report/r-1/");
	assert_int_equal(s->has_hired, 0);
	assert_int_equal(s->hired, -1);
	assert_int_equal(s->created, 1796032800000LL); /* 2026-11-30T10:00:00Z */
	assert_int_equal(s->updated, 1796119200000LL);
	assert_int_equal(s->status_updated, 1796119200123LL);
}

/* Status words: case and separators ignored; unknown words are open and flagged. */
static void test_status_words(void **state)
{
	(void)state;
	static const struct {
		const char *word;
		int progress;
		const char *report;
		enum cq_state want;
		int known;
	} cases[] = {
		{ "Pending", 0, NULL, CQ_OPEN, 1 },
		{ "IN_PROGRESS", 40, NULL, CQ_OPEN, 1 },
		{ "in-progress", 40, NULL, CQ_OPEN, 1 },
		{ "Awaiting Candidate", 0, NULL, CQ_OPEN, 1 },
		{ "completed", 100, "https://x/", CQ_COMPLETED, 1 },
		{ "Canceled", 10, NULL, CQ_CANCELLED, 1 },
		{ "CANCELLED", 10, NULL, CQ_CANCELLED, 1 },
		{ "Expired", 0, NULL, CQ_EXPIRED, 1 },
		{ "Incomplete", 90, NULL, CQ_OPEN, 0 },
		{ "Reviewing", 100, "https://x/", CQ_COMPLETED, 1 }, /* the production client's rule */
		{ "Reviewing", 100, NULL, CQ_OPEN, 0 },
		{ NULL, -1, NULL, CQ_OPEN, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int known = -1;
		enum cq_state s = crosschq_state_of(cases[i].word, cases[i].progress, cases[i].report, &known);
		if (s != cases[i].want || known != cases[i].known)
			fail_msg("'%s': state %d known %d, want %d %d", cases[i].word ? cases[i].word : "(null)", s,
				 known, cases[i].want, cases[i].known);
	}
}

/* A list: Django REST framework's page, or a bare array; the hired field in its three forms. */
static void test_lists_and_hired(void **state)
{
	(void)state;
	struct seen_list l;
	char err[256], next[256];
	const char *page = "{\"next\": \"https://partner.crosschq.com/partners/reference-request/?cursor=abc\", "
			   "\"previous\": null, \"results\": [{\"id\": \"a\", \"hired\": true}, "
			   "{\"id\": \"b\", \"hired\": null}, {\"id\": 42, \"hired\": false}]}";
	assert_int_equal(parse(page, &l, next, sizeof next, err, sizeof err), 3);
	assert_string_equal(next, "https://partner.crosschq.com/partners/reference-request/?cursor=abc");
	assert_string_equal(l.r[0].id, "a");
	assert_int_equal(l.r[0].has_hired, 1);
	assert_int_equal(l.r[0].hired, 1);
	assert_int_equal(l.r[1].has_hired, 1);
	assert_int_equal(l.r[1].hired, -1);
	assert_string_equal(l.r[2].id, "42");
	assert_int_equal(l.r[2].hired, 0);
	assert_int_equal(parse("[{\"id\": \"x\"}, {\"id\": \"y\"}]", &l, next, sizeof next, err, sizeof err), 2);
	assert_string_equal(next, "");
	assert_int_equal(parse("{\"results\": []}", &l, NULL, 0, err, sizeof err), 0);
}

/* Bad input: a clear error, never a crash. */
static void test_bad_input(void **state)
{
	(void)state;
	struct seen_list l;
	char err[256];
	assert_int_equal(parse("{\"id\": ", &l, NULL, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "malformed JSON"));
	assert_int_equal(parse("[{\"id\": \"a\"}, {\"status\": \"Pending\"}]", &l, NULL, 0, err, sizeof err), -1);
	assert_string_equal(err, "a Crosschq request without an id (element 1)");
	assert_int_equal(parse("[1, 2]", &l, NULL, 0, err, sizeof err), -1);
	assert_int_equal(parse("{\"id\": \"\"}", &l, NULL, 0, err, sizeof err), -1);
	/* wrong types count as absent */
	assert_int_equal(parse("{\"id\": \"a\", \"progress\": \"lots\", \"candidate\": 7, \"created_at\": 5, "
			       "\"status\": [\"x\"], \"report_url\": \"\"}", &l, NULL, 0, err, sizeof err), 1);
	assert_int_equal(l.r[0].progress, -1);
	assert_string_equal(l.r[0].email, "(null)");
	assert_string_equal(l.r[0].word, "(null)");
	assert_string_equal(l.r[0].report, "(null)");
	assert_int_equal(l.r[0].created, 0);
}

/* The create's answer: request_id, as a string or a number; nothing else is one. */
static void test_created_id(void **state)
{
	(void)state;
	char id[CQ_ID_MAX];
	const char *ok = "{\"request_id\": \"9f1c\", \"message\": \"created\"}";
	assert_int_equal(crosschq_parse_created_id(ok, strlen(ok), id, sizeof id), 0);
	assert_string_equal(id, "9f1c");
	assert_int_equal(crosschq_parse_created_id("{\"request_id\": 77}", 18, id, sizeof id), 0);
	assert_string_equal(id, "77");
	static const char *bad[] = { "{}", "{\"data\": {\"id\": \"x\"}}", "{\"request_id\": \"\"}", "not json", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(crosschq_parse_created_id(bad[i], strlen(bad[i]), id, sizeof id), -1);
}

/* The body is exactly the documented one; the phone goes as E.164 or not at all. */
static void test_request_body(void **state)
{
	(void)state;
	struct template_cfg t = { 0 };
	t.jobrole = "software-engineer";
	t.counts[REL_MANAGERS] = 2;
	t.counts[REL_PEERS] = 1;
	t.candidate_message = "Bitte \"zwei\" Vorgesetzte";
	struct cq_create_intent s = { .first_name = "José", .last_name = "García", .email = "jose@example.org",
				      .phone = "+1 (555) 123-4567", .job_position = "Engineer",
				      .requestor = "ana@example.com", .jobrole = t.jobrole, .hm_first = "Hanna",
				      .hm_last = "Vogel", .hm_email = "hanna@example.com",
				      .candidate_message = t.candidate_message };
	memcpy(s.counts, t.counts, sizeof s.counts);
	char *body = crosschq_request_body(&s);
	assert_string_equal(body,
		"{\"candidate\":{\"first_name\":\"José\",\"last_name\":\"García\",\"email\":\"jose@example.org\","
		"\"mobile_phone\":\"+15551234567\"},\"jobrole\":\"software-engineer\",\"requestor\":\"ana@example.com\","
		"\"use_sms\":false,\"config_params\":{\"managers\":2,\"employees\":0,\"peers\":1,\"business\":0,"
		"\"social\":0},\"send_past_due_notification\":false,\"send_completed_notification\":false,"
		"\"candidate_message\":\"Bitte \\\"zwei\\\" Vorgesetzte\",\"job_position\":\"Engineer\","
		"\"hiring_manager\":{\"first_name\":\"Hanna\",\"last_name\":\"Vogel\",\"email\":\"hanna@example.com\"}}");
	/* what the body says of its candidate reads back (the stored payloads of older versions were it) */
	yajl_val v = yajl_tree_parse(body, NULL, 0);
	struct cq_create_intent back;
	assert_null(intent_decode_cq_create(v, &back));
	assert_string_equal(back.email, "jose@example.org");
	assert_string_equal(back.job_position, "Engineer");
	yajl_tree_free(v);
	free(body);
	/* no hiring manager, a phone that is no number, SMS on */
	s.use_sms = 1;
	s.hm_email = NULL;
	s.phone = "555-CALL-NOW";
	body = crosschq_request_body(&s);
	assert_null(strstr(body, "hiring_manager"));
	assert_null(strstr(body, "mobile_phone"));
	assert_non_null(strstr(body, "\"use_sms\":true"));
	free(body);
	v = yajl_tree_parse("{\"erased\":true}", NULL, 0);
	assert_non_null(intent_decode_cq_create(v, &back));
	yajl_tree_free(v);
}

/* Surveys and account limits, as /api/v2/settings/jobrole/ and /partners/config/ write them. */
static void test_limits(void **state)
{
	(void)state;
	const char *roles = "[{\"codename\": \"generic\", \"name\": \"G\", \"relationships\": {"
			    "\"managers\": {\"default\": 1, \"label\": \"M\", \"min\": 1, \"max\": 3}, "
			    "\"peers\": {\"min\": 0, \"max\": 5}}}, {\"codename\": \"other\"}]";
	struct cq_limits l;
	char err[256];
	assert_int_equal(crosschq_parse_jobrole(roles, strlen(roles), "generic", &l, err, sizeof err), 0);
	assert_int_equal(l.listed, 1);
	assert_int_equal(l.has[REL_MANAGERS], 1);
	assert_int_equal(l.min[REL_MANAGERS], 1);
	assert_int_equal(l.max[REL_MANAGERS], 3);
	assert_int_equal(l.has[REL_PEERS], 1);
	assert_int_equal(l.has[REL_SOCIAL], 0);
	assert_int_equal(crosschq_parse_jobrole(roles, strlen(roles), "missing", &l, err, sizeof err), 0);
	assert_int_equal(l.listed, 0);
	assert_int_equal(crosschq_parse_jobrole("{\"a\": 1}", 8, "generic", &l, err, sizeof err), -1);
	const char *config = "{\"relationships\": [{\"id\": \"managers\", \"name\": \"Managers\", \"min\": \"2\", "
			     "\"max\": \"4\", \"default\": \"2\"}], \"min_reference_count\": 3}";
	memset(&l, 0, sizeof l);
	assert_int_equal(crosschq_parse_account_config(config, strlen(config), &l, err, sizeof err), 0);
	assert_int_equal(l.min_reference_count, 3);
	assert_int_equal(l.has[REL_MANAGERS], 1);
	assert_int_equal(l.min[REL_MANAGERS], 2);
	assert_int_equal(l.max[REL_MANAGERS], 4);
}

static void test_auth_value(void **state)
{
	(void)state;
	char *v = crosschq_auth_value(NULL, "k3y");
	assert_string_equal(v, "k3y");
	free(v);
	v = crosschq_auth_value("Token", "k3y");
	assert_string_equal(v, "Token k3y");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_status_words),
		cmocka_unit_test(test_lists_and_hired),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_created_id),
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_auth_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
