/*
 * test_hook.c - refsync-hook's request handling, called with CGI inputs:
 * Lever webhooks (signatures per webhook, replay, staleness, every kind of
 * bad input and its status) and the answer page (GET changes nothing, POST
 * once, altered and expired links, HTML escaping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_tmpdir.h"
#include "answer_link.h"
#include "config.h"
#include "db.h"
#include "hook.h"
#include "log.h"
#include "spool.h"
#include "util.h"

#define NOW_MS 1796000000000LL
#define HOUR_MS (3600LL * 1000)
#define STAGE_SECRET "stage-change-signature-token-0123456789"
#define HIRED_SECRET "hired-signature-token-9876543210"
#define ANSWER_SECRET "answer-secret-for-links-4242"
/* a Lever delivery token: 48 characters */
#define TOKEN "4b1e6b2c0f8e4f0aa1c4d5e6f708192a3b4c5d6e7f8091a2"

struct fixture {
	char root[64];
	char path[256];
	char spool[256];
	char database[256];
	struct config cfg;
	struct hook_response resp;
	int have_resp;
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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char p[256], conf[2048], err[CONFIG_ERR_MAX];
	if (!f)
		return -1;
	snprintf(f->root, sizeof f->root, "/tmp/refsync-hook-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->root);
	snprintf(f->database, sizeof f->database, "%s/refsync.db", f->root);
	snprintf(p, sizeof p, "%s/stage.token", f->root);
	write_file(p, STAGE_SECRET "\n", 0600);
	snprintf(p, sizeof p, "%s/hired.token", f->root);
	write_file(p, HIRED_SECRET "\n", 0600);
	snprintf(p, sizeof p, "%s/answer.secret", f->root);
	write_file(p, ANSWER_SECRET "\n", 0600);
	snprintf(conf, sizeof conf,
		 "[sync]\ndatabase = %s\nspool = %s\n"
		 "[lever]\nstage_change_token_file = %s/stage.token\nhired_token_file = %s/hired.token\n"
		 "[followup]\nanswer_url = https://refsync.example/cgi-bin/refsync-hook/answer\n"
		 "answer_secret_file = %s/answer.secret\n",
		 f->database, f->spool, f->root, f->root, f->root);
	snprintf(f->path, sizeof f->path, "%s/refsync.conf", f->root);
	write_file(f->path, conf, 0600);
	if (config_load(f->path, &f->cfg, err, sizeof err)) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	setenv("REFSYNC_TEST_NOW", "1796000000000", 1);
	F = f;
	*state = f;
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
	return 0;
}

/* Run one request through hook_handle; returns the status. */
static int call_len(const char *method, const char *path, const char *content_type, const char *query,
		    const char *body, size_t body_len)
{
	struct hook_request req = {
		.method = method,
		.path_info = path,
		.content_type = content_type,
		.query_string = query,
		.body = body,
		.body_len = body_len,
	};
	if (F->have_resp)
		hook_response_free(&F->resp);
	hook_handle(&F->cfg, &req, &F->resp);
	F->have_resp = 1;
	assert_non_null(F->resp.reason);
	return F->resp.status;
}

static int call(const char *method, const char *path, const char *content_type, const char *query,
		const char *body)
{
	return call_len(method, path, content_type, query, body, body ? strlen(body) : 0);
}

static const char *resp_body(void)
{
	return F->resp.body.data ? F->resp.body.data : "";
}

/* hex(HMAC-SHA256(secret, token + decimal triggered_at)) into out[65]. */
static void lever_sign(const char *secret, const char *token, long long triggered_at, char *out)
{
	char msg[256];
	unsigned char mac[32];
	unsigned int len = 0;
	int n = snprintf(msg, sizeof msg, "%s%lld", token, triggered_at);
	assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)n, mac, &len));
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* A Lever delivery (static buffer) signed with secret. */
static const char *delivery(const char *event, const char *token, long long triggered_at, const char *secret,
			    const char *data)
{
	static char body[4096];
	char sig[65];
	lever_sign(secret, token, triggered_at, sig);
	snprintf(body, sizeof body,
		 "{\"event\":\"%s\",\"triggeredAt\":%lld,\"token\":\"%s\",\"signature\":\"%s\",\"data\":%s}", event,
		 triggered_at, token, sig, data);
	return body;
}

#define STAGE_DATA "{\"opportunityId\":\"opp-1\",\"candidateId\":\"opp-1\",\"contactId\":\"c-1\"," \
		   "\"toStageId\":\"stage-ref\",\"fromStageId\":\"stage-0\"}"
#define HIRED_DATA "{\"opportunityId\":\"opp-2\",\"candidateId\":\"opp-2\",\"contactId\":\"c-2\"}"

