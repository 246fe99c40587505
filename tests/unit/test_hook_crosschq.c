/*
 * test_hook_crosschq.c - refsync-hook's /crosschq route (hook/hook_crosschq.c),
 * called with CGI inputs: Token, Bearer, bare and Basic credentials, every
 * way of getting them wrong (401, nothing spooled, no secret in the log),
 * bad bodies, size limits, methods, an unconfigured webhook, and the exact
 * bytes of the spooled record. (The Lever and answer routes are in
 * test_hook.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "config.h"
#include "hook.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define NOW_MS 1796000000000LL
#define TOKEN_SECRET "cq-webhook-token-secret-0123456789"
#define BASIC_SECRET "refsync-user:pa55word-x9Q"
#define REQUEST "{\"id\":\"req-7\",\"candidate\":{\"first_name\":\"Ada\",\"last_name\":\"Lovelace\"," \
		"\"email\":\"ada@example.com\",\"mobile_phone\":\"\"},\"job_position\":\"Engineer\"," \
		"\"status\":\"Completed\",\"progress\":100,\"report_url\":\"https://app.crosschq.com/r/7\"}"

struct fixture {
	char root[64];
	char conf[256];
	char spool[256];
	char secret[256];
	struct config cfg;
	struct hook_response resp;
	int have_resp;
	char log[8192];            /* what the last call logged */
};

static struct fixture *F;

/* Write a file with mode. */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* (Re)load the config with [crosschq] extra (the section's lines, may be ""). */
static void load_config(const char *crosschq_lines)
{
	char text[2048], err[CONFIG_ERR_MAX];
	config_free(&F->cfg);
	snprintf(text, sizeof text, "[sync]\ndatabase = %s/refsync.db\nspool = %s\n[crosschq]\n%s", F->root, F->spool,
		 crosschq_lines);
	write_file(F->conf, text, 0600);
	if (config_load(F->conf, &F->cfg, err, sizeof err))
		fail_msg("%s", err);
}

/* Token auth with TOKEN_SECRET, or Basic auth with BASIC_SECRET. */
static void use_auth(const char *auth)
{
	char lines[512];
	int basic = strcmp(auth, "basic") == 0;
	write_file(F->secret, basic ? BASIC_SECRET "\n" : TOKEN_SECRET "\n", 0600);
	snprintf(lines, sizeof lines, "webhook_auth = %s\nwebhook_secret_file = %s\n", auth, F->secret);
	load_config(lines);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->root, sizeof f->root, "/tmp/refsync-hookcq-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->conf, sizeof f->conf, "%s/refsync.conf", f->root);
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->root);
	snprintf(f->secret, sizeof f->secret, "%s/crosschq-webhook.secret", f->root);
	F = f;
	*state = f;
	unsetenv("CREDENTIALS_DIRECTORY");
	setenv("REFSYNC_TEST_NOW", "1796000000000", 1);
	use_auth("token");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->have_resp)
		hook_response_free(&f->resp);
	config_free(&f->cfg);
	remove_tree(f->root);
	free(f);
	F = NULL;
	unsetenv("REFSYNC_TEST_NOW");
	unsetenv("CREDENTIALS_DIRECTORY");
	return 0;
}

/* Run req through hook_handle with stderr (the log) captured into F->log. */
static int handle(const struct hook_request *req)
{
	char path[300];
	snprintf(path, sizeof path, "%s/log.txt", F->root);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (F->have_resp)
		hook_response_free(&F->resp);
	hook_handle(&F->cfg, req, &F->resp);
	F->have_resp = 1;
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(F->log, 1, sizeof F->log - 1, fp);
	F->log[n] = '\0';
	fclose(fp);
	assert_non_null(F->resp.reason);
	return F->resp.status;
}

