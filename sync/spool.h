/*
 * spool.h - the webhook and answer spool shared by refsync-hook (writer) and
 * refsync (reader): a maildir-style directory <spool>/{tmp,new,done}.
 *
 * Invariants (the order of each step is what makes them hold):
 *  - a file appears in new/ complete or not at all: it is written and
 *    fsync'd in tmp/, then link()ed into new/, then tmp/ is cleaned up;
 *  - a name is queued at most once: link() refuses an existing new/<name>,
 *    and spool_put refuses a name already in done/ (processed);
 *  - a processed file is renamed new/ -> done/ and stays there until
 *    spool_prune_done removes it; done/ is what turns a redelivered or
 *    replayed event into a no-op, so it must be kept at least as long as the
 *    webhook replay window ([lever] webhook_max_age_hours + 5 minutes).
 *
 * Names match [A-Za-z0-9._-]{1,128} and do not start with a dot (no ".",
 * "..", no hidden files). The directories are created with mode 0770 so that
 * the web server's user (the hook) and the sync's user can share them
 * through a common group.
 */
#ifndef REFSYNC_SPOOL_H
#define REFSYNC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* The largest file the spool carries (a webhook body is capped at this). */
#define SPOOL_MAX_FILE (64 * 1024)
/* The longest name, without the terminating NUL. */
#define SPOOL_NAME_MAX 128

/* 1 when name is a valid spool file name (see above), else 0. */
int spool_name_valid(const char *name);

/*
 * Create dir and its tmp/, new/ and done/ (mode 0770) when missing.
 * Returns 0, or -1 with a message in err naming the directory.
 */
int spool_init(const char *dir, char *err, size_t errlen);

/*
 * Queue data as new/<name>, atomically: write tmp/<name>.<pid>, fsync, link()
 * into new/, unlink the temporary file, fsync new/. When new/<name> or
 * done/<name> already exists nothing is queued and *already is set to 1
 * (this is not an error); otherwise *already is 0.
 * Returns 0, or -1 with a message in err (invalid name, data larger than
 * SPOOL_MAX_FILE, I/O error).
 */
int spool_put(const char *dir, const char *name, const char *data, size_t len, int *already,
	      char *err, size_t errlen);

/* 1 when new/<name> or done/<name> exists, else 0. */
int spool_exists(const char *dir, const char *name);

/*
 * Called for each queued file: name and its whole content (data is
 * NUL-terminated, len excludes the NUL; both are valid only during the call).
 * Return 0 to go on, non-0 to stop.
 */
typedef int (*spool_visit_fn)(const char *name, const char *data, size_t len, void *ctx);

/*
 * Visit the files in new/ sorted by name (byte order). A file larger than
 * SPOOL_MAX_FILE is not visited: it is logged and moved to
 * done/<name>.rejected. A file that vanished meanwhile is skipped.
 * The callback may call spool_mark_done on the name it is given.
 * Returns 0 when all were visited, -1 on an I/O error (logged), or the
 * callback's non-0 value.
 */
int spool_each_new(const char *dir, spool_visit_fn fn, void *ctx);

/*
 * Move new/<name> to done/<name> and fsync done/. Returns 0, also when
 * new/<name> is gone but done/<name> exists (done already), else -1
 * (logged).
 */
int spool_mark_done(const char *dir, const char *name);

/*
 * Delete the regular files in done/ (processed and .rejected ones) whose
 * mtime is before older_than_ms, a point in time in epoch milliseconds
 * (e.g. now_ms() - keep). Returns 0 (the number deleted is logged at debug
 * level), or -1 on an I/O error (logged).
 */
int spool_prune_done(const char *dir, int64_t older_than_ms);

/* The number of valid names in new/, or -1 when new/ cannot be read. */
long spool_count_new(const char *dir);

#endif
