/*
 * action_kinds.c - the table of action kinds, and carrying out one action
 * through its row (see action_kinds.h).
 */
#include "action_kinds.h"
#include "act_crosschq.h"
#include "act_send.h"
#include "capability.h"

#include <stdio.h>
#include <string.h>

/* A kind's intent codec over the union: dec_NAME and enc_NAME. */
#define CODEC(name, member, encode, decode)                                                        \
	static const char *dec_##name(yajl_val v, union intent *out)                                \
	{                                                                                           \
		return decode(v, &out->member);                                                     \
	}                                                                                           \
	static char *enc_##name(const union intent *in)                                             \
	{                                                                                           \
		return encode(&in->member);                                                         \
	}

CODEC(cq_create, create, intent_encode_cq_create, intent_decode_cq_create)
CODEC(lever_link, report, intent_encode_lever_report, intent_decode_lever_link)
CODEC(lever_note, report, intent_encode_lever_report, intent_decode_lever_note)
CODEC(lever_archive, archive, intent_encode_lever_archive, intent_decode_lever_archive)
CODEC(cq_hired, hired, intent_encode_cq_hired, intent_decode_cq_hired)
CODEC(cq_cancel, cancel, intent_encode_cq_cancel, intent_decode_cq_cancel)
CODEC(mail_prompt, prompt, intent_encode_mail_prompt, intent_decode_mail_prompt)
CODEC(lever_prospect, prospect, intent_encode_lever_prospect, intent_decode_lever_prospect)
CODEC(cq_link_prospect, link_prospect, intent_encode_cq_link_prospect, intent_decode_cq_link_prospect)

/* Adding a kind: one row here, its intent in intent.h/intent.c, its send (and
 * look-up) in act_send.c/act_lookup.c (Lever, mail) or act_crosschq.c
 * (Crosschq), and its sample in tests/unit/test_action_kinds.c. */
const struct action_kind action_kinds[] = {
	{ "cq.create_request", ON_CROSSCHQ, dec_cq_create, enc_cq_create, act_cq_create, act_cq_lookup_create,
	  act_cq_before_create, NULL, -1, NULL },
	{ "lever.add_link", ON_LEVER, dec_lever_link, enc_lever_link, act_lever_add_link, act_lever_lookup_link,
	  NULL, act_lever_find_link, -1, NULL },
	{ "lever.add_note", ON_LEVER, dec_lever_note, enc_lever_note, act_lever_add_note, act_lever_lookup_note,
	  NULL, act_lever_find_note, -1, NULL },
	{ "lever.archive_hired", ON_LEVER, dec_lever_archive, enc_lever_archive, act_lever_archive,
	  act_lever_lookup_archive, NULL, NULL, -1, NULL },
	{ "cq.set_hired", ON_CROSSCHQ, dec_cq_hired, enc_cq_hired, act_cq_set_hired, act_cq_lookup_hired, NULL,
	  NULL, CAP_HIRE, NULL },
	{ "cq.cancel_request", ON_CROSSCHQ, dec_cq_cancel, enc_cq_cancel, act_cq_cancel, act_cq_lookup_cancel, NULL,
	  NULL, CAP_CANCEL, NULL },
	/* mail: the one effect that cannot be looked up; it is sent again with
	 * the same Message-ID, which mail systems deduplicate */
	{ "mail.followup", BY_MAIL, dec_mail_prompt, enc_mail_prompt, act_mail_prompt, NULL, NULL, NULL,
	  -1, act_mail_ready },
	{ "lever.export_prospect", ON_LEVER, dec_lever_prospect, enc_lever_prospect, act_lever_export_prospect,
	  act_lever_lookup_prospect, NULL, NULL, -1, NULL },
	{ "cq.link_prospect", ON_CROSSCHQ, dec_cq_link_prospect, enc_cq_link_prospect, act_cq_link_prospect,
	  act_cq_lookup_prospect_link, NULL, NULL, CAP_PROSPECTS, NULL },
};

const size_t action_kinds_count = sizeof action_kinds / sizeof action_kinds[0];

const struct action_kind *action_kind_of(const char *name)
{
	for (size_t i = 0; name && i < action_kinds_count; i++)
		if (strcmp(action_kinds[i].name, name) == 0)
			return &action_kinds[i];
	return NULL;
}

/*
 * The action's kind and intent, checked: a known kind, a JSON object that
 * was not erased and holds every field its kind needs. Returns the row,
 * with the parsed payload in *tree (the intent points into it: free with
 * yajl_tree_free), or NULL with err set: the action cannot be carried out
 * nor looked up (STEP_FAILED).
 */