/* One request to /crosschq with body of body_len bytes. */
static int call_len(const char *method, const char *authorization, const char *content_type, const char *body,
		    size_t body_len)
{
	struct hook_request req = {
		.method = method,
		.path_info = "/crosschq",
		.content_type = content_type,
		.authorization = authorization,
		.body = body,
		.body_len = body_len,
	};
	return handle(&req);
}

static int call(const char *method, const char *authorization, const char *body)
{
	return call_len(method, authorization, "application/json", body, body ? strlen(body) : 0);
}

static const char *resp_body(void)
{
	return F->resp.body.data ? F->resp.body.data : "";
}

static int count_dir(const char *sub)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", F->spool, sub);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void assert_spool_empty(void)
{
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(count_dir("done"), 0);
}

/* The content of <spool>/<sub>/<name> (static buffer), or NULL. */
static const char *read_spooled(const char *sub, const char *name)
{
	static char data[80 * 1024];
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", F->spool, sub, name);
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	size_t n = fread(data, 1, sizeof data - 1, fp);
	data[n] = '\0';
	fclose(fp);
	return data;
}

/* "cq-<first 32 hex of SHA-256 of len bytes of body>.json" (static buffer) */
static const char *cq_name(const char *body, size_t len)
{
	static char name[64];
	unsigned char md[32];
	SHA256((const unsigned char *)body, len, md);
	int n = snprintf(name, sizeof name, "cq-");
	for (int i = 0; i < 16; i++)
		n += snprintf(name + n, sizeof name - (size_t)n, "%02x", md[i]);
	snprintf(name + n, sizeof name - (size_t)n, ".json");
	return name;
}

/* "Basic " + base64(s), with its padding cut when unpadded (static buffer). */
static const char *basic(const char *s, int unpadded)
{
	static char out[400];
	memcpy(out, "Basic ", 6);
	int n = EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)s, (int)strlen(s));
	assert_true(n > 0);
	if (unpadded)
		while (out[6 + n - 1] == '=')
			out[6 + --n] = '\0';
	return out;
}

/* A 401 that asks for scheme, spooled nothing, and put no secret anywhere. */
static void assert_refused(const char *challenge)
{
	assert_int_equal(F->resp.status, 401);
	assert_non_null(F->resp.www_authenticate);
	assert_string_equal(F->resp.www_authenticate, challenge);
	assert_spool_empty();
	assert_null(strstr(resp_body(), "pa55word"));
	assert_null(strstr(resp_body(), TOKEN_SECRET));
	assert_null(strstr(F->log, "pa55word"));
	assert_null(strstr(F->log, TOKEN_SECRET));
	assert_non_null(strstr(F->log, "/crosschq: 401"));
}

/* ---- authentication ------------------------------------------------------ */

static void test_token_forms_accepted(void **state)
{
	(void)state;
	const char *forms[] = {
		"Token " TOKEN_SECRET, "Bearer " TOKEN_SECRET, TOKEN_SECRET, "token  " TOKEN_SECRET " ",
		"BEARER\t" TOKEN_SECRET,
	};
	char body[256];
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		snprintf(body, sizeof body, "{\"id\":\"req-%zu\",\"status\":\"Sent\",\"progress\":0}", i);
		assert_int_equal(call(i % 2 ? "PUT" : "POST", forms[i], body), 200);
		assert_int_equal(count_dir("new"), (int)i + 1);
		assert_non_null(read_spooled("new", cq_name(body, strlen(body))));
		assert_null(F->resp.www_authenticate);
	}
}

