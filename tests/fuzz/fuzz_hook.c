/*
 * fuzz_hook.c - refsync-hook's request handling (hook_handle, hook/hook*.c)
 * with fuzzed CGI inputs, against a real installation made once in
 * LLVMFuzzerInitialize: a temporary directory with refsync.conf, the four
 * secret files (mode 0600), the spool, and a database holding a request,
 * its candidate and an answered request; and refsync-basic.conf, the same
 * installation with Crosschq's webhook on Basic auth.
 *
 * Input, as lines (the last part may hold anything):
 *   REQUEST_METHOD \n PATH_INFO \n CONTENT_TYPE \n QUERY_STRING \n FLAGS \n BODY
 * A field that is exactly "-" is unset (NULL), as when the web server does
 * not set the variable; missing lines are unset too. FLAGS may hold:
 *   L  CONTENT_LENGTH was over the limit (body_too_large)
 *   U  the body did not match CONTENT_LENGTH (body_unreadable)
 *   N  no body at all (body NULL)
 *   S  sign: every "@SIG@" in the body (Lever routes) or in the parameters
 *      (/answer: the query for GET, the body for POST) becomes the right
 *      signature for the token/triggeredAt or r/e found there, so that the
 *      fuzzer reaches what lies behind the signature checks.
 *   A  the first line of BODY is HTTP_AUTHORIZATION (and is not part of the
 *      body); in it "@SECRET@" becomes the Crosschq webhook token and
 *      "@BASIC@" the base64 of the Basic user:password, so that the fuzzer
 *      reaches /crosschq's body handling.
 *   B  use the installation whose [crosschq] webhook_auth is basic.
 * The clock is pinned (REFSYNC_TEST_NOW) so that a delivery's age and a
 * link's expiry do not depend on when the fuzzer runs.
 *
 * Checked: the status is one refsync-hook may answer; never a 5xx (the
 * installation is sound, so a 500 would be bad input blamed on the server,
 * which Lever retries); the response formats; the body of an HTML page
 * holds no raw markup from the input; a 401 on /crosschq carries
 * WWW-Authenticate; no answer or log note holds a webhook secret.
 */
#include "answer_link.h"
#include "config.h"
#include "db.h"
#include "fuzz.h"
#include "hook.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#define STAGE_SECRET "fuzz-stage-change-token-0123456789abcdef"
#define HIRED_SECRET "fuzz-hired-token-fedcba9876543210"
#define ANSWER_SECRET "fuzz-answer-secret-00112233445566778899"
#define CQ_TOKEN "fuzz-crosschq-webhook-token-a1b2c3d4e5"
#define CQ_BASIC "fuzz-user:fuzz-basic-password-5e6f7a"
#define CQ_BASIC_B64 "ZnV6ei11c2VyOmZ1enotYmFzaWMtcGFzc3dvcmQtNWU2Zjdh"
/* 2026-11-28T00:00:00Z; the seeds' triggeredAt and expiries are around it */
#define FUZZ_NOW "1795824000000"
#define SIG_MARK "@SIG@"

static char root[64];
static char spool[128];
static struct config cfg, cfg_basic;

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0 || chmod(path, 0600) != 0) {
		perror(path);
		abort();
	}
}

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
	config_free(&cfg);
	config_free(&cfg_basic);
	if (root[0])
		nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The database of the installation: a request with a candidate whose name
 * and job are markup, and a request that was answered already. */
