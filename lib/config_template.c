/*
 * config_template.c - the [template NAME] sections of the config: what a
 * Crosschq reference request asks for, and which Lever jobs it serves
 * (design.md "The job", crosschq-api.md section 3).
 */
#include "config_internal.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TEMPLATE_NAME_MAX 64
#define MESSAGE_FILE_MAX 4096

static const char *const relationship_names[REL_COUNT] = { "managers", "employees", "peers", "business",
							   "social" };

const char *config_relationship_name(enum cq_relationship r)
{
	return r < REL_COUNT ? relationship_names[r] : "?";
}

const struct template_cfg *config_template_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->n_templates; i++)
		if (strcmp(cfg->templates[i].name, name) == 0)
			return &cfg->templates[i];
	return NULL;
}

const struct template_cfg *config_template_default(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_templates; i++)
		if (cfg->templates[i].is_default)
			return &cfg->templates[i];
	return NULL;
}

/* 1 when name is a usable template name: [A-Za-z0-9._-]{1,64}. */
static int name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > TEMPLATE_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return 0;
	return 1;
}

/* The template of section "template NAME", created on first sight. */
static struct template_cfg *template_for(struct config *c, const char *name, int line)
{
	for (size_t i = 0; i < c->n_templates; i++)
		if (strcmp(c->templates[i].name, name) == 0)
			return &c->templates[i];
	c->templates = xrealloc(c->templates, (c->n_templates + 1) * sizeof *c->templates);
	struct template_cfg *t = &c->templates[c->n_templates++];
	memset(t, 0, sizeof *t);
	t->name = xstrdup(name);
	t->line = line;
	t->hiring_manager = HM_POSTING;
	return t;
}

/* "Name <email>" or a bare "email": 0, or -1 when no plausible address. */
static int config_parse_person(const char *v, char **name, char **email)
{
	const char *lt = strchr(v, '<');
	const char *addr = v, *end = v + strlen(v);
	if (lt) {
		const char *gt = strchr(lt, '>');
		if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0')
			return -1;
		addr = lt + 1;
		end = gt;
	}
	while (addr < end && isspace((unsigned char)*addr))
		addr++;
	while (end > addr && isspace((unsigned char)end[-1]))
		end--;
	size_t n = (size_t)(end - addr);
	const char *at = memchr(addr, '@', n);
	if (n == 0 || !at || at == addr || at == end - 1 || memchr(addr, ' ', n) || memchr(at + 1, '@', (size_t)(end - at - 1)))
		return -1;
	*email = xstrndup(addr, n);
	if (lt) {
		const char *s = v;
		while (s < lt && isspace((unsigned char)*s))
			s++;
		const char *e = lt;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (e > s && *s == '"' && e[-1] == '"' && e - s >= 2) {
			s++;
			e--;
		}
		*name = e > s ? xstrndup(s, (size_t)(e - s)) : NULL;
	} else {
		*name = NULL;
	}
	return 0;
}

/* A count of references: 0..20. */
static int parse_count(const char *v, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < 0 || x > 20)
		return -1;
	*out = (int)x;
	return 0;
}

