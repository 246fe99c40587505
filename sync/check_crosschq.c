/*
 * check_crosschq.c - `refsync check`, Crosschq part: the key, every
 * [template NAME] against the surveys (GET /api/v2/settings/jobrole/) and
 * the account's limits (GET /partners/config/), and the capabilities.
 */
#include "capability.h"
#include "check_internal.h"
#include "crosschq.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One problem line naming the template's section and key. */
static void template_problem(struct checker *c, const struct config *cfg, const struct template_cfg *t,
			     const char *key, const char *what)
{
	char msg[1400];
	snprintf(msg, sizeof msg, "%s:%d: [template %s] %s: %s", cfg->path, t->line, t->name, key, what);
	check_problem(c, msg);
}

/* Validate one template against what Crosschq reports. */
static void check_template(struct checker *c, const struct config *cfg, const struct template_cfg *t,
			   const struct http_response *jobroles, int have_jobroles, const struct cq_limits *account)
{
	struct cq_limits lim = *account;
	char err[512], what[600];
	int before = c->problems;
	if (have_jobroles) {
		struct cq_limits jr;
		if (crosschq_parse_jobrole(jobroles->body.data ? jobroles->body.data : "", jobroles->body.len,
					   t->jobrole, &jr, err, sizeof err) == 0) {
			if (!jr.listed) {
				snprintf(what, sizeof what, "'%s' is not an enabled survey codename in Crosschq "
					 "(GET /api/v2/settings/jobrole/ lists the enabled ones)", t->jobrole);
				template_problem(c, cfg, t, "jobrole", what);
				return;
			}
			memcpy(lim.has, jr.has, sizeof lim.has);
			memcpy(lim.min, jr.min, sizeof lim.min);
			memcpy(lim.max, jr.max, sizeof lim.max);
			lim.listed = 1;
		}
	}
	int total = 0;
	for (int r = 0; r < REL_COUNT && !t->any_relationship; r++) {
		const char *rn = config_relationship_name((enum cq_relationship)r);
		total += t->counts[r];
		if (!lim.has[r]) {
			if (t->counts[r] > 0 && (lim.listed || account->listed)) {
				snprintf(what, sizeof what, "%d asked, but the survey has no %s references", t->counts[r], rn);
				template_problem(c, cfg, t, rn, what);
			}
			continue;
		}
		if (t->counts[r] < lim.min[r] || t->counts[r] > lim.max[r]) {
			snprintf(what, sizeof what, "%d is outside what Crosschq allows for %s: %d to %d", t->counts[r], rn,
				 lim.min[r], lim.max[r]);
			template_problem(c, cfg, t, rn, what);
		}
	}
	if (t->any_relationship)
		total = t->references;
	if (account->min_reference_count > 0 && total < account->min_reference_count) {
		snprintf(what, sizeof what, "%d references in all, fewer than the account's min_reference_count %d", total,
			 account->min_reference_count);
		template_problem(c, cfg, t, t->any_relationship ? "references" : "managers", what);
	}
	if (c->problems == before) {
		snprintf(what, sizeof what, "template %s (survey %s, %d references) serves ", t->name, t->jobrole, total);
		check_ok(what, t->ats_tag ? t->ats_tag : "jobs no other template matches (default)");
	}
}

static void check_templates(struct checker *c, const struct config *cfg, struct http_client *cq)
{
	if (cfg->n_templates == 0) {
		check_problem(c, "no [template NAME] section: refsync cannot start reference checks (see "
				 "refsync.conf(5), TEMPLATES)");
		return;
	}
	struct http_response jobroles, account;
	http_response_init(&jobroles);
	http_response_init(&account);
	char err[1024];
	struct cq_limits acc;
	memset(&acc, 0, sizeof acc);
	acc.min_reference_count = -1;
	int have_jobroles = crosschq_get_jobroles(cq, &jobroles, err, sizeof err) == REMOTE_OK;
	if (!have_jobroles)
		printf("note    surveys cannot be read (%s); falling back to /partners/config/\n", err);
	if (crosschq_get_account_config(cq, &account, err, sizeof err) == REMOTE_OK) {
		char perr[256];
		if (crosschq_parse_account_config(account.body.data ? account.body.data : "", account.body.len, &acc, perr,
						  sizeof perr) == 0)
			acc.listed = 1;
		else
			printf("note    Crosschq account config not understood: %s\n", perr);
	} else {
		printf("note    account limits cannot be read (%s)\n", err);
	}
	if (!have_jobroles && !acc.listed) {
		check_problem(c, "Crosschq reports neither surveys nor account limits: templates cannot be validated");
	} else {
		for (size_t i = 0; i < cfg->n_templates; i++)
			check_template(c, cfg, &cfg->templates[i], &jobroles, have_jobroles, &acc);
	}
	http_response_free(&jobroles);
	http_response_free(&account);
}

/* Probe the capabilities; stored when the database exists already (check creates none). */
static void check_capabilities(struct checker *c, const struct config *cfg, struct http_client *cq)
{
	sqlite3 *db = NULL;
	char err[1024];
	int busy = 0;
	if (access(cfg->database, F_OK) == 0 && db_open(cfg->database, DB_READWRITE, &db, &busy, err, sizeof err)) {
		printf("note    capabilities are not stored: %s\n", err);
		db = NULL;
	}
	if (capabilities_probe(db, 0, cq, 1, 1))
		check_problem(c, "the capabilities could not be stored in the database");
	if (!db)
		printf("note    no database yet: the first run probes and stores the capabilities\n");
	db_close(db);
}

void check_crosschq(struct checker *c, const struct config *cfg, const char *key)
{
	struct http_client cq;
	char err[1024];
	char *auth = crosschq_auth_value(cfg->crosschq_auth_scheme, key);
	int bad = crosschq_client_init(&cq, cfg->crosschq_url, auth, cfg->crosschq_rps, err, sizeof err);
	secret_free(auth);
	if (bad) {
		check_problem(c, err);
		return;
	}
	cq.max_attempts = 2;
	struct http_response resp;
	http_response_init(&resp);
	/* the key: the one evidenced list every account has */
	enum remote_status s = crosschq_get_account_config(&cq, &resp, err, sizeof err);
	if (s == REMOTE_NOT_FOUND)
		s = crosschq_get_jobroles(&cq, &resp, err, sizeof err);
	http_response_free(&resp);
	if (s == REMOTE_AUTH) {
		char msg[1400];
		snprintf(msg, sizeof msg, "%s: Crosschq refused the API key; check [crosschq] api_key_file and "
			 "auth_scheme (empty: the key is sent as the whole Authorization value)", err);
		check_problem(c, msg);
	} else if (check_call_ok(c, s, err) == 0) {
		check_ok("Crosschq accepts the API key at ", cfg->crosschq_url);
		check_templates(c, cfg, &cq);
		check_capabilities(c, cfg, &cq);
	}
	http_client_free(&cq);
}