static int count_dir(const char *sub)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", F->spool, sub);
	DIR *d = opendir(path);
	if (!d)
		return 0; /* not even created: nothing spooled */
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Nothing at all in the spool. */
static void assert_spool_empty(void)
{
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(count_dir("done"), 0);
}

static const char *read_spooled(const char *sub, const char *name)
{
	static char data[4096];
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", F->spool, sub, name);
	data[0] = '\0';
	FILE *fp = fopen(path, "r");
	if (!fp)
		return NULL;
	size_t n = fread(data, 1, sizeof data - 1, fp);
	data[n] = '\0';
	fclose(fp);
	return data;
}

/* "<prefix><first 32 hex of SHA-256(s)>.json" */
static const char *spool_name_of(const char *prefix, const char *s)
{
	static char name[160];
	unsigned char md[32];
	SHA256((const unsigned char *)s, strlen(s), md);
	int n = snprintf(name, sizeof name, "%s", prefix);
	for (int i = 0; i < 16; i++)
		n += snprintf(name + n, sizeof name - (size_t)n, "%02x", md[i]);
	snprintf(name + n, sizeof name - (size_t)n, ".json");
	return name;
}

/* Copy template into out with its one "%s" replaced by sig (no printf: the
 * templates are data). */
static void fill_signature(char *out, size_t outlen, const char *template, const char *sig)
{
	const char *at = strstr(template, "%s");
	assert_non_null(at);
	snprintf(out, outlen, "%.*s%s%s", (int)(at - template), template, sig, at + 2);
}

/* ---- Lever webhooks ---------------------------------------------------- */

static void test_valid_stage_change_queued_once(void **state)
{
	(void)state;
	const char *body = delivery("candidateStageChange", TOKEN, NOW_MS - 60000, STAGE_SECRET, STAGE_DATA);
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", body);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, copy), 200);
		assert_int_equal(count_dir("new"), 1);
	}
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(spool_count_new(F->spool), 1);
	const char *rec = read_spooled("new", spool_name_of("wh-stage-change-", TOKEN));
	assert_non_null(rec);
	assert_string_equal(rec, "{\"type\":\"webhook\",\"event\":\"candidateStageChange\",\"route\":\"stage-change\","
				 "\"opportunity_id\":\"opp-1\",\"to_stage_id\":\"stage-ref\","
				 "\"triggered_at\":1795999940000,\"received_at\":1796000000000}\n");
}

static void test_valid_hired(void **state)
{
	(void)state;
	const char *body = delivery("candidateHired", TOKEN, NOW_MS, HIRED_SECRET,
				    "{\"candidateId\":\"opp-3\",\"contactId\":\"c-3\"}");
	assert_int_equal(call("POST", "/lever/hired", "application/json; charset=utf-8", NULL, body), 200);
	const char *rec = read_spooled("new", spool_name_of("wh-hired-", TOKEN));
	assert_non_null(rec);
	assert_string_equal(rec, "{\"type\":\"webhook\",\"event\":\"candidateHired\",\"route\":\"hired\","
				 "\"opportunity_id\":\"opp-3\",\"to_stage_id\":null,"
				 "\"triggered_at\":1796000000000,\"received_at\":1796000000000}\n");
	/* the same token on the other route is another event, another name */
	body = delivery("candidateStageChange", TOKEN, NOW_MS, STAGE_SECRET, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 200);
	assert_int_equal(count_dir("new"), 2);
}

