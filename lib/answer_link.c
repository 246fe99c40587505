/*
 * answer_link.c - building and verifying the signed answer links of the
 * follow-up prompt (HMAC-SHA256 with the local answer secret).
 */
#include "answer_link.h"
#include "util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNATURE_HEX_LEN 64
/* "refsync-answer-v1|" + id + "|" + 19 digits */
#define MESSAGE_MAX (32 + ANSWER_LINK_ID_MAX + 24)

/*
 * hex(HMAC-SHA256(secret, "refsync-answer-v1|" id "|" expiry)) into out
 * (SIGNATURE_HEX_LEN + 1 bytes). Returns 0, or -1 when HMAC fails or id is
 * too long.
 */
static int sign(const char *secret, const char *id, int64_t expires_at_s, char *out)
{
	char message[MESSAGE_MAX];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int n = snprintf(message, sizeof message, "refsync-answer-v1|%s|%lld", id, (long long)expires_at_s);
	if (n < 0 || (size_t)n >= sizeof message)
		return -1;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)message, (size_t)n, mac,
		  &maclen) ||
	    maclen != SIGNATURE_HEX_LEN / 2)
		return -1;
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	OPENSSL_cleanse(message, sizeof message);
	return 0;
}

/* Append s to b with every byte but ALPHA / DIGIT / "-._~" as %XX. */
static int url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '.' || c == '_' || c == '~';
		char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
		if (plain ? buf_append(b, p, 1) : buf_append(b, esc, 3))
			return -1;
	}
	return 0;
}

char *answer_link_build(const char *answer_url, const char *secret, const char *request_id,
			int64_t expires_at_s)
{
	char sig[SIGNATURE_HEX_LEN + 1];
	struct buf b;
	if (str_empty(answer_url) || str_empty(secret) || str_empty(request_id) || expires_at_s < 0 ||
	    strlen(request_id) > ANSWER_LINK_ID_MAX)
		return NULL;
	if (sign(secret, request_id, expires_at_s, sig))
		return NULL;
	buf_init(&b, strlen(answer_url) + 3 * ANSWER_LINK_ID_MAX + 128);
	if (buf_appendz(&b, answer_url) || buf_appendz(&b, strchr(answer_url, '?') ? "&r=" : "?r=") ||
	    url_escape(&b, request_id) || buf_printf(&b, "&e=%lld&s=%s", (long long)expires_at_s, sig)) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* The value of one hex digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode n bytes of form-encoded text at s into a new string. Returns it
 * (malloc'd), or NULL when an escape is bad or decodes to NUL.
 */
static char *form_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int answer_link_param(const char *params, const char *key, char **value)
{
	char *found = NULL;
	const char *p = params;
	*value = NULL;
	if (!params)
		return 0;
	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		if (len > 0) {
			char *k = form_decode(p, klen);
			if (!k) {
				free(found);
				return -1;
			}
			int match = strcmp(k, key) == 0;
			free(k);
			if (match) {
				if (found) {
					free(found);
					return -1;
				}
				found = eq ? form_decode(eq + 1, len - klen - 1) : xstrdup("");
				if (!found)
					return -1;
			}
		}
		p += len;
		if (*p == '&')
			p++;
	}
	if (!found)
		return 0;
	*value = found;
	return 1;
}

/* Parse a non-negative decimal of at most 18 digits. 0 or -1. */
#define ANSWER_LINK_EXPIRY_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

static int parse_seconds(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	int64_t v = 0;
	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	/* up to the year 9999: later times overflow when turned into ms */
	if (v > ANSWER_LINK_EXPIRY_MAX)
		return -1;
	*out = v;
	return 0;
}

int answer_link_verify(const char *secret, const char *params, char **request_id,
		       int64_t *expires_at_s)
{
	char *r = NULL, *e = NULL, *s = NULL;
	char expected[SIGNATURE_HEX_LEN + 1], given[SIGNATURE_HEX_LEN + 1];
	int64_t expiry = 0;
	int ret = -1;

	if (request_id)
		*request_id = NULL;
	if (str_empty(secret) || !params)
		return -1;
	if (answer_link_param(params, "r", &r) != 1 || answer_link_param(params, "e", &e) != 1 ||
	    answer_link_param(params, "s", &s) != 1)
		goto out;
	if (r[0] == '\0' || strlen(r) > ANSWER_LINK_ID_MAX || parse_seconds(e, &expiry) ||
	    strlen(s) != SIGNATURE_HEX_LEN)
		goto out;
	for (size_t i = 0; i < SIGNATURE_HEX_LEN; i++) {
		int v = hex_value(s[i]);
		if (v < 0)
			goto out;
		given[i] = "0123456789abcdef"[v];
	}
	given[SIGNATURE_HEX_LEN] = '\0';
	if (sign(secret, r, expiry, expected))
		goto out;
	if (CRYPTO_memcmp(expected, given, SIGNATURE_HEX_LEN) != 0)
		goto out;
	ret = now_ms() / 1000 > expiry ? -2 : 0;
	if (expires_at_s)
		*expires_at_s = expiry;
	if (ret == 0 && request_id) {
		*request_id = r;
		r = NULL;
	}
out:
	free(r);
	free(e);
	free(s);
	return ret;
}
