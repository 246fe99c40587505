/*
 * action_kinds.h - the one table of outbox action kinds. A row: the kind's
 * name, the remote it touches, its intent's decoder and encoder (intent.h),
 * its send, its look-up when left in doubt, and its look-up before posting
 * where one exists. act.c carries out every row through it; nothing else
 * dispatches on a kind's name.
 *
 * kind                 remote effect                       in doubt
 * cq.create_request    with the list capability, adopt a    evidence only (act_crosschq.c)
 *                      request Crosschq has for the stage
 *                      entry, else POST reference-request/
 * lever.add_link       GET the opportunity, then POST       GET the opportunity's links
 *                      addLinks unless it has the link
 * lever.add_note       list notes, then POST notes unless   list notes, find ours by its marker (request id)
 *                      one holds our marker or report link
 * lever.archive_hired  PUT archived (sets a state)          GET the opportunity: archived so?
 * cq.set_hired         PATCH hired (sets a state)           GET the request: hired so?
 * cq.cancel_request    POST cancel/ (no longer open = done) GET the request: still open?
 * mail.followup        SMTP, unless the request's note was  none: sent again, same Message-ID
 *                      found on Lever when the prompt was
 *                      already due (an earlier install's)
 * lever.export_prospect find by email, else POST            find by email (canonical: trimmed, lowercase)
 * cq.link_prospect     PATCH ats_id (sets a state)          the prospect as pulled this run
 */
#ifndef REFSYNC_ACTION_KINDS_H
#define REFSYNC_ACTION_KINDS_H

#include "act_step.h"
#include "context.h"
#include "intent.h"
#include "outbox.h"

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* The remote an action touches (its pace is waited for before the claim). */
enum action_remote { ON_LEVER, ON_CROSSCHQ, BY_MAIL };

/* A kind's send, or its look-up in doubt: the step; result (remote id or
 * note) and err are filled as fits. */
typedef enum step (*action_step_fn)(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				    char *result, size_t rlen, char *err, size_t elen);
/* A look-up before posting, after the claim: REMOTE_OK with result set ("" when
 * not there), or the failure with err set. */
typedef enum remote_status (*action_find_fn)(struct sync_ctx *ctx, const union intent *in, char *result,
					     size_t rlen, char *err, size_t elen);

/* A look-up before the claim: 1 when it settles the action without sending
 * (*step, result and err as for a send), 0 when it is to be sent. */
typedef int (*action_before_fn)(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				enum step *step, char *result, size_t rlen, char *err, size_t elen);

struct action_kind {
	const char *name;                 /* "cq.create_request", ... (the outbox's kind) */
	enum action_remote remote;
	/* the intent: NULL, or the name of a required field that is missing */
	const char *(*decode)(yajl_val payload, union intent *out);
	char *(*encode)(const union intent *in); /* the stored payload (malloc'd) */
	action_step_fn send;
	action_step_fn lookup;            /* in doubt; NULL: it cannot be looked up and is sent again */
	action_before_fn before_claim;    /* before the claim; NULL: none */
	action_find_fn find;              /* before posting; NULL: none (found: done, nothing sent) */
	int capability;                   /* the Crosschq capability it waits for (capability.h), or -1 */
	/* 1 when its configuration is there, else 0 with err naming the setting; NULL: always */
	int (*ready)(struct sync_ctx *ctx, char *err, size_t elen);
};

extern const struct action_kind action_kinds[];
extern const size_t action_kinds_count;

/* The row of kind name, or NULL (an unknown kind). */
const struct action_kind *action_kind_of(const char *name);

/*
 * Before a due action is claimed: its kind's look-up before the claim (the
 * Crosschq create: a request Crosschq has already for its stage entry).
 * 1 when it settles the action (*step, result, err), 0 when it is to be
 * claimed and sent (also when its payload cannot be decoded: the send says so).
 */
int action_before_claim(struct sync_ctx *ctx, const struct action *a, enum step *step, char *result, size_t rlen,
			char *err, size_t elen);

/*
 * Carry out one action: its payload decoded into its intent (a damaged or
 * erased payload, or an unknown kind: STEP_FAILED with err), then its look-up
 * before posting and its send. result (remote id or note) and err as fits.
 */
enum step action_send(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
		      size_t elen);

/*
 * Look up an in-doubt action. Returns STEP_DONE (it happened; result set),
 * STEP_RETRY (it did not happen, or cannot be looked up and is safe to
 * repeat: send it again), STEP_AWAIT (it cannot be told yet, and repeating
 * it is not safe: it stays in doubt), STEP_FAILED, or a stop step.
 */
enum step action_lookup(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
			size_t elen);

/*
 * 1 when actions of kind can be carried out with this configuration; 0
 * (err set, naming the setting) when a setting or secret that only this
 * kind needs is missing or unreadable: the kind is parked for the run.
 */
int action_kind_ready(struct sync_ctx *ctx, const char *kind, char *err, size_t elen);

/*
 * 1 when actions of kind wait for a Crosschq capability that is not present
 * (why says which); they stay planned and are not sent. 0 otherwise.
 */
int action_kind_waits(struct sync_ctx *ctx, const char *kind, char *why, size_t n);

#endif