static void test_forged_signature(void **state)
{
	(void)state;
	char body[1024];
	const char *forged[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"deadbeef",
		"",
		/* right length, wrong key */
		NULL,
	};
	char wrong[65];
	lever_sign("not-the-token", TOKEN, NOW_MS, wrong);
	forged[3] = wrong;
	for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
		snprintf(body, sizeof body,
			 "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\","
			 "\"signature\":\"%s\",\"data\":%s}",
			 NOW_MS, TOKEN, forged[i], STAGE_DATA);
		assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	}
	/* a valid signature moved to another token or time */
	char sig[65];
	lever_sign(STAGE_SECRET, TOKEN, NOW_MS, sig);
	/* the right signature with its last digit changed: every digit counts */
	char last[65];
	memcpy(last, sig, sizeof last);
	last[63] = last[63] == '0' ? '1' : '0';
	snprintf(body, sizeof body,
		 "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\",\"signature\":\"%s\","
		 "\"data\":%s}",
		 NOW_MS, TOKEN, last, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	snprintf(body, sizeof body,
		 "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\",\"signature\":\"%s\","
		 "\"data\":%s}",
		 NOW_MS + 1, TOKEN, sig, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	snprintf(body, sizeof body,
		 "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"x%s\",\"signature\":\"%s\","
		 "\"data\":%s}",
		 NOW_MS, TOKEN, sig, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	/* missing, null or not a string */
	snprintf(body, sizeof body, "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\","
				    "\"data\":%s}", NOW_MS, TOKEN, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	snprintf(body, sizeof body, "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\","
				    "\"signature\":null,\"data\":%s}", NOW_MS, TOKEN, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	snprintf(body, sizeof body, "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\","
				    "\"signature\":[\"%s\"],\"data\":%s}", NOW_MS, TOKEN, sig, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	/* uppercase hex of the right signature is the right signature */
	for (char *p = sig; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(body, sizeof body,
		 "{\"event\":\"candidateStageChange\",\"triggeredAt\":%lld,\"token\":\"%s\",\"signature\":\"%s\","
		 "\"data\":%s}",
		 NOW_MS, TOKEN, sig, STAGE_DATA);
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 200);
	assert_int_equal(count_dir("new"), 1);
}

static void test_other_webhook_token(void **state)
{
	(void)state;
	/* each route takes only its own webhook's token */
	const char *body = delivery("candidateStageChange", TOKEN, NOW_MS, HIRED_SECRET, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	body = delivery("candidateHired", TOKEN, NOW_MS, STAGE_SECRET, HIRED_DATA);
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, body), 401);
	/* and a test delivery signed with the other token is refused too */
	body = delivery("candidateHired", TOKEN, NOW_MS, STAGE_SECRET, "{}");
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, body), 401);
	assert_spool_empty();
}

static void test_stale_and_future(void **state)
{
	(void)state;
	const char *t[] = { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2",
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa4",
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa5", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa6" };
	/* default window: 24 hours back, 5 minutes ahead */
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL,
			      delivery("candidateStageChange", t[0], NOW_MS - 24 * HOUR_MS - 1, STAGE_SECRET, STAGE_DATA)),
			 401);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL,
			      delivery("candidateStageChange", t[1], NOW_MS + 5 * 60000 + 1, STAGE_SECRET, STAGE_DATA)),
			 401);
	/* a stale test delivery is refused as well */
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL,
			      delivery("candidateHired", t[1], NOW_MS - 48 * HOUR_MS, HIRED_SECRET, "{}")),
			 401);
	assert_spool_empty();
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL,
			      delivery("candidateStageChange", t[2], NOW_MS - 24 * HOUR_MS, STAGE_SECRET, STAGE_DATA)),
			 200);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL,
			      delivery("candidateStageChange", t[3], NOW_MS + 5 * 60000, STAGE_SECRET, STAGE_DATA)),
			 200);
	assert_int_equal(count_dir("new"), 2);
	/* the window is configurable */
	F->cfg.webhook_max_age_hours = 1;
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL,
			      delivery("candidateStageChange", t[4], NOW_MS - 2 * HOUR_MS, STAGE_SECRET, STAGE_DATA)),
			 401);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL,
			      delivery("candidateStageChange", t[5], NOW_MS - HOUR_MS + 1, STAGE_SECRET, STAGE_DATA)),
			 200);
	assert_int_equal(count_dir("new"), 3);
}

static void test_oversize(void **state)
{
	(void)state;
	struct hook_request req = { .method = "POST", .path_info = "/lever/stage-change",
				    .content_type = "application/json", .body_too_large = 1 };
	hook_handle(&F->cfg, &req, &F->resp);
	F->have_resp = 1;
	assert_int_equal(F->resp.status, 413);
	/* a body of 64 KiB + 1, even validly signed, padded with spaces */
	size_t n = HOOK_BODY_MAX + 1;
	char *big = malloc(n + 1);
	assert_non_null(big);
	const char *body = delivery("candidateStageChange", TOKEN, NOW_MS, STAGE_SECRET, STAGE_DATA);
	memset(big, ' ', n);
	memcpy(big, body, strlen(body));
	big[n] = '\0';
	assert_int_equal(call_len("POST", "/lever/stage-change", "application/json", NULL, big, n), 413);
	/* exactly 64 KiB is fine */
	assert_int_equal(call_len("POST", "/lever/stage-change", "application/json", NULL, big, n - 1), 200);
	assert_int_equal(count_dir("new"), 1);
	free(big);
	/* answers too */
	req.path_info = "/answer";
	req.content_type = "application/x-www-form-urlencoded";
	hook_response_free(&F->resp);
	hook_handle(&F->cfg, &req, &F->resp);
	assert_int_equal(F->resp.status, 413);
}

