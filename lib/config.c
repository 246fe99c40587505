/*
 * config.c - INI configuration via inih, with validation and secrets.
 */
#include "config_internal.h"
#include "util.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *section, *key, *credential;
} secret_keys[SECRET_COUNT] = {
	[SECRET_LEVER_API_KEY] = { "lever", "api_key_file", "lever_api_key" },
	[SECRET_LEVER_STAGE_CHANGE_TOKEN] = { "lever", "stage_change_token_file", "lever_stage_change_token" },
	[SECRET_LEVER_HIRED_TOKEN] = { "lever", "hired_token_file", "lever_hired_token" },
	[SECRET_CROSSCHQ_API_KEY] = { "crosschq", "api_key_file", "crosschq_api_key" },
	[SECRET_SMTP_PASSWORD] = { "followup", "smtp_password_file", "followup_smtp_password" },
	[SECRET_ANSWER_SECRET] = { "followup", "answer_secret_file", "followup_answer_secret" },
	[SECRET_CROSSCHQ_WEBHOOK_SECRET] = { "crosschq", "webhook_secret_file", "crosschq_webhook_secret" },
	[SECRET_AUDIT_SIGNING_KEY] = { "audit", "signing_key_file", "audit_signing_key" },
};

const char *config_locate(const char *explicit_path)
{
	if (explicit_path && *explicit_path)
		return explicit_path;
	const char *env = getenv("REFSYNC_CONFIG");
	if (env && *env)
		return env;
	return CONFIG_DEFAULT_PATH;
}

const char *config_secret_credential_name(enum secret_id id)
{
	return secret_keys[id].credential;
}

const char *config_secret_key_name(enum secret_id id)
{
	static char names[SECRET_COUNT][64];
	if (!names[id][0])
		snprintf(names[id], sizeof names[id], "[%s] %s", secret_keys[id].section, secret_keys[id].key);
	return names[id];
}

int config_parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int config_url_allowed(const char *url)
{
	if (strncasecmp(url, "https://", 8) == 0) {
		/* a host must follow */
		const char *host = url + 8;
		return *host != '\0' && strchr("/?#:@", *host) == NULL;
	}
	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	const char *h = url + 7;
	/* userinfo is never expected; refuse it rather than misread the host */
	const char *end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)))
		return 0;
	char host[256];
	size_t n;
	if (*h == '[') {
		const char *close = strchr(h, ']');
		if (!close || close > end)
			return 0;
		n = (size_t)(close - h - 1);
		if (n >= sizeof host)
			return 0;
		memcpy(host, h + 1, n);
	} else {
		n = strcspn(h, ":/?#");
		if (n >= sizeof host)
			return 0;
		memcpy(host, h, n);
	}
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return 1;
	/* 127.0.0.0/8, written as a dotted quad */
	unsigned a, b, c, d;
	char tail;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
	    c < 256 && d < 256)
		return 1;
	return 0;
}

struct parse_state {
	struct config *cfg;
	struct config_errors errors;
	int failed;
	/* lines where keys were set, for validation messages */
	int line_database, line_lever_url, line_crosschq_url, line_smtp_url, line_answer_url;
	int line_trigger_stage;
	FILE *file;
	int line;        /* the line inih is at */
	int after_key;   /* config_check_line's state */
	char *seen_keys; /* "\nsection\x1fkey\n..." of the keys set so far */
};

