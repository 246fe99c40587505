/*
 * status.h - `refsync status`: what an operator needs to see at a glance:
 * the last runs, the outbox by state with the oldest failure, the holds and
 * their reasons, the cursors and the spool backlog. As text, or --json.
 */
#ifndef REFSYNC_STATUS_H
#define REFSYNC_STATUS_H

#include "config.h"

/* Print the status. Returns an exit code (0, or 70/75 when unreadable). */
int status_print(const struct config *cfg, int json);

#endif
