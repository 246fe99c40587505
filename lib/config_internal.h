/*
 * config_internal.h - what config.c and config_template.c share. Not for
 * other modules: they see struct config (config.h).
 */
#ifndef REFSYNC_CONFIG_INTERNAL_H
#define REFSYNC_CONFIG_INTERNAL_H

#include "config.h"

/*
 * One key of a "[template NAME]" section. Returns 0, or -1 with what is
 * wrong (without file, line or key: the caller adds them) in what.
 */
int config_template_key(struct config *c, const char *section, const char *key, const char *value, int line,
			char *what, size_t n);

/*
 * The problems found in a config file, one line each ("FILE:LINE: [section]
 * key: what"), joined by '\n' in a caller's buffer. When the buffer is
 * full, later problems are counted, and config_errors_finish says how many.
 */
struct config_errors {
	char *buf;
	size_t cap, len;
	int count;   /* problems added */
	int dropped; /* of which not in buf */
};

void config_errors_init(struct config_errors *e, char *buf, size_t cap);

/* Add one problem (printf format, one line). */
void config_error_add(struct config_errors *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Close the list: a last line "PATH: N more problems not shown" when some did not fit. */
void config_errors_finish(struct config_errors *e, const char *path);

/*
 * Look at one raw line of the file as inih will read it: a line that is no
 * comment, no "[section]" and no "key = value" (nor the continuation of a key
 * when indented) is a problem; so is an unknown section. *after_key tracks
 * whether a key line came since the last section header (start with 0).
 */
void config_check_line(struct config_errors *e, const char *path, int lineno, const char *line, int *after_key);

/* 1 when section is one refsync reads ("template NAME" included), else 0. */
int config_section_known(const char *section);

/* The known key of section (any "template ..." counts as a template) closest
 * to key by edit distance, or NULL when none is close. Static storage. */
const char *config_suggest_key(const char *section, const char *key);

/* The sections that have key, as "[lever] or [crosschq]" ("[template NAME]"
 * for a template key), in out. Returns how many (0: none, out empty). */
int config_sections_of_key(const char *key, char *out, size_t n);

/* The rules across a template's keys and across templates: every problem,
 * each naming file, line, section and key, added to e. 0, or -1 when there
 * was one. */
int config_templates_validate(const struct config *c, struct config_errors *e);

void config_templates_free(struct config *c);

#endif
