/*
 * log.h - one line per event on stderr. When stderr is the journal
 * ($JOURNAL_STREAM matches fd 2), lines carry sd-daemon priority prefixes
 * (<3> error ... <7> debug). Every registered secret is masked in every line,
 * whatever the caller passed in.
 */
#ifndef REFSYNC_LOG_H
#define REFSYNC_LOG_H

enum log_level { LOG_ERR = 3, LOG_WARN = 4, LOG_NOTICE = 5, LOG_INFO = 6, LOG_DEBUG = 7 };

/* prog: the program name for plain-terminal lines. verbosity: max level shown. */
void log_init(const char *prog, int verbosity);
void log_set_verbosity(int verbosity);

/* Register a secret (copied) so that it is masked in every log line. */
void log_add_secret(const char *secret);

/* Replace every registered secret in s (in place) by "***". */
void log_mask_secrets(char *s);

/* Wipe and forget the secrets log_add_secret copied (at exit). */
void log_forget_secrets(void);

/*
 * A progress line on a terminal: 1 when stderr is a terminal (never the
 * journal or a file), so that a caller may draw one. log_progress draws text
 * over the previous progress line (carriage return, then erase to the end of
 * the line); log_progress_clear erases it. A log line printed meanwhile
 * erases it first, so that the two never share a line.
 */
int log_progress_wanted(void);
void log_progress(const char *text);
void log_progress_clear(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A mistake on the command line, the same way in every program: "PROG: what"
 * and "Try 'PROG --help'." on stderr (never the journal's prefixes: a
 * person typed it). The caller exits 64.
 */
void log_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
