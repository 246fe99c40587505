/*
 * intent.h - what each kind of outbox action means to do, as a typed C
 * struct, with its encoder to the stored payload (JSON) and its decoder
 * from it side by side in intent.c. decide plans intents; the clients
 * (act_send.c, act_crosschq.c, and crosschq.c for the create's wire body)
 * turn them into remote calls. Nothing here is remote.
 *
 * Strings of an intent are borrowed: a decoded intent points into the
 * parsed payload (yajl_tree), an intent decide builds into its rows; an
 * absent optional string is NULL. The decoders read every payload shape
 * refsync ever stored ("hired" and times were once strings).
 */
#ifndef REFSYNC_INTENT_H
#define REFSYNC_INTENT_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* cq.create_request: a new reference request (the wire body: crosschq.c). */
struct cq_create_intent {
	const char *first_name, *last_name, *email, *phone; /* the candidate; phone as Lever has it */
	const char *job_position;
	const char *requestor;               /* the requester's email */
	const char *jobrole;                 /* the template's survey */
	int use_sms;
	int any_relationship, references;    /* the candidate picks the types of `references`, */
	int counts[REL_COUNT];               /* else this many of each relationship */
	const char *candidate_message;
	const char *hm_first, *hm_last, *hm_email; /* the hiring manager, or hm_email NULL */
};

/* lever.add_link and lever.add_note: the report of request_id onto the opportunity. */
struct lever_report_intent {
	const char *opportunity_id, *request_id, *url;
};

/* lever.archive_hired: archive the opportunity with the hired reason. */
struct lever_archive_intent {
	const char *opportunity_id, *reason_id;
};

/* cq.set_hired: tell Crosschq the request's candidate was hired (or not). */
struct cq_hired_intent {
	const char *request_id;
	int hired;
	int64_t hired_at;                    /* epoch ms of the hire or the answer; 0 unknown */
	const char *source;                  /* "ats" or "owner_answer"; NULL: "ats" */
};

/* cq.cancel_request: cancel an open request. */
struct cq_cancel_intent {
	const char *request_id;
};

/* mail.followup: the prompt to the opportunity's owner. */
struct mail_prompt_intent {
	const char *request_id, *opportunity_id, *report_url, *candidate, *job;
	const char *to_name, *to_email, *message_id;
	int64_t expires_at;                  /* epoch ms the answer link expires */
};

/* lever.export_prospect: a Crosschq prospect into Lever (found by email, or created). */
struct lever_prospect_intent {
	const char *prospect_id, *name, *email, *phone, *headline;
	const char *tags;                    /* newline-separated */
};

/* cq.link_prospect: the Lever id onto the prospect. */
struct cq_link_prospect_intent {
	const char *prospect_id, *ats_id;
};

/* Any intent; the action's kind says which member is meant. */
union intent {
	struct cq_create_intent create;
	struct lever_report_intent report;
	struct lever_archive_intent archive;
	struct cq_hired_intent hired;
	struct cq_cancel_intent cancel;
	struct mail_prompt_intent prompt;
	struct lever_prospect_intent prospect;
	struct cq_link_prospect_intent link_prospect;
};

/*
 * Encoders: the stored payload of an intent (malloc'd JSON object).
 * Decoders: fill the intent from a parsed payload object v (its strings
 * point into v). They return NULL, or the name of a field the kind cannot
 * do without that is missing or empty (the payload is damaged).
 */
char *intent_encode_cq_create(const struct cq_create_intent *in);
/* The create's fields inside an open map, shared with Crosschq's body
 * (crosschq.c): the head (candidate, with the phone under phone_key unless
 * phone is NULL; survey, requester, SMS, counts), then the tail (message,
 * position, hiring manager). */
void intent_gen_cq_create_head(yajl_gen g, const struct cq_create_intent *in, const char *phone_key,
				const char *phone);
void intent_gen_cq_create_tail(yajl_gen g, const struct cq_create_intent *in);
const char *intent_decode_cq_create(yajl_val v, struct cq_create_intent *out);
char *intent_encode_lever_report(const struct lever_report_intent *in);
const char *intent_decode_lever_link(yajl_val v, struct lever_report_intent *out);
const char *intent_decode_lever_note(yajl_val v, struct lever_report_intent *out);
char *intent_encode_lever_archive(const struct lever_archive_intent *in);
const char *intent_decode_lever_archive(yajl_val v, struct lever_archive_intent *out);
char *intent_encode_cq_hired(const struct cq_hired_intent *in);
const char *intent_decode_cq_hired(yajl_val v, struct cq_hired_intent *out);
char *intent_encode_cq_cancel(const struct cq_cancel_intent *in);
const char *intent_decode_cq_cancel(yajl_val v, struct cq_cancel_intent *out);
char *intent_encode_mail_prompt(const struct mail_prompt_intent *in);
const char *intent_decode_mail_prompt(yajl_val v, struct mail_prompt_intent *out);
char *intent_encode_lever_prospect(const struct lever_prospect_intent *in);
const char *intent_decode_lever_prospect(yajl_val v, struct lever_prospect_intent *out);
char *intent_encode_cq_link_prospect(const struct cq_link_prospect_intent *in);
const char *intent_decode_cq_link_prospect(yajl_val v, struct cq_link_prospect_intent *out);

#endif