/* Read a small text file (the candidate message); NULL with err set. */
static char *read_text_file(const char *path, char *what, size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(what, n, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char *s = xmalloc(MESSAGE_FILE_MAX + 1);
	size_t len = fread(s, 1, MESSAGE_FILE_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || len > MESSAGE_FILE_MAX) {
		snprintf(what, n, "%s: %s", path, bad ? "read error" : "larger than 4 KiB");
		free(s);
		return NULL;
	}
	s[len] = '\0';
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	if (strlen(s) != len) {
		snprintf(what, n, "%s: contains a NUL byte", path);
		free(s);
		return NULL;
	}
	return s;
}

int config_template_key(struct config *c, const char *section, const char *key, const char *value, int line,
			char *what, size_t n)
{
	const char *name = section + strlen("template");
	while (*name == ' ' || *name == '\t')
		name++;
	if (!name_valid(name)) {
		snprintf(what, n, "'[%s]': a template section is [template NAME], NAME of letters, digits, '.', "
			 "'_' or '-' (at most %d)", section, TEMPLATE_NAME_MAX);
		return -1;
	}
	struct template_cfg *t = template_for(c, name, line);
	for (int r = 0; r < REL_COUNT; r++) {
		if (strcmp(key, relationship_names[r]) == 0) {
			if (parse_count(value, &t->counts[r])) {
				snprintf(what, n, "expected a number of references from 0 to 20, got '%s'", value);
				return -1;
			}
			return 0;
		}
	}
	if (strcmp(key, "ats_tag") == 0) {
		free(t->ats_tag);
		t->ats_tag = str_empty(value) ? NULL : xstrdup(value);
	} else if (strcmp(key, "jobrole") == 0) {
		free(t->jobrole);
		t->jobrole = str_empty(value) ? NULL : xstrdup(value);
	} else if (strcmp(key, "any_relationship") == 0) {
		if (config_parse_bool(value, &t->any_relationship)) {
			snprintf(what, n, "expected yes or no, got '%s'", value);
			return -1;
		}
	} else if (strcmp(key, "references") == 0) {
		if (parse_count(value, &t->references)) {
			snprintf(what, n, "expected a number of references from 0 to 20, got '%s'", value);
			return -1;
		}
	} else if (strcmp(key, "candidate_message") == 0 || strcmp(key, "candidate_message_file") == 0) {
		if (t->candidate_message) {
			snprintf(what, n, "give candidate_message or candidate_message_file, not both");
			return -1;
		}
		if (key[17] == '_' && !str_empty(value)) {
			t->candidate_message = read_text_file(value, what, n);
			if (!t->candidate_message)
				return -1;
		} else {
			t->candidate_message = str_empty(value) ? NULL : xstrdup(value);
		}
	} else if (strcmp(key, "hiring_manager") == 0) {
		free(t->hm_name);
		free(t->hm_email);
		t->hm_name = t->hm_email = NULL;
		if (str_empty(value) || strcasecmp(value, "posting") == 0) {
			t->hiring_manager = HM_POSTING;
		} else if (strcasecmp(value, "none") == 0) {
			t->hiring_manager = HM_NONE;
		} else if (config_parse_person(value, &t->hm_name, &t->hm_email) == 0) {
			t->hiring_manager = HM_FIXED;
		} else {
			snprintf(what, n, "expected posting, none, or Name <email>, got '%s'", value);
			return -1;
		}
	} else if (strcmp(key, "use_sms") == 0) {
		if (config_parse_bool(value, &t->use_sms)) {
			snprintf(what, n, "expected yes or no, got '%s'", value);
			return -1;
		}
	} else if (strcmp(key, "position") == 0) {
		free(t->position);
		t->position = str_empty(value) ? NULL : xstrdup(value);
	} else if (strcmp(key, "default") == 0) {
		if (config_parse_bool(value, &t->is_default)) {
			snprintf(what, n, "expected yes or no, got '%s'", value);
			return -1;
		}
	} else {
		const char *meant = config_suggest_key(section, key);
		if (meant)
			snprintf(what, n, "unknown key (did you mean %s?)", meant);
		else
			snprintf(what, n, "unknown key (see refsync.conf(5), TEMPLATES)");
		return -1;
	}
	return 0;
}

int config_templates_validate(const struct config *c, struct config_errors *e)
{
	const struct template_cfg *dflt = NULL;
	int bad = 0;
	for (size_t i = 0; i < c->n_templates; i++) {
		const struct template_cfg *t = &c->templates[i];
		const char *problem = NULL, *key = "";
		int total = 0;
		for (int r = 0; r < REL_COUNT; r++)
			total += t->counts[r];
		if (!t->jobrole) {
			key = "jobrole";
			problem = "required: the codename of the Crosschq survey ('refsync check' lists them)";
		} else if (!t->ats_tag && !t->is_default) {
			key = "ats_tag";
			problem = "required (the Lever tag of the jobs this template serves), unless default = yes";
		} else if (t->any_relationship && total > 0) {
			key = "any_relationship";
			problem = "with any_relationship = yes the candidate chooses the relationships: give references = N, "
				  "not managers/employees/peers/business/social";
		} else if (t->any_relationship && t->references == 0) {
			key = "references";
			problem = "required with any_relationship = yes: how many references the candidate gives";
		} else if (!t->any_relationship && t->references > 0) {
			key = "references";
			problem = "only with any_relationship = yes; otherwise give the count of each relationship";
		} else if (!t->any_relationship && total == 0) {
			key = "managers";
			problem = "no references asked: give managers, employees, peers, business or social (or "
				  "any_relationship = yes with references = N)";
		}
		if (problem) {
			config_error_add(e, "%s:%d: [template %s] %s: %s", c->path, t->line, t->name, key, problem);
			bad = 1;
		}
		if (t->is_default && dflt) {
			config_error_add(e, "%s:%d: [template %s] default: template %s is the default already: at most "
					 "one template may have default = yes", c->path, t->line, t->name, dflt->name);
			bad = 1;
		} else if (t->is_default) {
			dflt = t;
		}
	}
	return bad ? -1 : 0;
}

void config_templates_free(struct config *c)
{
	for (size_t i = 0; i < c->n_templates; i++) {
		struct template_cfg *t = &c->templates[i];
		free(t->name);
		free(t->ats_tag);
		free(t->jobrole);
		free(t->candidate_message);
		free(t->hm_name);
		free(t->hm_email);
		free(t->position);
	}
	free(c->templates);
	c->templates = NULL;
	c->n_templates = 0;
}
