/*
 * hook_answer.c - the owner's answer to the follow-up prompt ("was the
 * candidate hired?"), at /answer:
 *   GET  ?r=&e=&s=   checks the link and shows the candidate, the job and two
 *                    buttons. It changes nothing: mail scanners follow links.
 *   POST r,e,s,answer (a form) checks the link again and queues the answer
 *                    in the spool once; the next run of refsync pushes it to
 *                    Crosschq and Lever. The first answer wins.
 * Everything the page shows is HTML-escaped; the page has no script.
 */
#include "answer_link.h"
#include "db.h"
#include "escape.h"
#include "hook_internal.h"
#include "json_write.h"
#include "log.h"
#include "spool.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the database says about one request (each field NULL when unknown). */
struct answer_facts {
	char *candidate;
	char *job;
	int answered;      /* 1 when the answers table has the request */
};

/* Append s to b as HTML text (escape.h: sanitized, & < > " ' as entities).
 * 0 or -1 (buffer full). */
static int html_escape(struct buf *b, const char *s)
{
	struct sink out = sink_for_buf(b);
	return html_write_escaped(&out, s, strlen(s));
}

/*
 * Read the candidate's name, the job and whether an answer was recorded,
 * from the database opened read-only. Returns 0, or -1 when the database
 * cannot be read (logged; facts stay empty and the page still shows).
 */
