/*
 * act_send.h - how each kind of outbox action is carried out, and how an
 * action left in doubt by an interrupted run is looked up remotely before
 * anything is sent again. act.c holds the state machine around these.
 *
 * kind                 remote effect                       in doubt
 * cq.create_request    POST reference-request/              evidence only (act_crosschq.c)
 * lever.add_link       GET the opportunity, then POST       GET the opportunity's links
 *                      addLinks unless it has the link
 * lever.add_note       list notes, then POST notes unless   list notes, find ours by its marker (request id)
 *                      one holds our marker or report link
 * lever.archive_hired  PUT archived (sets a state)          GET the opportunity: archived so?
 * cq.set_hired         PATCH hired (sets a state)           GET the request: hired so?
 * cq.cancel_request    POST cancel/ (no longer open = done) GET the request: still open?
 * mail.followup        SMTP, unless the request's note was  send again, same Message-ID
 *                      found on Lever when the prompt was
 *                      already due (an earlier install's)
 * lever.export_prospect find by email, else POST            find by email (canonical: trimmed, lowercase)
 * cq.link_prospect     PATCH ats_id (sets a state)          the prospect as pulled this run
 */
#ifndef REFSYNC_ACT_SEND_H
#define REFSYNC_ACT_SEND_H

#include "context.h"
#include "outbox.h"

#include <stddef.h>
#include <stdint.h>


/* The outcome of one step, as the state machine needs it. */
enum step {
	STEP_DONE,       /* the effect happened (result may hold the remote id) */
	STEP_FAILED,     /* refused for good: failed, with the message */
	STEP_RETRY,      /* transient: planned again, later */
	STEP_IN_DOUBT,   /* may or may not have happened: stays 'sending', looked up next run */
	STEP_STOP_DOWN,  /* the remote is unavailable: planned again, stop for this run */
	STEP_STOP_AUTH,  /* the remote refused our key: planned again, stop with a config error */
	STEP_AWAIT,      /* in doubt, and no evidence yet: stays 'sending', nothing is sent, the run goes on */
	STEP_PARK,       /* a setting only this kind needs is missing: planned again, other kinds go on */
	STEP_FOUND,      /* found already done on the remote before sending (a note or link of an earlier
			  * installation): done, adopted, nothing sent; result says what was found */
	STEP_SKIPPED,    /* not to be sent after all: recorded as skipped, err holds why */
	STEP_DB_ERROR
};

/* Carry out one action. result (remote id or note) and err are filled as fits. */
enum step act_send(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
		   size_t elen);

/*
 * Look up an in-doubt action. Returns STEP_DONE (it happened; result set),
 * STEP_RETRY (it did not happen, or cannot be looked up and is safe to
 * repeat: send it again), STEP_AWAIT (it cannot be told yet, and repeating
 * it is not safe: it stays in doubt), STEP_FAILED, or a stop step.
 */
enum step act_lookup(struct sync_ctx *ctx, const struct action *a, char *result, size_t rlen, char *err,
		     size_t elen);

/*
 * 1 when actions of this kind can be carried out with this configuration;
 * 0 (err set, naming the setting) when a setting or secret that only this
 * kind needs is missing or unreadable (today: the follow-up prompt's
 * answer_url, answer secret, SMTP password, From address). Such a kind is
 * parked for the run: its actions wait, every other kind goes on.
 */
int act_kind_ready(struct sync_ctx *ctx, const char *kind, char *err, size_t elen);

/* Release what act_send cached for the run (secrets, wiped). */
void act_send_cleanup(struct sync_ctx *ctx);

#endif
