/*
 * output.c - buffered export output to stdout or to an atomically replaced
 * file. See output.h.
 */
#include "output.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory part of path ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* The last component of path. */
static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Record the first failure. Returns -1. */
static int fail(struct output *o, const char *op, int err)
{
	if (!o->error) {
		o->error = err ? err : EIO;
		o->failed_op = op;
	}
	return -1;
}

/* Start writing to path (a temporary file beside it) or to stdout. */
int output_open(struct output *o, const char *path, char *err, size_t errlen)
{
	o->fd = -1;
	o->path = NULL;
	o->tmp_path = NULL;
	o->error = 0;
	o->failed_op = NULL;
	o->len = 0;
	o->written = o->synced = 0;
	o->digest = NULL;
	if (!path) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	struct stat sb;
	if (*path == '\0' || base_of(path)[0] == '\0') {
		snprintf(err, errlen, "%s: not a file name", path);
		return -1;
	}
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		return -1;
	}
	char *dir = dir_of(path);
	size_t n = strlen(dir) + strlen(base_of(path)) + 16;
	char *tmp = xmalloc(n);
	snprintf(tmp, n, "%s/.%s.XXXXXX", dir, base_of(path));
	free(dir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create the output file: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	/* mkostemp makes 0600; give the file the mode a plain create would */
	mode_t mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		snprintf(err, errlen, "%s: cannot set the mode of the output file: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	o->fd = fd;
	o->tmp_path = tmp;
	o->path = xstrdup(path);
	return 0;
}

/* Bytes of a file after which its writeback is started. */
#define WRITEBACK_BYTES (8 << 20)

/* Count n bytes written to the file; every WRITEBACK_BYTES, start writing
 * them to disk while the export goes on, so that the fsync at the end
 * waits for the last few megabytes only. A failure here is not one: the
 * fsync says. */
static void written(struct output *o, size_t n)
{
	if (!o->tmp_path)
		return;
	o->written += (off_t)n;
	if (o->written - o->synced >= WRITEBACK_BYTES) {
		(void)sync_file_range(o->fd, o->synced, o->written - o->synced, SYNC_FILE_RANGE_WRITE);
		o->synced = o->written;
	}
}

/* Write out the buffer. 0 or -1. */
static int flush_buffer(struct output *o)
{
	if (o->error)
		return -1;
	if (o->len && o->digest)
		EVP_DigestUpdate(o->digest, o->buffer, o->len);
	if (o->len && write_all(o->fd, o->buffer, o->len))
		return fail(o, "write", errno);
	written(o, o->len);
	o->len = 0;
	return 0;
}

/* Buffer bytes; large pieces go straight out. */
int output_write(struct output *o, const void *data, size_t len)
{
	if (o->error)
		return -1;
	if (len <= sizeof o->buffer - o->len) {
		memcpy(o->buffer + o->len, data, len);
		o->len += len;
		return 0;
	}
	if (flush_buffer(o))
		return -1;
	if (len >= sizeof o->buffer) {
		/* large pieces go straight out */
		if (o->digest)
			EVP_DigestUpdate(o->digest, data, len);
		if (write_all(o->fd, data, len))
			return fail(o, "write", errno);
		written(o, len);
		return 0;
	}
	memcpy(o->buffer, data, len);
	o->len = len;
	return 0;
}

/* Write a C string. */
int output_puts(struct output *o, const char *s)
{
	return output_write(o, s, strlen(s));
}

/* Write a formatted line of at most 1 KiB. */
int output_printf(struct output *o, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		return fail(o, "format", EOVERFLOW);
	return output_write(o, line, (size_t)n);
}

/* Sink callback for escape.h. */
static int sink_write(void *ctx, const char *data, size_t len)
{
	return output_write(ctx, data, len);
}

/* A sink writing to o. */
struct sink output_sink(struct output *o)
{
	struct sink s = { sink_write, o };
	return s;
}

/* Start the digest of what is written from now on. */
int output_digest_start(struct output *o)
{
	EVP_MD_CTX_free(o->digest);
	o->digest = EVP_MD_CTX_new();
	if (o->digest && EVP_DigestInit_ex(o->digest, EVP_sha256(), NULL))
		return 0;
	EVP_MD_CTX_free(o->digest);
	o->digest = NULL;
	return -1;
}

/* Flush and finish the digest as hex. */
int output_digest_hex(struct output *o, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (!o->digest || flush_buffer(o))
		return -1;
	int ok = EVP_DigestFinal_ex(o->digest, md, &n);
	EVP_MD_CTX_free(o->digest);
	o->digest = NULL;
	if (!ok)
		return -1;
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Free what o holds (not the fd). */
static void release(struct output *o)
{
	EVP_MD_CTX_free(o->digest);
	o->digest = NULL;
	free(o->path);
	free(o->tmp_path);
	o->path = NULL;
	o->tmp_path = NULL;
}

/* fsync the directory holding path; errors that only mean "cannot fsync a
 * directory here" are ignored. 0 or -1 (errno set). */
static int sync_dir(const char *path)
{
	char *dir = dir_of(path);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (dfd < 0)
		return -1;
	int r = fsync(dfd);
	int e = errno;
	close(dfd);
	if (r != 0 && (e == EINVAL || e == ENOTSUP))
		r = 0;
	errno = e;
	return r;
}

/* Flush; for a file fsync, rename over the target, fsync the directory. */
int output_commit(struct output *o, char *err, size_t errlen)
{
	int result = -1;
	flush_buffer(o);
	if (!o->path) {
		if (o->error) {
			snprintf(err, errlen, "standard output: %s failed: %s", o->failed_op,
				 strerror(o->error));
			goto out;
		}
		result = 0;
		goto out;
	}
	if (!o->error && fsync(o->fd) != 0)
		fail(o, "fsync", errno);
	if (close(o->fd) != 0)
		fail(o, "close", errno);
	o->fd = -1;
	if (!o->error && rename(o->tmp_path, o->path) != 0)
		fail(o, "rename", errno);
	if (o->error) {
		unlink(o->tmp_path);
		snprintf(err, errlen, "%s: %s failed: %s (no file was written)", o->path, o->failed_op,
			 strerror(o->error));
		goto out;
	}
	if (sync_dir(o->path) != 0) {
		snprintf(err, errlen, "%s: written, but syncing its directory failed: %s", o->path,
			 strerror(errno));
		goto out;
	}
	result = 0;
out:
	release(o);
	return result;
}

/* Drop the output, removing the temporary file. */
void output_abort(struct output *o)
{
	if (o->path) {
		if (o->fd >= 0)
			close(o->fd);
		o->fd = -1;
		unlink(o->tmp_path);
	}
	release(o);
}
