/*
 * test_action_kinds.c - the table of action kinds (sync/action_kinds.c) and
 * the intents' codecs (sync/intent.c): every kind has a sample payload
 * here, and its decoder and encoder give it back exactly; names are unique;
 * every kind can be sent; the payloads older versions stored still decode.
 * A new kind fails this test until its sample is added.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "action_kinds.h"

/* One payload of each kind, as its encoder writes it. */
static const struct {
	const char *kind, *payload;
} samples[] = {
	{ "cq.create_request",
	  "{\"candidate\":{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"ann@example.org\","
	  "\"phone\":\"+1 555 123 4567\"},\"jobrole\":\"generic\",\"requestor\":\"owner@example.com\","
	  "\"use_sms\":true,\"config_params\":{\"managers\":2,\"employees\":0,\"peers\":1,\"business\":0,"
	  "\"social\":0},\"candidate_message\":\"Hello\",\"job_position\":\"Engineer\",\"hiring_manager\":"
	  "{\"first_name\":\"Hanna\",\"last_name\":\"Vogel\",\"email\":\"hanna@example.com\"}}" },
	{ "lever.add_link", "{\"opportunity_id\":\"o1\",\"request_id\":\"r1\",\"url\":\"https://cq.example/r1\"}" },
	{ "lever.add_note", "{\"opportunity_id\":\"o1\",\"request_id\":\"r1\",\"url\":\"https://cq.example/r1\"}" },
	{ "lever.archive_hired", "{\"opportunity_id\":\"o1\",\"reason_id\":\"hired-1\"}" },
	{ "cq.set_hired", "{\"request_id\":\"r1\",\"hired\":false,\"hired_at\":1700000000000,\"source\":\"owner_answer\"}" },
	{ "cq.cancel_request", "{\"request_id\":\"r1\"}" },
	{ "mail.followup",
	  "{\"request_id\":\"r1\",\"opportunity_id\":\"o1\",\"report_url\":\"https://cq.example/r1\",\"candidate\":"
	  "\"Ann Lee\",\"job\":\"Engineer\",\"to_name\":\"Owen\",\"to_email\":\"owen@example.com\",\"expires_at\":"
	  "1700000000000,\"message_id\":\"refsync-prompt.r1@example.com\"}" },
	{ "lever.export_prospect",
	  "{\"prospect_id\":\"p1\",\"name\":\"Ann Lee\",\"email\":\"ann@example.org\",\"phone\":null,\"headline\":"
	  "\"Engineer\",\"tags\":\"a\\nb\"}" },
	{ "cq.link_prospect", "{\"prospect_id\":\"p1\",\"ats_id\":\"o9\"}" },
};

/* Decode text with k (it must hold every needed field) and encode it again. malloc'd. */
static char *round_trip(const struct action_kind *k, const char *text)
{
	yajl_val v = yajl_tree_parse(text, NULL, 0);
	assert_non_null(v);
	union intent in;
	memset(&in, 0, sizeof in);
	const char *lacking = k->decode(v, &in);
	if (lacking)
		fail_msg("%s: decoding its sample lacks '%s'", k->name, lacking);
	char *out = k->encode(&in);
	yajl_tree_free(v);
	return out;
}

/* Every row: a unique name, a codec and a send, a remote; and its sample round-trips exactly. */
static void test_every_kind_round_trips(void **state)
{
	(void)state;
	assert_int_equal(action_kinds_count, sizeof samples / sizeof samples[0]);
	for (size_t i = 0; i < action_kinds_count; i++) {
		const struct action_kind *k = &action_kinds[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(action_kinds[j].name, k->name) == 0)
				fail_msg("the kind %s has two rows", k->name);
		assert_ptr_equal(action_kind_of(k->name), k);
		assert_non_null(k->decode);
		assert_non_null(k->encode);
		assert_non_null(k->send);
		assert_true(k->remote == ON_LEVER || k->remote == ON_CROSSCHQ || k->remote == BY_MAIL);
		const char *sample = NULL;
		for (size_t j = 0; j < sizeof samples / sizeof samples[0]; j++)
			if (strcmp(samples[j].kind, k->name) == 0)
				sample = samples[j].payload;
		if (!sample)
			fail_msg("the kind %s has no sample payload in this test", k->name);
		char *once = round_trip(k, sample);
		assert_string_equal(once, sample);
		char *twice = round_trip(k, once);
		assert_string_equal(twice, sample);
		free(once);
		free(twice);
		/* an empty payload lacks a field every kind needs */
		yajl_val empty = yajl_tree_parse("{}", NULL, 0);
		union intent in;
		if (!k->decode(empty, &in))
			fail_msg("%s: an empty payload decodes", k->name);
		yajl_tree_free(empty);
	}
	assert_null(action_kind_of("lever.unknown"));
	assert_null(action_kind_of(NULL));
}