static void make_database(const char *path)
{
	sqlite3 *db;
	char err[512];
	if (db_open(path, DB_READWRITE, &db, NULL, err, sizeof err)) {
		fprintf(stderr, "fuzz_hook: %s\n", err);
		abort();
	}
	static const char sql[] =
		"INSERT INTO lever_postings(id, text) VALUES ('post-1', 'Engineer <script>x</script> & \"co\"');"
		"INSERT INTO lever_opportunities(id, name, posting_id, pulled_at) "
		"  VALUES ('opp-1', 'Jos\xC3\xA9 <b>M\xC3\xBCller</b> ''Q''', 'post-1', 1);"
		"INSERT INTO cq_requests(id, external_id, opportunity_id, status, candidate_name) "
		"  VALUES ('req-1', 'lever:opp-1:1795000000000', 'opp-1', 'completed', 'x');"
		"INSERT INTO cq_requests(id, external_id, status, candidate_name) "
		"  VALUES ('req-answered', 'lever:opp-2:1795000000000', 'completed', '<i>Ana</i>');"
		"INSERT INTO answers(request_id, hired, answered_at) VALUES ('req-answered', 1, 1795000000000);";
	if (db_exec(db, sql)) {
		fprintf(stderr, "fuzz_hook: cannot fill the database\n");
		abort();
	}
	db_close(db);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char path[256], conf[2048], err[CONFIG_ERR_MAX];
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/refsync-fuzz-hook-XXXXXX", tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(root)) {
		perror(root);
		abort();
	}
	atexit(remove_root);
	snprintf(spool, sizeof spool, "%s/spool", root);
	snprintf(path, sizeof path, "%s/stage.token", root);
	write_file(path, STAGE_SECRET "\n");
	snprintf(path, sizeof path, "%s/hired.token", root);
	write_file(path, HIRED_SECRET "\n");
	snprintf(path, sizeof path, "%s/answer.secret", root);
	write_file(path, ANSWER_SECRET "\n");
	snprintf(path, sizeof path, "%s/cq-token.secret", root);
	write_file(path, CQ_TOKEN "\n");
	snprintf(path, sizeof path, "%s/cq-basic.secret", root);
	write_file(path, CQ_BASIC "\n");
	for (int basic = 0; basic <= 1; basic++) {
		snprintf(conf, sizeof conf,
			 "[sync]\ndatabase = %s/refsync.db\nspool = %s\n"
			 "[lever]\nurl = http://127.0.0.1:9/v1\napi_key_file = %s/stage.token\n"
			 "stage_change_token_file = %s/stage.token\nhired_token_file = %s/hired.token\n"
			 "[crosschq]\nurl = http://127.0.0.1:9\nwebhook_auth = %s\n"
			 "webhook_secret_file = %s/cq-%s.secret\n"
			 "[followup]\nanswer_url = https://refsync.example.com/cgi-bin/refsync-hook/answer\n"
			 "answer_secret_file = %s/answer.secret\n",
			 root, spool, root, root, root, basic ? "basic" : "token", root, basic ? "basic" : "token",
			 root);
		snprintf(path, sizeof path, "%s/refsync%s.conf", root, basic ? "-basic" : "");
		write_file(path, conf);
		if (config_load(path, basic ? &cfg_basic : &cfg, err, sizeof err)) {
			fprintf(stderr, "fuzz_hook: %s\n", err);
			abort();
		}
	}
	make_database(cfg.database);
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("JOURNAL_STREAM");
	setenv("REFSYNC_TEST_NOW", FUZZ_NOW, 1);
	/* every line is formatted and masked, as in production */
	log_init("refsync-hook", LOG_DEBUG);
	return 0;
}

/* The next line of *p (up to '\n' or end), as a new string, or NULL when
 * it is "-" or there is no line left. Advances *p past the line. */
static char *take_line(const char **p, const char *end)
{
	if (*p >= end)
		return NULL;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl ? nl : end;
	char *line = xstrndup(*p, (size_t)(stop - *p));
	*p = nl ? nl + 1 : end;
	if (strcmp(line, "-") == 0) {
		free(line);
		return NULL;
	}
	return line;
}

/* Replace every mark in text[0..*len) by sig; returns a new buffer and
 * its length in *len. */
static char *replace_mark(const char *text, size_t *len, const char *mark_text, const char *sig)
{
	size_t mark = strlen(mark_text), n = strlen(sig);
	struct buf out;
	buf_init(&out, 4 * 1024 * 1024);
	size_t i = 0;
	while (i < *len) {
		if (*len - i >= mark && memcmp(text + i, mark_text, mark) == 0) {
			buf_append(&out, sig, n);
			i += mark;
		} else {
			buf_append(&out, text + i, 1);
			i++;
		}
	}
	*len = out.len;
	return out.data ? out.data : xstrdup("");
}

/* replace_mark for SIG_MARK. */
static char *replace_marks(const char *text, size_t *len, const char *sig)
{
	return replace_mark(text, len, SIG_MARK, sig);
}

/* Lever's signature for the token and triggeredAt of body, or "" when the
 * body does not carry them. out: 65 bytes. */
static void lever_signature(const char *secret, const char *body, size_t len, char *out)
{
	char *text = xstrndup(body, len);
	yajl_val tree = yajl_tree_parse(text, NULL, 0);
	free(text);
	out[0] = '\0';
	const char *token_path[] = { "token", NULL }, *at_path[] = { "triggeredAt", NULL };
	yajl_val token = yajl_tree_get(tree, token_path, yajl_t_string);
	yajl_val at = yajl_tree_get(tree, at_path, yajl_t_number);
	if (token && at && YAJL_IS_INTEGER(at)) {
		char message[2048];
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;
		int n = snprintf(message, sizeof message, "%s%lld", YAJL_GET_STRING(token),
				 (long long)YAJL_GET_INTEGER(at));
		if (n > 0 && (size_t)n < sizeof message &&
		    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)message, (size_t)n, mac,
			 &maclen) && maclen == 32)
			for (unsigned int i = 0; i < maclen; i++)
				snprintf(out + 2 * i, 3, "%02x", mac[i]);
	}
	yajl_tree_free(tree);
}

