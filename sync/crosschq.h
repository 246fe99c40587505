/*
 * crosschq.h - the Crosschq Partner API as it is known (crosschq-api.md):
 * every path, field and status word refsync uses lives in crosschq.c (the
 * calls and the body refsync sends) and crosschq_parse.c (what Crosschq
 * answers). Section 1 (evidenced) is used as written; each section-2 call
 * (assumed) is used only as a capability that capability.c probed present.
 * Adapting to the real Swagger is a change in these two files and the fake.
 */
#ifndef REFSYNC_CROSSCHQ_H
#define REFSYNC_CROSSCHQ_H

#include "config.h"
#include "http.h"
#include "intent.h"

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

/* The longest request or prospect id refsync keeps, NUL included. */
#define CQ_ID_MAX 128

/* ---- what refsync sends ------------------------------------------------- */

/* The JSON body of the create (malloc'd), exactly as crosschq-api.md shows it,
 * from the intent decide planned (the phone goes as E.164 or not at all). */
char *crosschq_request_body(const struct cq_create_intent *in);

/*
 * POST /partners/reference-request/ with the body of the intent. On REMOTE_OK request_id holds
 * the answer's request_id; an answer without one is REMOTE_BAD (the request
 * may exist: the caller treats the create as in doubt). *maybe_sent says,
 * for REMOTE_DOWN, whether Crosschq may have acted. Crosschq is not known to
 * de-duplicate creates: this call is never repeated blindly.
 */
enum remote_status crosschq_create_request(struct http_client *cq, const struct cq_create_intent *in,
					   char *request_id,
					   size_t id_len, struct http_response *resp, int *maybe_sent, char *err,
					   size_t n);

/* GET /partners/reference-request/<id>/: one Request (REMOTE_NOT_FOUND when gone). */
enum remote_status crosschq_get_request(struct http_client *cq, const char *request_id,
					struct http_response *resp, char *err, size_t n);

/*
 * Capability "list": GET /partners/reference-request/?updated_since=ISO, or
 * the page named by next (a URL Crosschq gave, refused unless it is on the
 * configured origin).
 */
enum remote_status crosschq_list_requests(struct http_client *cq, int64_t since_ms, const char *next,
					  struct http_response *resp, char *err, size_t n);

/* Capability "hire": PATCH /partners/reference-request/<id>/ {"hired": bool}. */
enum remote_status crosschq_set_hired(struct http_client *cq, const char *request_id, int hired,
				      struct http_response *resp, char *err, size_t n);

/* Capability "cancel": POST /partners/reference-request/<id>/cancel/. */
enum remote_status crosschq_cancel_request(struct http_client *cq, const char *request_id,
					   struct http_response *resp, char *err, size_t n);

/* Capability "prospects": GET /partners/prospects/?updated_since=ISO (or next). */
enum remote_status crosschq_list_prospects(struct http_client *cq, int64_t since_ms, const char *next,
					   struct http_response *resp, char *err, size_t n);

/* Capability "prospects": PATCH /partners/prospects/<id>/ {"ats_id": ...}. */
enum remote_status crosschq_link_prospect(struct http_client *cq, const char *prospect_id, const char *ats_id,
					  struct http_response *resp, char *err, size_t n);

/* GET /api/v2/settings/jobrole/ (surveys) and GET /partners/config/. */
enum remote_status crosschq_get_jobroles(struct http_client *cq, struct http_response *resp, char *err, size_t n);
enum remote_status crosschq_get_account_config(struct http_client *cq, struct http_response *resp, char *err,
					       size_t n);

/* Probes: calls that change nothing. OPTIONS answers carry resp->allow. */
enum remote_status crosschq_options(struct http_client *cq, const char *request_id, const char *tail,
				    struct http_response *resp, char *err, size_t n);

/* The Authorization header value for key: the key itself, or "<scheme> <key>" (malloc'd). */
char *crosschq_auth_value(const char *scheme, const char *key);

/*
 * Set up cq as the Crosschq client of base_url: auth is the whole
 * Authorization value (crosschq_auth_value), Crosschq's error bodies
 * ({"detail"}, {"errors": any shape}: crosschq_error_line) read into
 * messages. Returns 0, or -1 with err set (no secret in it); free with
 * http_client_free.
 */
