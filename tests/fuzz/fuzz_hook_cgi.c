/*
 * fuzz_hook_cgi.c - what refsync-hook's main() does with the raw CGI
 * input before any handler runs: CONTENT_LENGTH and the body on standard
 * input (hook_read_body, hook/hook.c), with the standard input a memory
 * file holding whatever the web server would pass.
 *
 * Input: the first line is CONTENT_LENGTH ("-" = unset; no line = unset);
 * the rest is standard input.
 *
 * Checked, as hook.h promises:
 *  - unset or empty CONTENT_LENGTH: no body and no flag;
 *  - not a decimal number: body_unreadable, nothing read;
 *  - a number over HOOK_BODY_MAX (however many digits): body_too_large,
 *    nothing read;
 *  - otherwise exactly that many bytes, equal to the start of standard
 *    input, or body_unreadable when standard input is shorter; never both
 *    flags, and never a body with a flag.
 */
#include "fuzz.h"
#include "hook.h"
#include "util.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The value of the decimal digits s, or HOOK_BODY_MAX + 1 when larger. */
static size_t decimal_value(const char *s)
{
	size_t v = 0;
	for (; *s; s++) {
		v = v * 10 + (size_t)(*s - '0');
		if (v > HOOK_BODY_MAX)
			return HOOK_BODY_MAX + 1;
	}
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *nl = memchr(p, '\n', size);
	char *cl = nl ? xstrndup(p, (size_t)(nl - p)) : NULL;
	const char *in = nl ? nl + 1 : end;
	size_t in_len = (size_t)(end - in);
	if (cl && strcmp(cl, "-") == 0) {
		free(cl);
		cl = NULL;
	}
	/* a CGI variable is a C string: it ends at the first NUL */
	int fd = memfd_create("fuzz-stdin", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(in_len == 0 || write(fd, in, in_len) == (ssize_t)in_len);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);

	struct hook_request req;
	struct buf b;
	memset(&req, 0, sizeof req);
	buf_init(&b, HOOK_BODY_MAX);
	hook_read_body(&req, &b, cl, fd);
	close(fd);

	FUZZ_CHECK(!(req.body_too_large && req.body_unreadable));
	FUZZ_CHECK(req.body_len <= HOOK_BODY_MAX);
	if (!cl || cl[0] == '\0') {
		FUZZ_CHECK(!req.body_too_large && !req.body_unreadable && req.body == NULL && req.body_len == 0);
	} else if (strspn(cl, "0123456789") != strlen(cl)) {
		FUZZ_CHECK(req.body_unreadable && req.body == NULL && b.len == 0);
	} else {
		size_t want = decimal_value(cl);
		if (want > HOOK_BODY_MAX) {
			FUZZ_CHECK(req.body_too_large && req.body == NULL && b.len == 0);
		} else if (in_len < want) {
			FUZZ_CHECK(req.body_unreadable && req.body == NULL);
		} else {
			FUZZ_CHECK(!req.body_too_large && !req.body_unreadable);
			FUZZ_CHECK(req.body_len == want);
			FUZZ_CHECK(want == 0 || memcmp(req.body, in, want) == 0);
		}
	}
	buf_free(&b);
	free(cl);
	return 0;
}