static void test_malformed_json(void **state)
{
	(void)state;
	char sig[65], body[1024];
	lever_sign(STAGE_SECRET, TOKEN, NOW_MS, sig);
	const char *bad[] = {
		"",
		"{",
		"nope",
		"[]",
		"\"string\"",
		"{\"a\":1} {\"b\":2}",
		"{\"a\":1 /* comment */}",
		"{\"a\":\"\xff\xfe\"}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, bad[i]), 400);
	/* a valid, signed body followed by a NUL and garbage */
	const char *good = delivery("candidateStageChange", TOKEN, NOW_MS, STAGE_SECRET, STAGE_DATA);
	size_t n = strlen(good);
	memcpy(body, good, n);
	memcpy(body + n, "\0{}", 3);
	assert_int_equal(call_len("POST", "/lever/stage-change", "application/json", NULL, body, n + 3), 400);
	/* fields the signature needs: missing or of the wrong type */
	const char *fields[] = {
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"signature\":\"%s\",\"data\":{}}",
		"{\"event\":\"candidateStageChange\",\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{}}",
		"{\"triggeredAt\":\"1796000000000\",\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{}}",
		"{\"triggeredAt\":1796000000000.0,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{}}",
		"{\"triggeredAt\":-1,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{}}",
		"{\"triggeredAt\":99999999999999999999999,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{}}",
		"{\"triggeredAt\":1796000000000,\"token\":\"\",\"signature\":\"%s\",\"data\":{}}",
		"{\"triggeredAt\":1796000000000,\"token\":7,\"signature\":\"%s\",\"data\":{}}",
		/* a repeated key is ambiguous */
		"{\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"token\":\"x\",\"signature\":\"%s\",\"data\":{}}",
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		fill_signature(body, sizeof body, fields[i], sig);
		assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 400);
	}
	assert_spool_empty();
}

static void test_bad_fields_after_signature(void **state)
{
	(void)state;
	char sig[65], body[1024];
	lever_sign(STAGE_SECRET, TOKEN, NOW_MS, sig);
	const char *bodies[] = {
		/* no data, data not an object */
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\"}",
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":[]}",
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":null}",
		/* no opportunity, an invalid one */
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"toStageId\":\"s\"}}",
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":\"../../etc\"}}",
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":42}}",
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":\"\"}}",
		/* a bad stage id */
		"{\"event\":\"candidateStageChange\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":\"o\",\"toStageId\":7}}",
		/* no event, another event */
		"{\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":\"o\"}}",
		"{\"event\":\"candidateHired\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":\"o\"}}",
		"{\"event\":\"candidateDeleted\",\"triggeredAt\":1796000000000,\"token\":\"" TOKEN "\",\"signature\":\"%s\",\"data\":{\"opportunityId\":\"o\"}}",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		fill_signature(body, sizeof body, bodies[i], sig);
		assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 400);
	}
	assert_spool_empty();
	/* the same broken bodies, unsigned: 401 (nothing is said about the fields) */
	fill_signature(body, sizeof body, bodies[3], "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 401);
	assert_spool_empty();
}

static void test_wrong_method(void **state)
{
	(void)state;
	const char *body = delivery("candidateStageChange", TOKEN, NOW_MS, STAGE_SECRET, STAGE_DATA);
	const char *methods[] = { "GET", "PUT", "DELETE", "HEAD", "post", NULL };
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		assert_int_equal(call(methods[i], "/lever/stage-change", "application/json", NULL, body), 405);
		assert_string_equal(F->resp.allow, "POST");
		assert_int_equal(call(methods[i], "/lever/hired", "application/json", NULL, body), 405);
	}
	assert_int_equal(call("PUT", "/answer", NULL, NULL, NULL), 405);
	assert_string_equal(F->resp.allow, "GET, POST");
	assert_int_equal(call("DELETE", "/answer", NULL, "r=x", NULL), 405);
	assert_spool_empty();
}

static void test_wrong_content_type(void **state)
{
	(void)state;
	const char *body = delivery("candidateStageChange", TOKEN, NOW_MS, STAGE_SECRET, STAGE_DATA);
	const char *types[] = { NULL, "", "text/plain", "application/jsonx", "application/x-www-form-urlencoded",
				"multipart/form-data; boundary=x", "application/json-patch+json" };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		assert_int_equal(call("POST", "/lever/stage-change", types[i], NULL, body), 415);
	assert_spool_empty();
	assert_int_equal(call("POST", "/lever/stage-change", "Application/JSON ; charset=UTF-8", NULL, body), 200);
	assert_int_equal(count_dir("new"), 1);
}

