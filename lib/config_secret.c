/*
 * config_secret.c - the secrets a config names: read from
 * $CREDENTIALS_DIRECTORY (systemd credentials) or from the *_file keys,
 * refused when readable by group or others, registered for masking, wiped
 * when freed (config.h).
 */
#include "config.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 1 when $CREDENTIALS_DIRECTORY/<credential> exists (config_read_secret then reads it). */
static int getenv_credential_exists(const char *credential)
{
	const char *cred_dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	if (!cred_dir || !*cred_dir)
		return 0;
	snprintf(path, sizeof path, "%s/%s", cred_dir, credential);
	return access(path, F_OK) == 0;
}

int config_secret_configured(const struct config *cfg, enum secret_id id)
{
	return cfg->secret_file[id] != NULL || getenv_credential_exists(config_secret_credential_name(id));
}

int config_check_webhook_secret(const struct config *cfg, const char *s, char *err, size_t errlen)
{
	enum secret_id id = SECRET_CROSSCHQ_WEBHOOK_SECRET;
	if (cfg->crosschq_webhook_auth != WEBHOOK_AUTH_BASIC || strchr(s, ':'))
		return 0;
	char where[128];
	if (cfg->secret_line[id] > 0 && !getenv_credential_exists(config_secret_credential_name(id)))
		snprintf(where, sizeof where, ":%d: [crosschq] webhook_secret_file", cfg->secret_line[id]);
	else
		snprintf(where, sizeof where, ": [crosschq] webhook_secret_file (credential %s)",
			 config_secret_credential_name(id));
	snprintf(err, errlen, "%s%s: webhook_auth = basic wants \"user:password\" in the secret, and it holds no ':'",
		 cfg->path, where);
	return -1;
}

/* Read at most 4 KiB of fd into a new string. NULL when larger. */
static char *read_small_fd(int fd, size_t *len)
{
	struct buf b;
	buf_init(&b, 4096);
	char chunk[1024];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof chunk)) > 0) {
		if (buf_append(&b, chunk, (size_t)n)) {
			buf_free(&b);
			return NULL;
		}
	}
	if (n < 0) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data ? b.data : xstrdup("");
}

char *config_read_secret(const struct config *cfg, enum secret_id id, char *err, size_t errlen)
{
	const char *cred_dir = getenv("CREDENTIALS_DIRECTORY");
	char path_buf[4096];
	const char *path = NULL;
	int from_credentials = 0;
	if (cred_dir && *cred_dir) {
		snprintf(path_buf, sizeof path_buf, "%s/%s", cred_dir, config_secret_credential_name(id));
		if (access(path_buf, F_OK) == 0) {
			path = path_buf;
			from_credentials = 1;
		}
	}
	if (!path) {
		path = cfg->secret_file[id];
		if (!path) {
			snprintf(err, errlen, "%s: %s is not set (and no credential '%s' in $CREDENTIALS_DIRECTORY)",
				 cfg->path, config_secret_key_name(id), config_secret_credential_name(id));
			return NULL;
		}
	}
	char where[256];
	if (from_credentials)
		snprintf(where, sizeof where, "systemd credential %s", config_secret_credential_name(id));
	else
		snprintf(where, sizeof where, "%s, line %d of %s", config_secret_key_name(id),
			 cfg->secret_line[id], cfg->path);

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s (%s): cannot open: %s", path, where, strerror(errno));
		return NULL;
	}
	struct stat sb;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s (%s): not a regular file", path, where);
		close(fd);
		return NULL;
	}
	if (!from_credentials && (sb.st_mode & (S_IRGRP | S_IROTH))) {
		snprintf(err, errlen,
			 "%s (%s): refusing a secret file readable by group or others (mode %04o); run: chmod 600 %s",
			 path, where, (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return NULL;
	}
	size_t len = 0;
	char *s = read_small_fd(fd, &len);
	close(fd);
	if (!s) {
		snprintf(err, errlen, "%s (%s): unreadable or larger than 4 KiB", path, where);
		return NULL;
	}
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	if (len == 0 || strlen(s) != len) {
		snprintf(err, errlen, "%s (%s): %s", path, where, len == 0 ? "empty" : "contains a NUL byte");
		free(s);
		return NULL;
	}
	log_add_secret(s);
	return s;
}

void secret_free(char *secret)
{
	if (!secret)
		return;
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
}