static void test_token_refused(void **state)
{
	(void)state;
	const char *wrong[] = {
		NULL, "", "   ", "Token", "Token ", "Bearer", TOKEN_SECRET "x", "x" TOKEN_SECRET,
		"cq-webhook-token-secret-012345678", "Token wrong-secret", "Bearer " TOKEN_SECRET "1",
		"Token:" TOKEN_SECRET, "Tokens " TOKEN_SECRET, "Basic " TOKEN_SECRET,
	};
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		call("POST", wrong[i], REQUEST);
		assert_refused("Token");
	}
	/* the right secret in the Basic scheme is the wrong scheme */
	call("POST", basic(TOKEN_SECRET, 0), REQUEST);
	assert_refused("Token");
	assert_string_equal(resp_body(), "wrong credentials (Token expected)\n");
	call("PUT", NULL, REQUEST);
	assert_string_equal(resp_body(), "missing Authorization (Token expected; does the web server pass it? see "
					 "refsync-hook(8))\n");
	/* authentication comes first: a bad body without credentials is a 401 */
	call("POST", "Token nope", "not json");
	assert_refused("Token");
	struct hook_request big = { .method = "POST", .path_info = "/crosschq", .body_too_large = 1 };
	handle(&big);
	assert_refused("Token");
}

static void test_basic_accepted(void **state)
{
	(void)state;
	use_auth("basic");
	assert_int_equal(call("POST", basic(BASIC_SECRET, 0), REQUEST), 200);
	assert_int_equal(count_dir("new"), 1);
	/* unpadded base64 (BASIC_SECRET is 25 bytes: "==" of padding), another body, PUT */
	assert_non_null(strstr(basic(BASIC_SECRET, 0), "=="));
	const char *body = "{\"id\":\"req-8\"}";
	assert_int_equal(call("PUT", basic(BASIC_SECRET, 1), body), 200);
	assert_int_equal(count_dir("new"), 2);
	/* the scheme word in any case */
	char lower[512];
	snprintf(lower, sizeof lower, "basic %s", basic(BASIC_SECRET, 0) + 6);
	assert_int_equal(call("POST", lower, "{\"id\":\"req-9\"}"), 200);
	assert_int_equal(count_dir("new"), 3);
	/* 26 bytes: one '=' of padding, with and without it */
	write_file(F->secret, BASIC_SECRET "Z\n", 0600);
	assert_non_null(strstr(basic(BASIC_SECRET "Z", 0), "UVo="));
	assert_int_equal(call("POST", basic(BASIC_SECRET "Z", 0), "{\"id\":\"req-10\"}"), 200);
	assert_int_equal(call("POST", basic(BASIC_SECRET "Z", 1), "{\"id\":\"req-11\"}"), 200);
	assert_int_equal(count_dir("new"), 5);
	call("POST", basic(BASIC_SECRET, 0), "{\"id\":\"req-12\"}");
	assert_int_equal(F->resp.status, 401);
}

static void test_basic_refused(void **state)
{
	(void)state;
	use_auth("basic");
	const char *challenge = "Basic realm=\"refsync\"";
	char creds[8][600];
	snprintf(creds[0], sizeof creds[0], "%s", basic("refsync-user:pa55word-x9", 0));  /* wrong password */
	snprintf(creds[1], sizeof creds[1], "%s", basic("refsync-usr:pa55word-x9Q", 0));  /* wrong user */
	snprintf(creds[2], sizeof creds[2], "%s", basic("pa55word-x9Q", 0));              /* no user */
	snprintf(creds[3], sizeof creds[3], "%s", basic(BASIC_SECRET "\n", 0));           /* one byte more */
	snprintf(creds[4], sizeof creds[4], "Token %s", BASIC_SECRET);                    /* wrong scheme */
	snprintf(creds[5], sizeof creds[5], "%s", BASIC_SECRET);                          /* bare */
	snprintf(creds[6], sizeof creds[6], "Bearer %s", basic(BASIC_SECRET, 0) + 6);     /* scheme swapped */
	snprintf(creds[7], sizeof creds[7], "%s", basic(BASIC_SECRET, 0));
	creds[7][10] = '!';                                                               /* not base64 */
	for (size_t i = 0; i < 8; i++) {
		call("POST", creds[i], REQUEST);
		assert_refused(challenge);
	}
	const char *malformed[] = { "Basic", "Basic ", "Basic =", "Basic a", "Basic abcde", "Basic ab=c",
				    "Basic abc==", "Basic ab===", "Basic ====", NULL };
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		call("POST", malformed[i], REQUEST);
		assert_refused(challenge);
	}
	assert_string_equal(resp_body(), "missing Authorization (Basic expected; does the web server pass it? see "
					 "refsync-hook(8))\n");
}