static void test_test_delivery(void **state)
{
	(void)state;
	/* Lever's "verify" sample: candidateHired with empty data, on either webhook */
	const char *body = delivery("candidateHired", TOKEN, NOW_MS, HIRED_SECRET, "{}");
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, body), 200);
	body = delivery("candidateHired", TOKEN, NOW_MS, STAGE_SECRET, "{}");
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 200);
	/* nothing queued, but each envelope is recorded as seen */
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(count_dir("done"), 2);
	assert_string_not_equal(read_spooled("done", spool_name_of("wh-hired-", TOKEN)), "");
	assert_string_not_equal(read_spooled("done", spool_name_of("wh-stage-change-", TOKEN)), "");
	/* the envelope (token, triggeredAt, signature: they do not cover data)
	 * replayed with data: nothing is queued */
	body = delivery("candidateHired", TOKEN, NOW_MS, HIRED_SECRET, HIRED_DATA);
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, body), 200);
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(count_dir("done"), 2);
	/* Lever's test delivery again: still 200 */
	body = delivery("candidateHired", TOKEN, NOW_MS, HIRED_SECRET, "{}");
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, body), 200);
	assert_int_equal(count_dir("done"), 2);
	/* forged: still 401, and nothing recorded */
	char forged[1024];
	snprintf(forged, sizeof forged, "{\"event\":\"candidateHired\",\"triggeredAt\":%lld,\"token\":\"%s\","
					"\"signature\":\"%064d\",\"data\":{}}", NOW_MS, TOKEN "x", 0);
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, forged), 401);
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(count_dir("done"), 2);
}

static void test_replay_after_done(void **state)
{
	(void)state;
	const char *body = delivery("candidateStageChange", TOKEN, NOW_MS - HOUR_MS, STAGE_SECRET, STAGE_DATA);
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", body);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, copy), 200);
	/* the sync processed it */
	assert_int_equal(spool_mark_done(F->spool, spool_name_of("wh-stage-change-", TOKEN)), 0);
	assert_int_equal(count_dir("new"), 0);
	/* replayed later (same token, still in the window): 200, nothing queued */
	setenv("REFSYNC_TEST_NOW", "1796003600000", 1);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, copy), 200);
	assert_int_equal(count_dir("new"), 0);
	assert_int_equal(count_dir("tmp"), 0);
	assert_int_equal(count_dir("done"), 1);
	/* past the window it is stale */
	setenv("REFSYNC_TEST_NOW", "1796090000000", 1);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, copy), 401);
	assert_int_equal(count_dir("new"), 0);
}

static void test_unknown_route_and_broken_config(void **state)
{
	(void)state;
	assert_int_equal(call("POST", "/lever/other", "application/json", NULL, "{}"), 404);
	assert_int_equal(call("GET", NULL, NULL, NULL, NULL), 404);
	assert_int_equal(call("GET", "/answer/", NULL, NULL, NULL), 404);
	/* no config: 500, a generic body */
	struct hook_request req = { .method = "POST", .path_info = "/lever/hired", .content_type = "application/json" };
	hook_response_free(&F->resp);
	hook_handle(NULL, &req, &F->resp);
	assert_int_equal(F->resp.status, 500);
	assert_null(strstr(resp_body(), "/"));
	/* an unreadable token file: 500, and neither path nor secret in the body */
	char p[300];
	snprintf(p, sizeof p, "%s/hired.token", F->root);
	assert_int_equal(chmod(p, 0644), 0);
	const char *body = delivery("candidateHired", TOKEN, NOW_MS, HIRED_SECRET, HIRED_DATA);
	assert_int_equal(call("POST", "/lever/hired", "application/json", NULL, body), 500);
	assert_null(strstr(resp_body(), F->root));
	assert_null(strstr(resp_body(), "token"));
	assert_spool_empty();
	/* the other route is unaffected */
	body = delivery("candidateStageChange", TOKEN, NOW_MS, STAGE_SECRET, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 200);
	/* an unwritable spool is the installation's fault: 500 */
	config_free(&F->cfg);
	char conf[1024], err[CONFIG_ERR_MAX];
	snprintf(conf, sizeof conf, "[sync]\ndatabase = %s\nspool = %s/stage.token/spool\n"
				    "[lever]\nstage_change_token_file = %s/stage.token\n", F->database, F->root, F->root);
	write_file(F->path, conf, 0600);
	assert_int_equal(config_load(F->path, &F->cfg, err, sizeof err), 0);
	body = delivery("candidateStageChange", "t2", NOW_MS, STAGE_SECRET, STAGE_DATA);
	assert_int_equal(call("POST", "/lever/stage-change", "application/json", NULL, body), 500);
	assert_null(strstr(resp_body(), F->root));
}

