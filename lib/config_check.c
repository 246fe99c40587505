/*
 * config_check.c - what config.c needs to report every problem of a config
 * file at once: the list of problems, the line checks that inih does not
 * report beyond the first (a line that is no "[section]" and no
 * "key = value", an unknown section), and the "did you mean" suggestions for
 * misspelt keys and sections.
 */
#include "config_internal.h"
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every key of every section (the template keys under "template"). tests/lint.sh
 * checks this list against the keys config.c and config_template.c accept. */
static const struct {
	const char *section, *key;
} known_keys[] = {
	{ "sync", "database" },
	{ "sync", "spool" },
	{ "sync", "cancel_on_archive" },
	{ "sync", "trigger_since" },
	{ "sync", "overlap_minutes" },
	{ "sync", "http_timeout_seconds" },
	{ "sync", "http_stall_seconds" },
	{ "sync", "remote_wait_seconds" },
	{ "sync", "outage_alert_minutes" },
	{ "lever", "url" },
	{ "lever", "api_key_file" },
	{ "lever", "stage_change_token_file" },
	{ "lever", "hired_token_file" },
	{ "lever", "trigger_stage" },
	{ "lever", "hired_reason" },
	{ "lever", "perform_as" },
	{ "lever", "requests_per_second" },
	{ "lever", "webhook_max_age_hours" },
	{ "crosschq", "url" },
	{ "crosschq", "api_key_file" },
	{ "crosschq", "auth_scheme" },
	{ "crosschq", "requests_per_second" },
	{ "crosschq", "poll_open_minutes" },
	{ "crosschq", "poll_open_per_run" },
	{ "crosschq", "webhook_auth" },
	{ "crosschq", "webhook_secret_file" },
	{ "followup", "after_days" },
	{ "followup", "answer_expiry_days" },
	{ "followup", "smtp_url" },
	{ "followup", "smtp_user" },
	{ "followup", "smtp_password_file" },
	{ "followup", "from" },
	{ "followup", "answer_url" },
	{ "followup", "answer_secret_file" },
	{ "prospects", "export_existing" },
	{ "prospects", "auto_export_new" },
	{ "export", "tenant_name" },
	{ "audit", "signing_key_file" },
	{ "template", "ats_tag" },
	{ "template", "jobrole" },
	{ "template", "managers" },
	{ "template", "employees" },
	{ "template", "peers" },
	{ "template", "business" },
	{ "template", "social" },
	{ "template", "any_relationship" },
	{ "template", "references" },
	{ "template", "candidate_message" },
	{ "template", "candidate_message_file" },
	{ "template", "hiring_manager" },
	{ "template", "use_sms" },
	{ "template", "position" },
	{ "template", "default" },
};

static const char *const known_sections[] = { "sync", "lever", "crosschq", "followup", "prospects", "export", "audit", "template" };

#define N_KEYS (sizeof known_keys / sizeof known_keys[0])
#define N_SECTIONS (sizeof known_sections / sizeof known_sections[0])

void config_errors_init(struct config_errors *e, char *buf, size_t cap)
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->count = 0;
	e->dropped = 0;
	if (cap)
		buf[0] = '\0';
}

void config_error_add(struct config_errors *e, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	e->count++;
	size_t n = strlen(line), sep = e->len ? 1 : 0;
	/* room is kept for a last line saying how many more there were */
	if (e->cap == 0 || e->dropped || e->len + sep + n + 64 >= e->cap) {
		e->dropped++;
		return;
	}
	if (sep)
		e->buf[e->len++] = '\n';
	memcpy(e->buf + e->len, line, n + 1);
	e->len += n;
}

void config_errors_finish(struct config_errors *e, const char *path)
{
	if (e->dropped && e->cap > e->len + 1)
		snprintf(e->buf + e->len, e->cap - e->len, "%s%s: %d more problem%s not shown", e->len ? "\n" : "",
			 path, e->dropped, e->dropped == 1 ? "" : "s");
}