static void test_basic_secret_without_colon(void **state)
{
	(void)state;
	use_auth("basic");
	write_file(F->secret, "no-colon-in-this-secret\n", 0600);
	assert_int_equal(call("POST", basic("no-colon-in-this-secret", 0), REQUEST), 500);
	assert_spool_empty();
	/* webhook_secret_file is line 6 of the config */
	char want[512];
	snprintf(want, sizeof want, "%s:6: [crosschq] webhook_secret_file: webhook_auth = basic wants "
				    "\"user:password\" in the secret, and it holds no ':'", F->conf);
	assert_non_null(strstr(F->log, want));
	assert_null(strstr(F->log, "no-colon-in-this-secret"));
	assert_null(strstr(resp_body(), "no-colon"));
	char err[CONFIG_ERR_MAX];
	assert_int_equal(config_check_webhook_secret(&F->cfg, "no-colon", err, sizeof err), -1);
	assert_string_equal(err, want);
	assert_int_equal(config_check_webhook_secret(&F->cfg, "u:p", err, sizeof err), 0);
	/* for token anything goes */
	use_auth("token");
	assert_int_equal(config_check_webhook_secret(&F->cfg, "no-colon", err, sizeof err), 0);
}

static void test_secret_file_refused(void **state)
{
	(void)state;
	/* group-readable: the installation is broken, 500, and the detail is only in the log */
	assert_int_equal(chmod(F->secret, 0640), 0);
	assert_int_equal(call("POST", "Token " TOKEN_SECRET, REQUEST), 500);
	assert_non_null(strstr(F->log, "refusing a secret file readable by group or others"));
	assert_null(strstr(resp_body(), F->root));
	assert_spool_empty();
}

static void test_not_configured(void **state)
{
	(void)state;
	load_config("webhook_auth = basic\n");
	assert_int_equal(call("POST", "Token " TOKEN_SECRET, REQUEST), 404);
	assert_string_equal(resp_body(), "the Crosschq webhook is not configured\n");
	assert_non_null(strstr(F->log, "set [crosschq] webhook_secret_file (or the credential crosschq_webhook_secret)"));
	assert_spool_empty();
	/* a systemd credential of that name configures it */
	char dir[300], path[400];
	snprintf(dir, sizeof dir, "%s/credentials", F->root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof path, "%s/crosschq_webhook_secret", dir);
	write_file(path, BASIC_SECRET "\n", 0400);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(call("POST", basic(BASIC_SECRET, 0), REQUEST), 200);
	assert_int_equal(count_dir("new"), 1);
}

/* ---- bodies -------------------------------------------------------------- */

