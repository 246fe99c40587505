/*
 * hook_internal.h - what the parts of refsync-hook share: building
 * responses, escaping, and the two route handlers. Not for other programs.
 */
#ifndef REFSYNC_HOOK_INTERNAL_H
#define REFSYNC_HOOK_INTERNAL_H

#include "hook.h"

#include <yajl/yajl_tree.h>

/* Set status (and its reason phrase) and content type; empties the body. */
void hook_set_status(struct hook_response *resp, int status, const char *content_type);

/*
 * A text/plain answer: status and one line of text (printf format, a
 * newline is added). The same text goes into resp->note for the log.
 */
void hook_reply_text(struct hook_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The generic 500 of a broken installation; detail goes to the log only. */
void hook_server_error(struct hook_response *resp, const char *detail);

/*
 * Queue record as <spool>/new/<name> (see spool.h). Returns 0 (*already set
 * when that name was queued or processed before), or -1 after logging the
 * cause and answering 500.
 */
int hook_spool_put(const struct config *cfg, const char *name, const struct buf *record, int *already,
		   struct hook_response *resp);

/*
 * Record record as <spool>/done/<name>, seen and needing no processing
 * (spool_put_seen). Returns 0, or -1 after logging the cause and answering
 * 500.
 */
int hook_spool_put_seen(const struct config *cfg, const char *name, const struct buf *record,
			struct hook_response *resp);

/*
 * Queue record as name (hook_spool_put) and answer 200 "accepted: <name>
 * (<what> <id>)", or "already queued: <name>" for a redelivery.
 */
void hook_queue(const struct config *cfg, const char *name, const struct buf *record, const char *what,
		const char *id, struct hook_response *resp);

/*
 * 1 when the CGI CONTENT_TYPE ct is the media type want (case-insensitive,
 * parameters such as "; charset=utf-8" allowed), else 0.
 */
int hook_content_type_is(const char *ct, const char *want);

/* The first 32 hex digits of SHA-256(s), into out (33 bytes). */
void hook_sha256_hex32(const char *s, char out[33]);

/* The first 32 hex digits of SHA-256 of len bytes at data, into out (33 bytes). */
void hook_sha256_hex32_n(const void *data, size_t len, char out[33]);

/*
 * The request's body as one JSON object (hook_parse_json), or NULL after a
 * 400 reply that says why: a body that does not match its Content-Length, or
 * not one JSON object (expected: text after "expected one JSON object", such
 * as " (a Crosschq Request)", or ""). The tree is the caller's: yajl_tree_free.
 */
yajl_val hook_body_object(const struct hook_request *req, struct hook_response *resp, const char *expected);

/*
 * The value of key in object obj. Returns 1 and *out when present once,
 * 0 when absent (or obj is not an object), -1 when the key is repeated.
 */
int hook_object_get(yajl_val obj, const char *key, yajl_val *out);

/* A string member of obj: 1 and *out, 0 when absent or null, -1 otherwise. */
int hook_object_string(yajl_val obj, const char *key, const char **out);

/* POST /lever/<route>: route is "stage-change" or "hired" (hook_lever.c). */
void hook_lever(const struct config *cfg, const struct hook_request *req, const char *route,
		struct hook_response *resp);

/* POST or PUT /crosschq: Crosschq's request-status webhook (hook_crosschq.c). */
void hook_crosschq(const struct config *cfg, const struct hook_request *req, struct hook_response *resp);

/* GET/POST /answer (hook_answer.c). */
void hook_answer(const struct config *cfg, const struct hook_request *req, struct hook_response *resp);

#endif