static void set_err(struct parse_state *st, int line, const char *section, const char *key,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Add one problem of [section] key (at line, when known). */
static void set_err(struct parse_state *st, int line, const char *section, const char *key,
		    const char *fmt, ...)
{
	st->failed = 1;
	char what[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (line > 0)
		config_error_add(&st->errors, "%s:%d: [%s] %s: %s", st->cfg->path, line, section, key, what);
	else
		config_error_add(&st->errors, "%s: [%s] %s: %s", st->cfg->path, section, key, what);
}

static void replace(char **slot, const char *value)
{
	free(*slot);
	*slot = str_empty(value) ? NULL : xstrdup(value);
}

static int parse_int(const char *v, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

static int parse_rate(const char *v, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(x) || x <= 0 || x > 1000)
		return -1;
	*out = x;
	return 0;
}

/* inih reader: fgets that counts lines, so that errors can name them. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	char *r = fgets(str, num, st->file);
	if (!r)
		return NULL;
	st->line++;
	size_t n = strlen(r);
	if (n == (size_t)num - 1 && r[n - 1] != '\n' && !feof(st->file)) {
		/* longer than inih's line buffer: skip the rest of it; a long
		 * comment is harmless, anything else is named */
		const char *first = r + strspn(r, " \t");
		int comment = *first == '#' || *first == ';';
		if (!comment) {
			config_error_add(&st->errors, "%s:%d: line longer than %d characters (the longest a "
					 "config line may be)", st->cfg->path, st->line, num - 2);
			st->failed = 1;
		}
		int c;
		while ((c = fgetc(st->file)) != EOF && c != '\n')
			;
		if (!comment)
			str[0] = '\0';
		else
			strcpy(str, "#\n");
		return r;
	}
	int before = st->errors.count;
	config_check_line(&st->errors, st->cfg->path, st->line, r, &st->after_key);
	if (st->errors.count != before)
		st->failed = 1;
	return r;
}

/* A key that no section has, or not this one: say which was meant. */
static void unknown_key(struct parse_state *st, int line, const char *section, const char *key)
{
	const char *meant = config_suggest_key(section, key);
	char homes[128];
	int n_homes = config_sections_of_key(key, homes, sizeof homes);
	if (!*section && n_homes)
		set_err(st, line, section, key, "before any [section]: it belongs in %s", homes);
	else if (!*section)
		set_err(st, line, section, key, "before any [section] (see refsync.conf(5))");
	else if (meant)
		set_err(st, line, section, key, "unknown key (did you mean %s?)", meant);
	else if (n_homes)
		set_err(st, line, section, key, "unknown key in [%s]: it belongs in %s", section, homes);
	else
		set_err(st, line, section, key, "unknown key (see refsync.conf(5))");
}

/* inih handler: one key. Returns 1 to go on (errors are kept in st). */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *st = user;
	int line = st->line;
	/* an unknown section is reported once, at its header (config_check_line) */
	if (*section && !config_section_known(section))
		return 1;
	/* inih reports an indented line as a continuation of the key above, and
	 * a repeated key again: both would silently replace a value */
	char seen[160];
	snprintf(seen, sizeof seen, "\n%s\x1f%s\n", section, key);
	if (st->seen_keys && strstr(st->seen_keys, seen)) {
		set_err(st, line, section, key,
			"given twice (or continued by an indented line): write each key once, at the start of a line");
		return 1;
	}
	size_t have = st->seen_keys ? strlen(st->seen_keys) : 0;
	st->seen_keys = xrealloc(st->seen_keys, have + strlen(seen) + 1);
	strcpy(st->seen_keys + have, have ? seen + 1 : seen);
	struct config *c = st->cfg;
	long n;

	for (int i = 0; i < SECRET_COUNT; i++) {
		if (strcmp(section, secret_keys[i].section) == 0 && strcmp(key, secret_keys[i].key) == 0) {
			replace(&c->secret_file[i], value);
			c->secret_line[i] = line;
			return 1;
		}
	}