static const struct action_kind *decode(const struct action *a, yajl_val *tree, union intent *in, char *err,
					size_t elen)
{
	*tree = NULL;
	const struct action_kind *k = action_kind_of(a->kind);
	if (!k) {
		snprintf(err, elen, "unknown action kind '%s' (written by a newer refsync?)", a->kind);
		return NULL;
	}
	char perr[128];
	yajl_val p = yajl_tree_parse(a->payload ? a->payload : "", perr, sizeof perr);
	if (!p || !YAJL_IS_OBJECT(p)) {
		yajl_tree_free(p);
		snprintf(err, elen, "%s: the stored payload is not a JSON object (corrupt)", a->key);
		return NULL;
	}
	const char *erased_path[] = { "erased", NULL };
	if (YAJL_IS_TRUE(yajl_tree_get(p, erased_path, yajl_t_true))) {
		yajl_tree_free(p);
		snprintf(err, elen, "not sent: the candidate was deleted or anonymized in Lever (personal data erased)");
		return NULL;
	}
	memset(in, 0, sizeof *in);
	const char *lacking = k->decode(p, in);
	if (lacking) {
		snprintf(err, elen, "%s: the stored action has no '%s' (not sent; the payload is damaged or from "
			 "another version)", a->key, lacking);
		yajl_tree_free(p);
		return NULL;
	}
	*tree = p;
	return k;
}

/* The step when the look-up before a post failed with s (nothing was posted); err gets its context. */
static enum step lookup_failed(enum remote_status s, char *err, size_t elen)
{
	char why[1024];
	snprintf(why, sizeof why, "%s", err);
	snprintf(err, elen, "not posted: the look-up before posting failed: %s", why);
	if (s == REMOTE_NOT_FOUND)
		return STEP_FAILED; /* the opportunity is gone */
	if (s == REMOTE_BAD)
		return STEP_RETRY; /* an answer not understood: nothing was posted, try again later */
	return act_classify(s, 0);
}

int action_before_claim(struct sync_ctx *ctx, const struct action *a, enum step *step, char *result, size_t rlen,
			char *err, size_t elen)
{
	const struct action_kind *k = action_kind_of(a->kind);
	if (!k || !k->before_claim)
		return 0;
	yajl_val tree;
	union intent in;
	char why[512];
	if (!decode(a, &tree, &in, why, sizeof why))
		return 0; /* the send path says what is wrong with it */
	int settled = k->before_claim(ctx, a, &in, step, result, rlen, err, elen);
	yajl_tree_free(tree);
	return settled;
}

/* A send (after the kind's look-up before posting) of a decoded action. */
static enum step send_decoded(struct sync_ctx *ctx, const struct action_kind *k, const struct action *a,
			      const union intent *in, char *result, size_t rlen, char *err, size_t elen)
{
	enum remote_status found = k->find ? k->find(ctx, in, result, rlen, err, elen) : REMOTE_OK;
	if (found != REMOTE_OK)
		return lookup_failed(found, err, elen);
	if (result[0])
		return STEP_FOUND; /* already there (an earlier installation's): adopted, not posted */
	return k->send(ctx, a, in, result, rlen, err, elen);
}

/* Decode a, then its send (lookup 0) or its in-doubt look-up (1; none: send it again). */
static enum step carry_out(struct sync_ctx *ctx, const struct action *a, int lookup, char *result, size_t rlen,
			   char *err, size_t elen)
{
	result[0] = '\0';
	yajl_val tree;
	union intent in;
	const struct action_kind *k = decode(a, &tree, &in, err, elen);
	if (!k)
		return STEP_FAILED;
	enum step step;
	if (!lookup)
		step = send_decoded(ctx, k, a, &in, result, rlen, err, elen);
	else
		step = k->lookup ? k->lookup(ctx, a, &in, result, rlen, err, elen) : STEP_RETRY;
	yajl_tree_free(tree);
	return step;
}

enum step action_send(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
		      size_t elen)
{
	return carry_out(ctx, a, 0, result, rlen, err, elen);
}

enum step action_lookup(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
			size_t elen)
{
	return carry_out(ctx, a, 1, result, rlen, err, elen);
}

int action_kind_ready(struct sync_ctx *ctx, const char *kind, char *err, size_t elen)
{
	const struct action_kind *k = action_kind_of(kind);
	return !k || !k->ready || k->ready(ctx, err, elen);
}

int action_kind_waits(struct sync_ctx *ctx, const char *kind, char *why, size_t n)
{
	const struct action_kind *k = action_kind_of(kind);
	if (!k || k->capability < 0)
		return 0;
	enum cq_capability c = (enum cq_capability)k->capability;
	if (capability_get(ctx->db, c) == CAP_PRESENT)
		return 0;
	snprintf(why, n, "waits for the Crosschq capability %s (%s): not offered, or not probed yet",
		 capability_name(c), capability_feature(c));
	return 1;
}
