/*
 * check.c - `refsync check`.
 */
#include "check_internal.h"
#include "db.h"
#include "http.h"
#include "lever.h"
#include "mail.h"
#include "lever_parse.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void check_ok(const char *what, const char *a)
{
	printf("ok      %s%s\n", what, a ? a : "");
}

void check_problem(struct checker *c, const char *msg)
{
	printf("PROBLEM %s\n", msg);
	c->problems++;
}

struct stage_list {
	const char *want;
	int found;
	char names[2048];
};

static int on_stage(void *p, const struct lever_simple *s)
{
	struct stage_list *l = p;
	if (str_ieq(s->text, l->want))
		l->found = 1;
	size_t used = strlen(l->names);
	snprintf(l->names + used, sizeof l->names - used, "%s'%s'", used ? ", " : "", s->text);
	return 0;
}

struct reason_list {
	const char *want;
	int found, hired_type;
	char hired_names[1024];
};

static int on_reason(void *p, const struct lever_simple *s)
{
	struct reason_list *l = p;
	if (strcmp(s->type, "hired") == 0) {
		size_t used = strlen(l->hired_names);
		snprintf(l->hired_names + used, sizeof l->hired_names - used, "%s'%s'", used ? ", " : "", s->text);
	}
	if (str_ieq(s->text, l->want)) {
		l->found = 1;
		l->hired_type = strcmp(s->type, "hired") == 0;
	}
	return 0;
}

int check_call_ok(struct checker *c, enum remote_status s, const char *err)
{
	if (s == REMOTE_OK)
		return 0;
	char msg[1400];
	if (s == REMOTE_AUTH)
		snprintf(msg, sizeof msg, "%s: the API key was refused; create a new key (Lever: with confidential "
			 "access) and put it in the key file", err);
	else if (remote_config_hint(s))
		snprintf(msg, sizeof msg, "%s: %s", err, remote_config_hint(s));
	else
		snprintf(msg, sizeof msg, "%s", err);
	check_problem(c, msg);
	if (s == REMOTE_DOWN)
		c->unavailable++;
	return -1;
}

static void check_lever(struct checker *c, const struct config *cfg, const char *key)
{
	struct http_client lv;
	char err[1024];
	if (lever_client_init(&lv, cfg->lever_url, key, cfg->lever_rps, err, sizeof err)) {
		check_problem(c, err);
		return;
	}
	lv.max_attempts = 2;
	struct http_response resp;
	http_response_init(&resp);
	struct page_info page;
	if (check_call_ok(c, lever_fetch_stages(&lv, &resp, err, sizeof err), err) == 0) {
		check_ok("Lever accepts the API key at ", cfg->lever_url);
		struct stage_list sl = { .want = cfg->trigger_stage };
		parse_simple_page(resp.body.data ? resp.body.data : "", resp.body.len, LS_STAGE, on_stage, &sl, &page,
				  err, sizeof err);
		if (sl.found) {
			check_ok("trigger stage exists in Lever: ", cfg->trigger_stage);
		} else {
			char msg[2600];
			snprintf(msg, sizeof msg, "[lever] trigger_stage '%s' is not a Lever stage; Lever's stages are: %s",
				 cfg->trigger_stage, sl.names);
			check_problem(c, msg);
		}
		if (check_call_ok(c, lever_fetch_archive_reasons(&lv, &resp, err, sizeof err), err) == 0) {
			struct reason_list rl = { .want = cfg->hired_reason };
			parse_simple_page(resp.body.data ? resp.body.data : "", resp.body.len, LS_ARCHIVE_REASON, on_reason,
					  &rl, &page, err, sizeof err);
			char msg[1600];
			if (!rl.found) {
				snprintf(msg, sizeof msg, "[lever] hired_reason '%s' is not an archive reason in Lever; "
					 "hired-type reasons are: %s", cfg->hired_reason, rl.hired_names);
				check_problem(c, msg);
			} else if (!rl.hired_type) {
				snprintf(msg, sizeof msg, "[lever] hired_reason '%s' is not of type hired in Lever; "
					 "hired-type reasons are: %s", cfg->hired_reason, rl.hired_names);
				check_problem(c, msg);
			} else {
				check_ok("hired archive reason exists and is of type hired: ", cfg->hired_reason);
			}
		}
		/* confidential access: listing with confidentiality=all is refused without it */
		if (check_call_ok(c, lever_fetch_opportunities(&lv, LEVER_ALL, 0, 0, NULL, &resp, err, sizeof err), err) == 0)
			check_ok("the key can list opportunities, confidential ones included", NULL);
		/* each endpoint a run reads needs its own permission (403 otherwise) */
		if (check_call_ok(c, lever_fetch_postings(&lv, 0, NULL, &resp, err, sizeof err), err) == 0 &&
		    check_call_ok(c, lever_fetch_deleted(&lv, 0, 0, NULL, &resp, err, sizeof err), err) == 0)
			check_ok("the key can list postings and deleted opportunities", NULL);
	}
	http_response_free(&resp);
	http_client_free(&lv);
}