static void test_record_exact_bytes(void **state)
{
	(void)state;
	/* the body is kept as received, whitespace and all */
	const char *body = "{ \"id\": \"req-7\", \"status\": \"Completed\",\n  \"progress\": 100, \"x\": [1, {\"y\": null}] }\n";
	const char *name = cq_name(body, strlen(body));
	assert_int_equal(call_len("POST", "Token " TOKEN_SECRET, NULL, body, strlen(body)), 200);
	char want[256];
	snprintf(want, sizeof want, "accepted: %s (request req-7)\n", name);
	assert_string_equal(resp_body(), want);
	assert_string_equal(read_spooled("new", name),
			    "{\"type\":\"crosschq\",\"received_at\":1796000000000,\"request\":"
			    "{ \"id\": \"req-7\", \"status\": \"Completed\",\n  \"progress\": 100, \"x\": [1, {\"y\": null}] }\n"
			    "}\n");
	/* redelivered later: the same name, nothing changes */
	setenv("REFSYNC_TEST_NOW", "1796000060000", 1);
	assert_int_equal(call_len("PUT", "Bearer " TOKEN_SECRET, "text/plain", body, strlen(body)), 200);
	snprintf(want, sizeof want, "already queued: %s\n", name);
	assert_string_equal(resp_body(), want);
	assert_int_equal(count_dir("new"), 1);
	assert_int_equal(count_dir("tmp"), 0);
	assert_non_null(strstr(read_spooled("new", name), "\"received_at\":1796000000000,"));
	/* and after the sync processed it */
	assert_int_equal(spool_mark_done(F->spool, name), 0);
	assert_int_equal(call("POST", "Token " TOKEN_SECRET, body), 200);
	assert_string_equal(resp_body(), want);
	assert_int_equal(count_dir("new"), 0);
	/* the full Request of crosschq-api.md, any content type (or none) */
	assert_int_equal(call_len("POST", TOKEN_SECRET, NULL, REQUEST, strlen(REQUEST)), 200);
	assert_string_equal(read_spooled("new", cq_name(REQUEST, strlen(REQUEST))),
			    "{\"type\":\"crosschq\",\"received_at\":1796000060000,\"request\":" REQUEST "}\n");
}

static void test_bad_bodies(void **state)
{
	(void)state;
	const char *bad[] = {
		"", "{", "nope", "[]", "\"string\"", "42", "null", "{\"id\":\"a\"} {\"id\":\"b\"}",
		"{\"id\":\"a\" /* comment */}", "{\"id\":\"\xff\xfe\"}", "{\"id\":\"a\",}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(call("POST", "Token " TOKEN_SECRET, bad[i]), 400);
		assert_string_equal(resp_body(), "malformed JSON: expected one JSON object (a Crosschq Request)\n");
	}
	const char *no_id[] = {
		"{}", "{\"status\":\"Completed\"}", "{\"id\":42}", "{\"id\":null}", "{\"id\":[\"a\"]}",
		"{\"id\":\"a\",\"id\":\"b\"}", "{\"request_id\":\"a\"}", "{\"candidate\":{\"id\":\"a\"}}",
	};
	for (size_t i = 0; i < sizeof no_id / sizeof no_id[0]; i++) {
		assert_int_equal(call("POST", "Token " TOKEN_SECRET, no_id[i]), 400);
		assert_string_equal(resp_body(), "missing or invalid \"id\": expected the Request's id as a string\n");
	}
	const char *bad_id[] = { "{\"id\":\"\"}", "{\"id\":\"a b\"}", "{\"id\":\"a\\nb\"}", "{\"id\":\"caf\xc3\xa9\"}" };
	for (size_t i = 0; i < sizeof bad_id / sizeof bad_id[0]; i++) {
		assert_int_equal(call("POST", "Token " TOKEN_SECRET, bad_id[i]), 400);
		assert_string_equal(resp_body(), "invalid \"id\": expected 1 to 128 printable characters without spaces\n");
	}
	/* a valid body followed by a NUL and more */
	assert_int_equal(call_len("POST", "Token " TOKEN_SECRET, "application/json", "{\"id\":\"r\"}\0{}", 13), 400);
	/* a body cut short of its Content-Length */
	struct hook_request req = { .method = "POST", .path_info = "/crosschq", .authorization = TOKEN_SECRET,
				    .body = REQUEST, .body_len = 10, .body_unreadable = 1 };
	assert_int_equal(handle(&req), 400);
	assert_spool_empty();
}

