/*
 * act_crosschq.h - the Crosschq actions of the outbox and how each is
 * settled when in doubt (action_kinds.c puts them in their rows).
 *
 * Exactly once without an idempotent create (crosschq-api.md section 3):
 * Crosschq is not known to de-duplicate POST /partners/reference-request/,
 * so a create is sent once, and a create in doubt (the process died, or the
 * answer was lost, after Crosschq may have made the request) is never sent
 * again by itself. It is settled only by evidence: a request not linked to
 * any create, for the same candidate email and job position, created at or
 * after the send began (less CQ_EVIDENCE_SKEW_MS for the two clocks), seen
 * through a webhook, the list capability or a read, is adopted as ours.
 * Until then it stays in doubt, shown by `status`, the exports and the
 * journal, and `refsync resolve KEY --sent ID | --not-sent` settles it.
 *
 * Before a create is sent, the same rule looks for a request Crosschq
 * already has for its stage entry (made by an earlier installation against
 * the same tenant, a reinstall): a request not linked to any create, same
 * email and position, created at or after the entry (less the skew). Found,
 * it is adopted (action.found) and nothing is posted. This needs the list
 * capability: the requests the run listed whole are used when they reach
 * back to the entry, else ONE listing per run, from the earliest entry of
 * all the creates not done, serves every create. Without the capability
 * (absent or not probed) there is nothing to look at, and a create is sent
 * as before: a reinstall with trigger_since then starts a second reference
 * check for each entry the earlier installation had started (the first run
 * warns, and `status` says so).
 */
#ifndef REFSYNC_ACT_CROSSCHQ_H
#define REFSYNC_ACT_CROSSCHQ_H

#include "act_step.h"
#include "context.h"
#include "intent.h"
#include "outbox.h"

#define CQ_EVIDENCE_SKEW_MS 60000LL

/*
 * Before a create is claimed for sending: with the list capability, look
 * for a request Crosschq already has for its stage entry (see above).
 * Returns 1 when the action is settled without a POST: *step STEP_FOUND
 * (result = the adopted request's id, linked to the key), STEP_RETRY or a
 * stop step (err: Crosschq could not be searched, so nothing is sent), or
 * STEP_DB_ERROR; 0 when it is to be created (also without the capability).
 */
int act_cq_before_create(struct sync_ctx *ctx, const struct action *a, const union intent *in, enum step *step,
			 char *result, size_t rlen, char *err, size_t elen);


/* cq.create_request: POST the intent as Crosschq's body; the request is linked to the key. */
enum step act_cq_create(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			size_t rlen, char *err, size_t elen);
/* cq.set_hired, cq.cancel_request, cq.link_prospect. */
enum step act_cq_set_hired(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			   size_t rlen, char *err, size_t elen);
enum step act_cq_cancel(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			size_t rlen, char *err, size_t elen);
enum step act_cq_link_prospect(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			       char *result, size_t rlen, char *err, size_t elen);

/* A create in doubt: STEP_DONE (result = request id: the request already
 * linked to its key, when the run died after recording the answer, else one
 * adopted from evidence) or STEP_AWAIT (no evidence yet: err says what to
 * check in Crosschq), or a stop step. */
enum step act_cq_lookup_create(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			       char *result, size_t rlen, char *err, size_t elen);
/* A hired PATCH or a cancel in doubt: read the request and see. */
enum step act_cq_lookup_hired(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			      char *result, size_t rlen, char *err, size_t elen);
enum step act_cq_lookup_cancel(struct sync_ctx *ctx, const struct action *a, const union intent *in,
			       char *result, size_t rlen, char *err, size_t elen);
/* A prospect link in doubt: the prospect as this run's pull stored it. */
enum step act_cq_lookup_prospect_link(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				      char *result, size_t rlen, char *err, size_t elen);

/*
 * `refsync resolve KEY --sent REQUEST_ID`: read the request from Crosschq
 * and store it, so that it can be linked. STEP_DONE, STEP_FAILED (err: no
 * such request), or a stop step.
 */
enum step act_cq_fetch_for_resolve(struct sync_ctx *ctx, const char *request_id, char *err, size_t elen);

#endif
