/*
 * act_step.h - the outcome of one step of carrying out an outbox action,
 * as the state machine (act.c) needs it: every kind's send and in-doubt
 * look-up (action_kinds.c) answers with one.
 */
#ifndef REFSYNC_ACT_STEP_H
#define REFSYNC_ACT_STEP_H

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

#endif
