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

/*
 * Before a command takes the lock: the state directory (the directory of
 * database) exists, is a directory, and is writable by this user, as are the
 * database and its -wal and -shm files; run as root, it is owned by root.
 * Returns 0, or the exit status (EXIT_CANTCREAT; EXIT_NOPERM for root on
 * another user's directory) with the message and its fix in err.
 */
int state_dir_ready(const char *database, char *err, size_t errlen);

#endif
