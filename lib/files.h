/*
 * files.h - files and the process: whole writes, atomic files, the
 * REFSYNC_TEST_CRASH_AT hook, user names (files.c).
 */
#ifndef REFSYNC_FILES_H
#define REFSYNC_FILES_H

#include <stddef.h>

/* The name of user uid (or its number when it has no name) into out; returns out. */
char *user_name(unsigned uid, char *out, size_t outlen);

/*
 * The REFSYNC_TEST_CRASH_AT hook: when the variable names point, the process
 * kills itself with SIGKILL. A value "point:N" crashes at the N-th time the
 * point is reached (1-based). Does nothing when unset.
 */
void crash_point(const char *point);

/* Write all of buf to fd, retrying on EINTR/short writes. 0 or -1 (errno). */
int write_all(int fd, const void *buf, size_t len);

/*
 * Write data to path atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory. mode is the file's mode.
 * Returns 0, or -1 with errno set (the temporary file is removed).
 */
int write_file_atomic(const char *path, const void *data, size_t len, int mode);

#endif
