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
 *    webhook replay window ([lever] webhook_max_age_hours + 5 minutes);
 *    an event that needs no processing (Lever's test delivery) is recorded
 *    straight into done/ (spool_put_seen) for the same reason;
 *  - a file that cannot be processed (damaged, oversize) is set aside as
 *    done/<name>.rejected, never as done/<name>: it must not turn the valid
 *    redelivery of its event into a no-op;
 *  - tmp/ holds a file only while a writer runs; what a killed writer left
 *    there is removed by spool_clean_tmp once it is older than any writer.
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

/*
 * Record data as done/<name> without queueing it: the name was seen and
 * needs no processing, and a later spool_put of the name is a no-op (until
 * spool_prune_done removes it). Written like spool_put (tmp/, fsync,
 * link). *already is set to 1 when new/<name> or done/<name> existed.
 * Returns 0, or -1 with a message in err.
 */
int spool_put_seen(const char *dir, const char *name, const char *data, size_t len, int *already,
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
 * Set new/<name> aside as done/<name>.rejected (it could not be processed;
 * it does not block a later spool_put of name). Returns 0, also when it was
 * set aside already, else -1 (logged).
 */
int spool_set_aside(const char *dir, const char *name);

/*
 * Delete the regular files in done/ (processed and .rejected ones) whose
 * mtime is before older_than_ms, a point in time in epoch milliseconds
 * (e.g. now_ms() - keep). Returns 0 (the number deleted is logged at debug
 * level), or -1 on an I/O error (logged).
 */
int spool_prune_done(const char *dir, int64_t older_than_ms);

/*
 * Delete the regular files in tmp/ whose mtime is before older_than_ms
 * (epoch ms): what writers killed between writing and linking left behind.
 * older_than_ms must leave a running writer alone (see SPOOL_TMP_STALE_MS).
 * Returns the number deleted (logged when not 0), or -1 on an I/O error
 * (logged).
 */
long spool_clean_tmp(const char *dir, int64_t older_than_ms);

/* How old a file in tmp/ is before spool_clean_tmp may remove it: a writer
 * (refsync-hook) holds its temporary file for milliseconds. */
#define SPOOL_TMP_STALE_MS (3600LL * 1000)

/* The number of valid names in new/, or -1 when new/ cannot be read. */
long spool_count_new(const char *dir);

/* What `refsync status` shows of a spool (each -1 when unreadable). */
struct spool_counts {
	long queued;     /* valid names in new/ */
	long unfinished; /* files in tmp/ (writers running, or killed) */
	long rejected;   /* done/<name>.rejected: set aside, not processed */
};

/* Count the spool's files into *c. */
void spool_count(const char *dir, struct spool_counts *c);

#endif
