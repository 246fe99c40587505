/*
 * intent.c - each action kind's intent: its encoder to the stored payload
 * and its decoder from it, side by side (see intent.h).
 */
#include "intent.h"
#include "json_read.h"
#include "json_write.h"

#include <stdlib.h>
#include <string.h>

/* ---- reading and writing fields ------------------------------------------ */

/* A non-empty string member, or NULL (owned by v). */
static const char *str(yajl_val v, const char *key)
{
	const char *text = json_string(v, key);
	return text && *text ? text : NULL;
}

/* A number member, or NULL. */
static yajl_val number(yajl_val v, const char *key)
{
	yajl_val n = json_member(v, key);
	return n && YAJL_IS_NUMBER(n) ? n : NULL;
}

/* An epoch-ms member: a number, or a string of digits (the older payloads);
 * 0 when absent or not a positive time. *present: it is there at all. */
static int64_t ms(yajl_val v, const char *key, int *present)
{
	yajl_val n = number(v, key);
	const char *text = str(v, key);
	if (present)
		*present = n != NULL || text != NULL;
	if (n && YAJL_IS_INTEGER(n))
		return YAJL_GET_INTEGER(n) > 0 ? YAJL_GET_INTEGER(n) : 0;
	char *end = NULL;
	long long t = text ? strtoll(text, &end, 10) : 0;
	return t > 0 && end && *end == '\0' ? (int64_t)t : 0;
}

/* A boolean member: true/false, or the strings "true"/... (the older payloads:
 * any other string is false). Returns 1 when present, with *out set. */
static int boolean(yajl_val v, const char *key, int *out)
{
	yajl_val b = json_member(v, key);
	if (b && (YAJL_IS_TRUE(b) || YAJL_IS_FALSE(b))) {
		*out = YAJL_IS_TRUE(b);
		return 1;
	}
	const char *text = str(v, key);
	*out = text && strcmp(text, "true") == 0;
	return text != NULL;
}

/* An integer member, or 0. */
static int integer(yajl_val v, const char *key)
{
	yajl_val n = number(v, key);
	return n && YAJL_IS_INTEGER(n) ? (int)YAJL_GET_INTEGER(n) : 0;
}

/* The first of the names (NULL-terminated) whose value is NULL, or NULL. */
static const char *missing(const char *const *names, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!values[i])
			return names[i];
	return NULL;
}

#define MISSING(names, ...)                                                                        \
	missing(names, (const char *const[]){ __VA_ARGS__ }, sizeof names / sizeof names[0])

static void gen_key(yajl_gen g, const char *key)
{
	yajl_gen_string(g, (const unsigned char *)key, strlen(key));
}

static void gen_bool(yajl_gen g, const char *key, int v)
{
	gen_key(g, key);
	yajl_gen_bool(g, v);
}

/* ---- cq.create_request ---------------------------------------------------- */

void intent_gen_cq_create_head(yajl_gen g, const struct cq_create_intent *in, const char *phone_key,
				const char *phone)
{
	gen_key(g, "candidate");
	yajl_gen_map_open(g);
	json_gen_pair(g, "first_name", in->first_name ? in->first_name : "");
	json_gen_pair(g, "last_name", in->last_name ? in->last_name : "");
	json_gen_pair(g, "email", in->email);
	if (phone)
		json_gen_pair(g, phone_key, phone);
	yajl_gen_map_close(g);
	json_gen_pair(g, "jobrole", in->jobrole);
	json_gen_pair(g, "requestor", in->requestor);
	gen_bool(g, "use_sms", in->use_sms);
	gen_key(g, "config_params");
	yajl_gen_map_open(g);
	if (in->any_relationship) {
		/* assumed (crosschq-api.md section 3): the candidate picks the types */
		gen_bool(g, "any_relationship", 1);
		json_gen_int_pair(g, "references", in->references);
	} else {
		for (int r = 0; r < REL_COUNT; r++)
			json_gen_int_pair(g, config_relationship_name((enum cq_relationship)r), in->counts[r]);
	}
	yajl_gen_map_close(g);
}

