/*
 * check.h - `refsync check`: validates the config, every secret, the
 * credentials (one cheap call to each remote), the trigger stage, the hired
 * archive reason, the [template] sections against Crosschq's surveys, the
 * Crosschq capabilities, and SMTP reachability. Each problem is one line saying what to do.
 */
#ifndef REFSYNC_CHECK_H
#define REFSYNC_CHECK_H

#include "config.h"

/* Returns 0 when all is well, EXIT_CONFIG when something is wrong, EXIT_TEMPFAIL when a remote is down. */
int check_all(const struct config *cfg);

#endif
