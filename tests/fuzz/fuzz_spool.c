/*
 * fuzz_spool.c - taking in the spool (lib/spool.c and
 * ingest_parse_record in sync/ingest_record.c): a file of any content in
 * new/, visited by spool_each_new, read as a webhook, an answer or damaged,
 * then moved to done/ (processed) or set aside (damaged), as ingest.c does.
 * The spool lives in a temporary directory made once (in /dev/shm when it
 * exists, so that the fsyncs are cheap).
 *
 * Input: byte 0 picks the file name (bit 0: a webhook's or an answer's),
 * the rest is the file's content.
 *
 * Checked, as spool.h and ingest.h promise:
 *  - the file is visited once, with its exact content, NUL-terminated;
 *  - a record is damaged exactly when it has no id, and an id is a
 *    non-empty string no longer than the file;
 *  - afterwards new/ is empty, and done/ holds the file under its name
 *    (processed) or as <name>.rejected (damaged), never both;
 *  - then a spool_put of the name (the event's redelivery) is queued
 *    exactly when the file was damaged: a damaged file never blocks it;
 *  - tmp/ is empty at the end (spool_put cleans up after itself).
 */
#include "fuzz.h"
#include "ingest.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];
static char spool[128];

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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[512];
	struct stat sb;
	const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0
				   ? "/dev/shm"
				   : "/tmp";
	snprintf(root, sizeof root, "%s/refsync-fuzz-spool-XXXXXX", base);
	if (!mkdtemp(root)) {
		perror(root);
		abort();
	}
	atexit(remove_root);
	snprintf(spool, sizeof spool, "%s/spool", root);
	if (spool_init(spool, err, sizeof err)) {
		fprintf(stderr, "fuzz_spool: %s\n", err);
		abort();
	}
	log_init("fuzz_spool", LOG_ERR);
	return 0;
}

/* The number of entries of spool/sub, and whether name is one of them. */
static int entries(const char *sub, const char *name, int *found)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", spool, sub);
	DIR *d = opendir(path);
	FUZZ_CHECK(d != NULL);
	int n = 0;
	struct dirent *de;
	*found = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n++;
		if (name && strcmp(de->d_name, name) == 0)
			*found = 1;
	}
	closedir(d);
	return n;
}

/* Empty every directory of the spool. */
static void empty_spool(void)
{
	static const char *subs[] = { "tmp", "new", "done" };
	char dir[256], path[512];
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "%s/%s", spool, subs[i]);
		DIR *d = opendir(dir);
		FUZZ_CHECK(d != NULL);
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
}

struct visit {
	const uint8_t *want;
	size_t want_len;
	const char *name;
	int visits;
	enum ingest_kind kind;
};

/* What ingest.c's visit does, minus the network and the database. */
static int visit(const char *name, const char *data, size_t len, void *p)
{
	struct visit *v = p;
	struct ingest_record rec;
	v->visits++;
	FUZZ_CHECK(strcmp(name, v->name) == 0);
	FUZZ_CHECK(len == v->want_len && (len == 0 || memcmp(data, v->want, len) == 0));
	FUZZ_CHECK(data[len] == '\0');
	ingest_parse_record(data, len, &rec);
	FUZZ_CHECK((rec.kind == INGEST_DAMAGED) == (rec.id == NULL));
	if (rec.id)
		FUZZ_CHECK(rec.id[0] != '\0' && strlen(rec.id) <= len);
	if (rec.kind == INGEST_ANSWER)
		FUZZ_CHECK(rec.answered_at >= 0 && (rec.hired == 0 || rec.hired == 1));
	v->kind = rec.kind;
	ingest_record_free(&rec);
	FUZZ_CHECK((rec.kind == INGEST_DAMAGED ? spool_set_aside(spool, name) : spool_mark_done(spool, name)) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "wh-stage-change-0123456789abcdef0123456789abcdef.json",
					     "answer-0123456789abcdef0123456789abcdef.json" };
	const char *name = names[size ? data[0] & 1 : 0];
	const uint8_t *content = size ? data + 1 : data;
	size_t len = size ? size - 1 : 0;
	char path[512], rejected[256], err[512];
	int found, found_rejected, already = -1;

	/* a file in new/ with exactly this content (not through spool_put:
	 * a damaged file is not what spool_put writes) */
	snprintf(path, sizeof path, "%s/new/%s", spool, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write_all(fd, content, len) == 0);
	close(fd);

	struct visit v = { .want = content, .want_len = len, .name = name };
	FUZZ_CHECK(spool_each_new(spool, visit, &v) == 0);
	FUZZ_CHECK(v.visits == 1);
	snprintf(rejected, sizeof rejected, "%s.rejected", name);
	FUZZ_CHECK(entries("new", NULL, &found) == 0);
	FUZZ_CHECK(entries("done", name, &found) == 1);
	entries("done", rejected, &found_rejected);
	FUZZ_CHECK(v.kind == INGEST_DAMAGED ? found_rejected : found);

	/* the redelivery */
	FUZZ_CHECK(spool_put(spool, name, "{}", 2, &already, err, sizeof err) == 0);
	FUZZ_CHECK(already == (v.kind != INGEST_DAMAGED));
	FUZZ_CHECK(entries("new", name, &found) == (v.kind == INGEST_DAMAGED) && found == (v.kind == INGEST_DAMAGED));
	FUZZ_CHECK(entries("tmp", NULL, &found) == 0);
	empty_spool();
	return 0;
}
