/*
 * test_config.c - lib/config.c (defaults, validation messages that name
 * file:line and [section] key, URLs, booleans and numbers, secrets and
 * $CREDENTIALS_DIRECTORY) and the secret masking of lib/log.c that
 * config_read_secret feeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "config.h"
#include "log.h"
#include "util.h"

#define MINIMAL "[sync]\ndatabase = /var/lib/refsync/refsync.db\n"

struct fixture {
	char dir[64];
	char conf[128];   /* <dir>/refsync.conf */
	char creds[128];  /* <dir>/creds (created on demand) */
	struct config cfg;
	int loaded;
};

/* ---- helpers -------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/refsync-config-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->conf, sizeof f->conf, "%s/refsync.conf", f->dir);
	snprintf(f->creds, sizeof f->creds, "%s/creds", f->dir);
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("REFSYNC_CONFIG");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->loaded)
		config_free(&f->cfg);
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("REFSYNC_CONFIG");
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* Write len bytes to path and set its mode explicitly (umask aside). */
static void write_bytes(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, data, len), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	write_bytes(path, text, strlen(text), mode);
}

/* Write the config text and load it into f->cfg. */
static int load(struct fixture *f, const char *text, char *err, size_t errlen)
{
	write_text(f->conf, text, 0640);
	err[0] = '\0';
	int r = config_load(f->conf, &f->cfg, err, errlen);
	f->loaded = r == 0;
	return r;
}

/* Loading text must fail with exactly "<conf>:<line>: [section] key: what". */
static void expect_error(struct fixture *f, const char *text, int line, const char *section, const char *key,
			 const char *what)
{
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	int r = load(f, text, err, sizeof err);
	if (line > 0)
		snprintf(want, sizeof want, "%s:%d: [%s] %s: %s", f->conf, line, section, key, what);
	else
		snprintf(want, sizeof want, "%s: [%s] %s: %s", f->conf, section, key, what);
	if (r != -1)
		fail_msg("config accepted, want the error: %s\n--- config ---\n%s", want, text);
	assert_string_equal(err, want);
	/* on failure cfg is freed */
	assert_null(f->cfg.path);
	assert_null(f->cfg.database);
	assert_null(f->cfg.lever_url);
}

/* Write a config naming secret files; returns nothing, loads into f->cfg. */
static void load_ok(struct fixture *f, const char *text)
{
	char err[CONFIG_ERR_MAX];
	int r = load(f, text, err, sizeof err);
	if (r != 0)
		fail_msg("config_load failed: %s", err);
}

/* ---- config_load: defaults and values ------------------------------------ */

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	load_ok(f, MINIMAL);
	struct config *c = &f->cfg;
	assert_string_equal(c->path, f->conf);
	assert_string_equal(c->database, "/var/lib/refsync/refsync.db");
	assert_string_equal(c->spool, "/var/lib/refsync/spool");
	assert_int_equal(c->cancel_on_archive, 1);
	assert_int_equal(c->trigger_since, 0);
	assert_int_equal(c->overlap_minutes, 5);
	assert_string_equal(c->lever_url, "https://api.lever.co/v1");
	assert_string_equal(c->trigger_stage, "Reference Check");
	assert_string_equal(c->hired_reason, "Hired");
	assert_null(c->perform_as);
	assert_true(c->lever_rps == 8.0);
	assert_int_equal(c->webhook_max_age_hours, 24);
	assert_string_equal(c->crosschq_url, "https://partner.crosschq.com");
	assert_null(c->crosschq_auth_scheme);
	assert_int_equal(c->poll_open_minutes, 60);
	assert_int_equal(c->poll_open_per_run, 20);
	assert_int_equal(c->n_templates, 0);
	assert_true(c->crosschq_rps == 5.0);
	assert_int_equal(c->crosschq_webhook_auth, WEBHOOK_AUTH_TOKEN);
	assert_int_equal(c->after_days, 14);
	assert_int_equal(c->answer_expiry_days, 30);
	assert_string_equal(c->smtp_url, "smtp://localhost:25");
	assert_null(c->smtp_user);
	assert_string_equal(c->from, "Reference checks <refsync@localhost>");
	assert_null(c->answer_url);
	assert_int_equal(c->export_existing, 0);
	assert_int_equal(c->auto_export_new, 0);
	for (int i = 0; i < SECRET_COUNT; i++) {
		assert_null(c->secret_file[i]);
		assert_int_equal(c->secret_line[i], 0);
	}
}