static void test_response_format(void **state)
{
	(void)state;
	char *out;
	size_t len;
	assert_int_equal(call("GET", "/lever/hired", NULL, NULL, NULL), 405);
	hook_response_format(&F->resp, &out, &len);
	assert_int_equal(strlen(out), len);
	assert_true(strncmp(out, "Status: 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n", 72) == 0);
	assert_non_null(strstr(out, "\r\nAllow: POST\r\n"));
	assert_non_null(strstr(out, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(out, "\r\nX-Robots-Tag: noindex"));
	const char *sep = strstr(out, "\r\n\r\n");
	assert_non_null(sep);
	assert_string_equal(sep + 4, resp_body());
	assert_int_equal(len, (size_t)(sep + 4 - out) + F->resp.body.len);
	/* no Content-Length: the server reads to the end of our output, that is,
	 * until we exited (so nothing of ours is cut short at exit) */
	assert_null(strstr(out, "Content-Length"));
	free(out);
}

/* ---- answers ------------------------------------------------------------ */

/* Create the database with one request, its opportunity and posting. */
static void seed_database(const char *request_id, const char *name, const char *job)
{
	sqlite3 *db;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(db_open(F->database, DB_READWRITE, &db, NULL, err, sizeof err), 0);
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO lever_postings(id, text) VALUES('post-1', ?1)");
	assert_non_null(st);
	db_bind_text(st, 1, job);
	assert_int_equal(db_step_done(st), SQLITE_DONE);
	sqlite3_finalize(st);
	st = db_prepare(db, "INSERT INTO lever_opportunities(id, name, posting_id, pulled_at) VALUES('opp-1', ?1, 'post-1', 1)");
	assert_non_null(st);
	db_bind_text(st, 1, name);
	assert_int_equal(db_step_done(st), SQLITE_DONE);
	sqlite3_finalize(st);
	st = db_prepare(db, "INSERT INTO cq_requests(id, opportunity_id, status) VALUES(?1, 'opp-1', 'completed')");
	assert_non_null(st);
	db_bind_text(st, 1, request_id);
	assert_int_equal(db_step_done(st), SQLITE_DONE);
	sqlite3_finalize(st);
	db_close(db);
}

static int count_answers(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(db_open(F->database, DB_READONLY, &db, NULL, err, sizeof err), 0);
	st = db_prepare(db, "SELECT count(*) FROM answers");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	db_close(db);
	return n;
}

/* The query of a fresh link for request_id (static buffer). */
static const char *link_query(const char *request_id, long long expiry)
{
	static char q[1024];
	char *url = answer_link_build(F->cfg.answer_url, ANSWER_SECRET, request_id, expiry);
	assert_non_null(url);
	snprintf(q, sizeof q, "%s", strchr(url, '?') + 1);
	free(url);
	return q;
}

#define EXPIRY (NOW_MS / 1000 + 30 * 86400)

static void test_answer_get_changes_nothing(void **state)
{
	(void)state;
	seed_database("cq-req-1", "Ada Lovelace", "Analytical Engineer");
	char q[1024];
	snprintf(q, sizeof q, "%s", link_query("cq-req-1", EXPIRY));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(call("GET", "/answer", NULL, q, NULL), 200);
		assert_int_equal(count_dir("new"), 0);
		assert_int_equal(count_answers(), 0);
	}
	/* a GET that carries an answer does not record it either */
	char qa[1100];
	snprintf(qa, sizeof qa, "%s&answer=hired", q);
	assert_int_equal(call("GET", "/answer", NULL, qa, NULL), 200);
	assert_spool_empty();
	assert_int_equal(count_answers(), 0);

	const char *page = resp_body();
	assert_string_equal(F->resp.content_type, "text/html; charset=utf-8");
	assert_int_equal(F->resp.html, 1);
	assert_non_null(strstr(page, "Ada Lovelace"));
	assert_non_null(strstr(page, "Analytical Engineer"));
	assert_non_null(strstr(page, "<form method=\"post\">"));
	assert_non_null(strstr(page, "<input type=\"hidden\" name=\"r\" value=\"cq-req-1\">"));
	char e[64];
	snprintf(e, sizeof e, "<input type=\"hidden\" name=\"e\" value=\"%lld\">", (long long)EXPIRY);
	assert_non_null(strstr(page, e));
	assert_non_null(strstr(page, "name=\"s\" value=\""));
	assert_non_null(strstr(page, "name=\"answer\" value=\"hired\""));
	assert_non_null(strstr(page, "name=\"answer\" value=\"not_hired\""));
	assert_null(strstr(page, "<script"));
	char *out;
	size_t len;
	hook_response_format(&F->resp, &out, &len);
	assert_non_null(strstr(out, "\r\nCache-Control: no-store\r\n"));
	assert_non_null(strstr(out, "\r\nX-Robots-Tag: noindex"));
	assert_non_null(strstr(out, "\r\nContent-Security-Policy: default-src 'none'"));
	free(out);
}

/* The form body the answer page posts for q and answer. */
static const char *form(const char *q, const char *answer)
{
	static char body[1200];
	snprintf(body, sizeof body, "%s&answer=%s", q, answer);
	return body;
}