int crosschq_client_init(struct http_client *cq, const char *base_url, const char *auth, double rps, char *err,
			 size_t n);

/* ---- what Crosschq answers (crosschq_parse.c) ---------------------------- */

/* Crosschq's error answer ({"detail": text} or {"errors": any shape},
 * crosschq-api.md) as one line into out (n bytes, control characters as
 * spaces); out stays "" for another shape. body is len bytes, NUL after. */
void crosschq_error_line(const char *body, size_t len, char *out, size_t n);

/* refsync's reading of a request's state. */
enum cq_state { CQ_OPEN, CQ_COMPLETED, CQ_CANCELLED, CQ_EXPIRED };

/*
 * A Request (GET answer, list element, webhook body). Strings point into the
 * parsed document and are valid during the callback only; absent ones are
 * NULL. Times are epoch ms, 0 when absent or unparsable.
 */
struct cq_request {
	const char *id;
	const char *first_name, *last_name, *email, *phone;
	const char *job_position;
	const char *status_word;        /* Crosschq's word, as written */
	enum cq_state state;
	int word_known;                 /* 0: a word refsync has not seen documented */
	int progress;                   /* 0..100, -1 absent */
	const char *report_url;
	int64_t created_at, updated_at, status_updated_at;
	int has_hired;                  /* the Request carries "hired" */
	int hired;                      /* -1 null, 0, 1 */
};

struct cq_prospect {
	const char *id;
	const char *first_name, *last_name, *email, *phone, *job_title, *source, *ats_id;
	char *tags;                     /* newline-separated (owned by the parser) */
	int64_t created_at, updated_at;
};

typedef int (*cq_request_fn)(void *ctx, const struct cq_request *r);
typedef int (*cq_prospect_fn)(void *ctx, const struct cq_prospect *p);

/*
 * Parse a Request, a list of them (a bare array, or a page {"results": [...],
 * "next": URL}) and call fn for each. next (may be NULL) receives the next
 * page's URL or "". fn may be NULL (only counting, and next). Returns the
 * number of records, or -1 with err set
 * (malformed JSON, an element that is not an object or has no id); a
 * callback returning non-0 stops with -1 and err empty.
 */
int crosschq_parse_requests(const char *data, size_t len, cq_request_fn fn, void *ctx, char *next, size_t next_len,
			    char *err, size_t errlen);
/* The same, for a document already parsed (e.g. the "request" of a spooled webhook). */
int crosschq_requests_of(yajl_val doc, cq_request_fn fn, void *ctx, char *next, size_t next_len, char *err,
			 size_t errlen);
int crosschq_parse_prospects(const char *data, size_t len, cq_prospect_fn fn, void *ctx, char *next,
			     size_t next_len, char *err, size_t errlen);

/*
 * Read the create's answer: its request_id (string or number) into id.
 * 0, or -1 when there is none.
 */
int crosschq_parse_created_id(const char *data, size_t len, char *id, size_t id_len);

/* The state a status word (case-insensitive) stands for; *known is 0 for
 * a word refsync does not recognise (kept as open and shown by status). A
 * progress of 100 with a report is complete whatever the word says. */
enum cq_state crosschq_state_of(const char *word, int progress, const char *report_url, int *known);
const char *crosschq_state_name(enum cq_state s);

/* What Crosschq allows for one survey and account-wide (check.c validates templates). */
struct cq_limits {
	int listed;                     /* the jobrole is listed (enabled) */
	int has[REL_COUNT];             /* the survey has this relationship */
	int min[REL_COUNT], max[REL_COUNT];
	int min_reference_count;        /* -1 unknown */
};

/* Look codename up in a /api/v2/settings/jobrole/ answer. 0, or -1 (err) when the answer is not a list. */
int crosschq_parse_jobrole(const char *data, size_t len, const char *codename, struct cq_limits *out, char *err,
			   size_t errlen);
/* Fill limits (and min_reference_count) from a /partners/config/ answer. 0 or -1 (err). */
int crosschq_parse_account_config(const char *data, size_t len, struct cq_limits *out, char *err, size_t errlen);

#endif
