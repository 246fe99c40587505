/*
 * anchor.c - write, read and check the head line that ends every export.
 * See anchor.h.
 */
#include "anchor.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_PREFIX "refsync-export-head v1 "
#define TAIL_MAX 4096 /* the head line is shorter than this */

/* 1 when s is n lowercase hex digits. */
static int is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

int anchor_write(struct output *out, const char *format, const struct chain_head *head,
		 const struct sign_key *key, char *err, size_t errlen)
{
	char text[1024], at[ROWS_NUMBER_MAX] = "-", body[65];
	if (head->seq > 0)
		rows_format_time(head->at, at);
	int n = snprintf(text, sizeof text, HEAD_PREFIX "format=%s seq=%" PRId64 " hash=%s at=%s", format,
			 head->seq, head->seq > 0 ? head->hash : "-", at);
	if (key) {
		char sig[SIGN_B64_MAX];
		if (output_digest_hex(out, body)) {
			snprintf(err, errlen, "%s: writing the export failed", format);
			return -1;
		}
		n += snprintf(text + n, sizeof text - (size_t)n, " body-sha256=%s key=%s", body, key->keyid);
		if (sign_message(key, text, (size_t)n, sig)) {
			snprintf(err, errlen, "signing the export's head failed");
			return -1;
		}
		snprintf(text + n, sizeof text - (size_t)n, " ed25519=%s", sig);
	}
	if (strcmp(format, "csv") == 0)
		output_printf(out, "# %s\r\n", text);
	else
		output_printf(out, "<!-- %s -->\n", text);
	if (out->error) {
		snprintf(err, errlen, "%s: writing the export failed", format);
		return -1;
	}
	return 0;
}

int anchor_parse_head_arg(const char *arg, int64_t *seq, char hash[AUDIT_HASH_HEX])
{
	const char *colon = strchr(arg, ':');
	char *end;
	if (!colon || colon == arg || *arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno || end != colon || v < 0)
		return -1;
	if (v == 0 ? (strcmp(colon + 1, "") != 0 && strcmp(colon + 1, "-") != 0) : !is_hex(colon + 1, 64))
		return -1;
	*seq = v;
	strlcpy_(hash, v == 0 ? "" : colon + 1, AUDIT_HASH_HEX);
	return 0;
}

/* Parse HEAD (a->text) into a. 0, or -1 with err. */
static int parse_head(struct anchor *a, char *err, size_t errlen)
{
	char copy[sizeof a->text];
	if (strncmp(a->text, HEAD_PREFIX, strlen(HEAD_PREFIX)) != 0) {
		snprintf(err, errlen, "its last line is not a refsync-export head line");
		return -1;
	}
	const char *sig = strstr(a->text, " ed25519=");
	a->signed_len = sig ? (size_t)(sig - a->text) : strlen(a->text);
	strlcpy_(copy, a->text + strlen(HEAD_PREFIX), sizeof copy);
	int have = 0; /* bit per field: format seq hash at body key sig */
	char *save = NULL;
	for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		const char *v = eq + 1;
		static const char *const names[] = { "format", "seq", "hash", "at", "body-sha256", "key", "ed25519" };
		int f = -1;
		for (int i = 0; i < 7; i++)
			if (strcmp(tok, names[i]) == 0)
				f = i;
		if (f < 0 || (have & (1 << f)))
			goto bad;
		have |= 1 << f;
		char *end;
		if (f == 0) {
			if (strcmp(v, "xml") && strcmp(v, "csv") && strcmp(v, "html"))
				goto bad;
			strlcpy_(a->format, v, sizeof a->format);
		} else if (f == 1) {
			errno = 0;
			a->seq = strtoll(v, &end, 10);
			if (errno || *end || end == v || a->seq < 0)
				goto bad;
		} else if (f == 2) {
			if (strcmp(v, "-") != 0 && !is_hex(v, 64))
				goto bad;
			strlcpy_(a->hash, strcmp(v, "-") ? v : "", sizeof a->hash);
		} else if (f == 4) {
			if (!is_hex(v, 64))
				goto bad;
			strlcpy_(a->body_sha256, v, sizeof a->body_sha256);
		} else if (f == 5) {
			if (!is_hex(v, 16))
				goto bad;
			strlcpy_(a->keyid, v, sizeof a->keyid);
		} else if (f == 6) {
			if (strlen(v) >= sizeof a->sig)
				goto bad;
			strlcpy_(a->sig, v, sizeof a->sig);
		}
	}
	/* format, seq, hash, at always; body, key and signature together */
	if ((have & 15) != 15 || ((have & 112) != 0 && (have & 112) != 112) || (a->seq == 0) != (a->hash[0] == 0))
		goto bad;
	a->is_signed = (have & 112) == 112;
	return 0;
bad:
	snprintf(err, errlen, "its head line is malformed");
	return -1;
}