#define FORM "application/x-www-form-urlencoded"

static void test_answer_post_once(void **state)
{
	(void)state;
	seed_database("cq-req-1", "Ada Lovelace", "Analytical Engineer");
	char q[1024];
	snprintf(q, sizeof q, "%s", link_query("cq-req-1", EXPIRY));
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "hired")), 200);
	assert_non_null(strstr(resp_body(), "Recorded: <strong>hired</strong>"));
	const char *name = spool_name_of("answer-", "cq-req-1");
	assert_int_equal(count_dir("new"), 1);
	assert_string_equal(read_spooled("new", name),
			    "{\"type\":\"answer\",\"request_id\":\"cq-req-1\",\"hired\":true,\"answered_at\":1796000000000}\n");
	/* a second POST, even with the other answer: "already answered", nothing changes */
	setenv("REFSYNC_TEST_NOW", "1796000060000", 1);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "not_hired")), 200);
	assert_non_null(strstr(resp_body(), "already answered"));
	assert_int_equal(count_dir("new"), 1);
	assert_string_equal(read_spooled("new", name),
			    "{\"type\":\"answer\",\"request_id\":\"cq-req-1\",\"hired\":true,\"answered_at\":1796000000000}\n");
	/* the page, opened again, says so and has no buttons */
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 200);
	assert_non_null(strstr(resp_body(), "already answered"));
	assert_null(strstr(resp_body(), "<form"));
	/* still so after the sync processed it */
	assert_int_equal(spool_mark_done(F->spool, name), 0);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "not_hired")), 200);
	assert_non_null(strstr(resp_body(), "already answered"));
	assert_int_equal(count_dir("new"), 0);
	/* the form as a browser posts it, with the link's query on the URL too */
	char q2[1024];
	snprintf(q2, sizeof q2, "%s", link_query("cq-req-2", EXPIRY));
	assert_int_equal(call("POST", "/answer", "application/x-www-form-urlencoded; charset=UTF-8", q2,
			      form(q2, "not_hired")),
			 200);
	assert_string_equal(read_spooled("new", spool_name_of("answer-", "cq-req-2")),
			    "{\"type\":\"answer\",\"request_id\":\"cq-req-2\",\"hired\":false,\"answered_at\":1796000060000}\n");
}

static void test_answer_already_in_database(void **state)
{
	(void)state;
	seed_database("cq-req-1", "Ada Lovelace", "Analytical Engineer");
	sqlite3 *db;
	char err[CONFIG_ERR_MAX];
	assert_int_equal(db_open(F->database, DB_READWRITE, &db, NULL, err, sizeof err), 0);
	assert_int_equal(db_exec(db, "INSERT INTO answers(request_id, hired, answered_at) VALUES('cq-req-1', 0, 1)"), 0);
	db_close(db);
	const char *q = link_query("cq-req-1", EXPIRY);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "hired")), 200);
	assert_non_null(strstr(resp_body(), "already answered"));
	assert_spool_empty();
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 200);
	assert_non_null(strstr(resp_body(), "already answered"));
	assert_null(strstr(resp_body(), "<form"));
}

static void test_answer_altered_link(void **state)
{
	(void)state;
	seed_database("cq-req-1", "Ada Lovelace", "Analytical Engineer");
	char q[1024], bad[1100];
	snprintf(q, sizeof q, "%s", link_query("cq-req-1", EXPIRY));
	/* another request id with this link's signature */
	snprintf(bad, sizeof bad, "r=cq-req-2%s", strstr(q, "&e="));
	assert_int_equal(call("GET", "/answer", NULL, bad, NULL), 403);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(bad, "hired")), 403);
	/* a later expiry */
	snprintf(bad, sizeof bad, "r=cq-req-1&e=%lld%s", (long long)EXPIRY + 86400, strstr(q, "&s="));
	assert_int_equal(call("GET", "/answer", NULL, bad, NULL), 403);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(bad, "hired")), 403);
	/* one digit of the signature */
	snprintf(bad, sizeof bad, "%s", q);
	char *s = strstr(bad, "&s=") + 3;
	s[10] = s[10] == '0' ? '1' : '0';
	assert_int_equal(call("GET", "/answer", NULL, bad, NULL), 403);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(bad, "hired")), 403);
	/* cut short, or nothing at all */
	snprintf(bad, sizeof bad, "%s", q);
	*strstr(bad, "&s=") = '\0';
	assert_int_equal(call("GET", "/answer", NULL, bad, NULL), 403);
	assert_int_equal(call("GET", "/answer", NULL, NULL, NULL), 403);
	assert_int_equal(call("POST", "/answer", FORM, NULL, "answer=hired"), 403);
	/* signed with another secret */
	char *url = answer_link_build(F->cfg.answer_url, "some-other-secret", "cq-req-1", EXPIRY);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(strchr(url, '?') + 1, "hired")), 403);
	free(url);
	assert_spool_empty();
	assert_int_equal(count_answers(), 0);
	assert_null(strstr(resp_body(), "Ada"));
}

