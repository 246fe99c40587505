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

/* The rules across a template's keys and across templates. 0, or -1 with a
 * message naming file, line, section and key in err. */
int config_templates_validate(const struct config *c, char *err, size_t errlen);

void config_templates_free(struct config *c);

/* "Name <email>" or a bare address into malloc'd *name (NULL when none) and
 * *email. 0, or -1 when there is no plausible address. */
int config_parse_person(const char *v, char **name, char **email);

#endif