static void test_oversize(void **state)
{
	(void)state;
	struct hook_request req = { .method = "POST", .path_info = "/crosschq", .authorization = "Token " TOKEN_SECRET,
				    .body_too_large = 1 };
	assert_int_equal(handle(&req), 413);
	/* the record adds its envelope: the largest body that fits a spool file */
	const char *head = "{\"type\":\"crosschq\",\"received_at\":1796000000000,\"request\":";
	size_t fit = SPOOL_MAX_FILE - strlen(head) - 2;
	char *big = malloc(HOOK_BODY_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', HOOK_BODY_MAX + 1);
	memcpy(big, REQUEST, strlen(REQUEST));
	big[HOOK_BODY_MAX + 1] = '\0';
	assert_int_equal(call_len("POST", "Token " TOKEN_SECRET, NULL, big, HOOK_BODY_MAX + 1), 413);
	assert_int_equal(call_len("POST", "Token " TOKEN_SECRET, NULL, big, HOOK_BODY_MAX), 413);
	assert_int_equal(call_len("POST", "Token " TOKEN_SECRET, NULL, big, fit + 1), 413);
	assert_string_equal(resp_body(), "body too large to queue (a spool record holds at most 65536 bytes)\n");
	assert_spool_empty();
	assert_int_equal(call_len("POST", "Token " TOKEN_SECRET, NULL, big, fit), 200);
	const char *rec = read_spooled("new", cq_name(big, fit));
	assert_non_null(rec);
	assert_int_equal(strlen(rec), SPOOL_MAX_FILE);
	free(big);
}

/* ---- methods, routes, responses ------------------------------------------ */

static void test_methods(void **state)
{
	(void)state;
	const char *methods[] = { "GET", "DELETE", "PATCH", "HEAD", "OPTIONS", "post", "put", NULL };
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		assert_int_equal(call(methods[i], "Token " TOKEN_SECRET, REQUEST), 405);
		assert_string_equal(F->resp.allow, "POST, PUT");
	}
	assert_spool_empty();
	/* 405 comes before "not configured" */
	load_config("");
	assert_int_equal(call("GET", NULL, NULL), 405);
	assert_int_equal(call("PUT", NULL, REQUEST), 404);
	/* other paths are not this route */
	struct hook_request req = { .method = "POST", .path_info = "/crosschq/", .authorization = TOKEN_SECRET,
				    .body = REQUEST, .body_len = strlen(REQUEST) };
	assert_int_equal(handle(&req), 404);
	assert_non_null(strstr(resp_body(), "/crosschq"));
}

static void test_response_headers(void **state)
{
	(void)state;
	char *out;
	size_t len;
	call("POST", "Token wrong", REQUEST);
	hook_response_format(&F->resp, &out, &len);
	assert_non_null(strstr(out, "Status: 401 Unauthorized\r\n"));
	assert_non_null(strstr(out, "\r\nWWW-Authenticate: Token\r\n"));
	free(out);
	use_auth("basic");
	call("PUT", "Basic d3Jvbmc6d3Jvbmc=", REQUEST);
	hook_response_format(&F->resp, &out, &len);
	assert_non_null(strstr(out, "\r\nWWW-Authenticate: Basic realm=\"refsync\"\r\n"));
	free(out);
	/* no challenge on other answers */
	call("PUT", basic(BASIC_SECRET, 0), REQUEST);
	assert_int_equal(F->resp.status, 200);
	hook_response_format(&F->resp, &out, &len);
	assert_null(strstr(out, "WWW-Authenticate"));
	free(out);
	/* the log line of an accepted delivery holds neither the secret nor its password */
	assert_non_null(strstr(F->log, "PUT /crosschq: 200 accepted: cq-"));
	assert_null(strstr(F->log, "pa55word"));
}

int main(void)
{
	log_init("test_hook_crosschq", LOG_DEBUG);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_token_forms_accepted),
		T(test_token_refused),
		T(test_basic_accepted),
		T(test_basic_refused),
		T(test_basic_secret_without_colon),
		T(test_secret_file_refused),
		T(test_not_configured),
		T(test_record_exact_bytes),
		T(test_bad_bodies),
		T(test_oversize),
		T(test_methods),
		T(test_response_headers),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