static void test_every_key(void **state)
{
	struct fixture *f = *state;
	load_ok(f, "# every key\n"
		   "[sync]\n"
		   "database = /srv/acme/state.db\n"
		   "spool = /srv/acme/in\n"
		   "cancel_on_archive = Off\n"
		   "trigger_since = 2026-11-28T16:49:59Z\n"
		   "overlap_minutes = 1440\n"
		   "\n"
		   "[lever]\n"
		   "url = https://api.sandbox.lever.co/v1//\n"
		   "api_key_file = /etc/refsync/lever_key\n"
		   "trigger_stage = Refs\n"
		   "hired_reason = Offer accepted\n"
		   "perform_as = 8d49b010-a2a2-4b7e-b3c5-2ee5b2d1e3a0\n"
		   "requests_per_second = 2.5\n"
		   "stage_change_token_file = /etc/refsync/stage\n"
		   "hired_token_file = /etc/refsync/hired\n"
		   "webhook_max_age_hours = 720\n"
		   "[crosschq]\n"
		   "url = http://127.0.0.1:8080/\n"
		   "api_key_file = /etc/refsync/cq_key\n"
		   "auth_scheme = token\n"
		   "requests_per_second = 1000\n"
		   "webhook_auth = Basic\n"
		   "webhook_secret_file = /etc/refsync/cq_webhook\n"
		   "[followup]\n"
		   "after_days = 0\n"
		   "answer_expiry_days = 365\n"
		   "smtp_url = SMTPS://mail.example.com:465\n"
		   "smtp_user = refsync\n"
		   "smtp_password_file = /etc/refsync/smtp\n"
		   "from = Refs <refs@example.com>\n"
		   "answer_url = https://refsync.example.com/answer\n"
		   "answer_secret_file = /etc/refsync/answer\n"
		   "[prospects]\n"
		   "export_existing = TRUE\n"
		   "auto_export_new = 1\n");
	struct config *c = &f->cfg;
	assert_string_equal(c->database, "/srv/acme/state.db");
	assert_string_equal(c->spool, "/srv/acme/in");
	assert_int_equal(c->cancel_on_archive, 0);
	assert_int_equal(c->trigger_since, 1795884599000LL);
	assert_int_equal(c->overlap_minutes, 1440);
	assert_string_equal(c->lever_url, "https://api.sandbox.lever.co/v1"); /* trailing slashes gone */
	assert_string_equal(c->trigger_stage, "Refs");
	assert_string_equal(c->hired_reason, "Offer accepted");
	assert_string_equal(c->perform_as, "8d49b010-a2a2-4b7e-b3c5-2ee5b2d1e3a0");
	assert_true(c->lever_rps == 2.5);
	assert_int_equal(c->webhook_max_age_hours, 720);
	assert_string_equal(c->crosschq_url, "http://127.0.0.1:8080");
	assert_string_equal(c->crosschq_auth_scheme, "Token");
	assert_true(c->crosschq_rps == 1000.0);
	assert_int_equal(c->after_days, 0);
	assert_int_equal(c->answer_expiry_days, 365);
	assert_string_equal(c->smtp_url, "SMTPS://mail.example.com:465");
	assert_string_equal(c->smtp_user, "refsync");
	assert_string_equal(c->from, "Refs <refs@example.com>");
	assert_string_equal(c->answer_url, "https://refsync.example.com/answer");
	assert_int_equal(c->export_existing, 1);
	assert_int_equal(c->auto_export_new, 1);
	assert_string_equal(c->secret_file[SECRET_LEVER_API_KEY], "/etc/refsync/lever_key");
	assert_int_equal(c->secret_line[SECRET_LEVER_API_KEY], 11);
	assert_string_equal(c->secret_file[SECRET_LEVER_STAGE_CHANGE_TOKEN], "/etc/refsync/stage");
	assert_int_equal(c->secret_line[SECRET_LEVER_STAGE_CHANGE_TOKEN], 16);
	assert_string_equal(c->secret_file[SECRET_LEVER_HIRED_TOKEN], "/etc/refsync/hired");
	assert_int_equal(c->secret_line[SECRET_LEVER_HIRED_TOKEN], 17);
	assert_string_equal(c->secret_file[SECRET_CROSSCHQ_API_KEY], "/etc/refsync/cq_key");
	assert_int_equal(c->secret_line[SECRET_CROSSCHQ_API_KEY], 21);
	assert_string_equal(c->secret_file[SECRET_SMTP_PASSWORD], "/etc/refsync/smtp");
	assert_int_equal(c->crosschq_webhook_auth, WEBHOOK_AUTH_BASIC);
	assert_string_equal(c->secret_file[SECRET_CROSSCHQ_WEBHOOK_SECRET], "/etc/refsync/cq_webhook");
	assert_int_equal(c->secret_line[SECRET_CROSSCHQ_WEBHOOK_SECRET], 25);
	assert_int_equal(c->secret_line[SECRET_SMTP_PASSWORD], 31);
	assert_string_equal(c->secret_file[SECRET_ANSWER_SECRET], "/etc/refsync/answer");
	assert_int_equal(c->secret_line[SECRET_ANSWER_SECRET], 34);
}

static void test_empty_values_unset(void **state)
{
	struct fixture *f = *state;
	load_ok(f, MINIMAL "trigger_since =\n"
			   "[lever]\nperform_as =\napi_key_file =\n"
			   "[crosschq]\nauth_scheme =\n"
			   "[followup]\nsmtp_user =\n");
	assert_int_equal(f->cfg.trigger_since, 0);
	assert_null(f->cfg.perform_as);
	assert_null(f->cfg.crosschq_auth_scheme);
	assert_null(f->cfg.smtp_user);
	assert_null(f->cfg.secret_file[SECRET_LEVER_API_KEY]);
}

/* A repeated key, or an indented line (which inih reads as continuing the
 * key above), would silently replace a value: both are refused, named. */