static void check_database(struct checker *c, const struct config *cfg)
{
	if (access(cfg->database, F_OK) != 0) {
		check_ok("no database yet (the first run creates it): ", cfg->database);
		return;
	}
	sqlite3 *db = NULL;
	char err[1200];
	if (db_open(cfg->database, DB_READONLY, &db, NULL, err, sizeof err)) {
		check_problem(c, err);
	} else if (db_check_integrity(db, 1, err, sizeof err)) {
		char msg[1400];
		snprintf(msg, sizeof msg, "%s: %s", cfg->database, err);
		check_problem(c, msg);
	} else {
		check_ok("database passes integrity_check: ", cfg->database);
	}
	db_close(db);
}

static void check_smtp(struct checker *c, const struct config *cfg)
{
	CURL *h = curl_easy_init();
	if (!h)
		return;
	curl_easy_setopt(h, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		check_ok("SMTP server is reachable: ", cfg->smtp_url);
	} else {
		char msg[600];
		snprintf(msg, sizeof msg, "[followup] smtp_url %s: %s (follow-up prompts cannot be mailed)",
			 cfg->smtp_url, curl_easy_strerror(rc));
		check_problem(c, msg);
	}
	curl_easy_cleanup(h);
}

/* What the enabled features need beyond their secrets (a run parks or fails without it). */
static void check_features(struct checker *c, const struct config *cfg)
{
	char msg[700], addr[MAIL_ADDRESS_MAX + 1];
	if (!cfg->answer_url) {
		snprintf(msg, sizeof msg, "%s: [followup] answer_url is not set: follow-up prompts cannot be sent "
			 "(they wait, parked)", cfg->path);
		check_problem(c, msg);
	} else {
		check_ok("follow-up answer page: ", cfg->answer_url);
	}
	if (!cfg->from || mail_address_of(cfg->from, addr, sizeof addr)) {
		snprintf(msg, sizeof msg, "%s: [followup] from '%s' holds no usable address: follow-up prompts "
			 "cannot be sent (they wait, parked)", cfg->path, cfg->from ? cfg->from : "");
		check_problem(c, msg);
	}
	if ((cfg->export_existing || cfg->auto_export_new) && !cfg->perform_as) {
		snprintf(msg, sizeof msg, "%s: [lever] perform_as is not set: exporting prospects needs it to "
			 "create Lever opportunities", cfg->path);
		check_problem(c, msg);
	}
}

int check_all(const struct config *cfg)
{
	struct checker c = { 0, 0 };
	check_ok("config is valid: ", cfg->path);
	http_global_init();
	char err[1024];
	for (int i = 0; i < SECRET_COUNT; i++) {
		if (i == SECRET_SMTP_PASSWORD && !cfg->smtp_user && !cfg->secret_file[i])
			continue;
		/* optional: without it refsync-hook's /crosschq answers 404 */
		if (i == SECRET_CROSSCHQ_WEBHOOK_SECRET && !config_secret_configured(cfg, (enum secret_id)i))
			continue;
		/* optional: without it exports are not signed */
		if (i == SECRET_AUDIT_SIGNING_KEY && !config_secret_configured(cfg, (enum secret_id)i))
			continue;
		char *s = config_read_secret(cfg, (enum secret_id)i, err, sizeof err);
		if (!s || (i == SECRET_CROSSCHQ_WEBHOOK_SECRET && config_check_webhook_secret(cfg, s, err, sizeof err))) {
			check_problem(&c, err);
			free(s);
			continue;
		}
		check_ok("secret is readable and private: ", config_secret_key_name((enum secret_id)i));
		if (i == SECRET_LEVER_API_KEY)
			check_lever(&c, cfg, s);
		else if (i == SECRET_CROSSCHQ_API_KEY)
			check_crosschq(&c, cfg, s);
		secret_free(s);
	}
	check_features(&c, cfg);
	check_smtp(&c, cfg);
	if (check_state(&c, cfg) == 0)
		check_database(&c, cfg);
	http_global_cleanup();
	printf("%d problem%s\n", c.problems, c.problems == 1 ? "" : "s");
	if (c.problems == 0)
		return EXIT_OK;
	return c.unavailable == c.problems ? EXIT_TEMPFAIL : EXIT_CONFIG;
}