#define IS(s, k) (strcmp(section, s) == 0 && strcmp(key, k) == 0)
	if (IS("sync", "database")) {
		replace(&c->database, value);
		st->line_database = line;
	} else if (IS("sync", "spool")) {
		replace(&c->spool, value);
	} else if (IS("sync", "cancel_on_archive")) {
		if (config_parse_bool(value, &c->cancel_on_archive))
			set_err(st, line, section, key, "expected yes or no, got '%s'", value);
	} else if (IS("sync", "trigger_since")) {
		c->trigger_since = 0;
		if (!str_empty(value) && parse_iso8601(value, &c->trigger_since))
			set_err(st, line, section, key,
				"expected an ISO 8601 time such as 2026-11-28T00:00:00Z, got '%s'", value);
	} else if (IS("sync", "overlap_minutes")) {
		if (parse_int(value, 0, 1440, &n))
			set_err(st, line, section, key, "expected minutes from 0 to 1440, got '%s'", value);
		else
			c->overlap_minutes = (int)n;
	} else if (IS("sync", "http_timeout_seconds")) {
		if (parse_int(value, 5, 3600, &n))
			set_err(st, line, section, key, "expected seconds from 5 to 3600, got '%s'", value);
		else
			c->http_timeout_seconds = (int)n;
	} else if (IS("sync", "http_stall_seconds")) {
		if (parse_int(value, 1, 600, &n))
			set_err(st, line, section, key, "expected seconds from 1 to 600, got '%s'", value);
		else
			c->http_stall_seconds = (int)n;
	} else if (IS("sync", "remote_wait_seconds")) {
		if (parse_int(value, 0, 86400, &n))
			set_err(st, line, section, key, "expected seconds from 0 to 86400, got '%s'", value);
		else
			c->remote_wait_seconds = (int)n;
	} else if (IS("sync", "outage_alert_minutes")) {
		if (parse_int(value, 0, 525600, &n))
			set_err(st, line, section, key, "expected minutes from 0 to 525600, got '%s'", value);
		else
			c->outage_alert_minutes = (int)n;
	} else if (IS("lever", "url")) {
		replace(&c->lever_url, value);
		st->line_lever_url = line;
	} else if (IS("lever", "trigger_stage")) {
		replace(&c->trigger_stage, value);
		st->line_trigger_stage = line;
	} else if (IS("lever", "hired_reason")) {
		replace(&c->hired_reason, value);
	} else if (IS("lever", "perform_as")) {
		replace(&c->perform_as, value);
	} else if (IS("lever", "requests_per_second")) {
		if (parse_rate(value, &c->lever_rps))
			set_err(st, line, section, key, "expected a number above 0 and at most 1000, got '%s'", value);
	} else if (IS("lever", "webhook_max_age_hours")) {
		if (parse_int(value, 1, 24 * 30, &n))
			set_err(st, line, section, key, "expected hours from 1 to 720, got '%s'", value);
		else
			c->webhook_max_age_hours = (int)n;
	} else if (IS("crosschq", "url")) {
		replace(&c->crosschq_url, value);
		st->line_crosschq_url = line;
	} else if (IS("crosschq", "auth_scheme")) {
		if (str_empty(value))
			replace(&c->crosschq_auth_scheme, NULL);
		else if (strcasecmp(value, "Token") == 0)
			replace(&c->crosschq_auth_scheme, "Token");
		else
			set_err(st, line, section, key, "expected empty (the key is the Authorization value) or Token, "
				"got '%s'", value);
	} else if (IS("crosschq", "poll_open_minutes")) {
		if (parse_int(value, 1, 10080, &n))
			set_err(st, line, section, key, "expected minutes from 1 to 10080, got '%s'", value);
		else
			c->poll_open_minutes = (int)n;
	} else if (IS("crosschq", "poll_open_per_run")) {
		if (parse_int(value, 0, 1000, &n))
			set_err(st, line, section, key, "expected a number from 0 to 1000, got '%s'", value);
		else
			c->poll_open_per_run = (int)n;
	} else if (strncmp(section, "template", 8) == 0 && (section[8] == ' ' || section[8] == '\0')) {
		char what[512];
		if (config_template_key(c, section, key, value, line, what, sizeof what))
			set_err(st, line, section, key, "%s", what);
	} else if (IS("crosschq", "requests_per_second")) {
		if (parse_rate(value, &c->crosschq_rps))
			set_err(st, line, section, key, "expected a number above 0 and at most 1000, got '%s'", value);
	} else if (IS("crosschq", "webhook_auth")) {
		c->crosschq_webhook_auth_line = line;
		if (strcasecmp(value, "token") == 0)
			c->crosschq_webhook_auth = WEBHOOK_AUTH_TOKEN;
		else if (strcasecmp(value, "basic") == 0)
			c->crosschq_webhook_auth = WEBHOOK_AUTH_BASIC;
		else
			set_err(st, line, section, key, "expected token or basic, got '%s'", value);
	} else if (IS("followup", "after_days")) {
		if (parse_int(value, 0, 3650, &n))
			set_err(st, line, section, key, "expected days from 0 to 3650, got '%s'", value);
		else
			c->after_days = (int)n;
	} else if (IS("followup", "answer_expiry_days")) {
		if (parse_int(value, 1, 365, &n))
			set_err(st, line, section, key, "expected days from 1 to 365, got '%s'", value);
		else
			c->answer_expiry_days = (int)n;
	} else if (IS("followup", "smtp_url")) {
		replace(&c->smtp_url, value);
		st->line_smtp_url = line;
	} else if (IS("followup", "smtp_user")) {
		replace(&c->smtp_user, value);
	} else if (IS("followup", "from")) {
		replace(&c->from, value);
	} else if (IS("followup", "answer_url")) {
		replace(&c->answer_url, value);
		st->line_answer_url = line;
	} else if (IS("prospects", "export_existing")) {
		if (config_parse_bool(value, &c->export_existing))
			set_err(st, line, section, key, "expected yes or no, got '%s'", value);
	} else if (IS("prospects", "auto_export_new")) {
		if (config_parse_bool(value, &c->auto_export_new))
			set_err(st, line, section, key, "expected yes or no, got '%s'", value);
	} else if (IS("export", "tenant_name")) {
		replace(&c->tenant_name, value);
	} else if (strcmp(section, "crosschq") == 0 && strcmp(key, "default_template") == 0) {
		/* refsync before issue 15 read templates from Crosschq */
		set_err(st, line, section, key, "templates live in [template NAME] sections now: mark one of them "
			"default = yes (see refsync.conf(5), TEMPLATES)");
	} else {
		unknown_key(st, line, section, key);
	}