static void test_repeated_key_refused(void **state)
{
	struct fixture *f = *state;
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	assert_int_equal(load(f, "[sync]\ndatabase = /a/first.db\ndatabase = /b/second.db\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: [sync] database: given twice (or continued by an indented line): "
		 "write each key once, at the start of a line", f->conf);
	assert_string_equal(err, want);
	assert_int_equal(load(f, "[sync]\ndatabase = /x.db\n    spool = /y\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: [sync] database: given twice (or continued by an indented line): "
		 "write each key once, at the start of a line", f->conf);
	assert_string_equal(err, want);
}

static void test_spool_default(void **state)
{
	struct fixture *f = *state;
	load_ok(f, "[sync]\ndatabase = refsync.db\n");
	assert_string_equal(f->cfg.spool, "spool");
	config_free(&f->cfg);
	f->loaded = 0;
	load_ok(f, "[sync]\ndatabase = /refsync.db\n");
	assert_string_equal(f->cfg.spool, "/spool");
	config_free(&f->cfg);
	f->loaded = 0;
	load_ok(f, "[sync]\ndatabase = state/t1/refsync.db\n");
	assert_string_equal(f->cfg.spool, "state/t1/spool");
}

/* The example that `make install` ships must load as documented. */
static void test_example_config_loads(void **state)
{
	struct fixture *f = *state;
	const char *example = "sync/refsync.conf.example";
	if (access(example, R_OK) != 0)
		skip(); /* not run from the top of the source tree */
	char err[CONFIG_ERR_MAX];
	int r = config_load(example, &f->cfg, err, sizeof err);
	if (r != 0)
		fail_msg("%s", err);
	f->loaded = 1;
	assert_string_equal(f->cfg.database, "/var/lib/refsync/refsync.db");
	assert_string_equal(f->cfg.spool, "/var/lib/refsync/spool");
	assert_string_equal(f->cfg.lever_url, "https://api.lever.co/v1");
	assert_string_equal(f->cfg.secret_file[SECRET_LEVER_API_KEY],
			    "/etc/refsync/refsync.credentials/lever/api_key");
	assert_null(f->cfg.secret_file[SECRET_SMTP_PASSWORD]);
	assert_null(f->cfg.perform_as);
	assert_int_equal(f->cfg.trigger_since, 0);
}

/* ---- config_load: errors ------------------------------------------------- */

static void test_error_missing_file(void **state)
{
	struct fixture *f = *state;
	char path[160], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	snprintf(path, sizeof path, "%s/absent.conf", f->dir);
	assert_int_equal(config_load(path, &f->cfg, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot read the config file: No such file or directory", path);
	assert_string_equal(err, want);
	assert_null(f->cfg.path);
}

static void test_error_database_required(void **state)
{
	struct fixture *f = *state;
	expect_error(f, "[lever]\nrequests_per_second = 3\n", 0, "sync", "database",
		     "required: the path of the SQLite database");
	expect_error(f, "[sync]\ndatabase =\n", 0, "sync", "database", "required: the path of the SQLite database");
}

static void test_error_rate_names_line(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = { "0", "-1", "1000.5", "fast", "nan", "inf", "", "8 rps", "1e9" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256], msg[128];
		snprintf(text, sizeof text, "[sync]\ndatabase = /x/db\n[lever]\nrequests_per_second = %s\n", bad[i]);
		snprintf(msg, sizeof msg, "expected a number above 0 and at most 1000, got '%s'", bad[i]);
		expect_error(f, text, 4, "lever", "requests_per_second", msg);
		snprintf(text, sizeof text, "[crosschq]\nrequests_per_second = %s\n" MINIMAL, bad[i]);
		expect_error(f, text, 2, "crosschq", "requests_per_second", msg);
	}
	/* the form of the brief: "refsync.conf:3: [lever] requests_per_second:" */
	char err[CONFIG_ERR_MAX], want[256];
	assert_int_equal(load(f, "[lever]\nurl = https://api.lever.co/v1\nrequests_per_second = 0\n" MINIMAL, err,
			      sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: [lever] requests_per_second:", f->conf);
	assert_memory_equal(err, want, strlen(want));
}

static void test_error_integers(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *section, *key, *value, *what;
	} cases[] = {
		{ "sync", "overlap_minutes", "1441", "expected minutes from 0 to 1440, got '1441'" },
		{ "sync", "overlap_minutes", "-1", "expected minutes from 0 to 1440, got '-1'" },
		{ "sync", "overlap_minutes", "5m", "expected minutes from 0 to 1440, got '5m'" },
		{ "sync", "overlap_minutes", "", "expected minutes from 0 to 1440, got ''" },
		{ "sync", "overlap_minutes", "99999999999999999999", "expected minutes from 0 to 1440, got '99999999999999999999'" },
		{ "lever", "webhook_max_age_hours", "0", "expected hours from 1 to 720, got '0'" },
		{ "lever", "webhook_max_age_hours", "721", "expected hours from 1 to 720, got '721'" },
		{ "followup", "after_days", "3651", "expected days from 0 to 3650, got '3651'" },
		{ "followup", "after_days", "1.5", "expected days from 0 to 3650, got '1.5'" },
		{ "followup", "answer_expiry_days", "0", "expected days from 1 to 365, got '0'" },
		{ "followup", "answer_expiry_days", "366", "expected days from 1 to 365, got '366'" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[256];
		snprintf(text, sizeof text, MINIMAL "# a comment\n\n[%s]\n; another\n%s = %s\n", cases[i].section,
			 cases[i].key, cases[i].value);
		expect_error(f, text, 7, cases[i].section, cases[i].key, cases[i].what);
	}
}

static void test_error_booleans(void **state)
{
	struct fixture *f = *state;
	expect_error(f, MINIMAL "cancel_on_archive = maybe\n", 3, "sync", "cancel_on_archive",
		     "expected yes or no, got 'maybe'");
	expect_error(f, MINIMAL "[prospects]\nexport_existing = 2\n", 4, "prospects", "export_existing",
		     "expected yes or no, got '2'");
	expect_error(f, "[prospects]\nauto_export_new = y\n" MINIMAL, 2, "prospects", "auto_export_new",
		     "expected yes or no, got 'y'");
	expect_error(f, MINIMAL "cancel_on_archive =\n", 3, "sync", "cancel_on_archive", "expected yes or no, got ''");
	/* not a boolean, but a word from a list */
	expect_error(f, MINIMAL "[crosschq]\nwebhook_auth = none\n", 4, "crosschq", "webhook_auth",
		     "expected token or basic, got 'none'");
	expect_error(f, MINIMAL "[crosschq]\nwebhook_auth = Bearer\n", 4, "crosschq", "webhook_auth",
		     "expected token or basic, got 'Bearer'");
	expect_error(f, MINIMAL "[crosschq]\nwebhook_auth =\n", 4, "crosschq", "webhook_auth",
		     "expected token or basic, got ''");
}

static void test_parse_bool(void **state)
{
	(void)state;
	const char *yes[] = { "yes", "YES", "true", "True", "on", "ON", "1" };
	const char *no[] = { "no", "No", "false", "FALSE", "off", "Off", "0" };
	const char *bad[] = { "", "y", "n", "2", "yess", "enabled", " yes", "-1" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		int v = -7;
		assert_int_equal(config_parse_bool(yes[i], &v), 0);
		assert_int_equal(v, 1);
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		int v = -7;
		assert_int_equal(config_parse_bool(no[i], &v), 0);
		assert_int_equal(v, 0);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int v = -7;
		assert_int_equal(config_parse_bool(bad[i], &v), -1);
		assert_int_equal(v, -7);
	}
}

static void test_error_trigger_since(void **state)
{
	struct fixture *f = *state;
	expect_error(f, MINIMAL "trigger_since = yesterday\n", 3, "sync", "trigger_since",
		     "expected an ISO 8601 time such as 2026-11-28T00:00:00Z, got 'yesterday'");
	expect_error(f, MINIMAL "trigger_since = 2026-13-01\n", 3, "sync", "trigger_since",
		     "expected an ISO 8601 time such as 2026-11-28T00:00:00Z, got '2026-13-01'");
}

static void test_error_unknown_keys(void **state)
{
	struct fixture *f = *state;
	const char *what = "unknown key (see refsync.conf(5))";
	/* the value (here what someone took for the key itself) is not echoed */
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	assert_int_equal(load(f, MINIMAL "[lever]\napi_key = lvr-very-secret-key\n", err, sizeof err), -1);
	assert_null(strstr(err, "lvr-very-secret-key"));
	expect_error(f, MINIMAL "[lever]\napi_key = lvr-very-secret-key\n", 4, "lever", "api_key", what);
	expect_error(f, MINIMAL "[lever]\nflavour = mint\n", 4, "lever", "flavour", what);
	/* a key of another section says where it belongs */
	expect_error(f, MINIMAL "[sync]\nurl = https://api.lever.co/v1\n", 4, "sync", "url",
		     "unknown key in [sync]: it belongs in [lever] or [crosschq]");
	expect_error(f, "database = /x\n[lever]\nurl = https://api.lever.co/v1\n" MINIMAL, 1, "", "database",
		     "before any [section]: it belongs in [sync]");
	/* a misspelt key names the one meant (edit distance) */
	expect_error(f, MINIMAL "Database = /x\n", 3, "sync", "Database", "unknown key (did you mean database?)");
	expect_error(f, MINIMAL "[lever]\ntrigger_stag = Reference Check\n", 4, "lever", "trigger_stag",
		     "unknown key (did you mean trigger_stage?)");
	expect_error(f, MINIMAL "[followup]\nsmpt_url = smtp://x\n", 4, "followup", "smpt_url",
		     "unknown key (did you mean smtp_url?)");
	/* an unknown section is named once, at its header, with the one meant when close */
	assert_int_equal(load(f, MINIMAL "[mail]\nsmtp_url = smtp://x\nfrom = a@b\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: [mail]: unknown section (the sections are [sync], [lever], [crosschq], "
		 "[followup], [prospects] and [template NAME]; see refsync.conf(5))", f->conf);
	assert_string_equal(err, want);
	assert_int_equal(load(f, MINIMAL "[levr]\n[templates eng]\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: [levr]: unknown section (did you mean [lever]?)\n"
		 "%s:4: [templates eng]: unknown section (did you mean [template eng]?)", f->conf, f->conf);
	assert_string_equal(err, want);
}

/* Every problem of the file is reported, in one go, one line each. */
static void test_error_every_one_reported(void **state)
{
	struct fixture *f = *state;
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	assert_int_equal(load(f, MINIMAL "overlap_minutes = many\n[lever]\nrequests_per_second = 0\nbogus = 1\n", err,
			      sizeof err), -1);
	snprintf(want, sizeof want,
		 "%s:3: [sync] overlap_minutes: expected minutes from 0 to 1440, got 'many'\n"
		 "%s:5: [lever] requests_per_second: expected a number above 0 and at most 1000, got '0'\n"
		 "%s:6: [lever] bogus: unknown key (see refsync.conf(5))",
		 f->conf, f->conf, f->conf);
	assert_string_equal(err, want);
	/* and the checks after the parse too */
	assert_int_equal(load(f, "[lever]\nurl = http://api.lever.co/v1\nwhat\n", err, sizeof err), -1);
	snprintf(want, sizeof want,
		 "%s:3: not a valid INI line (expected [section] or key = value)\n"
		 "%s: [sync] database: required: the path of the SQLite database\n"
		 "%s:2: [lever] url: 'http://api.lever.co/v1' is not allowed: use https:// (plain http:// only to a "
		 "loopback address)",
		 f->conf, f->conf, f->conf);
	assert_string_equal(err, want);
	/* more than err holds: the last line says how many more */
	char text[8192] = MINIMAL "[lever]\n";
	for (int i = 0; i < 200; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "bogus_key_number_%d = 1\n", i);
	char small[512];
	assert_int_equal(load(f, text, small, sizeof small), -1);
	const char *last = strrchr(small, '\n');
	assert_non_null(last);
	assert_non_null(strstr(last, " more problems not shown"));
	assert_true(strlen(small) < sizeof small);
}

static void test_error_not_ini(void **state)
{
	struct fixture *f = *state;
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	assert_int_equal(load(f, MINIMAL "\nthis line has no equals sign\nnor this one\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:4: not a valid INI line (expected [section] or key = value)\n"
		 "%s:5: not a valid INI line (expected [section] or key = value)", f->conf, f->conf);
	assert_string_equal(err, want);
	assert_null(f->cfg.path);
	assert_int_equal(load(f, "[sync\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:1: not a valid INI line (expected [section] or key = value)\n"
		 "%s: [sync] database: required: the path of the SQLite database", f->conf, f->conf);
	assert_string_equal(err, want);
	/* an indented line after a key is its continuation (inih), not a syntax error */
	assert_int_equal(load(f, MINIMAL "  more\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:3: [sync] database: given twice (or continued by an indented line): write "
		 "each key once, at the start of a line", f->conf);
	assert_string_equal(err, want);
}

static void test_error_urls(void **state)
{
	struct fixture *f = *state;
	const char *tail = "is not allowed: use https:// (plain http:// only to a loopback address)";
	char what[256];
	snprintf(what, sizeof what, "'http://api.lever.co/v1' %s", tail);
	expect_error(f, MINIMAL "[lever]\nurl = http://api.lever.co/v1\n", 4, "lever", "url", what);
	snprintf(what, sizeof what, "'http://10.0.0.1/' %s", tail);
	expect_error(f, "[crosschq]\nurl = http://10.0.0.1/\n" MINIMAL, 2, "crosschq", "url", what);
	snprintf(what, sizeof what, "'http://refsync.example.com/answer' %s", tail);
	expect_error(f, MINIMAL "[followup]\n\nanswer_url = http://refsync.example.com/answer\n", 5, "followup",
		     "answer_url", what);
	snprintf(what, sizeof what, "'ftp://api.lever.co' %s", tail);
	expect_error(f, MINIMAL "[lever]\nurl = ftp://api.lever.co\n", 4, "lever", "url", what);
	snprintf(what, sizeof what, "'http://127.0.0.1@evil.example' %s", tail);
	expect_error(f, MINIMAL "[lever]\nurl = http://127.0.0.1@evil.example\n", 4, "lever", "url", what);
	expect_error(f, MINIMAL "[lever]\nurl =\n", 4, "lever", "url", "must not be empty");
	expect_error(f, MINIMAL "[crosschq]\nurl =\n", 4, "crosschq", "url", "must not be empty");
	expect_error(f, MINIMAL "[lever]\ntrigger_stage =\n", 4, "lever", "trigger_stage",
		     "must name the Lever stage that starts a reference check");
	expect_error(f, MINIMAL "[followup]\nsmtp_url = http://mail.example.com\n", 4, "followup", "smtp_url",
		     "'http://mail.example.com' is not an smtp:// or smtps:// URL");
}

static void test_loopback_http_allowed(void **state)
{
	struct fixture *f = *state;
	load_ok(f, MINIMAL "[lever]\nurl = http://localhost:9001/v1/\n"
			   "[crosschq]\nurl = http://[::1]:9002\n"
			   "[followup]\nanswer_url = http://127.0.0.1:9003/answer\n");
	assert_string_equal(f->cfg.lever_url, "http://localhost:9001/v1");
	assert_string_equal(f->cfg.crosschq_url, "http://[::1]:9002");
	assert_string_equal(f->cfg.answer_url, "http://127.0.0.1:9003/answer");
}

/*
 * BUG: a line longer than inih's line buffer (200 bytes by default) is read
 * in pieces. config.c counts lines in its fgets wrapper, so each piece
 * counts as a line: a 260-byte answer_url on line 4 is refused as
 * "refsync.conf:5: not a valid INI line" (the file has 4 lines), and every
 * error after such a line names the wrong line (here 7 instead of 6).
 */
static void test_long_line(void **state)
{
	struct fixture *f = *state;
	char url[300], text[600], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	snprintf(url, sizeof url, "https://refsync.example.com/");
	memset(url + strlen(url), 'a', 232);
	url[260] = '\0';
	snprintf(text, sizeof text, MINIMAL "[followup]\nanswer_url = %s\n[lever]\nrequests_per_second = 0\n", url);
	assert_int_equal(load(f, text, err, sizeof err), -1);
	/* Debian's inih reads lines of at most 200 bytes: a longer one is named,
	 * with its own line number, instead of being cut and misread */
	snprintf(want, sizeof want, "%s:4: line longer than 198 characters (the longest a config line may be)\n"
		 "%s:6: [lever] requests_per_second: expected a number above 0 and at most 1000, got '0'",
		 f->conf, f->conf);
	assert_string_equal(err, want);
	/* a long comment is fine, and lines after it keep their numbers */
	snprintf(text, sizeof text, MINIMAL "[lever]\n# %s\nrequests_per_second = 0\n", url);
	assert_int_equal(load(f, text, err, sizeof err), -1);
	snprintf(want, sizeof want,
		 "%s:5: [lever] requests_per_second: expected a number above 0 and at most 1000, got '0'", f->conf);
	assert_string_equal(err, want);
}

/* An empty value must not take a needed default away. */
static void test_empty_required_values(void **state)
{
	struct fixture *f = *state;
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	assert_int_equal(load(f, MINIMAL "[followup]\nsmtp_url =\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: [followup] smtp_url: must not be empty: an smtp:// or smtps:// URL", f->conf);
	assert_string_equal(err, want);
	assert_int_equal(load(f, MINIMAL "[lever]\nhired_reason =\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: [lever] hired_reason: must not be empty: the name of a hired-type archive reason",
		 f->conf);
	assert_string_equal(err, want);
	assert_int_equal(load(f, MINIMAL "[followup]\nfrom =\n", err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: [followup] from: must not be empty: the sender of the follow-up email", f->conf);
	assert_string_equal(err, want);
}

static void test_config_locate(void **state)
{
	(void)state;
	unsetenv("REFSYNC_CONFIG");
	assert_string_equal(config_locate(NULL), CONFIG_DEFAULT_PATH);
	assert_string_equal(config_locate(""), CONFIG_DEFAULT_PATH);
	assert_string_equal(config_locate("/etc/refsync/acme.conf"), "/etc/refsync/acme.conf");
	setenv("REFSYNC_CONFIG", "/srv/env.conf", 1);
	assert_string_equal(config_locate(NULL), "/srv/env.conf");
	assert_string_equal(config_locate("/explicit.conf"), "/explicit.conf");
	setenv("REFSYNC_CONFIG", "", 1);
	assert_string_equal(config_locate(NULL), CONFIG_DEFAULT_PATH);
	unsetenv("REFSYNC_CONFIG");
}

/* ---- secrets ------------------------------------------------------------- */

static void test_secret_names(void **state)
{
	(void)state;
	static const char *cred[SECRET_COUNT] = {
		"lever_api_key", "lever_stage_change_token", "lever_hired_token",
		"crosschq_api_key", "followup_smtp_password", "followup_answer_secret", "crosschq_webhook_secret",
		"audit_signing_key",
	};
	static const char *key[SECRET_COUNT] = {
		"[lever] api_key_file", "[lever] stage_change_token_file", "[lever] hired_token_file",
		"[crosschq] api_key_file", "[followup] smtp_password_file", "[followup] answer_secret_file",
		"[crosschq] webhook_secret_file", "[audit] signing_key_file",
	};
	for (int i = 0; i < SECRET_COUNT; i++) {
		assert_string_equal(config_secret_credential_name((enum secret_id)i), cred[i]);
		assert_string_equal(config_secret_key_name((enum secret_id)i), key[i]);
	}
}

/* A config whose [lever] api_key_file (line 4) names <dir>/<name>. */
static void load_with_secret_file(struct fixture *f, const char *name, char *secret_path, size_t len)
{
	char text[512];
	snprintf(secret_path, len, "%s/%s", f->dir, name);
	snprintf(text, sizeof text, MINIMAL "[lever]\napi_key_file = %s\n", secret_path);
	load_ok(f, text);
}

static void test_secret_read(void **state)
{
	struct fixture *f = *state;
	char path[256], err[CONFIG_ERR_MAX] = "";
	load_with_secret_file(f, "lever_key", path, sizeof path);
	write_text(path, "lvr-0123456789abcdef\n", 0600);
	char *s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "lvr-0123456789abcdef");
	free(s);
	/* 0400 is fine too; CRLF, spaces and tabs at the end go, leading ones stay */
	write_text(path, "  lvr-inner space\t \r\n\r\n", 0400);
	s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "  lvr-inner space");
	free(s);
	/* no newline at all */
	write_text(path, "lvr-no-newline", 0600);
	s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "lvr-no-newline");
	free(s);
}

static void expect_mode_refused(struct fixture *f, mode_t mode)
{
	char path[256], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	load_with_secret_file(f, "lever_key", path, sizeof path);
	write_text(path, "lvr-world-readable-secret\n", mode);
	char *s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_null(s);
	snprintf(want, sizeof want,
		 "%s ([lever] api_key_file, line 4 of %s): refusing a secret file readable by group or others "
		 "(mode %04o); run: chmod 600 %s",
		 path, f->conf, (unsigned)mode, path);
	assert_string_equal(err, want);
	assert_null(strstr(err, "lvr-world-readable-secret"));
	config_free(&f->cfg);
	f->loaded = 0;
}

static void test_secret_mode_refused(void **state)
{
	struct fixture *f = *state;
	expect_mode_refused(f, 0644);
	expect_mode_refused(f, 0640);
	expect_mode_refused(f, 0604);
	expect_mode_refused(f, 0440);
}

static void test_secret_empty(void **state)
{
	struct fixture *f = *state;
	char path[256], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	load_with_secret_file(f, "lever_key", path, sizeof path);
	snprintf(want, sizeof want, "%s ([lever] api_key_file, line 4 of %s): empty", path, f->conf);
	write_text(path, "", 0600);
	assert_null(config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err));
	assert_string_equal(err, want);
	write_text(path, "\n \t\r\n", 0600);
	assert_null(config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err));
	assert_string_equal(err, want);
}

static void test_secret_nul_byte(void **state)
{
	struct fixture *f = *state;
	char path[256], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	load_with_secret_file(f, "lever_key", path, sizeof path);
	write_bytes(path, "lvr-before\0lvr-after\n", 21, 0600);
	assert_null(config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err));
	snprintf(want, sizeof want, "%s ([lever] api_key_file, line 4 of %s): contains a NUL byte", path, f->conf);
	assert_string_equal(err, want);
	assert_null(strstr(err, "lvr-before"));
}

static void test_secret_size_limit(void **state)
{
	struct fixture *f = *state;
	char path[256], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	static char big[4097];
	load_with_secret_file(f, "lever_key", path, sizeof path);
	memset(big, 'k', sizeof big);
	/* exactly 4 KiB is accepted */
	write_bytes(path, big, 4096, 0600);
	char *s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(strlen(s), 4096);
	assert_memory_equal(s, big, 4096);
	free(s);
	/* one byte more is not */
	write_bytes(path, big, 4097, 0600);
	assert_null(config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err));
	snprintf(want, sizeof want, "%s ([lever] api_key_file, line 4 of %s): unreadable or larger than 4 KiB", path,
		 f->conf);
	assert_string_equal(err, want);
	assert_null(strstr(err, "kkkk"));
}

static void test_secret_missing_or_unset(void **state)
{
	struct fixture *f = *state;
	char path[256], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	load_with_secret_file(f, "absent_key", path, sizeof path);
	assert_null(config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err));
	snprintf(want, sizeof want, "%s ([lever] api_key_file, line 4 of %s): cannot open: No such file or directory",
		 path, f->conf);
	assert_string_equal(err, want);
	/* a key that is not set at all */
	assert_null(config_read_secret(&f->cfg, SECRET_CROSSCHQ_API_KEY, err, sizeof err));
	snprintf(want, sizeof want,
		 "%s: [crosschq] api_key_file is not set (and no credential 'crosschq_api_key' in "
		 "$CREDENTIALS_DIRECTORY)",
		 f->conf);
	assert_string_equal(err, want);
	/* a directory is not a secret */
	config_free(&f->cfg);
	f->loaded = 0;
	load_with_secret_file(f, "adir", path, sizeof path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err));
	snprintf(want, sizeof want, "%s ([lever] api_key_file, line 4 of %s): not a regular file", path, f->conf);
	assert_string_equal(err, want);
}

static void test_credentials_directory_wins(void **state)
{
	struct fixture *f = *state;
	char path[256], cred[256], err[CONFIG_ERR_MAX] = "";
	load_with_secret_file(f, "lever_key", path, sizeof path);
	write_text(path, "lvr-from-the-file\n", 0600);
	assert_int_equal(mkdir(f->creds, 0700), 0);
	snprintf(cred, sizeof cred, "%s/lever_api_key", f->creds);
	/* systemd's credential files are not subject to the mode rule */
	write_text(cred, "lvr-from-credential\n", 0440);
	setenv("CREDENTIALS_DIRECTORY", f->creds, 1);
	char *s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "lvr-from-credential");
	free(s);
	/* a credential that is not there: back to the *_file */
	unlink(cred);
	s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "lvr-from-the-file");
	free(s);
	/* an empty $CREDENTIALS_DIRECTORY is ignored */
	write_text(cred, "lvr-from-credential\n", 0400);
	setenv("CREDENTIALS_DIRECTORY", "", 1);
	s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	assert_string_equal(s, "lvr-from-the-file");
	free(s);
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_credentials_every_name(void **state)
{
	struct fixture *f = *state;
	load_ok(f, MINIMAL); /* no *_file key at all */
	assert_int_equal(mkdir(f->creds, 0700), 0);
	setenv("CREDENTIALS_DIRECTORY", f->creds, 1);
	for (int i = 0; i < SECRET_COUNT; i++) {
		char cred[256], value[16], err[CONFIG_ERR_MAX] = "";
		const char *name = config_secret_credential_name((enum secret_id)i);
		snprintf(cred, sizeof cred, "%s/%s", f->creds, name);
		/* under 4 bytes: not registered with the logger */
		snprintf(value, sizeof value, "c%d", i);
		assert_int_equal(config_secret_configured(&f->cfg, (enum secret_id)i), 0);
		write_text(cred, value, 0400);
		assert_int_equal(config_secret_configured(&f->cfg, (enum secret_id)i), 1);
		char *s = config_read_secret(&f->cfg, (enum secret_id)i, err, sizeof err);
		if (!s)
			fail_msg("credential %s not read: %s", name, err);
		assert_string_equal(s, value);
		free(s);
	}
	unsetenv("CREDENTIALS_DIRECTORY");
}

static void test_credential_errors_name_it(void **state)
{
	struct fixture *f = *state;
	char cred[256], err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	load_ok(f, MINIMAL);
	assert_int_equal(mkdir(f->creds, 0700), 0);
	snprintf(cred, sizeof cred, "%s/crosschq_api_key", f->creds);
	write_text(cred, "\n", 0400);
	setenv("CREDENTIALS_DIRECTORY", f->creds, 1);
	assert_null(config_read_secret(&f->cfg, SECRET_CROSSCHQ_API_KEY, err, sizeof err));
	snprintf(want, sizeof want, "%s (systemd credential crosschq_api_key): empty", cred);
	assert_string_equal(err, want);
	/* not in the directory and no *_file: both are named */
	assert_null(config_read_secret(&f->cfg, SECRET_SMTP_PASSWORD, err, sizeof err));
	snprintf(want, sizeof want,
		 "%s: [followup] smtp_password_file is not set (and no credential 'followup_smtp_password' in "
		 "$CREDENTIALS_DIRECTORY)",
		 f->conf);
	assert_string_equal(err, want);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* ---- log_mask_secrets ---------------------------------------------------- */

/* config_read_secret registers what it read: it is masked from then on. */
static void test_secret_is_masked(void **state)
{
	struct fixture *f = *state;
	char path[256], err[CONFIG_ERR_MAX];
	load_with_secret_file(f, "answer", path, sizeof path);
	write_text(path, "hmac-Zq9-unique-answer\n", 0600);
	char *s = config_read_secret(&f->cfg, SECRET_LEVER_API_KEY, err, sizeof err);
	assert_non_null(s);
	free(s);
	char line[] = "GET /x?k=hmac-Zq9-unique-answer&again=hmac-Zq9-unique-answer.";
	log_mask_secrets(line);
	assert_string_equal(line, "GET /x?k=***&again=***.");
}

static void test_mask_secrets(void **state)
{
	(void)state;
	log_add_secret("pw-77aa");
	log_add_secret("pw-77aa"); /* registered once */
	log_add_secret(NULL);
	log_add_secret("ab1"); /* shorter than 4 bytes: never masked */
	char a[] = "pw-77aa";
	log_mask_secrets(a);
	assert_string_equal(a, "***");
	char b[] = "x=pw-77aapw-77aa;y=ab1";
	log_mask_secrets(b);
	assert_string_equal(b, "x=******;y=ab1");
	char c[] = "nothing to hide here";
	log_mask_secrets(c);
	assert_string_equal(c, "nothing to hide here");
	char d[] = "";
	log_mask_secrets(d);
	assert_string_equal(d, "");
	/* a secret of exactly 4 bytes shrinks to 3 */
	log_add_secret("Q4#z");
	char e[] = "[Q4#z]";
	log_mask_secrets(e);
	assert_string_equal(e, "[***]");
}

/*
 * BUG: secrets are masked in the order they were registered. When one
 * secret contains another that was registered first, the short one is
 * masked inside the long one, which then no longer matches: the rest of the
 * long secret is printed. Here "tok-9f3e-rest-of-long-secret" comes out as
 * "***-rest-of-long-secret".
 */
static void test_mask_secret_containing_another(void **state)
{
	(void)state;
	log_add_secret("tok-9f3e");
	log_add_secret("tok-9f3e-rest-of-long-secret");
	char line[] = "auth tok-9f3e-rest-of-long-secret end";
	log_mask_secrets(line);
	assert_string_equal(line, "auth *** end");
}

/* log_msg masks and folds onto one line, whatever the caller passed. */
static void test_log_line_masked(void **state)
{
	struct fixture *f = *state;
	char path[256], got[512];
	snprintf(path, sizeof path, "%s/stderr.txt", f->dir);
	unsetenv("JOURNAL_STREAM");
	log_init("refsync-test", LOG_INFO);
	log_add_secret("lvr-logged-secret");
	fflush(stderr);
	int saved = dup(2);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	log_err("key %s\nrejected", "lvr-logged-secret");
	log_warn("slow");
	log_info("fine");
	log_debug("not shown");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_init("test_config", LOG_ERR);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, got, sizeof got - 1);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	assert_string_equal(got, "refsync-test: error: key *** rejected\n"
				 "refsync-test: warning: slow\n"
				 "refsync-test: fine\n");
}

/* [template NAME] sections: every key, in file order, with defaults. */
static void test_templates_parsed(void **state)
{
	struct fixture *f = *state;
	char msg[256];
	snprintf(msg, sizeof msg, "%s/message.txt", f->dir);
	write_text(msg, "Please name two managers.\n\n", 0644);
	char text[2048];
	snprintf(text, sizeof text, MINIMAL "[crosschq]\npoll_open_minutes = 15\npoll_open_per_run = 0\n"
		 "[template engineering]\nats_tag = Engineering\njobrole = software-engineer\nmanagers = 2\n"
		 "peers = 1\nhiring_manager = Hanna Vogel <hanna@example.com>\nuse_sms = yes\n"
		 "candidate_message_file = %s\nposition = Engineer\n"
		 "[template any]\njobrole = generic\nany_relationship = yes\nreferences = 3\n"
		 "hiring_manager = none\ndefault = yes\n", msg);
	load_ok(f, text);
	const struct config *c = &f->cfg;
	assert_int_equal(c->poll_open_minutes, 15);
	assert_int_equal(c->poll_open_per_run, 0);
	assert_int_equal(c->n_templates, 2);
	const struct template_cfg *e = config_template_find(c, "engineering");
	assert_non_null(e);
	assert_ptr_equal(e, &c->templates[0]);
	assert_string_equal(e->ats_tag, "Engineering");
	assert_string_equal(e->jobrole, "software-engineer");
	assert_int_equal(e->counts[REL_MANAGERS], 2);
	assert_int_equal(e->counts[REL_PEERS], 1);
	assert_int_equal(e->counts[REL_EMPLOYEES], 0);
	assert_int_equal(e->hiring_manager, HM_FIXED);
	assert_string_equal(e->hm_name, "Hanna Vogel");
	assert_string_equal(e->hm_email, "hanna@example.com");
	assert_int_equal(e->use_sms, 1);
	assert_string_equal(e->candidate_message, "Please name two managers.");
	assert_string_equal(e->position, "Engineer");
	assert_int_equal(e->is_default, 0);
	const struct template_cfg *a = config_template_default(c);
	assert_ptr_equal(a, &c->templates[1]);
	assert_string_equal(a->name, "any");
	assert_null(a->ats_tag);
	assert_int_equal(a->any_relationship, 1);
	assert_int_equal(a->references, 3);
	assert_int_equal(a->hiring_manager, HM_NONE);
	assert_null(config_template_find(c, "nope"));
}

/* Each template mistake is one message naming file, line, section and key. */
static void test_template_errors(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[template a]\nats_tag = x\n", "[template a] jobrole: required" },
		{ "[template a]\njobrole = g\nmanagers = 1\n", "[template a] ats_tag: required" },
		{ "[template a]\nats_tag = x\njobrole = g\n", "[template a] managers: no references asked" },
		{ "[template a]\nats_tag = x\njobrole = g\nmanagers = 21\n", ":6: [template a] managers: expected a number" },
		{ "[template a]\nats_tag = x\njobrole = g\nmanagers = 1\nhiring_manager = Bob\n",
		  ":7: [template a] hiring_manager: expected posting, none, or Name <email>" },
		{ "[template a]\nats_tag = x\njobrole = g\nany_relationship = yes\n", "[template a] references: required" },
		{ "[template a]\nats_tag = x\njobrole = g\nany_relationship = yes\nreferences = 2\npeers = 1\n",
		  "[template a] any_relationship: with any_relationship = yes" },
		{ "[template a]\nats_tag = x\njobrole = g\nmanagers = 1\ncolour = red\n", ":7: [template a] colour: unknown key" },
		{ "[template a b]\njobrole = g\n", "[template a b] jobrole: '[template a b]': a template section" },
		{ "[template a]\njobrole = g\nmanagers = 1\ndefault = yes\n[template b]\njobrole = g\nmanagers = 1\n"
		  "default = yes\n", "[template b] default: template a is the default already" },
		{ "[crosschq]\ndefault_template = t1\n", ":4: [crosschq] default_template: templates live in [template NAME]" },
		{ "[crosschq]\nauth_scheme = Bearer\n", ":4: [crosschq] auth_scheme: expected empty" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024], err[CONFIG_ERR_MAX];
		snprintf(text, sizeof text, MINIMAL "%s", cases[i].text);
		assert_int_equal(load(f, text, err, sizeof err), -1);
		if (!strstr(err, cases[i].want) || strncmp(err, f->conf, strlen(f->conf)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
	}
}

int main(void)
{
	log_init("test_config", LOG_ERR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	/* the logger keeps at most 16 secrets per process: the masking tests
	 * come first, and the tests below register few */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask_secrets),
		cmocka_unit_test(test_mask_secret_containing_another),
		T(test_log_line_masked),
		T(test_defaults),
		T(test_every_key),
		T(test_empty_values_unset),
		T(test_repeated_key_refused),
		T(test_empty_required_values),
		T(test_spool_default),
		T(test_example_config_loads),
		T(test_error_missing_file),
		T(test_error_database_required),
		T(test_error_rate_names_line),
		T(test_error_integers),
		T(test_error_booleans),
		cmocka_unit_test(test_parse_bool),
		T(test_error_trigger_since),
		T(test_error_unknown_keys),
		T(test_error_every_one_reported),
		T(test_error_not_ini),
		T(test_error_urls),
		T(test_loopback_http_allowed),
		T(test_long_line),
		T(test_config_locate),
		cmocka_unit_test(test_secret_names),
		T(test_templates_parsed),
		T(test_template_errors),
		T(test_secret_read),
		T(test_secret_mode_refused),
		T(test_secret_empty),
		T(test_secret_nul_byte),
		T(test_secret_size_limit),
		T(test_secret_missing_or_unset),
		T(test_credentials_directory_wins),
		T(test_credentials_every_name),
		T(test_credential_errors_name_it),
		T(test_secret_is_masked),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
