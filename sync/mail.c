/*
 * mail.c - delivery of a composed message (mail_compose.c) over SMTP with
 * libcurl, one connection per message.
 */
#include "mail.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* SMTP delivery                                                            */

#define SMTP_REPLY_MAX 256

/* What the SMTP dialogue reached, collected from libcurl's debug callback. */
struct smtp_trace {
	const char *step;            /* the step in progress (a constant name), NULL before any reply */
	int code;                    /* the code of the last reply line, 0 before any */
	char reply[SMTP_REPLY_MAX];  /* the last reply line, without CRLF */
	/* the refusal (400 or more) of the latest step, kept when QUIT follows */
	const char *failed_step;
	int failed_code;
	char failed_reply[SMTP_REPLY_MAX];
};

/*
 * Follow the dialogue: a command sent sets the step (only known verbs are
 * looked at, and only their name is kept: the lines of an AUTH exchange
 * carry credentials), a reply line is kept with its code.
 */
static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	struct smtp_trace *t = userp;
	(void)h;
	if (type == CURLINFO_HEADER_OUT) {
		static const struct {
			const char *verb, *step;
		} steps[] = { { "EHLO", "EHLO" },     { "HELO", "EHLO" },       { "STARTTLS", "STARTTLS" },
			      { "AUTH", "AUTH" },     { "MAIL", "MAIL FROM" },  { "RCPT", "RCPT TO" },
			      { "DATA", "DATA" } };
		size_t n = 0;
		while (n < size && n < 9 && data[n] != ' ' && data[n] != '\r' && data[n] != '\n')
			n++;
		for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
			if (strlen(steps[i].verb) == n && strncasecmp(data, steps[i].verb, n) == 0) {
				t->step = steps[i].step;
				t->failed_step = NULL; /* an earlier refusal curl got past (EHLO -> HELO) */
			}
		}
	} else if (type == CURLINFO_HEADER_IN) {
		/* the last line of the chunk */
		while (size > 0 && (data[size - 1] == '\r' || data[size - 1] == '\n'))
			size--;
		size_t start = size;
		while (start > 0 && data[start - 1] != '\n')
			start--;
		size_t n = size - start;
		if (n >= sizeof t->reply)
			n = sizeof t->reply - 1;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)data[start + i];
			t->reply[i] = c < 0x20 || c == 0x7F ? '?' : (char)c;
		}
		t->reply[n] = '\0';
		t->code = 0;
		if (n >= 3 && t->reply[0] >= '1' && t->reply[0] <= '5' && t->reply[1] >= '0' && t->reply[1] <= '9' &&
		    t->reply[2] >= '0' && t->reply[2] <= '9')
			t->code = (t->reply[0] - '0') * 100 + (t->reply[1] - '0') * 10 + (t->reply[2] - '0');
		if (!t->step)
			t->step = "greeting";
		if (strcmp(t->step, "DATA") == 0 && t->code == 354)
			t->step = "end of data";
		if (t->code >= 400 && !t->failed_step) {
			t->failed_step = t->step;
			t->failed_code = t->code;
			memcpy(t->failed_reply, t->reply, sizeof t->reply);
		}
	}
	return 0;
}

/* The message being uploaded. */
struct upload {
	const char *data;
	size_t left;
};

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct upload *u = userdata;
	size_t n = size * nmemb;
	if (n > u->left)
		n = u->left;
	memcpy(ptr, u->data, n);
	u->data += n;
	u->left -= n;
	return n;
}

/* 1 when host (as curl's URL parser returns it) is a loopback address. */
static int host_is_loopback(const char *host)
{
	unsigned a, b, c, d;
	char tail;
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 &&
	       d < 256;
}

/* Overwrite every occurrence of secret in s with '*'. */
static void scrub(char *s, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;
	if (n == 0)
		return;
	while ((p = strstr(s, secret)) != NULL)
		memset(p, '*', n);
}

/*
 * Check smtp_url and describe it: "scheme://host:port" into server, the TLS
 * mode into *use_ssl. Returns 0, or -1 with err set.
 */
