/*
 * crosschq.h - every call refsync makes to the Crosschq Partner API
 * (crosschq-api.md). The contract was written without access to Crosschq's
 * Swagger, so all of its paths, fields and states live in this one module:
 * adjusting to the real API is a change here.
 */
#ifndef REFSYNC_CROSSCHQ_H
#define REFSYNC_CROSSCHQ_H

#include "http.h"

#include <stdint.h>

enum remote_status crosschq_fetch_templates(struct http_client *cq, const char *cursor,
					    struct http_response *resp, char *err, size_t n);
/* Requests updated at or after since_ms (0: all), one page. */
enum remote_status crosschq_fetch_requests(struct http_client *cq, int64_t since_ms, const char *cursor,
					   struct http_response *resp, char *err, size_t n);
enum remote_status crosschq_fetch_prospects(struct http_client *cq, int64_t since_ms, const char *cursor,
					    struct http_response *resp, char *err, size_t n);
/* Look a request up by our idempotency key: a page of 0 or 1 request. */
enum remote_status crosschq_find_request(struct http_client *cq, const char *external_id,
					 struct http_response *resp, char *err, size_t n);
/* Start a request; body is the JSON payload decide planned. 201 new, 200 existing: both REMOTE_OK. */
enum remote_status crosschq_create_request(struct http_client *cq, const char *body, struct http_response *resp,
					   char *err, size_t n);

/* Statuses of an open request ("sent", "in_progress"). */
int crosschq_status_is_open(const char *status);

/* What a new reference request says; strings may be NULL where optional. */
struct crosschq_request_spec {
	const char *external_id;
	const char *template_id;
	const char *first_name, *last_name, *email, *phone;
	const char *job_title;
	const char *requester_name, *requester_email;
	const char *hiring_manager_name, *hiring_manager_email;
	const char *candidate_url;
};

/* The JSON body of POST /api/v2/requests/ (malloc'd). */
char *crosschq_request_body(const struct crosschq_request_spec *spec);

/* PATCH /api/v2/requests/<id>/ {"hired", "hired_at", "hired_source"}. */
enum remote_status crosschq_set_hired(struct http_client *cq, const char *request_id, int hired, int64_t hired_at_ms,
				      const char *source, struct http_response *resp, char *err, size_t n);
/* POST /api/v2/requests/<id>/cancel/ (409 when already completed). */
enum remote_status crosschq_cancel_request(struct http_client *cq, const char *request_id,
					   struct http_response *resp, char *err, size_t n);
/* PATCH /api/v2/prospects/<id>/ {"ats_id", "ats_exported_at"}. */
enum remote_status crosschq_link_prospect(struct http_client *cq, const char *prospect_id, const char *ats_id,
					  int64_t exported_at_ms, struct http_response *resp, char *err, size_t n);

#endif