static int read_facts(const struct config *cfg, const char *request_id, struct answer_facts *facts)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char err[CONFIG_ERR_MAX];
	int ret = -1;
	memset(facts, 0, sizeof *facts);
	if (db_open(cfg->database, DB_READONLY, &db, NULL, err, sizeof err)) {
		log_warn("answer page without candidate details: %s", err);
		return -1;
	}
	st = db_prepare(db, "SELECT COALESCE(o.name, r.candidate_name), p.text FROM cq_requests r "
			    "LEFT JOIN lever_opportunities o ON o.id = r.opportunity_id "
			    "LEFT JOIN lever_postings p ON p.id = o.posting_id WHERE r.id = ?1");
	if (!st || db_bind_text(st, 1, request_id) != SQLITE_OK)
		goto out;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		facts->candidate = db_column_strdup(st, 0);
		facts->job = db_column_strdup(st, 1);
	} else if (rc != SQLITE_DONE) {
		log_warn("%s: cannot read request %s: %s", cfg->database, request_id, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	st = db_prepare(db, "SELECT 1 FROM answers WHERE request_id = ?1");
	if (!st || db_bind_text(st, 1, request_id) != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		facts->answered = 1;
	} else if (rc != SQLITE_DONE) {
		log_warn("%s: cannot read the answers: %s", cfg->database, sqlite3_errmsg(db));
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	db_close(db);
	return ret;
}

/* Free the strings of facts. */
static void free_facts(struct answer_facts *facts)
{
	free(facts->candidate);
	free(facts->job);
}

/* The spool name of request_id's answer, into name (SPOOL_NAME_MAX + 1). */
static void answer_spool_name(const char *request_id, char *name, size_t namelen)
{
	char hash[33];
	hook_sha256_hex32(request_id, hash);
	snprintf(name, namelen, "answer-%s.json", hash);
}

/* Start an HTML page with title: the head and the opening of the body. */
static void page_start(struct hook_response *resp, int status, const char *title)
{
	struct buf *b = &resp->body;
	hook_set_status(resp, status, "text/html; charset=utf-8");
	resp->html = 1;
	buf_appendz(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	html_escape(b, title);
	buf_appendz(b, "</title>\n<style>body{font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em;"
		       "line-height:1.4}button{font-size:1.05em;padding:.4em 1.4em;margin:0 1em 1em 0}"
		       "dt{font-weight:bold}dd{margin:0 0 .6em 0}</style>\n</head>\n<body>\n<h1>");
	html_escape(b, title);
	buf_appendz(b, "</h1>\n");
}

/* Close the page that page_start opened. */
static void page_end(struct hook_response *resp)
{
	buf_appendz(&resp->body, "</body>\n</html>\n");
}

/* A page of one title and one paragraph (both escaped). */
static void page_message(struct hook_response *resp, int status, const char *title, const char *text)
{
	page_start(resp, status, title);
	buf_appendz(&resp->body, "<p>");
	html_escape(&resp->body, text);
	buf_appendz(&resp->body, "</p>\n");
	page_end(resp);
	snprintf(resp->note, sizeof resp->note, "%s", title);
}

/* The candidate, the job and the request id as a definition list. */
static void page_facts(struct buf *b, const char *request_id, const struct answer_facts *facts)
{
	buf_appendz(b, "<dl>\n");
	if (!str_empty(facts->candidate)) {
		buf_appendz(b, "<dt>Candidate</dt><dd>");
		html_escape(b, facts->candidate);
		buf_appendz(b, "</dd>\n");
	}
	if (!str_empty(facts->job)) {
		buf_appendz(b, "<dt>Job</dt><dd>");
		html_escape(b, facts->job);
		buf_appendz(b, "</dd>\n");
	}
	buf_appendz(b, "<dt>Reference check</dt><dd>");
	html_escape(b, request_id);
	buf_appendz(b, "</dd>\n</dl>\n");
}

/* A hidden form field. */
static void hidden_field(struct buf *b, const char *name, const char *value)
{
	buf_appendz(b, "<input type=\"hidden\" name=\"");
	html_escape(b, name);
	buf_appendz(b, "\" value=\"");
	html_escape(b, value);
	buf_appendz(b, "\">\n");
}

/*
 * The answer page: facts and a form that POSTs r, e, s and the pressed
 * button (answer=hired|not_hired) back to this same URL.
 */
static void page_question(struct hook_response *resp, const char *request_id, int64_t expires_at_s,
			  const char *signature, const struct answer_facts *facts)
{
	struct buf *b = &resp->body;
	char expiry[32], when[40];
	page_start(resp, 200, "Was this candidate hired?");
	page_facts(b, request_id, facts);
	buf_appendz(b, "<p>Your answer updates the candidate in Crosschq and in Lever. "
		       "Nothing is recorded until you press one of the buttons.</p>\n<form method=\"post\">\n");
	snprintf(expiry, sizeof expiry, "%" PRId64, expires_at_s);
	hidden_field(b, "r", request_id);
	hidden_field(b, "e", expiry);
	hidden_field(b, "s", signature);
	buf_appendz(b, "<button type=\"submit\" name=\"answer\" value=\"hired\">Hired</button>\n"
		       "<button type=\"submit\" name=\"answer\" value=\"not_hired\">Not hired</button>\n"
		       "</form>\n<p><small>This link works until ");
	html_escape(b, format_iso8601(expires_at_s * 1000, 0, when, sizeof when));
	buf_appendz(b, ".</small></p>\n");
	page_end(resp);
	snprintf(resp->note, sizeof resp->note, "answer page shown for request %.128s", request_id);
}

/* The page of a request whose answer was recorded before. */
static void page_already(struct hook_response *resp, const char *request_id, const struct answer_facts *facts)
{
	page_start(resp, 200, "Already answered");
	page_facts(&resp->body, request_id, facts);
	buf_appendz(&resp->body, "<p>This reference check was already answered; the first answer counts. "
				 "Nothing was changed.</p>\n");
	page_end(resp);
	snprintf(resp->note, sizeof resp->note, "already answered: request %.128s", request_id);
}

/*
 * Verify the link in params. Returns 0 with *request_id (malloc'd) when
 * valid; otherwise fills resp (403 altered, 410 expired) and returns -1.
 */
static int check_link(const char *secret, const char *params, char **request_id, int64_t *expires_at_s,
		      struct hook_response *resp)
{
	int r = answer_link_verify(secret, params, request_id, expires_at_s);
	if (r == -2) {
		page_message(resp, 410, "This link has expired",
			     "This answer link is past its expiry date. The reference check is not changed; "
			     "update the candidate in Lever directly.");
		return -1;
	}
	if (r != 0) {
		page_message(resp, 403, "This link is not valid",
			     "This answer link is incomplete or was altered. Open the link exactly as it came "
			     "in the email.");
		return -1;
	}
	return 0;
}

/* The signature as the page carries it on: s of params, lowercased. */
static char *link_signature(const char *params)
{
	char *s = NULL;
	if (answer_link_param(params, "s", &s) != 1)
		return xstrdup("");
	for (char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	return s;
}

/* GET: show the question (or "already answered"). Changes nothing. */
static void answer_get(const struct config *cfg, const char *secret, const char *query,
		       struct hook_response *resp)
{
	char *request_id = NULL, *signature = NULL, name[SPOOL_NAME_MAX + 1];
	int64_t expires_at_s = 0;
	struct answer_facts facts;
	memset(&facts, 0, sizeof facts);
	if (check_link(secret, query, &request_id, &expires_at_s, resp))
		return;
	answer_spool_name(request_id, name, sizeof name);
	read_facts(cfg, request_id, &facts);
	if (facts.answered || spool_exists(cfg->spool, name)) {
		page_already(resp, request_id, &facts);
	} else {
		signature = link_signature(query);
		page_question(resp, request_id, expires_at_s, signature, &facts);
	}
	free_facts(&facts);
	free(signature);
	free(request_id);
}

/* POST: record the answer once. */
static void answer_post(const struct config *cfg, const char *secret, const struct hook_request *req,
			struct hook_response *resp)
{
	char *params = NULL, *request_id = NULL, *answer = NULL, name[SPOOL_NAME_MAX + 1];
	int64_t expires_at_s = 0;
	struct answer_facts facts;
	struct buf record;
	memset(&facts, 0, sizeof facts);
	buf_init(&record, SPOOL_MAX_FILE);

	if (req->body_too_large || req->body_len > HOOK_BODY_MAX) {
		hook_reply_text(resp, 413, "body larger than %d bytes", HOOK_BODY_MAX);
		goto out;
	}
	if (!hook_content_type_is(req->content_type, "application/x-www-form-urlencoded")) {
		hook_reply_text(resp, 415, "content type must be application/x-www-form-urlencoded");
		goto out;
	}
	if (req->body_unreadable || (req->body && memchr(req->body, '\0', req->body_len))) {
		hook_reply_text(resp, 400, "unreadable form");
		goto out;
	}
	params = req->body ? xstrndup(req->body, req->body_len) : xstrdup("");
	if (check_link(secret, params, &request_id, &expires_at_s, resp))
		goto out;
	int hired;
	int r = answer_link_param(params, "answer", &answer);
	if (r == 1 && strcmp(answer, "hired") == 0) {
		hired = 1;
	} else if (r == 1 && strcmp(answer, "not_hired") == 0) {
		hired = 0;
	} else {
		page_message(resp, 400, "No answer", "Press \"Hired\" or \"Not hired\" on the answer page.");
		goto out;
	}
	answer_spool_name(request_id, name, sizeof name);
	read_facts(cfg, request_id, &facts);
	if (facts.answered || spool_exists(cfg->spool, name)) {
		page_already(resp, request_id, &facts);
		goto out;
	}
	int64_t now = now_ms();
	yajl_gen g = json_gen_new();
	yajl_gen_map_open(g);
	json_gen_pair(g, "type", "answer");
	json_gen_pair(g, "request_id", request_id);
	json_gen_str(g, "hired");
	yajl_gen_bool(g, hired);
	json_gen_int_pair(g, "answered_at", now);
	yajl_gen_map_close(g);
	if (json_gen_line(g, &record)) {
		hook_server_error(resp, "answer record too large");
		goto out;
	}
	int already;
	if (hook_spool_put(cfg, name, &record, &already, resp))
		goto out;
	if (already) {
		page_already(resp, request_id, &facts);
		goto out;
	}
	page_start(resp, 200, "Thank you");
	page_facts(&resp->body, request_id, &facts);
	buf_appendz(&resp->body, hired ? "<p>Recorded: <strong>hired</strong>."
				       : "<p>Recorded: <strong>not hired</strong>.");
	buf_appendz(&resp->body, " Crosschq and Lever are updated within minutes.</p>\n");
	page_end(resp);
	snprintf(resp->note, sizeof resp->note, "answer queued for request %.128s: %s", request_id,
		 hired ? "hired" : "not hired");
out:
	free_facts(&facts);
	free(params);
	free(request_id);
	free(answer);
	buf_free(&record);
}

void hook_answer(const struct config *cfg, const struct hook_request *req, struct hook_response *resp)
{
	char err[CONFIG_ERR_MAX];
	int is_get = req->method && strcmp(req->method, "GET") == 0;
	int is_post = req->method && strcmp(req->method, "POST") == 0;
	if (!is_get && !is_post) {
		hook_reply_text(resp, 405, "method not allowed: use GET or POST");
		resp->allow = "GET, POST";
		return;
	}
	char *secret = config_read_secret(cfg, SECRET_ANSWER_SECRET, err, sizeof err);
	if (!secret) {
		log_err("%s", err);
		hook_server_error(resp, "the answer secret cannot be read");
		return;
	}
	if (is_get)
		answer_get(cfg, secret, req->query_string ? req->query_string : "", resp);
	else
		answer_post(cfg, secret, req, resp);
	OPENSSL_cleanse(secret, strlen(secret));
	secret_free(secret);
}
