/*
 * hook_crosschq.c - Crosschq's request-status webhook: POST or PUT
 * /crosschq carrying a Request (crosschq-api.md, section 1). Crosschq signs
 * nothing; the org admin sets, in Crosschq (Settings > Connectors > Partner
 * API), a URL, a method and an auth of None, Basic or Token with a secret of
 * their choosing. refsync takes Token or Basic ([crosschq] webhook_auth) and
 * the secret from [crosschq] webhook_secret_file. A delivery is checked in
 * this order, and nothing touches the spool before it is authenticated:
 *   method (405), configured (404), Authorization (401), size (413),
 *   JSON object (400), a string "id" (400), then queued once per body (200).
 * The Content-Type is not checked (Crosschq's is not documented): the body
 * must parse as JSON, that is all.
 * Record (one file, spool.h):
 *   {"type":"crosschq","received_at":<epoch ms>,"request":<the body as received>}\n
 * named cq-<first 32 hex of SHA-256(body)>.json, so that a redelivery of the
 * same body lands on the same name.
 */
#include "hook_internal.h"
#include "log.h"
#include "spool.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An Authorization value longer than this is refused unread (401). */
#define AUTH_MAX 8192
/* A Crosschq request id: 1 to ID_MAX printable ASCII characters, no space. */
#define ID_MAX 128
#define REALM_BASIC "Basic realm=\"refsync\""
#define REALM_TOKEN "Token"

/* 1 when a (alen bytes) equals b (blen bytes); compares SHA-256 digests in
 * constant time, so that neither the content nor the length leaks. */
static int secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
	SHA256(a, alen, da);
	SHA256(b, blen, db);
	return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