static void test_answer_expired_link(void **state)
{
	(void)state;
	seed_database("cq-req-1", "Ada Lovelace", "Analytical Engineer");
	const char *q = link_query("cq-req-1", NOW_MS / 1000 - 1);
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 410);
	assert_non_null(strstr(resp_body(), "expired"));
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "hired")), 410);
	assert_spool_empty();
	/* valid at its last second */
	q = link_query("cq-req-1", NOW_MS / 1000);
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 200);
}

static void test_answer_post_bad_input(void **state)
{
	(void)state;
	const char *q = link_query("cq-req-1", EXPIRY);
	assert_int_equal(call("POST", "/answer", "application/json", NULL, form(q, "hired")), 415);
	assert_int_equal(call("POST", "/answer", NULL, NULL, form(q, "hired")), 415);
	assert_int_equal(call("POST", "/answer", FORM, NULL, q), 400);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "maybe")), 400);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "hired&answer=not_hired")), 400);
	char body[1200];
	snprintf(body, sizeof body, "%s", form(q, "hired"));
	size_t n = strlen(body);
	body[n] = '\0';
	assert_int_equal(call_len("POST", "/answer", FORM, NULL, body, n + 1), 400);
	assert_spool_empty();
}

static void test_answer_html_escaping(void **state)
{
	(void)state;
	const char *hostile_id = "<b>\"id\"</b>&'";
	seed_database(hostile_id, "<script>alert(\"x\")</script> O'Brien & Co",
		      "<img src=x onerror=alert(1)> \"Engineer\"");
	const char *q = link_query(hostile_id, EXPIRY);
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 200);
	const char *page = resp_body();
	assert_non_null(strstr(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#39;Brien &amp; Co"));
	assert_non_null(strstr(page, "&lt;img src=x onerror=alert(1)&gt; &quot;Engineer&quot;"));
	assert_non_null(strstr(page, "value=\"&lt;b&gt;&quot;id&quot;&lt;/b&gt;&amp;&#39;\""));
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, "<img"));
	assert_null(strstr(page, "<b>"));
	/* the posted answer keeps the id intact, JSON-escaped in the spool */
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "not_hired")), 200);
	assert_null(strstr(resp_body(), "<script"));
	assert_string_equal(read_spooled("new", spool_name_of("answer-", hostile_id)),
			    "{\"type\":\"answer\",\"request_id\":\"<b>\\\"id\\\"</b>&'\",\"hired\":false,"
			    "\"answered_at\":1796000000000}\n");
}

static void test_answer_without_database(void **state)
{
	(void)state;
	/* no database at all: the page still shows, with the request id */
	const char *q = link_query("cq-req-9", EXPIRY);
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 200);
	assert_non_null(strstr(resp_body(), "cq-req-9"));
	assert_non_null(strstr(resp_body(), "<form"));
	assert_int_equal(access(F->database, F_OK), -1);
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "hired")), 200);
	assert_int_equal(count_dir("new"), 1);
	assert_int_equal(access(F->database, F_OK), -1);
}

static void test_answer_secret_missing(void **state)
{
	(void)state;
	char p[300];
	snprintf(p, sizeof p, "%s/answer.secret", F->root);
	assert_int_equal(unlink(p), 0);
	const char *q = link_query("cq-req-1", EXPIRY);
	assert_int_equal(call("GET", "/answer", NULL, q, NULL), 500);
	assert_null(strstr(resp_body(), F->root));
	assert_int_equal(call("POST", "/answer", FORM, NULL, form(q, "hired")), 500);
	assert_spool_empty();
}

int main(void)
{
	log_init("test_hook", LOG_ERR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_valid_stage_change_queued_once),
		T(test_valid_hired),
		T(test_forged_signature),
		T(test_other_webhook_token),
		T(test_stale_and_future),
		T(test_oversize),
		T(test_malformed_json),
		T(test_bad_fields_after_signature),
		T(test_wrong_method),
		T(test_wrong_content_type),
		T(test_test_delivery),
		T(test_replay_after_done),
		T(test_unknown_route_and_broken_config),
		T(test_response_format),
		T(test_answer_get_changes_nothing),
		T(test_answer_post_once),
		T(test_answer_already_in_database),
		T(test_answer_altered_link),
		T(test_answer_expired_link),
		T(test_answer_post_bad_input),
		T(test_answer_html_escaping),
		T(test_answer_without_database),
		T(test_answer_secret_missing),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
