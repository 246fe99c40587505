/*
 * fuzz_anchor.c - the head line at the end of an export (export/anchor.c),
 * which refsync-export --verify-file and --since-export read from files an
 * auditor was handed: anchor_read, the signature check of what it parsed,
 * and anchor_parse_head_arg (--head).
 *
 * Input: the whole export file, held in a memfd read through
 * /proc/self/fd/N; its first line, up to a NUL, is also given to --head.
 *
 * Checked: anchor_read returns 0, 1 or -1; on 0 the fields obey anchor.h
 * (seq >= 0, a hash exactly when seq > 0, 64 hex digits; the signed part
 * of the text is a prefix of it; the body ends where the file's last line
 * begins); a signature made up by the input never verifies against a key
 * made here; a parsed --head has a hash exactly when its seq is not 0.
 */
#include "anchor.h"
#include "fuzz.h"
#include "sign.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int fd = -1;
static char path[64];
static struct sign_key key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fd = memfd_create("refsync-fuzz-anchor", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	/* a key the input cannot know: only its public half is used */
	char keypath[64] = "/tmp/refsync-fuzz-anchor-XXXXXX", err[256], keyid[SIGN_KEYID_HEX], *pub = NULL;
	int kfd = mkstemp(keypath);
	FUZZ_CHECK(kfd >= 0);
	close(kfd);
	unlink(keypath);
	FUZZ_CHECK(sign_keygen(keypath, &pub, keyid, err, sizeof err) == 0);
	unlink(keypath);
	char pubpath[64] = "/tmp/refsync-fuzz-anchor-pub-XXXXXX";
	int pfd = mkstemp(pubpath);
	FUZZ_CHECK(pfd >= 0 && write(pfd, pub, strlen(pub)) == (ssize_t)strlen(pub));
	close(pfd);
	FUZZ_CHECK(sign_load_public(pubpath, &key, err, sizeof err) == 0);
	unlink(pubpath);
	free(pub);
	return 0;
}

/* 1 when s is 64 lowercase hex digits. */
static int is_hash(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0)
		LLVMFuzzerInitialize(NULL, NULL);
	FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
	struct anchor a;
	char err[1024];
	int rc = anchor_read(path, &a, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == 1 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(a.seq >= 0);
		FUZZ_CHECK(a.seq == 0 ? a.hash[0] == '\0' : is_hash(a.hash));
		FUZZ_CHECK(a.signed_len <= strlen(a.text));
		FUZZ_CHECK(strncmp(a.text, "refsync-export-head v1 ", 23) == 0);
		FUZZ_CHECK(a.body_len >= 0 && (size_t)a.body_len < size);
		FUZZ_CHECK(a.body_len == 0 || data[a.body_len - 1] == '\n');
		FUZZ_CHECK(!strcmp(a.format, "xml") || !strcmp(a.format, "csv") || !strcmp(a.format, "html"));
		if (a.is_signed)
			FUZZ_CHECK(sign_verify(&key, a.text, a.signed_len, a.sig) == 1);
	} else {
		FUZZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	}
	/* the first line as --head SEQ:HASH */
	char arg[256];
	size_t n = 0;
	while (n < size && n < sizeof arg - 1 && data[n] && data[n] != '\n')
		n++;
	memcpy(arg, data, n);
	arg[n] = '\0';
	int64_t seq = -1;
	char hash[AUDIT_HASH_HEX];
	if (anchor_parse_head_arg(arg, &seq, hash) == 0)
		FUZZ_CHECK(seq >= 0 && (seq == 0 ? hash[0] == '\0' : is_hash(hash)));
	return 0;
}
