/*
 * test_tmpdir.h - temporary directories for unit tests: removing a tree
 * that a test made under /tmp. Header-only (static inline), so that each
 * test program stays one file.
 */
#ifndef REFSYNC_TEST_TMPDIR_H
#define REFSYNC_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Remove path and everything below it (symbolic links are not followed). */
static inline void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char child[4096];
			if ((size_t)snprintf(child, sizeof child, "%s/%s", path, de->d_name) >= sizeof child)
				continue;
			struct stat sb;
			if (lstat(child, &sb) == 0 && S_ISDIR(sb.st_mode))
				remove_tree(child);
			else
				unlink(child);
		}
		closedir(d);
	}
	rmdir(path);
}

#endif
