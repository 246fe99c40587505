/*
 * files.c - files and the process: atomic writes, the REFSYNC_TEST_CRASH_AT hook, user names (see files.h).
 */
#include "files.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The name of user uid, or its number. */
char *user_name(unsigned uid, char *out, size_t outlen)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	if (pw && pw->pw_name)
		snprintf(out, outlen, "%s", pw->pw_name);
	else
		snprintf(out, outlen, "%u", uid);
	return out;
}

void crash_point(const char *point)
{
	static int counts[16];
	static const char *names[16];
	const char *want = getenv("REFSYNC_TEST_CRASH_AT");
	if (!want || !*want)
		return;
	size_t plen = strlen(point);
	if (strncmp(want, point, plen) != 0)
		return;
	long nth = 1;
	if (want[plen] == ':')
		nth = strtol(want + plen + 1, NULL, 10);
	else if (want[plen] != '\0')
		return;
	int slot = 0;
	while (slot < 15 && names[slot] && strcmp(names[slot], point) != 0)
		slot++;
	names[slot] = point;
	if (++counts[slot] < nth)
		return;
	fprintf(stderr, "refsync: REFSYNC_TEST_CRASH_AT=%s reached, killing myself\n", want);
	fflush(stderr);
	kill(getpid(), SIGKILL);
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	size_t n = strlen(path);
	char *tmp = xmalloc(n + 32);
	snprintf(tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	if (write_all(fd, data, len) || fsync(fd)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		free(tmp);
		errno = e;
		return -1;
	}
	free(tmp);
	char *dcopy = xstrdup(path);
	int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dcopy);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