/* Decode a payload of kind (every needed field there) into in; the tree is returned for freeing. */
static yajl_val decode_as(const char *kind, const char *text, union intent *in)
{
	const struct action_kind *k = action_kind_of(kind);
	assert_non_null(k);
	yajl_val v = yajl_tree_parse(text, NULL, 0);
	assert_non_null(v);
	memset(in, 0, sizeof *in);
	assert_null(k->decode(v, in));
	return v;
}

/* The payloads older versions stored: "hired" and times as strings, the create as Crosschq's body. */
static void test_older_payloads_decode(void **state)
{
	(void)state;
	union intent in;
	yajl_val v = decode_as("cq.set_hired",
			       "{\"request_id\":\"r1\",\"hired\":\"true\",\"hired_at\":\"1700000000000\",\"source\":\"ats\"}",
			       &in);
	assert_string_equal(in.hired.request_id, "r1");
	assert_int_equal(in.hired.hired, 1);
	assert_int_equal(in.hired.hired_at, 1700000000000LL);
	assert_string_equal(in.hired.source, "ats");
	char *now = intent_encode_cq_hired(&in.hired);
	assert_string_equal(now, "{\"request_id\":\"r1\",\"hired\":true,\"hired_at\":1700000000000,\"source\":\"ats\"}");
	free(now);
	yajl_tree_free(v);

	v = decode_as("cq.set_hired", "{\"request_id\":\"r2\",\"hired\":\"false\",\"hired_at\":\"0\"}", &in);
	assert_int_equal(in.hired.hired, 0);
	assert_int_equal(in.hired.hired_at, 0);
	assert_null(in.hired.source);
	yajl_tree_free(v);

	v = decode_as("mail.followup",
		      "{\"request_id\":\"r1\",\"opportunity_id\":\"o1\",\"report_url\":null,\"candidate\":null,\"job\":null,"
		      "\"to_name\":\"Owen\",\"to_email\":\"owen@example.com\",\"expires_at\":\"1700000000000\","
		      "\"message_id\":\"m@x\"}",
		      &in);
	assert_int_equal(in.prompt.expires_at, 1700000000000LL);
	assert_null(in.prompt.candidate);
	yajl_tree_free(v);

	v = decode_as("cq.create_request",
		      "{\"candidate\":{\"first_name\":\"Ann\",\"last_name\":\"\",\"email\":\"ann@example.org\","
		      "\"mobile_phone\":\"+15551234567\"},\"jobrole\":\"generic\",\"requestor\":\"o@example.com\","
		      "\"use_sms\":false,\"config_params\":{\"any_relationship\":true,\"references\":3},"
		      "\"send_past_due_notification\":false,\"send_completed_notification\":false,"
		      "\"candidate_message\":\"\",\"job_position\":\"Engineer\"}",
		      &in);
	assert_string_equal(in.create.email, "ann@example.org");
	assert_string_equal(in.create.phone, "+15551234567");
	assert_null(in.create.last_name);
	assert_int_equal(in.create.any_relationship, 1);
	assert_int_equal(in.create.references, 3);
	assert_null(in.create.hm_email);
	yajl_tree_free(v);

	/* a field a kind needs, missing: named */
	const struct action_kind *k = action_kind_of("mail.followup");
	v = yajl_tree_parse("{\"request_id\":\"r1\",\"to_email\":\"a@b\",\"message_id\":\"m\"}", NULL, 0);
	assert_string_equal(k->decode(v, &in), "expires_at");
	yajl_tree_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_round_trips),
		cmocka_unit_test(test_older_payloads_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
