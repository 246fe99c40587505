/*
 * answer_link.h - the signed links of the follow-up prompt. refsync builds
 * one per prompt mail; refsync-hook verifies it on the answer page (GET) and
 * again when the form is posted (POST).
 *
 * A link is <answer_url>?r=<request id>&e=<expiry, epoch seconds>&s=<sig>
 * where sig = hex(HMAC-SHA256(secret, "refsync-answer-v1|" r "|" e)), r
 * url-escaped. The form posted back carries the same r, e and s plus
 * answer=hired|not_hired (application/x-www-form-urlencoded).
 */
#ifndef REFSYNC_ANSWER_LINK_H
#define REFSYNC_ANSWER_LINK_H

#include <stddef.h>
#include <stdint.h>

/* The longest request id a link carries (bytes, decoded). */
#define ANSWER_LINK_ID_MAX 256

/*
 * Build the owner's answer URL for request_id, valid until expires_at_s
 * (epoch seconds). When answer_url already has a query, the parameters are
 * appended with '&'. Returns a malloc'd string owned by the caller, or NULL
 * when an argument is NULL or empty, request_id is longer than
 * ANSWER_LINK_ID_MAX, or expires_at_s is negative.
 */
char *answer_link_build(const char *answer_url, const char *secret, const char *request_id,
			int64_t expires_at_s);

/*
 * Verify r, e and s in params (a query string or a form body; other
 * parameters are ignored). Returns 0 when valid, -1 when malformed (a
 * parameter missing, repeated or badly encoded) or the signature is wrong,
 * -2 when the signature is right but the link expired (now_ms()/1000 > e).
 * The signature is compared in constant time. On 0, *request_id is a
 * malloc'd copy owned by the caller (else NULL); on 0 and -2, *expires_at_s
 * is e. Either out-parameter may be NULL when not wanted.
 */
int answer_link_verify(const char *secret, const char *params, char **request_id,
		       int64_t *expires_at_s);

/*
 * Look up key in params (application/x-www-form-urlencoded: '&'-separated
 * key=value pairs, '+' for space, %XX escapes). Returns 1 with the decoded
 * value (malloc'd, owned by the caller) in *value, 0 when the key is absent,
 * -1 when params is malformed (a bad escape, an encoded NUL) or the key
 * appears more than once; *value is NULL unless 1 is returned.
 */
int answer_link_param(const char *params, const char *key, char **value);

#endif