#undef IS
	return 1;
}

static void strip_trailing_slash(char *s)
{
	size_t n = s ? strlen(s) : 0;
	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
}

static void check_url(struct parse_state *st, const char *url, int line, const char *section,
		      const char *key)
{
	if (url && !config_url_allowed(url))
		set_err(st, line, section, key,
			"'%s' is not allowed: use https:// (plain http:// only to a loopback address)", url);
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->path = xstrdup(path);
	cfg->cancel_on_archive = 1;
	cfg->overlap_minutes = 5;
	cfg->http_timeout_seconds = 120;
	cfg->http_stall_seconds = 30;
	cfg->remote_wait_seconds = 600;
	cfg->outage_alert_minutes = 60;
	cfg->lever_url = xstrdup("https://api.lever.co/v1");
	cfg->trigger_stage = xstrdup("Reference Check");
	cfg->hired_reason = xstrdup("Hired");
	cfg->lever_rps = 8;
	cfg->webhook_max_age_hours = 24;
	cfg->crosschq_url = xstrdup("https://partner.crosschq.com");
	cfg->crosschq_rps = 5;
	cfg->poll_open_minutes = 60;
	cfg->poll_open_per_run = 20;
	cfg->after_days = 14;
	cfg->answer_expiry_days = 30;
	cfg->smtp_url = xstrdup("smtp://localhost:25");
	cfg->from = xstrdup("Reference checks <refsync@localhost>");

	struct parse_state st = { .cfg = cfg };
	config_errors_init(&st.errors, err, errlen);
	FILE *f = fopen(path, "r");
	if (!f) {
		char user[64];
		if (errno == EACCES)
			snprintf(err, errlen, "cannot read %s as user %s: %s; it must be readable by group refsync: "
				 "chgrp refsync %s (mode 0640; the directories above it searchable)", path,
				 user_name((unsigned)geteuid(), user, sizeof user), strerror(EACCES), path);
		else
			snprintf(err, errlen, "%s: cannot read the config file: %s", path, strerror(errno));
		config_free(cfg);
		return -1;
	}
	st.file = f;
	int r = ini_parse_stream(read_line, &st, on_key, &st);
	fclose(f);
	free(st.seen_keys);
	if (r > 0) {
		/* inih names its first bad line; config_check_line has named every
		 * one it could tell, so this adds it only when it had not */
		char at[64];
		snprintf(at, sizeof at, ":%d: ", r);
		if (!st.failed || !strstr(err, at))
			config_error_add(&st.errors, "%s:%d: not a valid INI line (expected [section] or key = value)",
					 path, r);
		st.failed = 1;
	} else if (r < 0) {
		config_error_add(&st.errors, "%s: cannot parse the config file (out of memory)", path);
		st.failed = 1;
	}
	if (str_empty(cfg->database))
		set_err(&st, 0, "sync", "database", "required: the path of the SQLite database");
	if (str_empty(cfg->lever_url))
		set_err(&st, st.line_lever_url, "lever", "url", "must not be empty");
	if (str_empty(cfg->crosschq_url))
		set_err(&st, st.line_crosschq_url, "crosschq", "url", "must not be empty");
	/* keys with a default that an empty value would take away */
	if (str_empty(cfg->hired_reason))
		set_err(&st, 0, "lever", "hired_reason", "must not be empty: the name of a hired-type archive reason");
	if (str_empty(cfg->smtp_url))
		set_err(&st, 0, "followup", "smtp_url", "must not be empty: an smtp:// or smtps:// URL");
	if (str_empty(cfg->from))
		set_err(&st, 0, "followup", "from", "must not be empty: the sender of the follow-up email");
	if (str_empty(cfg->trigger_stage))
		set_err(&st, st.line_trigger_stage, "lever", "trigger_stage", "must name the Lever stage that starts a reference check");
	check_url(&st, cfg->lever_url, st.line_lever_url, "lever", "url");
	check_url(&st, cfg->crosschq_url, st.line_crosschq_url, "crosschq", "url");
	check_url(&st, cfg->answer_url, st.line_answer_url, "followup", "answer_url");
	if (cfg->smtp_url && strncasecmp(cfg->smtp_url, "smtp://", 7) != 0 &&
	    strncasecmp(cfg->smtp_url, "smtps://", 8) != 0)
		set_err(&st, st.line_smtp_url, "followup", "smtp_url",
			"'%s' is not an smtp:// or smtps:// URL", cfg->smtp_url);
	if (config_templates_validate(cfg, &st.errors))
		st.failed = 1;
	config_errors_finish(&st.errors, path);
	if (st.failed) {
		config_free(cfg);
		return -1;
	}
	strip_trailing_slash(cfg->lever_url);
	strip_trailing_slash(cfg->crosschq_url);
	if (!cfg->spool) {
		/* default: beside the database */
		const char *slash = strrchr(cfg->database, '/');
		size_t dir = slash ? (size_t)(slash - cfg->database) : 0;
		cfg->spool = xmalloc(dir + 8);
		if (slash)
			snprintf(cfg->spool, dir + 8, "%.*s/spool", (int)dir, cfg->database);
		else
			snprintf(cfg->spool, dir + 8, "spool");
	}
	return 0;
}

void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->database);
	free(cfg->spool);
	free(cfg->lever_url);
	free(cfg->trigger_stage);
	free(cfg->hired_reason);
	free(cfg->perform_as);
	free(cfg->crosschq_url);
	free(cfg->crosschq_auth_scheme);
	config_templates_free(cfg);
	free(cfg->smtp_url);
	free(cfg->smtp_user);
	free(cfg->from);
	free(cfg->answer_url);
	free(cfg->tenant_name);
	for (int i = 0; i < SECRET_COUNT; i++)
		free(cfg->secret_file[i]);
	memset(cfg, 0, sizeof *cfg);
}
