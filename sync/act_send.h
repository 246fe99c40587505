/*
 * act_send.h - the Lever and mail action kinds (act_send.c sends them,
 * act_lookup.c looks them up in doubt and before posting), and the helpers
 * the Crosschq kinds (act_crosschq.c) share. action_kinds.c puts each in
 * its row; act.c holds the state machine around them.
 */
#ifndef REFSYNC_ACT_SEND_H
#define REFSYNC_ACT_SEND_H

#include "act_step.h"
#include "context.h"
#include "intent.h"
#include "outbox.h"

#include <stddef.h>
#include <stdint.h>

/* The step for a remote outcome; maybe_sent: the request may have had its effect. */
enum step act_classify(enum remote_status s, int maybe_sent);
/* The step of a look-up (a read: nothing was sent) that failed with s. */
enum step act_classify_lookup(enum remote_status s);

/*
 * Parse and store a Lever opportunity page from resp; the first record's id
 * goes to id (len bytes). want_url: set *has_url when that opportunity's links hold it.
 * Returns the number of records, or -1 when the body is not understood or
 * the database failed.
 */
int act_store_response(struct sync_ctx *ctx, const struct http_response *resp, char *id, size_t len,
		       const char *want_url, int *has_url);

/* Find an opportunity by email (canonicalized first): STEP_DONE with its id
 * in result, STEP_RETRY when none, or a stop/fail step. */
enum step act_find_by_email(struct sync_ctx *ctx, const char *email, char *result, size_t rlen, char *err,
			    size_t elen);

/*
 * The marker that ends refsync's note for a request, "(refsync, Crosschq
 * request <id>)": the in-doubt lookup finds the note by it. malloc'd.
 */
char *act_note_marker(const char *request_id);

/*
 * Looks before posting (act_lookup.c): is the link in->report.url on the
 * opportunity (one GET, stored in the mirror)? Is refsync's note for the
 * request there (its notes listed, paged, for one with act_note_marker()
 * or the report link)? REMOTE_OK with result set (what was found; "" when
 * nothing), or the failure (err set; REMOTE_NOT_FOUND: the opportunity is
 * gone; REMOTE_BAD: an answer was not understood).
 */
enum remote_status act_lever_find_link(struct sync_ctx *ctx, const union intent *in, char *result, size_t rlen,
				       char *err, size_t elen);
enum remote_status act_lever_find_note(struct sync_ctx *ctx, const union intent *in, char *result, size_t rlen,
				       char *err, size_t elen);

/* The sends (act_send.c): lever.add_link, lever.add_note, lever.archive_hired,
 * lever.export_prospect, mail.followup. */
enum step act_lever_add_link(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			     size_t rlen, char *err, size_t elen);
enum step act_lever_add_note(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			     size_t rlen, char *err, size_t elen);
enum step act_lever_archive(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			    size_t rlen, char *err, size_t elen);
enum step act_lever_export_prospect(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				    char *result, size_t rlen, char *err, size_t elen);
enum step act_mail_prompt(struct sync_ctx *ctx, const struct action *a, const union intent *in, char *result,
			  size_t rlen, char *err, size_t elen);

/* The in-doubt look-ups (act_lookup.c): lever.add_link, lever.add_note,
 * lever.archive_hired, lever.export_prospect. */
enum step act_lever_lookup_link(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				char *result, size_t rlen, char *err, size_t elen);
enum step act_lever_lookup_note(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				char *result, size_t rlen, char *err, size_t elen);
enum step act_lever_lookup_archive(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				   char *result, size_t rlen, char *err, size_t elen);
enum step act_lever_lookup_prospect(struct sync_ctx *ctx, const struct action *a, const union intent *in,
				    char *result, size_t rlen, char *err, size_t elen);

/*
 * mail.followup's configuration: 1 when it can be sent; 0 (err set, naming
 * the setting) when its answer_url, answer secret, SMTP password or From
 * address is missing or unreadable (the kind is parked for the run).
 */
int act_mail_ready(struct sync_ctx *ctx, char *err, size_t elen);

/* Release what act_send cached for the run (secrets, wiped). */
void act_send_cleanup(struct sync_ctx *ctx);

#endif
