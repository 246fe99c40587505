/*
 * exit_codes.h - the exit codes every refsync program uses (sysexits-style;
 * README and the man pages list them).
 */
#ifndef REFSYNC_EXIT_CODES_H
#define REFSYNC_EXIT_CODES_H

/* Exit codes shared by the programs (sysexits-style; see README). */
enum {
	EXIT_OK = 0,
	EXIT_SOME_FAILED = 1,    /* finished; failed actions or creates in doubt wait for the operator */
	EXIT_USAGE = 64,         /* bad command line */
	EXIT_DATAERR = 65,       /* refsync-export --verify: chain broken */
	EXIT_NOINPUT = 66,       /* refsync-export --verify-file: the export or key cannot be read */
	EXIT_UNAVAILABLE = 69,   /* transient failures persisted past [sync] outage_alert_minutes */
	EXIT_SOFTWARE = 70,      /* internal error (database corrupt, out of memory) */
	EXIT_CANTCREAT = 73,     /* cannot write an output file */
	EXIT_TEMPFAIL = 75,      /* could not run now (lock held, remote down): retry later */
	EXIT_NOPERM = 77,        /* run as root on a state directory another user owns */
	EXIT_CONFIG = 78         /* configuration or credential error */
};

#endif
