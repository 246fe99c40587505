/*
 * spool.c - the maildir-style spool <spool>/{tmp,new,done}; see spool.h for
 * the invariants and why each step comes in the order it does.
 */
#include "spool.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_DIR_MODE 0770
#define SPOOL_FILE_MODE 0660
/* A spool is drained every few minutes; this only bounds memory. */
#define SPOOL_MAX_LISTED 1000000

int spool_name_valid(const char *name)
{
	size_t n = 0;
	if (!name || name[0] == '.' || name[0] == '\0')
		return 0;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '_' || c == '-';
		if (!ok || n >= SPOOL_NAME_MAX)
			return 0;
	}
	return 1;
}

/* Join dir, sub and (when not NULL) name into out. 0, or -1 when too long. */
static int spool_path(char *out, size_t outlen, const char *dir, const char *sub, const char *name)
{
	int n = name ? snprintf(out, outlen, "%s/%s/%s", dir, sub, name)
		     : snprintf(out, outlen, "%s/%s", dir, sub);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* fsync a directory so that a rename or link in it is durable. 0 or -1. */
static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/*
 * mkdir path with SPOOL_DIR_MODE (not narrowed by the umask) unless it is
 * already a directory; creates missing parents the same way. 0 or -1.
 */
static int make_dir(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return 0;
		errno = ENOTDIR;
		return -1;
	}
	if (errno != ENOENT)
		return -1;
	char parent[PATH_MAX];
	if (strlcpy_(parent, path, sizeof parent) >= sizeof parent) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *slash = strrchr(parent, '/');
	while (slash && slash > parent && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(parent, '/');
	}
	if (slash && slash != parent) {
		*slash = '\0';
		if (make_dir(parent))
			return -1;
	}
	if (mkdir(path, SPOOL_DIR_MODE) != 0)
		return errno == EEXIST ? 0 : -1;
	/* the hook and the sync share the spool through a group */
	if (chmod(path, SPOOL_DIR_MODE) != 0)
		return -1;
	return 0;
}