static int smtp_url_check(const char *smtp_url, char *server, size_t serverlen, long *use_ssl, char *err,
			  size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
	int r = -1;
	if (!u) {
		snprintf(err, errlen, "SMTP: out of memory");
		return -1;
	}
	if (!smtp_url || curl_url_set(u, CURLUPART_URL, smtp_url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		/* not echoed: a malformed URL may hold a password */
		snprintf(err, errlen, "SMTP: smtp_url is not a valid smtp:// or smtps:// URL");
		goto out;
	}
	snprintf(server, serverlen, "%s://%s:%s", scheme, host, port);
	if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0) {
		snprintf(err, errlen, "SMTP %s: smtp_url must be smtp:// or smtps://", server);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
	    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) != CURLUE_NO_PASSWORD) {
		snprintf(err, errlen,
			 "SMTP %s: smtp_url must not carry a user or password (use smtp_user and smtp_password_file)",
			 server);
		goto out;
	}
	if (strcmp(scheme, "smtps") == 0)
		*use_ssl = CURLUSESSL_ALL;
	else
		*use_ssl = host_is_loopback(host) ? CURLUSESSL_NONE : CURLUSESSL_ALL;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(password);
	curl_url_cleanup(u);
	return r;
}

int mail_send(const char *smtp_url, const char *user, const char *password, const char *mail_from,
	      const char *rcpt, const char *message, int *permanent, char *err, size_t errlen)
{
	char server[512], from_address[MAIL_ADDRESS_MAX + 1], rcpt_address[MAIL_ADDRESS_MAX + 1];
	char from_path[MAIL_ADDRESS_MAX + 3], rcpt_path[MAIL_ADDRESS_MAX + 3];
	char curl_error[CURL_ERROR_SIZE] = "";
	struct smtp_trace trace = { 0 };
	struct curl_slist *rcpts = NULL;
	CURL *h = NULL;
	long use_ssl = CURLUSESSL_ALL;
	int dummy, r = -1;
	if (!permanent)
		permanent = &dummy;
	*permanent = 0;
	if (errlen > 0)
		err[0] = '\0';

	if (smtp_url_check(smtp_url, server, sizeof server, &use_ssl, err, errlen))
		return -1;
	if (mail_address_of(mail_from, from_address, sizeof from_address)) {
		snprintf(err, errlen, "SMTP %s: the sender address is not plausible (check [followup] from)", server);
		return -1;
	}
	if (mail_address_of(rcpt, rcpt_address, sizeof rcpt_address)) {
		snprintf(err, errlen, "SMTP %s: the recipient address is not plausible", server);
		*permanent = 1;
		return -1;
	}
	if (!message) {
		snprintf(err, errlen, "SMTP %s: no message", server);
		return -1;
	}
	snprintf(from_path, sizeof from_path, "<%s>", from_address);
	snprintf(rcpt_path, sizeof rcpt_path, "<%s>", rcpt_address);
	struct upload up = { message, strlen(message) };

	h = curl_easy_init();
	rcpts = curl_slist_append(NULL, rcpt_path);
	if (!h || !rcpts) {
		snprintf(err, errlen, "SMTP %s: out of memory", server);
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, smtp_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_path);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.left);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_error);
	/* the debug callback sees the dialogue; nothing is printed */
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, &trace);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	if (!str_empty(user)) {
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, password ? password : "");
	}

	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK && trace.code == 250) {
		r = 0;
		goto out;
	}
	const char *step = trace.step ? trace.step : "connect";
	if (rc == CURLE_USE_SSL_FAILED)
		step = "STARTTLS";
	if (trace.failed_step) {
		snprintf(err, errlen, "SMTP %s: %s refused: %s", server, trace.failed_step, trace.failed_reply);
		*permanent = strcmp(trace.failed_step, "RCPT TO") == 0 && trace.failed_code >= 500;
	} else if (rc != CURLE_OK) {
		snprintf(err, errlen, "SMTP %s: %s failed: %s", server, step,
			 curl_error[0] ? curl_error : curl_easy_strerror(rc));
	} else {
		snprintf(err, errlen, "SMTP %s: %s: unexpected reply: %s", server, step, trace.reply);
	}
	scrub(err, password);
out:
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(h);
	return r;
}
