/*
 * act_internal.h - shared by act_send.c (carrying out each kind of action),
 * act_lookup.c (looking up an action left in doubt) and act_crosschq.c (the
 * Crosschq kinds, both ways).
 */
#ifndef REFSYNC_ACT_INTERNAL_H
#define REFSYNC_ACT_INTERNAL_H

#include "act_send.h"
#include "http.h"

#include <yajl/yajl_tree.h>

/* A non-empty string member of the payload, or NULL (owned by v). */
const char *act_field(yajl_val v, const char *key);

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
 * Does the opportunity (payload p: opportunity_id) carry the link p.url?
 * One GET of the opportunity, stored in the mirror. Returns REMOTE_OK with
 * *found 1 or 0, or the failure (err set; REMOTE_NOT_FOUND: the opportunity
 * is gone; REMOTE_BAD: the answer was not understood).
 */
enum remote_status act_find_link(struct sync_ctx *ctx, yajl_val p, int *found, char *err, size_t elen);

/*
 * Is refsync's note for the request (payload p: opportunity_id, request_id,
 * url) on the opportunity? Lists its notes (paged) for one that holds the
 * marker of act_note_marker() or the report link. Returns REMOTE_OK with the
 * note's id in note_id (len bytes), "" when there is none, or the failure
 * (err set; REMOTE_BAD: a page was not understood).
 */
enum remote_status act_find_note(struct sync_ctx *ctx, yajl_val p, char *note_id, size_t len, char *err,
				 size_t elen);

/*
 * The action's stored parameters, checked: a JSON object that was not
 * erased and holds every field its kind needs, as a non-empty string.
 * Returns the tree (free with yajl_tree_free), or NULL with err set: the
 * action cannot be carried out nor looked up (STEP_FAILED).
 */
yajl_val act_parse_payload(const struct action *a, char *err, size_t elen);

#endif
