/*
 * fuzz_config.c - the config loader (config_load in lib/config.c, over
 * inih) on arbitrary file content, and the secret reading that a loaded
 * config leads to.
 *
 * The input is the whole file. It is written to an in-memory file
 * (memfd) that config_load reads through /proc/self/fd/N. Every "@D@" in the
 * input first becomes the target's temporary directory, made once in
 * LLVMFuzzerInitialize, which holds secret files of every kind: good
 * (good.key, 0600), readable by others (open.key), empty (empty.key), with
 * a NUL byte (nul.key), over 4 KiB (big.key). A loaded config's secrets are
 * read when their *_file names a file in that directory (never anything
 * else on the machine).
 *
 * Checked: on success the values obey what config.h and refsync.conf(5)
 * promise (required keys set, URLs allowed and without a trailing slash,
 * numbers in range, a spool); on failure the message is one line per problem,
 * each naming the file.
 */
#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "util.h"

#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MARK "@D@"

static char root[64];
static char conf_path[128];
static int conf_fd = -1;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_root(void)
{
	if (root[0])
		nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, name);
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0 || chmod(path, mode) != 0) {
		perror(path);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/refsync-fuzz-config-XXXXXX", tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror(root);
		abort();
	}
	atexit(remove_root);
	static char big[5000];
	memset(big, 'k', sizeof big);
	write_file("good.key", "a-secret-of-the-fuzzer\n", 23, 0600);
	write_file("open.key", "readable-by-all\n", 16, 0644);
	write_file("empty.key", " \n", 2, 0600);
	write_file("nul.key", "abc\0def\n", 8, 0600);
	write_file("big.key", big, sizeof big, 0600);
	conf_fd = memfd_create("refsync-fuzz-config", MFD_CLOEXEC);
	if (conf_fd >= 0) {
		snprintf(conf_path, sizeof conf_path, "/proc/self/fd/%d", conf_fd);
	} else {
		snprintf(conf_path, sizeof conf_path, "%s/refsync.conf", root);
		conf_fd = open(conf_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (conf_fd < 0) {
			perror(conf_path);
			abort();
		}
	}
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("JOURNAL_STREAM");
	log_init("refsync", LOG_DEBUG);
	return 0;
}

/* The input with every DIR_MARK replaced by root. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
	size_t mark = strlen(DIR_MARK), n = strlen(root);
	struct buf out;
	buf_init(&out, 16 * 1024 * 1024);
	for (size_t i = 0; i < size;) {
		if (size - i >= mark && memcmp(data + i, DIR_MARK, mark) == 0) {
			buf_append(&out, root, n);
			i += mark;
		} else {
			buf_append(&out, data + i, 1);
			i++;
		}
	}
	*len = out.len;
	return out.data ? out.data : xstrdup("");
}

/* What a loaded config promises. */
static void check_loaded(const struct config *c)
{
	FUZZ_CHECK(c->path && strcmp(c->path, conf_path) == 0);
	FUZZ_CHECK(!str_empty(c->database));
	FUZZ_CHECK(!str_empty(c->spool));
	FUZZ_CHECK(!str_empty(c->lever_url) && config_url_allowed(c->lever_url));
	FUZZ_CHECK(!str_empty(c->crosschq_url) && config_url_allowed(c->crosschq_url));
	FUZZ_CHECK(c->lever_url[strlen(c->lever_url) - 1] != '/');
	FUZZ_CHECK(c->crosschq_url[strlen(c->crosschq_url) - 1] != '/');
	FUZZ_CHECK(!c->answer_url || config_url_allowed(c->answer_url));
	FUZZ_CHECK(!str_empty(c->trigger_stage));
	FUZZ_CHECK(c->lever_rps > 0 && c->lever_rps <= 1000);
	FUZZ_CHECK(c->crosschq_rps > 0 && c->crosschq_rps <= 1000);
	FUZZ_CHECK(c->overlap_minutes >= 0 && c->overlap_minutes <= 1440);
	FUZZ_CHECK(c->webhook_max_age_hours >= 1 && c->webhook_max_age_hours <= 720);
	FUZZ_CHECK(c->after_days >= 0 && c->after_days <= 3650);
	FUZZ_CHECK(c->answer_expiry_days >= 1 && c->answer_expiry_days <= 365);
	FUZZ_CHECK(c->cancel_on_archive == 0 || c->cancel_on_archive == 1);
	FUZZ_CHECK(c->export_existing == 0 || c->export_existing == 1);
	FUZZ_CHECK(c->auto_export_new == 0 || c->auto_export_new == 1);
	/* an empty smtp_url (like an empty hired_reason or from) loads as NULL */
	FUZZ_CHECK(!c->smtp_url || strncasecmp(c->smtp_url, "smtp://", 7) == 0 ||
		   strncasecmp(c->smtp_url, "smtps://", 8) == 0);
}

/* Read the secrets that live in root; each either reads or says why not. */
static void read_secrets(const struct config *c)
{
	size_t n = strlen(root);
	for (int id = 0; id < SECRET_COUNT; id++) {
		const char *file = c->secret_file[id];
		if (!file || strncmp(file, root, n) != 0 || file[n] != '/' || strstr(file, ".."))
			continue;
		char err[CONFIG_ERR_MAX];
		memset(err, 0x5a, sizeof err);
		char *secret = config_read_secret(c, (enum secret_id)id, err, sizeof err);
		if (secret) {
			FUZZ_CHECK(strcmp(secret, "a-secret-of-the-fuzzer") == 0);
			free(secret);
		} else {
			FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
			/* the message never carries the secret (it names the file,
			 * whose name may hold anything) */
			if (!strstr(file, "a-secret-of-the-fuzzer"))
				FUZZ_CHECK(strstr(err, "a-secret-of-the-fuzzer") == NULL);
			if (!strstr(file, "readable-by-all"))
				FUZZ_CHECK(strstr(err, "readable-by-all") == NULL);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	char *text = expand(data, size, &len);
	if (ftruncate(conf_fd, 0) || pwrite(conf_fd, text, len, 0) != (ssize_t)len) {
		perror(conf_path);
		abort();
	}
	free(text);

	struct config c;
	char err[CONFIG_ERR_MAX];
	memset(err, 0x5a, sizeof err);
	if (config_load(conf_path, &c, err, sizeof err) == 0) {
		check_loaded(&c);
		read_secrets(&c);
		config_free(&c);
	} else {
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		/* one problem a line, each naming the file */
		for (const char *line = err; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			FUZZ_CHECK(strncmp(line, conf_path, strlen(conf_path)) == 0);
		/* config_load frees what it had read */
		FUZZ_CHECK(c.path == NULL && c.database == NULL);
	}
	return 0;
}
