/*
 * hook.h - refsync-hook's request handling, as a function from the CGI
 * inputs (RFC 3875) to a response, so that tests call it without processes.
 * hook_main.c fills struct hook_request from the environment and standard
 * input and writes the response to standard output.
 *
 * Routes (PATH_INFO):
 *   POST /lever/stage-change   Lever "Candidate Stage Change" webhook
 *   POST /lever/hired          Lever "Candidate Hired" webhook
 *   GET  /answer?r=&e=&s=      the owner's answer page (changes nothing)
 *   POST /answer               the owner's answer (form: r, e, s, answer)
 *   POST|PUT /crosschq         Crosschq's request-status webhook (a Request;
 *                              Authorization checked against [crosschq]
 *                              webhook_secret_file)
 * Bad input always gets a 4xx; a 500 means the installation is broken
 * (config, secrets, spool), and its body never says how.
 */
#ifndef REFSYNC_HOOK_H
#define REFSYNC_HOOK_H

#include <stddef.h>

#include "config.h"
#include "util.h"

/* The largest request body refsync-hook reads. */
#define HOOK_BODY_MAX (64 * 1024)

/* The CGI inputs of one request. Strings are NULL when the variable is unset. */
struct hook_request {
	const char *method;        /* REQUEST_METHOD */
	const char *path_info;     /* PATH_INFO */
	const char *content_type;  /* CONTENT_TYPE */
	const char *query_string;  /* QUERY_STRING */
	const char *authorization; /* HTTP_AUTHORIZATION (not every server passes it) */
	const char *body;          /* body_len bytes (need not be NUL-terminated) */
	size_t body_len;
	int body_too_large;        /* CONTENT_LENGTH over HOOK_BODY_MAX: not read */
	int body_unreadable;       /* bad CONTENT_LENGTH, or the body ended early */
};

/* One response. The strings are static; body is owned by the response. */
struct hook_response {
	int status;
	const char *reason;        /* "OK", "Unauthorized", ... */
	const char *content_type;
	const char *allow;         /* the Allow header of a 405, else NULL */
	const char *www_authenticate; /* the WWW-Authenticate header of a 401, else NULL */
	int html;                  /* add the headers of an HTML page (CSP, ...) */
	struct buf body;
	char note[256];            /* why, for the log line (no secret, no personal data) */
};

/*
 * Handle req with the configuration cfg (NULL when it could not be loaded:
 * the answer is then a generic 500). Secrets are read from cfg for the route
 * that needs them. Fills resp (initialised here; release it with
 * hook_response_free). Logs one line per request to stderr.
 */
void hook_handle(const struct config *cfg, const struct hook_request *req, struct hook_response *resp);

/*
 * The CGI response: "Status: NNN Reason", the headers, an empty line, the
 * body. Returns a malloc'd buffer in *out (owned by the caller) and its
 * length in *len.
 */
void hook_response_format(const struct hook_response *resp, char **out, size_t *len);

void hook_response_free(struct hook_response *resp);

/*
 * Read the body that the CGI variable CONTENT_LENGTH (content_length, NULL
 * when unset) announces from fd into b (created by the caller with a
 * maximum of at least HOOK_BODY_MAX; never more than HOOK_BODY_MAX bytes
 * are read). Sets req->body and req->body_len (pointing into b) when the
 * whole body was read; req->body_too_large without reading when the length
 * is over the limit; req->body_unreadable when the length is not a decimal
 * number or the input ends early. No CONTENT_LENGTH means no body
 * (RFC 3875 4.1.2).
 */
void hook_read_body(struct hook_request *req, struct buf *b, const char *content_length, int fd);

#endif
