/*
 * check_state.c - the state directory (the directory of [sync] database,
 * which also holds the lock file): what `refsync check` says about it, and
 * the test a run makes before it takes the lock.
 */
#include "check_internal.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Called once per problem found: code is the exit status a run gives it. */
typedef void (*state_report)(void *arg, int code, const char *msg);

/* The directory part of database into dir ("." when it has none). */
static void state_dir_of(const char *database, char *dir, size_t dirlen)
{
	const char *slash = strrchr(database, '/');
	if (!slash)
		snprintf(dir, dirlen, ".");
	else if (slash == database)
		snprintf(dir, dirlen, "/");
	else
		snprintf(dir, dirlen, "%.*s", (int)(slash - database), database);
}

/* The database and its -wal and -shm files, when present, must be this user's to write. */
static int state_files(const char *database, const char *me, state_report report, void *arg)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	int problems = 0;
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		char path[4200], owner[64], msg[9000];
		struct stat sb;
		snprintf(path, sizeof path, "%s%s", database, suffix[i]);
		if (stat(path, &sb) != 0 || access(path, R_OK | W_OK) == 0)
			continue;
		snprintf(msg, sizeof msg, "%s is not writable by user %s (owner %s, mode %04o): run refsync as its "
			 "owner, or give it to this user: chown %s: %s", path, me,
			 user_name((unsigned)sb.st_uid, owner, sizeof owner), (unsigned)(sb.st_mode & 07777), me, path);
		report(arg, EXIT_CANTCREAT, msg);
		problems++;
	}
	return problems;
}

/*
 * Every problem of the state directory of database, one report each; returns
 * their number. Stops at the first when the directory itself is unusable.
 */
static int state_problems(const char *database, state_report report, void *arg)
{
	char dir[4096], me[64], owner[64], msg[9000];
	struct stat sb;
	uid_t euid = geteuid();
	state_dir_of(database, dir, sizeof dir);
	user_name((unsigned)euid, me, sizeof me);
	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT)
			snprintf(msg, sizeof msg, "%s: the state directory (of [sync] database) does not exist; create "
				 "it: install -d -o %s%s -m 0750 %s", dir, euid == 0 ? "refsync" : me,
				 euid == 0 ? " -g refsync" : "", dir);
		else
			snprintf(msg, sizeof msg, "%s: the state directory (of [sync] database) cannot be reached as "
				 "user %s: %s", dir, me, strerror(errno));
		report(arg, EXIT_CANTCREAT, msg);
		return 1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(msg, sizeof msg, "%s: the state directory (of [sync] database) is not a directory", dir);
		report(arg, EXIT_CANTCREAT, msg);
		return 1;
	}
	user_name((unsigned)sb.st_uid, owner, sizeof owner);
	if (euid == 0 && sb.st_uid != 0) {
		snprintf(msg, sizeof msg, "%s is owned by user %s: refusing to run as root, which would leave files "
			 "that %s cannot open; run refsync as that user: runuser -u %s -- refsync ...", dir, owner,
			 owner, owner);
		report(arg, EXIT_NOPERM, msg);
		return 1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(msg, sizeof msg, "%s: the state directory is not writable by user %s (owner %s, mode %04o): "
			 "run refsync as its owner, or give it to this user: chown %s: %s", dir, me, owner,
			 (unsigned)(sb.st_mode & 07777), me, dir);
		report(arg, EXIT_CANTCREAT, msg);
		return 1;
	}
	return state_files(database, me, report, arg);
}

struct first_problem {
	int code;
	char *err;
	size_t errlen;
};

/* Keep the first problem only. */
static void keep_first(void *arg, int code, const char *msg)
{
	struct first_problem *f = arg;
	if (f->code)
		return;
	f->code = code;
	snprintf(f->err, f->errlen, "%s", msg);
}

int state_dir_ready(const char *database, char *err, size_t errlen)
{
	struct first_problem f = { 0, err, errlen };
	state_problems(database, keep_first, &f);
	return f.code;
}

/* Each problem a check line. */
static void as_problem(void *arg, int code, const char *msg)
{
	(void)code;
	check_problem(arg, msg);
}

int check_state(struct checker *c, const struct config *cfg)
{
	char dir[4096];
	state_dir_of(cfg->database, dir, sizeof dir);
	if (state_problems(cfg->database, as_problem, c) == 0) {
		check_ok("state directory is writable by this user: ", dir);
		return 0;
	}
	struct stat sb;
	return stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}