/* The answer link's signature for r and e of params, or "". out: 65 bytes. */
static void answer_signature(const char *params, char *out)
{
	char *r = NULL, *e = NULL;
	out[0] = '\0';
	if (answer_link_param(params, "r", &r) == 1 && answer_link_param(params, "e", &e) == 1) {
		char *end;
		long long expiry = strtoll(e, &end, 10);
		char *link = *end == '\0' ? answer_link_build("https://x/answer", ANSWER_SECRET, r, expiry) : NULL;
		const char *s = link ? strstr(link, "&s=") : NULL;
		if (s && strlen(s + 3) == 64)
			memcpy(out, s + 3, 65);
		free(link);
	}
	free(r);
	free(e);
}

/* Empty the spool's directories, so that every input meets the same spool. */
static void empty_spool(void)
{
	static const char *subs[] = { "tmp", "new", "done" };
	char dir[256], path[512];
	for (size_t i = 0; i < 3; i++) {
		snprintf(dir, sizeof dir, "%s/%s", spool, subs[i]);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
}

/* An HTML page carries input only escaped: no tag but the page's own. */
static void check_html(const struct hook_response *resp)
{
	const char *b = resp->body.data ? resp->body.data : "";
	FUZZ_CHECK(strstr(b, "<script") == NULL);
	FUZZ_CHECK(strstr(b, "<b>") == NULL && strstr(b, "<i>") == NULL);
	FUZZ_CHECK(strncmp(b, "<!DOCTYPE html>", 15) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *method = take_line(&p, end);
	char *path = take_line(&p, end);
	char *content_type = take_line(&p, end);
	char *query = take_line(&p, end);
	char *flags = take_line(&p, end);
	if (!flags)
		flags = xstrdup("");
	/* A: the first line of the rest is the Authorization header */
	char *authorization = NULL;
	if (strchr(flags, 'A')) {
		char *line = take_line(&p, end);
		if (line) {
			size_t n = strlen(line);
			char *t = replace_mark(line, &n, "@SECRET@", CQ_TOKEN);
			authorization = replace_mark(t, &n, "@BASIC@", CQ_BASIC_B64);
			free(t);
			free(line);
		}
	}
	/* the body in its own allocation of its exact size */
	size_t body_len = (size_t)(end - p);
	char *body = xmalloc(body_len ? body_len : 1);
	memcpy(body, p, body_len);

	if (strchr(flags, 'S') && path) {
		char sig[65], *signed_text;
		if (strncmp(path, "/lever/", 7) == 0) {
			lever_signature(strcmp(path, "/lever/hired") == 0 ? HIRED_SECRET : STAGE_SECRET, body,
					body_len, sig);
			signed_text = replace_marks(body, &body_len, sig);
			free(body);
			body = signed_text;
		} else if (method && strcmp(method, "GET") == 0 && query) {
			answer_signature(query, sig);
			size_t qlen = strlen(query);
			signed_text = replace_marks(query, &qlen, sig);
			free(query);
			query = signed_text;
		} else {
			char *params = xstrndup(body, body_len);
			answer_signature(params, sig);
			free(params);
			signed_text = replace_marks(body, &body_len, sig);
			free(body);
			body = signed_text;
		}
	}

	struct hook_request req = {
		.method = method,
		.path_info = path,
		.content_type = content_type,
		.query_string = query,
		.authorization = authorization,
		.body = strchr(flags, 'N') ? NULL : body,
		.body_len = strchr(flags, 'N') ? 0 : body_len,
		.body_too_large = strchr(flags, 'L') != NULL,
		.body_unreadable = strchr(flags, 'U') != NULL,
	};
	struct hook_response resp;
	hook_handle(strchr(flags, 'B') ? &cfg_basic : &cfg, &req, &resp);

	static const int statuses[] = { 200, 400, 401, 403, 404, 405, 410, 413, 415 };
	int known = 0;
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		known |= resp.status == statuses[i];
	FUZZ_CHECK(known);
	FUZZ_CHECK(resp.reason != NULL && resp.content_type != NULL);
	FUZZ_CHECK(memchr(resp.note, '\0', sizeof resp.note) != NULL);
	FUZZ_CHECK(resp.status != 405 || resp.allow != NULL);
	if (resp.html)
		check_html(&resp);
	if (resp.status == 401 && path && strcmp(path, "/crosschq") == 0)
		FUZZ_CHECK(resp.www_authenticate != NULL);
	/* (a 200's note names the request id, which is input) */
	if (path && strcmp(path, "/crosschq") == 0 && resp.status != 200)
		FUZZ_CHECK(strstr(resp.note, CQ_TOKEN) == NULL && strstr(resp.note, "fuzz-basic-password") == NULL);
	char *out;
	size_t out_len;
	hook_response_format(&resp, &out, &out_len);
	FUZZ_CHECK(out_len >= 8 && memcmp(out, "Status: ", 8) == 0);
	FUZZ_CHECK(memmem(out, out_len, "\r\n\r\n", 4) != NULL);
	free(out);
	if (resp.status == 200 && method && (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0))
		empty_spool();
	hook_response_free(&resp);

	free(method);
	free(path);
	free(content_type);
	free(query);
	free(flags);
	free(authorization);
	free(body);
	return 0;
}
