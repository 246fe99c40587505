/*
 * act_crosschq.h - the Crosschq actions of the outbox and how each is
 * settled when in doubt (act_send.c dispatches here).
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

#include "act_send.h"

#include <yajl/yajl_tree.h>

#define CQ_EVIDENCE_SKEW_MS 60000LL

/* cq.create_request: POST the planned body; the request is linked to the key. */
enum step act_cq_create(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
			size_t elen);
/* cq.set_hired, cq.cancel_request, cq.link_prospect (payload p). */
enum step act_cq_set_hired(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err, size_t elen);
enum step act_cq_cancel(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err, size_t elen);
enum step act_cq_link_prospect(struct sync_ctx *ctx, yajl_val p, char *result, size_t rlen, char *err,
			       size_t elen);

/* A create in doubt: STEP_DONE (result = request id: the request already
 * linked to its key, when the run died after recording the answer, else one
 * adopted from evidence) or STEP_AWAIT (no evidence yet: err says what to
 * check in Crosschq), or a stop step. */
enum step act_cq_lookup_create(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
			       size_t elen);
/* A hired PATCH or cancel in doubt: read the request and see. */
enum step act_cq_lookup_state(struct sync_ctx *ctx, const struct action *a, yajl_val p, char *result, size_t rlen,
			      char *err, size_t elen);

/*
 * 1 when actions of kind wait for a Crosschq capability that is not present
 * (why says which); they stay planned and are not sent. 0 otherwise.
 */
int act_cq_parked(struct sync_ctx *ctx, const char *kind, char *why, size_t n);

/*
 * `refsync resolve KEY --sent REQUEST_ID`: read the request from Crosschq
 * and store it, so that it can be linked. STEP_DONE, STEP_FAILED (err: no
 * such request), or a stop step.
 */
enum step act_cq_fetch_for_resolve(struct sync_ctx *ctx, const char *request_id, char *err, size_t elen);

#endif