int anchor_read(const char *path, struct anchor *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof *a);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: cannot read the export: %s", path, fd < 0 ? strerror(errno) : "not a file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char tail[TAIL_MAX + 1];
	off_t from = sb.st_size > TAIL_MAX ? sb.st_size - TAIL_MAX : 0;
	ssize_t n = pread(fd, tail, (size_t)(sb.st_size - from), from);
	close(fd);
	if (n < 0 || n != sb.st_size - from) {
		snprintf(err, errlen, "%s: cannot read the export: %s", path, n < 0 ? strerror(errno) : "short read");
		return -1;
	}
	tail[n] = '\0';
	/* the last line, and the wrapper its format uses */
	if (n < 2 || tail[n - 1] != '\n') {
		snprintf(err, errlen, "%s: its last line is not a refsync-export head line", path);
		return 1;
	}
	ssize_t start = n - 2;
	while (start >= 0 && tail[start] != '\n')
		start--;
	start++;
	if (start == 0 && from > 0) {
		snprintf(err, errlen, "%s: its last line is not a refsync-export head line", path);
		return 1;
	}
	char *line = tail + start;
	size_t len = (size_t)(n - start);
	int csv = 0;
	if (len > 2 + 5 && strncmp(line, "# ", 2) == 0 && memcmp(line + len - 2, "\r\n", 2) == 0) {
		csv = 1;
		line[len - 2] = '\0';
		line += 2;
	} else if (len > 9 && strncmp(line, "<!-- ", 5) == 0 && memcmp(line + len - 5, " -->\n", 5) == 0) {
		line[len - 5] = '\0';
		line += 5;
	} else {
		snprintf(err, errlen, "%s: its last line is not a refsync-export head line", path);
		return 1;
	}
	if (strlen(line) >= sizeof a->text) {
		snprintf(err, errlen, "%s: its head line is malformed", path);
		return 1;
	}
	strlcpy_(a->text, line, sizeof a->text);
	char why[128] = "";
	if (parse_head(a, why, sizeof why) || csv != (strcmp(a->format, "csv") == 0)) {
		snprintf(err, errlen, "%s: %s", path, why[0] && csv == (strcmp(a->format, "csv") == 0)
								 ? why : "its head line is malformed");
		return 1;
	}
	a->body_len = (int64_t)from + start;
	return 0;
}

/* The hex SHA-256 of the first len bytes of path into hex. 0 or -1 (errno). */
static int file_digest(const char *path, int64_t len, char hex[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static char block[65536];
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while (ok && len > 0) {
		ssize_t n = read(fd, block, len < (int64_t)sizeof block ? (size_t)len : sizeof block);
		if (n <= 0) {
			ok = 0;
			break;
		}
		EVP_DigestUpdate(ctx, block, (size_t)n);
		len -= n;
	}
	unsigned char md[32];
	unsigned int mdlen = 0;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	close(fd);
	for (int i = 0; ok && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return ok ? 0 : -1;
}

int anchor_verify_file(const char *path, const char *pubkey_path, struct anchor *a)
{
	char err[1024] = "", body[65];
	struct sign_key key;
	if (sign_load_public(pubkey_path, &key, err, sizeof err)) {
		fprintf(stderr, "refsync-export: %s\n", err);
		return EXIT_NOINPUT;
	}
	int rc = anchor_read(path, a, err, sizeof err), code = EXIT_DATAERR;
	if (rc < 0) {
		code = EXIT_NOINPUT;
		fprintf(stderr, "refsync-export: %s\n", err);
	} else if (rc > 0) {
		printf("export NOT VERIFIED: %s\n", err);
	} else if (!a->is_signed) {
		printf("export NOT VERIFIED: %s is not signed (its head line has no ed25519 signature)\n", path);
	} else if (strcmp(a->keyid, key.keyid) != 0 || sign_verify(&key, a->text, a->signed_len, a->sig)) {
		printf("export NOT VERIFIED: %s: the signature of its head line is not valid for the public key %s "
		       "(key %s; the export names key %s)\n", path, pubkey_path, key.keyid, a->keyid);
	} else if (file_digest(path, a->body_len, body)) {
		code = EXIT_NOINPUT;
		fprintf(stderr, "refsync-export: %s: cannot read the export: %s\n", path, strerror(errno));
	} else if (strcmp(body, a->body_sha256) != 0) {
		printf("export NOT VERIFIED: %s: its content does not match its signed digest: the export was "
		       "edited after it was signed\n", path);
	} else {
		printf("export verified: %s is signed by key %s and its content is as signed; it was made at "
		       "audit head %" PRId64 ":%s\n", path, key.keyid, a->seq, a->seq ? a->hash : "-");
		code = EXIT_OK;
	}
	sign_key_free(&key);
	if (fflush(stdout) != 0)
		code = EXIT_CANTCREAT;
	return code;
}
