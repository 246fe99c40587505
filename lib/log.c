/*
 * log.c - stderr logging with journald priorities and secret masking.
 */
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SECRETS 16

static const char *log_prog = "refsync";
static int log_level_max = LOG_INFO;
static int log_journal = -1;
static char *secrets[MAX_SECRETS];
static int n_secrets;
static int progress_shown; /* a progress line is on the terminal */

void log_init(const char *prog, int verbosity)
{
	log_prog = prog;
	log_level_max = verbosity;
	log_journal = -1;
}

void log_set_verbosity(int verbosity)
{
	log_level_max = verbosity;
}

/* 1 when stderr is the journal. */
static int log_to_journal(void)
{
	if (log_journal >= 0)
		return log_journal;
	log_journal = 0;
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
		log_journal = 1;
	return log_journal;
}

void log_add_secret(const char *secret)
{
	if (!secret || strlen(secret) < 4 || n_secrets >= MAX_SECRETS)
		return;
	for (int i = 0; i < n_secrets; i++)
		if (strcmp(secrets[i], secret) == 0)
			return;
	/* keep the longest first, so that a secret containing another is masked whole */
	int i = n_secrets++;
	while (i > 0 && strlen(secrets[i - 1]) < strlen(secret)) {
		secrets[i] = secrets[i - 1];
		i--;
	}
	secrets[i] = xstrdup(secret);
}

void log_forget_secrets(void)
{
	for (int i = 0; i < n_secrets; i++) {
		explicit_bzero(secrets[i], strlen(secrets[i]));
		free(secrets[i]);
		secrets[i] = NULL;
	}
	n_secrets = 0;
}

void log_mask_secrets(char *s)
{
	for (int i = 0; i < n_secrets; i++) {
		size_t n = strlen(secrets[i]);
		char *p;
		while ((p = strstr(s, secrets[i])) != NULL) {
			/* "***" is never longer than a secret (>= 4 bytes). */
			memcpy(p, "***", 3);
			memmove(p + 3, p + n, strlen(p + n) + 1);
		}
	}
}

/* See log.h. */
int log_progress_wanted(void)
{
	return isatty(2) && !log_to_journal();
}

/* See log.h. */
void log_progress(const char *text)
{
	fprintf(stderr, "\r\033[K%s", text);
	fflush(stderr);
	progress_shown = 1;
}

/* See log.h. */
void log_progress_clear(void)
{
	if (!progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	progress_shown = 0;
}

/* Format fmt into line (n bytes) as one line: any newline the message
 * carries is folded into a space (one event, one line). */
static void format_line(char *line, size_t n, const char *fmt, va_list ap)
{
	vsnprintf(line, n, fmt, ap);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if ((int)level > log_level_max)
		return;
	log_progress_clear();
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	format_line(line, sizeof line, fmt, ap);
	va_end(ap);
	log_mask_secrets(line);
	if (log_to_journal()) {
		fprintf(stderr, "<%d>%s\n", (int)level, line);
	} else {
		const char *tag = level <= LOG_ERR ? "error: " : level == LOG_WARN ? "warning: " : "";
		fprintf(stderr, "%s: %s%s\n", log_prog, tag, line);
	}
}

void log_usage_error(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	format_line(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\nTry '%s --help'.\n", log_prog, line, log_prog);
}
