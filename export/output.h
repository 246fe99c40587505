/*
 * output.h - where an export goes: standard output, or a file written
 * atomically (a temporary file in the same directory, fsync, rename, fsync
 * of the directory), so that readers see either the old file or the whole
 * new one, never a part. Writes go through one fixed 64 KiB buffer.
 *
 * Errors are sticky: after the first failed write every later write fails
 * at once, and output_commit reports the first error. A failed or aborted
 * file output leaves nothing behind (the temporary file is removed and the
 * target is untouched).
 *
 * A struct output is a destination, not a second writer type: escaped text
 * reaches it through output_sink (escape.h's struct sink), the formats'
 * fixed markup through output_puts/output_printf. It stays its own type
 * because it owns a file descriptor, a temporary file and a digest that a
 * struct buf (buf.h) has no place for.
 */
#ifndef REFSYNC_OUTPUT_H
#define REFSYNC_OUTPUT_H

#include "escape.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OUTPUT_BUFFER_SIZE 65536

struct output {
	int fd;
	char *path;     /* the target, NULL for standard output (owned) */
	char *tmp_path; /* the temporary file while open (owned) */
	int error;      /* errno of the first failure, 0 while fine */
	const char *failed_op; /* what failed: "write", "fsync", ... */
	size_t len;     /* bytes waiting in buffer */
	off_t written, synced; /* bytes written to the file; those whose writeback was started */
	void *digest;   /* EVP_MD_CTX of SHA-256 over every byte written, or NULL (owned) */
	char buffer[OUTPUT_BUFFER_SIZE];
};

/*
 * Start an output to path, or to standard output when path is NULL.
 * For a path: refuses a directory, creates the temporary file beside the
 * target. Returns 0, or -1 with a message in err (the caller exits 73).
 * o must not move while open (it is large: allocate or keep it static).
 */
int output_open(struct output *o, const char *path, char *err, size_t errlen);

/* Append bytes. Returns 0, or -1 once any write has failed. */
int output_write(struct output *o, const void *data, size_t len);
int output_puts(struct output *o, const char *s);
int output_printf(struct output *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A sink writing to o (see escape.h). */
struct sink output_sink(struct output *o);

/*
 * Finish: flush; for a file also fsync, rename over the target and fsync
 * the directory. Returns 0, or -1 with a message in err; on failure the
 * temporary file is removed. Frees what o holds either way.
 */
int output_commit(struct output *o, char *err, size_t errlen);

/* From now on, keep a SHA-256 digest of every byte written. 0 or -1. */
int output_digest_start(struct output *o);

/* Flush, and write the hex SHA-256 of every byte written since
 * output_digest_start into hex (65 bytes); the digest stops. 0, or -1 when
 * there is no digest or a write failed. */
int output_digest_hex(struct output *o, char hex[65]);

/* Give up: remove the temporary file (a file output), free what o holds. */
void output_abort(struct output *o);

#endif
