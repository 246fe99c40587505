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
 */
#ifndef REFSYNC_ACT_CROSSCHQ_H
#define REFSYNC_ACT_CROSSCHQ_H

#include "act_step.h"
#include "context.h"
#include "intent.h"
#include "outbox.h"

#define CQ_EVIDENCE_SKEW_MS 60000LL

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