int spool_init(const char *dir, char *err, size_t errlen)
{
	static const char *subs[] = { "tmp", "new", "done" };
	char path[PATH_MAX];
	if (str_empty(dir)) {
		snprintf(err, errlen, "the spool directory is not set");
		return -1;
	}
	if (make_dir(dir)) {
		snprintf(err, errlen, "%s: cannot create the spool directory: %s", dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		if (spool_path(path, sizeof path, dir, subs[i], NULL) || make_dir(path)) {
			snprintf(err, errlen, "%s/%s: cannot create the spool directory: %s", dir, subs[i],
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* lstat sub/name: 1 and *ino when it exists, 0 when not, -1 on error. */
static int entry_inode(const char *dir, const char *sub, const char *name, ino_t *ino)
{
	char path[PATH_MAX];
	struct stat sb;
	if (spool_path(path, sizeof path, dir, sub, name))
		return -1;
	if (lstat(path, &sb) != 0)
		return errno == ENOENT ? 0 : -1;
	if (ino)
		*ino = sb.st_ino;
	return 1;
}

int spool_exists(const char *dir, const char *name)
{
	if (!spool_name_valid(name))
		return 0;
	return entry_inode(dir, "done", name, NULL) == 1 || entry_inode(dir, "new", name, NULL) == 1;
}

/* Check a name and a length for spool_put*. 0, or -1 with a message in err. */
static int put_args_valid(const char *name, size_t len, char *err, size_t errlen)
{
	if (!spool_name_valid(name)) {
		snprintf(err, errlen, "spool: invalid file name");
		return -1;
	}
	if (len > SPOOL_MAX_FILE) {
		snprintf(err, errlen, "spool: %s: %zu bytes is more than the %d allowed", name, len,
			 SPOOL_MAX_FILE);
		return -1;
	}
	return 0;
}

/*
 * Write data as tmp/<name>.<pid>, fsync'd; its path goes to tmp (PATH_MAX)
 * and its inode to *ino. Returns 0, or -1 with a message in err (nothing is
 * left in tmp/).
 */
static int write_tmp(const char *dir, const char *name, const char *data, size_t len, char *tmp, ino_t *ino,
		     char *err, size_t errlen)
{
	char tmpname[SPOOL_NAME_MAX + 32];
	struct stat sb;
	snprintf(tmpname, sizeof tmpname, "%s.%ld", name, (long)getpid());
	if (spool_path(tmp, PATH_MAX, dir, "tmp", tmpname)) {
		snprintf(err, errlen, "%s: spool path too long", dir);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, SPOOL_FILE_MODE);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
		return -1;
	}
	int bad = write_all(fd, data, len) || fsync(fd) || fstat(fd, &sb);
	if (close(fd) != 0)
		bad = 1;
	if (bad) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	*ino = sb.st_ino;
	return 0;
}

int spool_put(const char *dir, const char *name, const char *data, size_t len, int *already,
	      char *err, size_t errlen)
{
	char tmp[PATH_MAX], dst[PATH_MAX], newdir[PATH_MAX];
	int linked = 0;
	ino_t mine = 0, other = 0;

	*already = 0;
	if (put_args_valid(name, len, err, errlen))
		return -1;
	/* processed or queued already: nothing to write */
	if (entry_inode(dir, "done", name, NULL) == 1 || entry_inode(dir, "new", name, NULL) == 1) {
		*already = 1;
		return 0;
	}
	if (spool_path(dst, sizeof dst, dir, "new", name) || spool_path(newdir, sizeof newdir, dir, "new", NULL)) {
		snprintf(err, errlen, "%s: spool path too long", dir);
		return -1;
	}
	if (write_tmp(dir, name, data, len, tmp, &mine, err, errlen))
		return -1;
	/* link() never replaces: the first writer of a name wins */
	if (link(tmp, dst) != 0) {
		if (errno != EEXIST) {
			snprintf(err, errlen, "%s: cannot queue: %s", dst, strerror(errno));
			unlink(tmp);
			return -1;
		}
		*already = 1;
	} else {
		linked = 1;
	}
	unlink(tmp);
	if (linked && fsync_dir(newdir) != 0) {
		snprintf(err, errlen, "%s: cannot sync the directory: %s", newdir, strerror(errno));
		return -1;
	}
	/*
	 * A reader may have moved an earlier copy of this name to done/ between
	 * the check above and the link: then ours is a duplicate; take it back
	 * (unless done/ holds our own file, processed already).
	 */
	if (linked && entry_inode(dir, "done", name, &other) == 1 && other != mine) {
		ino_t cur = 0;
		if (entry_inode(dir, "new", name, &cur) == 1 && cur == mine)
			unlink(dst);
		*already = 1;
	}
	return 0;
}

int spool_put_seen(const char *dir, const char *name, const char *data, size_t len, int *already,
		   char *err, size_t errlen)
{
	char tmp[PATH_MAX], dst[PATH_MAX], donedir[PATH_MAX];
	ino_t mine;
	int ret = 0;

	*already = 0;
	if (put_args_valid(name, len, err, errlen))
		return -1;
	if (entry_inode(dir, "done", name, NULL) == 1 || entry_inode(dir, "new", name, NULL) == 1) {
		*already = 1;
		return 0;
	}
	if (spool_path(dst, sizeof dst, dir, "done", name) ||
	    spool_path(donedir, sizeof donedir, dir, "done", NULL)) {
		snprintf(err, errlen, "%s: spool path too long", dir);
		return -1;
	}
	if (write_tmp(dir, name, data, len, tmp, &mine, err, errlen))
		return -1;
	if (link(tmp, dst) != 0) {
		if (errno == EEXIST) {
			*already = 1;
		} else {
			snprintf(err, errlen, "%s: cannot record: %s", dst, strerror(errno));
			ret = -1;
		}
	} else if (fsync_dir(donedir) != 0) {
		snprintf(err, errlen, "%s: cannot sync the directory: %s", donedir, strerror(errno));
		ret = -1;
	}
	unlink(tmp);
	return ret;
}

/* qsort comparator over char* entries, byte order. */
static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * List the valid names in dir/sub, sorted. Returns the count and a malloc'd
 * array of malloc'd names in *out (free with free_names), or -1 (logged).
 */
static long list_names(const char *dir, const char *sub, char ***out)
{
	char path[PATH_MAX];
	*out = NULL;
	if (spool_path(path, sizeof path, dir, sub, NULL)) {
		log_err("%s: spool path too long", dir);
		return -1;
	}
	DIR *d = opendir(path);
	if (!d) {
		log_err("%s: cannot read the spool directory: %s", path, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (!spool_name_valid(de->d_name))
			continue;
		if (n >= SPOOL_MAX_LISTED)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
		errno = 0;
	}
	int e = errno;
	closedir(d);
	if (e) {
		log_err("%s: cannot read the spool directory: %s", path, strerror(e));
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -1;
	}
	if (n > 1)
		qsort(names, n, sizeof *names, compare_names);
	*out = names;
	return (long)n;
}

/* Free what list_names returned. */
static void free_names(char **names, long n)
{
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Move new/<name> to done/<name><suffix>. 0 or -1 (logged). */
static int move_to_done(const char *dir, const char *name, const char *suffix)
{
	char from[PATH_MAX], to[PATH_MAX], donedir[PATH_MAX], toname[SPOOL_NAME_MAX + 32];
	snprintf(toname, sizeof toname, "%s%s", name, suffix);
	if (spool_path(from, sizeof from, dir, "new", name) || spool_path(to, sizeof to, dir, "done", toname) ||
	    spool_path(donedir, sizeof donedir, dir, "done", NULL)) {
		log_err("%s: spool path too long", dir);
		return -1;
	}
	if (rename(from, to) != 0) {
		int e = errno;
		/* a concurrent writer took back a duplicate, or done twice */
		if (e == ENOENT && entry_inode(dir, "done", toname, NULL) == 1)
			return 0;
		log_err("%s: cannot move to %s: %s", from, to, strerror(e));
		return -1;
	}
	if (fsync_dir(donedir) != 0) {
		log_err("%s: cannot sync the directory: %s", donedir, strerror(errno));
		return -1;
	}
	return 0;
}

int spool_mark_done(const char *dir, const char *name)
{
	if (!spool_name_valid(name)) {
		log_err("spool: invalid file name");
		return -1;
	}
	return move_to_done(dir, name, "");
}

int spool_set_aside(const char *dir, const char *name)
{
	if (!spool_name_valid(name)) {
		log_err("spool: invalid file name");
		return -1;
	}
	return move_to_done(dir, name, ".rejected");
}

/*
 * Read new/<name> whole into b (capped). Returns 0, 1 when it vanished,
 * 2 when it is larger than SPOOL_MAX_FILE or not a regular file, -1 on error
 * (logged).
 */
static int read_entry(const char *dir, const char *name, struct buf *b)
{
	char path[PATH_MAX];
	int ret = -1;
	if (spool_path(path, sizeof path, dir, "new", name)) {
		log_err("%s: spool path too long", dir);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			return 2;
		log_err("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		log_err("%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > SPOOL_MAX_FILE) {
		ret = 2;
		goto out;
	}
	buf_reset(b);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("%s: cannot read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (buf_append(b, chunk, (size_t)n)) {
			ret = 2; /* grew past the cap while we read */
			goto out;
		}
	}
	if (!b->data)
		buf_appendz(b, "");
	ret = 0;
out:
	close(fd);
	return ret;
}

int spool_each_new(const char *dir, spool_visit_fn fn, void *ctx)
{
	char **names;
	long n = list_names(dir, "new", &names);
	if (n < 0)
		return -1;
	struct buf b;
	buf_init(&b, SPOOL_MAX_FILE);
	int ret = 0;
	for (long i = 0; i < n && ret == 0; i++) {
		int r = read_entry(dir, names[i], &b);
		if (r == 1)
			continue;
		if (r == 2) {
			log_warn("spool: %s/new/%s is not a regular file of at most %d bytes; moved to done/%s.rejected",
				 dir, names[i], SPOOL_MAX_FILE, names[i]);
			if (move_to_done(dir, names[i], ".rejected"))
				ret = -1;
			continue;
		}
		if (r < 0) {
			ret = -1;
			break;
		}
		ret = fn(names[i], b.data, b.len, ctx);
	}
	buf_free(&b);
	free_names(names, n);
	return ret;
}

/*
 * Delete the regular files of dir/sub whose mtime is before cutoff (epoch
 * ms). Returns the number deleted, or -1 on an I/O error (logged).
 */
static long prune_dir(const char *dir, const char *sub, int64_t cutoff)
{
	char path[PATH_MAX];
	if (spool_path(path, sizeof path, dir, sub, NULL)) {
		log_err("%s: spool path too long", dir);
		return -1;
	}
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_err("%s: cannot open the spool directory: %s", path, strerror(errno));
		return -1;
	}
	DIR *d = fdopendir(dfd);
	if (!d) {
		log_err("%s: cannot read the spool directory: %s", path, strerror(errno));
		close(dfd);
		return -1;
	}
	long deleted = 0;
	int failed = 0;
	for (;;) {
		struct stat sb;
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			if (errno) {
				log_err("%s: cannot read the spool directory: %s", path, strerror(errno));
				failed = 1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
			continue;
		int64_t mtime_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
		if (mtime_ms >= cutoff)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0) {
			deleted++;
		} else if (errno != ENOENT) {
			log_err("%s/%s: cannot delete: %s", path, de->d_name, strerror(errno));
			failed = 1;
		}
	}
	closedir(d);
	return failed ? -1 : deleted;
}

int spool_prune_done(const char *dir, int64_t older_than_ms)
{
	long n = prune_dir(dir, "done", older_than_ms);
	if (n < 0)
		return -1;
	log_debug("spool: pruned %ld processed file(s) from %s/done", n, dir);
	return 0;
}

long spool_clean_tmp(const char *dir, int64_t older_than_ms)
{
	long n = prune_dir(dir, "tmp", older_than_ms);
	if (n > 0)
		log_notice("spool: removed %ld unfinished file(s) from %s/tmp (left by interrupted writers)", n,
			   dir);
	return n;
}

long spool_count_new(const char *dir)
{
	char path[PATH_MAX];
	if (spool_path(path, sizeof path, dir, "new", NULL))
		return -1;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (spool_name_valid(de->d_name))
			n++;
	closedir(d);
	return n;
}

/* Count the regular files of dir/sub; with suffix, only names ending in it. -1 when unreadable. */
static long count_files(const char *dir, const char *sub, const char *suffix)
{
	char path[PATH_MAX];
	if (spool_path(path, sizeof path, dir, sub, NULL))
		return -1;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	long n = 0;
	size_t sl = suffix ? strlen(suffix) : 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || (suffix && (len <= sl || strcmp(de->d_name + len - sl, suffix) != 0)))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
			n++;
	}
	closedir(d);
	return n;
}

void spool_count(const char *dir, struct spool_counts *c)
{
	c->queued = spool_count_new(dir);
	c->unfinished = count_files(dir, "tmp", NULL);
	c->rejected = count_files(dir, "done", ".rejected");
}