/* Length of s without trailing spaces and tabs. */
static size_t trimmed_len(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/*
 * When s starts with the word scheme (case-insensitive) and then spaces,
 * return what follows the spaces, else NULL.
 */
static const char *after_scheme(const char *s, const char *scheme)
{
	size_t n = strlen(scheme);
	if (strncasecmp(s, scheme, n) != 0 || (s[n] != ' ' && s[n] != '\t'))
		return NULL;
	s += n;
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Token auth: "Token <secret>", "Bearer <secret>" or the bare secret. 1 when it matches. */
static int token_matches(const char *value, const char *secret)
{
	size_t slen = strlen(secret);
	const char *rest = after_scheme(value, "Token");
	if (!rest)
		rest = after_scheme(value, "Bearer");
	/* the whole value is tried too, so that a secret with a space in it works bare */
	int match = secret_equal(value, trimmed_len(value), secret, slen);
	if (rest)
		match |= secret_equal(rest, trimmed_len(rest), secret, slen);
	return match;
}

/*
 * Basic auth: "Basic base64(user:password)" (padding optional). 1 when the
 * decoded credentials are the secret, 0 when not or not Basic at all.
 */
static int basic_matches(const char *value, const char *secret)
{
	const char *b64 = after_scheme(value, "Basic");
	if (!b64)
		return 0;
	size_t n = trimmed_len(b64);
	size_t data = strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	size_t pad = strspn(b64 + data, "=");
	/* only base64 characters, then at most two '=' closing a 4-character group */
	if (n == 0 || data + pad != n || pad > 2 || (pad && n % 4 != 0) || data % 4 == 1)
		return 0;
	/* the data characters, padded again to a whole 4-character group */
	char in[AUTH_MAX + 4];
	size_t fill = (4 - data % 4) % 4;
	memcpy(in, b64, data);
	memset(in + data, '=', fill);
	size_t inlen = data + fill;
	unsigned char out[AUTH_MAX];
	int got = EVP_DecodeBlock(out, (const unsigned char *)in, (int)inlen);
	if (got < 0 || (size_t)got < fill) {
		OPENSSL_cleanse(in, inlen);
		return 0;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes */
	size_t outlen = (size_t)got - fill;
	int match = secret_equal(out, outlen, secret, strlen(secret));
	OPENSSL_cleanse(out, (size_t)got);
	OPENSSL_cleanse(in, inlen);
	return match;
}

/* 1 when id is a plausible Crosschq request id (see ID_MAX). */
static int id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return 0;
	return 1;
}

/*
 * Read the webhook secret and check it against webhook_auth. Returns the
 * secret (owned by the caller; cleanse and free it), or NULL after answering
 * 500 and logging why (the installation is broken, not the request).
 */
static char *read_webhook_secret(const struct config *cfg, struct hook_response *resp)
{
	char err[CONFIG_ERR_MAX];
	char *secret = config_read_secret(cfg, SECRET_CROSSCHQ_WEBHOOK_SECRET, err, sizeof err);
	if (secret && config_check_webhook_secret(cfg, secret, err, sizeof err)) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
		secret = NULL;
	}
	if (!secret) {
		log_err("%s", err);
		hook_server_error(resp, "the Crosschq webhook secret cannot be used");
		return NULL;
	}
	/* the password alone is masked in the log too */
	const char *colon = strchr(secret, ':');
	if (cfg->crosschq_webhook_auth == WEBHOOK_AUTH_BASIC && colon)
		log_add_secret(colon + 1);
	return secret;
}

/* Build the spool record of body into b. 0, or -1 when it would exceed b's maximum. */
static int spool_record(struct buf *b, const char *body, size_t len, int64_t received_at)
{
	return buf_printf(b, "{\"type\":\"crosschq\",\"received_at\":%" PRId64 ",\"request\":", received_at) ||
	       buf_append(b, body, len) || buf_appendz(b, "}\n");
}

void hook_crosschq(const struct config *cfg, const struct hook_request *req, struct hook_response *resp)
{
	yajl_val tree = NULL;
	char *secret = NULL;
	const char *id;
	int basic = cfg->crosschq_webhook_auth == WEBHOOK_AUTH_BASIC;
	struct buf record;
	buf_init(&record, SPOOL_MAX_FILE);

	if (!req->method || (strcmp(req->method, "POST") != 0 && strcmp(req->method, "PUT") != 0)) {
		hook_reply_text(resp, 405, "method not allowed: Crosschq webhooks are POSTed or PUT");
		resp->allow = "POST, PUT";
		goto out;
	}
	if (!config_secret_configured(cfg, SECRET_CROSSCHQ_WEBHOOK_SECRET)) {
		log_warn("%s: set [crosschq] webhook_secret_file (or the credential crosschq_webhook_secret) to take "
			 "Crosschq's webhooks; until then /crosschq answers 404", cfg->path);
		hook_reply_text(resp, 404, "the Crosschq webhook is not configured");
		goto out;
	}
	secret = read_webhook_secret(cfg, resp);
	if (!secret)
		goto out;
	const char *auth = req->authorization;
	if (!auth || auth[strspn(auth, " \t")] == '\0' || strlen(auth) > AUTH_MAX) {
		hook_reply_text(resp, 401, "missing Authorization (%s expected; does the web server pass it? see "
					   "refsync-hook(8))", basic ? "Basic" : "Token");
		resp->www_authenticate = basic ? REALM_BASIC : REALM_TOKEN;
		goto out;
	}
	auth += strspn(auth, " \t");
	if (!(basic ? basic_matches(auth, secret) : token_matches(auth, secret))) {
		hook_reply_text(resp, 401, "wrong credentials (%s expected)", basic ? "Basic" : "Token");
		resp->www_authenticate = basic ? REALM_BASIC : REALM_TOKEN;
		goto out;
	}

	/* From here the delivery is from whoever holds the secret: Crosschq. */
	if (req->body_too_large || req->body_len > HOOK_BODY_MAX) {
		hook_reply_text(resp, 413, "body larger than %d bytes", HOOK_BODY_MAX);
		goto out;
	}
	tree = hook_body_object(req, resp, " (a Crosschq Request)");
	if (!tree)
		goto out;
	if (hook_object_string(tree, "id", &id) != 1) {
		hook_reply_text(resp, 400, "missing or invalid \"id\": expected the Request's id as a string");
		goto out;
	}
	if (!id_valid(id)) {
		hook_reply_text(resp, 400, "invalid \"id\": expected 1 to %d printable characters without spaces",
				ID_MAX);
		goto out;
	}

	char hash[33], name[SPOOL_NAME_MAX + 1];
	hook_sha256_hex32_n(req->body, req->body_len, hash);
	snprintf(name, sizeof name, "cq-%s.json", hash);
	if (spool_record(&record, req->body, req->body_len, now_ms())) {
		hook_reply_text(resp, 413, "body too large to queue (a spool record holds at most %d bytes)",
				SPOOL_MAX_FILE);
		goto out;
	}
	hook_queue(cfg, name, &record, "request", id, resp);
out:
	secret_free(secret);
	yajl_tree_free(tree);
	buf_free(&record);
}
