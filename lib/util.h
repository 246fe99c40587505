/*
 * util.h - the basics every refsync program shares: the exit codes, and
 * (so that one include brings them) the clock and times (clock.h), buffers,
 * allocation and strings (buf.h), files and the process (files.h).
 */
#ifndef REFSYNC_UTIL_H
#define REFSYNC_UTIL_H

#include "buf.h"
#include "clock.h"
#include "files.h"

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