void config_log_errors(const char *err)
{
	const char *p = err;
	while (*p) {
		size_t n = strcspn(p, "\n");
		log_err("%.*s", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* The optimal string alignment distance of a and b (a swap of two
 * neighbours counts as one edit), capped at 99. */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	int d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			int best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The most edits a word of n characters may be away from a suggestion. */
static int max_edits(size_t n)
{
	return n >= 8 ? 3 : n >= 4 ? 2 : 1;
}

const char *config_suggest_key(const char *section, const char *key)
{
	const char *family = strncmp(section, "template", 8) == 0 ? "template" : section;
	const char *best = NULL;
	int best_d = max_edits(strlen(key)) + 1;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(known_keys[i].section, family) != 0)
			continue;
		int d = edit_distance(key, known_keys[i].key);
		if (d < best_d) {
			best_d = d;
			best = known_keys[i].key;
		}
	}
	return best;
}

int config_sections_of_key(const char *key, char *out, size_t n)
{
	size_t len = 0;
	int found = 0;
	out[0] = '\0';
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(known_keys[i].key, key) != 0)
			continue;
		const char *name = strcmp(known_keys[i].section, "template") == 0 ? "template NAME" : known_keys[i].section;
		int w = snprintf(out + len, n - len, "%s[%s]", found ? " or " : "", name);
		if (w < 0 || (size_t)w >= n - len)
			break;
		len += (size_t)w;
		found++;
	}
	return found;
}

int config_section_known(const char *section)
{
	if (strncmp(section, "template", 8) == 0 && (section[8] == ' ' || section[8] == '\0'))
		return 1;
	for (size_t i = 0; i + 1 < N_SECTIONS; i++)
		if (strcmp(section, known_sections[i]) == 0)
			return 1;
	return 0;
}

/* The closest known section name to section (its first word for "template
 * NAME"-like names), written as it would be in the file, in out; 0 or -1
 * when none is close. */
static int suggest_section(const char *section, char *out, size_t n)
{
	size_t word = strcspn(section, " \t");
	char first[65];
	snprintf(first, sizeof first, "%.*s", (int)(word < 64 ? word : 64), section);
	const char *best = NULL;
	int best_d = max_edits(strlen(first)) + 1;
	for (size_t i = 0; i < N_SECTIONS; i++) {
		int d = edit_distance(first, known_sections[i]);
		if (d < best_d) {
			best_d = d;
			best = known_sections[i];
		}
	}
	if (!best)
		return -1;
	if (strcmp(best, "template") == 0) {
		const char *rest = section + word;
		rest += strspn(rest, " \t");
		snprintf(out, n, "[template %s]", *rest ? rest : "NAME");
	} else {
		snprintf(out, n, "[%s]", best);
	}
	return 0;
}

/* The first of chars in s, or an inline comment (';' after a blank, as inih
 * reads it), or the end of s. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	int was_space = 0;
	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = *s == ' ' || *s == '\t';
		s++;
	}
	return s;
}

void config_check_line(struct config_errors *e, const char *path, int lineno, const char *line, int *after_key)
{
	if (lineno == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3; /* inih skips a UTF-8 byte order mark */
	const char *start = line + strspn(line, " \t\r\n");
	int indented = start > line;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (*start == '[') {
		*after_key = 0;
		const char *end = find_chars_or_comment(start + 1, "]");
		if (*end != ']') {
			config_error_add(e, "%s:%d: not a valid INI line (expected [section] or key = value)", path, lineno);
			return;
		}
		char section[200];
		snprintf(section, sizeof section, "%.*s", (int)(end - start - 1 < 199 ? end - start - 1 : 199),
			 start + 1);
		if (!config_section_known(section)) {
			char hint[128];
			if (suggest_section(section, hint, sizeof hint) == 0)
				config_error_add(e, "%s:%d: [%s]: unknown section (did you mean %s?)", path, lineno, section,
						 hint);
			else
				config_error_add(e, "%s:%d: [%s]: unknown section (the sections are [sync], [lever], "
						 "[crosschq], [followup], [prospects] and [template NAME]; see refsync.conf(5))",
						 path, lineno, section);
		}
		return;
	}
	/* inih reads an indented line after a key as that key's continuation */
	if (indented && *after_key)
		return;
	const char *eq = find_chars_or_comment(start, "=:");
	if (*eq != '=' && *eq != ':') {
		config_error_add(e, "%s:%d: not a valid INI line (expected [section] or key = value)", path, lineno);
		return;
	}
	*after_key = 1;
}