void intent_gen_cq_create_tail(yajl_gen g, const struct cq_create_intent *in)
{
	json_gen_pair(g, "candidate_message", in->candidate_message ? in->candidate_message : "");
	json_gen_pair(g, "job_position", in->job_position);
	if (in->hm_email && *in->hm_email) {
		gen_key(g, "hiring_manager");
		yajl_gen_map_open(g);
		json_gen_pair(g, "first_name", in->hm_first ? in->hm_first : "");
		json_gen_pair(g, "last_name", in->hm_last ? in->hm_last : "");
		json_gen_pair(g, "email", in->hm_email);
		yajl_gen_map_close(g);
	}
}

/* The stored shape is Crosschq's body without what only the wire needs (the
 * phone as Lever has it, no notification flags): older payloads were the body. */
char *intent_encode_cq_create(const struct cq_create_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	intent_gen_cq_create_head(g, in, "phone", in->phone);
	intent_gen_cq_create_tail(g, in);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

/* Reads the stored shape, and the older one that was the wire body itself
 * (the candidate's phone as "mobile_phone", already in E.164). */
const char *intent_decode_cq_create(yajl_val v, struct cq_create_intent *out)
{
	memset(out, 0, sizeof *out);
	yajl_val c = json_member(v, "candidate"), p = json_member(v, "config_params");
	yajl_val hm = json_member(v, "hiring_manager"); /* the readers take only objects */
	out->first_name = str(c, "first_name");
	out->last_name = str(c, "last_name");
	out->email = str(c, "email");
	out->phone = str(c, "phone") ? str(c, "phone") : str(c, "mobile_phone");
	out->job_position = str(v, "job_position");
	out->requestor = str(v, "requestor");
	out->jobrole = str(v, "jobrole");
	boolean(v, "use_sms", &out->use_sms);
	if (boolean(p, "any_relationship", &out->any_relationship) && out->any_relationship)
		out->references = integer(p, "references");
	else
		for (int r = 0; r < REL_COUNT; r++)
			out->counts[r] = integer(p, config_relationship_name((enum cq_relationship)r));
	out->candidate_message = str(v, "candidate_message");
	out->hm_first = str(hm, "first_name");
	out->hm_last = str(hm, "last_name");
	out->hm_email = str(hm, "email");
	static const char *const need[] = { "jobrole", "requestor", "job_position" };
	return MISSING(need, out->jobrole, out->requestor, out->job_position);
}

/* ---- lever.add_link, lever.add_note --------------------------------------- */

char *intent_encode_lever_report(const struct lever_report_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "opportunity_id", in->opportunity_id);
	json_gen_pair(g, "request_id", in->request_id);
	json_gen_pair(g, "url", in->url);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

/* Both kinds' fields. */
static void decode_report(yajl_val v, struct lever_report_intent *out)
{
	out->opportunity_id = str(v, "opportunity_id");
	out->request_id = str(v, "request_id");
	out->url = str(v, "url");
}

const char *intent_decode_lever_link(yajl_val v, struct lever_report_intent *out)
{
	decode_report(v, out);
	static const char *const need[] = { "opportunity_id", "url" };
	return MISSING(need, out->opportunity_id, out->url);
}

const char *intent_decode_lever_note(yajl_val v, struct lever_report_intent *out)
{
	decode_report(v, out);
	static const char *const need[] = { "opportunity_id", "request_id", "url" };
	return MISSING(need, out->opportunity_id, out->request_id, out->url);
}

/* ---- lever.archive_hired -------------------------------------------------- */

char *intent_encode_lever_archive(const struct lever_archive_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "opportunity_id", in->opportunity_id);
	json_gen_pair(g, "reason_id", in->reason_id);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

const char *intent_decode_lever_archive(yajl_val v, struct lever_archive_intent *out)
{
	out->opportunity_id = str(v, "opportunity_id");
	out->reason_id = str(v, "reason_id");
	static const char *const need[] = { "opportunity_id", "reason_id" };
	return MISSING(need, out->opportunity_id, out->reason_id);
}

/* ---- cq.set_hired --------------------------------------------------------- */

char *intent_encode_cq_hired(const struct cq_hired_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "request_id", in->request_id);
	gen_bool(g, "hired", in->hired);
	if (in->hired_at > 0)
		json_gen_int_pair(g, "hired_at", in->hired_at);
	json_gen_pair(g, "source", in->source);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

const char *intent_decode_cq_hired(yajl_val v, struct cq_hired_intent *out)
{
	out->request_id = str(v, "request_id");
	int has_hired = boolean(v, "hired", &out->hired);
	out->hired_at = ms(v, "hired_at", NULL);
	out->source = str(v, "source");
	static const char *const need[] = { "request_id", "hired" };
	return MISSING(need, out->request_id, has_hired ? "" : NULL);
}

/* ---- cq.cancel_request ---------------------------------------------------- */

char *intent_encode_cq_cancel(const struct cq_cancel_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "request_id", in->request_id);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

const char *intent_decode_cq_cancel(yajl_val v, struct cq_cancel_intent *out)
{
	out->request_id = str(v, "request_id");
	return out->request_id ? NULL : "request_id";
}

/* ---- mail.followup -------------------------------------------------------- */

char *intent_encode_mail_prompt(const struct mail_prompt_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "request_id", in->request_id);
	json_gen_pair(g, "opportunity_id", in->opportunity_id);
	json_gen_pair(g, "report_url", in->report_url);
	json_gen_pair(g, "candidate", in->candidate);
	json_gen_pair(g, "job", in->job);
	json_gen_pair(g, "to_name", in->to_name);
	json_gen_pair(g, "to_email", in->to_email);
	json_gen_int_pair(g, "expires_at", in->expires_at);
	json_gen_pair(g, "message_id", in->message_id);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

const char *intent_decode_mail_prompt(yajl_val v, struct mail_prompt_intent *out)
{
	out->request_id = str(v, "request_id");
	out->opportunity_id = str(v, "opportunity_id");
	out->report_url = str(v, "report_url");
	out->candidate = str(v, "candidate");
	out->job = str(v, "job");
	out->to_name = str(v, "to_name");
	out->to_email = str(v, "to_email");
	out->message_id = str(v, "message_id");
	int has_expiry;
	out->expires_at = ms(v, "expires_at", &has_expiry);
	static const char *const need[] = { "request_id", "to_email", "message_id", "expires_at" };
	return MISSING(need, out->request_id, out->to_email, out->message_id, has_expiry ? "" : NULL);
}

/* ---- lever.export_prospect ------------------------------------------------ */

char *intent_encode_lever_prospect(const struct lever_prospect_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "prospect_id", in->prospect_id);
	json_gen_pair(g, "name", in->name);
	json_gen_pair(g, "email", in->email);
	json_gen_pair(g, "phone", in->phone);
	json_gen_pair(g, "headline", in->headline);
	json_gen_pair(g, "tags", in->tags);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

const char *intent_decode_lever_prospect(yajl_val v, struct lever_prospect_intent *out)
{
	out->prospect_id = str(v, "prospect_id");
	out->name = str(v, "name");
	out->email = str(v, "email");
	out->phone = str(v, "phone");
	out->headline = str(v, "headline");
	out->tags = str(v, "tags");
	static const char *const need[] = { "prospect_id", "email" };
	return MISSING(need, out->prospect_id, out->email);
}

/* ---- cq.link_prospect ----------------------------------------------------- */

char *intent_encode_cq_link_prospect(const struct cq_link_prospect_intent *in)
{
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "prospect_id", in->prospect_id);
	json_gen_pair(g, "ats_id", in->ats_id);
	yajl_gen_map_close(g);
	return json_gen_finish(g);
}

const char *intent_decode_cq_link_prospect(yajl_val v, struct cq_link_prospect_intent *out)
{
	out->prospect_id = str(v, "prospect_id");
	out->ats_id = str(v, "ats_id");
	static const char *const need[] = { "prospect_id", "ats_id" };
	return MISSING(need, out->prospect_id, out->ats_id);
}
