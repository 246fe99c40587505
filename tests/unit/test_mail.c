/*
 * test_mail.c - the follow-up prompt message (exact headers, RFC 2047
 * encoded-words and quoted-printable decoded back by decoders written here,
 * header injection, line lengths), mail_address_of, and mail_send against a
 * scripted SMTP server on loopback (replies, steps, permanence, the TLS
 * policy, secrecy of the password).
 *
 * test_send_live runs only when REFSYNC_TEST_SMTP_URL is set (and then it is
 * the only test run): tests/e2e/test_mail.py points it at the aiosmtpd sink
 * of tests/fakes and reads the delivered message. Its variables:
 *   REFSYNC_TEST_SMTP_URL          smtp://127.0.0.1:<port>
 *   REFSYNC_TEST_SMTP_USER         AUTH user (optional)
 *   REFSYNC_TEST_SMTP_PASSWORD     AUTH password (optional)
 *   REFSYNC_TEST_SMTP_EXPECT_FAIL  1: mail_send must fail at AUTH
 *   REFSYNC_TEST_SMTP_MESSAGE_OUT  file that receives the composed message
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "answer_link.h"
#include "mail.h"

#define DATE_MS 1795884599000LL    /* 2026-11-28T16:49:59Z */
#define EXPIRES_MS 1798476599000LL /* 2026-12-28T16:49:59Z */
#define FROM "Reference checks <refsync@example.com>"
#define REPORT "https://app.crosschq.example/reports/cq-req-42"
#define LINK                                                                                                           \
	"https://refsync.example.com/cgi-bin/refsync-hook/answer?r=cq-req-42&e=1798476599&s="                         \
	"1bf8be33c0271efc8e7c41740a0de509dcdf05057484559aa3018962836ad2af"

static struct mail_prompt base_prompt(void)
{
	struct mail_prompt p = {
		.request_id = "cq-req-42",
		.to_name = "Ana Souza",
		.to_email = "ana.souza@example.com",
		.candidate_name = "John Smith",
		.job_title = "Backend Engineer",
		.report_url = REPORT,
		.answer_link = LINK,
		.expires_at_ms = EXPIRES_MS,
		.message_id = "refsync-cq-req-42@refsync.example.com",
		.date_ms = DATE_MS,
	};
	return p;
}

/* ---------------------------------------------------------------- decoders */

/* The header block of msg (through the blank line), malloc'd. */
static char *header_block(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	assert_non_null(end);
	return strndup(msg, (size_t)(end - msg) + 4);
}

static const char *body_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	assert_non_null(end);
	return end + 4;
}

/*
 * The unfolded value of the first header field called name (the CRLF of
 * each fold removed, the space after the colon dropped), or NULL.
 */
static char *header_value(const char *msg, const char *name)
{
	char *headers = header_block(msg);
	size_t n = strlen(name);
	char *found = NULL;
	for (char *line = headers; *line && strncmp(line, "\r\n", 2) != 0;) {
		char *eol = strstr(line, "\r\n");
		if (!found && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			size_t cap = strlen(line) + 1, len = 0;
			found = calloc(1, cap);
			const char *p = line + n + 1;
			if (*p == ' ')
				p++;
			for (;;) {
				const char *e = strstr(p, "\r\n");
				memcpy(found + len, p, (size_t)(e - p));
				len += (size_t)(e - p);
				if (e[2] != ' ' && e[2] != '\t')
					break;
				p = e + 2;
			}
		}
		line = eol + 2;
	}
	free(headers);
	return found;
}

static int b64_value(char c)
{
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

/* Decode n base64 characters (padded) into out; returns the byte count. */
static size_t b64_decode(const char *s, size_t n, unsigned char *out)
{
	size_t o = 0;
	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' ? 0 : b64_value(s[i + k]);
		for (int k = 0; k < 4; k++)
			assert_true(v[k] >= 0);
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (unsigned char)(x >> 16);
		if (s[i + 2] != '=')
			out[o++] = (unsigned char)(x >> 8);
		if (s[i + 3] != '=')
			out[o++] = (unsigned char)x;
	}
	return o;
}

/* 1 when n bytes at s are whole, valid UTF-8 characters. */
static int utf8_whole(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = 0;
		if (s[i] < 0x80)
			len = 1;
		else if ((s[i] & 0xE0) == 0xC0)
			len = 2;
		else if ((s[i] & 0xF0) == 0xE0)
			len = 3;
		else if ((s[i] & 0xF8) == 0xF0)
			len = 4;
		if (len == 0 || i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
		i += len;
	}
	return 1;
}

/*
 * Decode the RFC 2047 encoded-words (=?UTF-8?B?...?=) of an unfolded header
 * value; white space between two adjacent encoded-words is dropped. Each
 * word must be at most 75 characters and hold whole UTF-8 characters.
 */
static char *decode_words(const char *v)
{
	char *out = calloc(1, strlen(v) + 1);
	size_t o = 0;
	int after_word = 0;
	for (const char *p = v; *p;) {
		if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
			const char *end = strstr(p + 10, "?=");
			assert_non_null(end);
			assert_true(end + 2 - p <= 75);
			size_t n = b64_decode(p + 10, (size_t)(end - p - 10), (unsigned char *)out + o);
			assert_true(utf8_whole((unsigned char *)out + o, n));
			o += n;
			p = end + 2;
			after_word = 1;
			continue;
		}
		if (after_word && (*p == ' ' || *p == '\t')) {
			size_t ws = strspn(p, " \t");
			if (strncmp(p + ws, "=?UTF-8?B?", 10) == 0) {
				p += ws;
				continue;
			}
		}
		after_word = 0;
		out[o++] = *p++;
	}
	out[o] = '\0';
	return out;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* lowercase is not what the encoder must write */
}

/* Decode a quoted-printable body: CRLF becomes '\n', "=" CRLF disappears. */
static char *qp_decode(const char *body)
{
	char *out = calloc(1, strlen(body) + 1);
	size_t o = 0;
	for (const char *p = body; *p;) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 3;
		} else if (p[0] == '=') {
			int h = hex_digit(p[1]), l = hex_digit(h >= 0 ? p[2] : '\0');
			assert_true(h >= 0 && l >= 0);
			out[o++] = (char)(h * 16 + l);
			p += 3;
		} else if (p[0] == '\r') {
			assert_int_equal(p[1], '\n');
			out[o++] = '\n';
			p += 2;
		} else {
			/* only printable ASCII, space and tab stand for themselves */
			assert_true((*p >= 33 && *p <= 126) || *p == ' ' || *p == '\t');
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * Every line ends in CRLF (no bare CR or LF), header lines are at most 78
 * characters, body lines at most 76, the whole message is 7-bit, and no
 * body line ends in white space or starts with '.'.
 */
static void assert_lines_ok(const char *msg)
{
	int in_body = 0;
	for (const char *line = msg; *line;) {
		const char *eol = strstr(line, "\r\n");
		assert_non_null(eol);
		size_t n = (size_t)(eol - line);
		for (size_t i = 0; i < n; i++) {
			assert_true(line[i] != '\r' && line[i] != '\n');
			assert_true((unsigned char)line[i] < 0x80);
		}
		if (!in_body && n == 0) {
			in_body = 1;
		} else if (in_body) {
			if (n > 76)
				fail_msg("body line of %zu characters: %.*s", n, (int)n, line);
			if (n > 0) {
				assert_true(line[n - 1] != ' ' && line[n - 1] != '\t');
				assert_true(line[0] != '.');
			}
		} else if (n > 78) {
			fail_msg("header line of %zu characters: %.*s", n, (int)n, line);
		}
		line = eol + 2;
	}
	assert_true(in_body);
}

/* The names of the header fields, in order, '|'-separated. */
static char *field_names(const char *msg)
{
	char *headers = header_block(msg);
	char *out = calloc(1, strlen(headers) + 1);
	for (char *line = headers; strncmp(line, "\r\n", 2) != 0;) {
		char *eol = strstr(line, "\r\n");
		if (line[0] != ' ' && line[0] != '\t') {
			char *colon = strchr(line, ':');
			assert_true(colon && colon < eol);
			if (*out)
				strcat(out, "|");
			strncat(out, line, (size_t)(colon - line));
		}
		line = eol + 2;
	}
	free(headers);
	return out;
}

static char *compose_and_check(const char *from, const struct mail_prompt *p)
{
	char *msg = mail_compose_prompt(from, p);
	assert_non_null(msg);
	assert_lines_ok(msg);
	return msg;
}

/* --------------------------------------------------------------- compose */

static void test_ascii_headers_exact(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	char *msg = compose_and_check(FROM, &p);
	char *headers = header_block(msg);
	assert_string_equal(headers, "From: Reference checks <refsync@example.com>\r\n"
				     "To: Ana Souza <ana.souza@example.com>\r\n"
				     "Subject: Was John Smith hired?\r\n"
				     "Date: Sat, 28 Nov 2026 16:49:59 +0000\r\n"
				     "Message-ID: <refsync-cq-req-42@refsync.example.com>\r\n"
				     "MIME-Version: 1.0\r\n"
				     "Content-Type: text/plain; charset=UTF-8\r\n"
				     "Content-Transfer-Encoding: quoted-printable\r\n"
				     "Auto-Submitted: auto-generated\r\n"
				     "\r\n");
	free(headers);
	free(msg);
}

static void test_exact_body(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	char *msg = compose_and_check(FROM, &p);
	char *text = qp_decode(body_of(msg));
	assert_string_equal(text, "Hello Ana Souza,\n"
				  "\n"
				  "The reference check for John Smith is complete, and Lever shows\n"
				  "the candidate neither hired nor archived yet.\n"
				  "\n"
				  "Candidate: John Smith\n"
				  "Job: Backend Engineer\n"
				  "Report: " REPORT "\n"
				  "\n"
				  "Was John Smith hired? Answer here: " LINK "\n"
				  "\n"
				  "The link works until 28 December 2026, 16:49 UTC.\n"
				  "The link only opens a page; nothing changes until you press a button.\n"
				  "\n"
				  "Sent automatically by refsync for reference check cq-req-42.\n");
	/* the link is longer than a line: it is cut by soft breaks */
	assert_non_null(strstr(body_of(msg), "=\r\n"));
	free(text);
	free(msg);
}

static void test_non_ascii_name_encoded(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.to_name = "José Müller";
	p.candidate_name = "Tomás Berg";
	char *msg = compose_and_check("Relatório Refsync <refsync@example.com>", &p);

	char *to = header_value(msg, "To");
	assert_string_equal(to, "=?UTF-8?B?Sm9zw6kgTcO8bGxlcg==?= <ana.souza@example.com>");
	char *decoded = decode_words(to);
	assert_string_equal(decoded, "José Müller <ana.souza@example.com>");
	free(decoded);

	char *from = header_value(msg, "From");
	assert_string_equal(from, "=?UTF-8?B?UmVsYXTDs3JpbyBSZWZzeW5j?= <refsync@example.com>");
	decoded = decode_words(from);
	assert_string_equal(decoded, "Relatório Refsync <refsync@example.com>");
	free(decoded);

	char *subject = header_value(msg, "Subject");
	assert_string_equal(subject, "Was =?UTF-8?B?VG9tw6FzIEJlcmc=?= hired?");
	decoded = decode_words(subject);
	assert_string_equal(decoded, "Was Tomás Berg hired?");

	char *text = qp_decode(body_of(msg));
	assert_non_null(strstr(text, "Hello José Müller,\n"));
	assert_non_null(strstr(text, "\nWas Tomás Berg hired? Answer here: " LINK "\n"));
	/* é is =C3=A9 in the body */
	assert_non_null(strstr(body_of(msg), "Hello Jos=C3=A9 M=C3=BCller,\r\n"));
	free(text);
	free(decoded);
	free(subject);
	free(from);
	free(to);
	free(msg);
}

static void test_long_non_ascii_name_folded(void **state)
{
	(void)state;
	const char *name = "Αλέξανδρος Παπαδόπουλος-Καραμανλής Ιωάννου Χατζηγεωργίου "
			   "Κωνσταντινόπουλος 山田太郎 🎉 Ñandú";
	struct mail_prompt p = base_prompt();
	p.to_name = name;
	p.candidate_name = name;
	char *msg = compose_and_check(FROM, &p);

	char *to = header_value(msg, "To");
	char *decoded = decode_words(to);
	char expect[512];
	snprintf(expect, sizeof expect, "%s <ana.souza@example.com>", name);
	assert_string_equal(decoded, expect);
	free(decoded);

	char *subject = header_value(msg, "Subject");
	decoded = decode_words(subject);
	snprintf(expect, sizeof expect, "Was %s hired?", name);
	assert_string_equal(decoded, expect);
	/* it took several encoded-words on folded lines */
	char *headers = header_block(msg);
	assert_non_null(strstr(headers, "?=\r\n =?UTF-8?B?"));
	free(headers);
	free(decoded);
	free(subject);
	free(to);
	free(msg);
}

static void test_specials_quoted(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.to_name = "Souza, Ana";
	char *msg = compose_and_check("\"Refsync, Inc.\" <refsync@example.com>", &p);
	char *to = header_value(msg, "To");
	assert_string_equal(to, "\"Souza, Ana\" <ana.souza@example.com>");
	char *from = header_value(msg, "From");
	assert_string_equal(from, "\"Refsync, Inc.\" <refsync@example.com>");
	free(to);
	free(from);
	free(msg);

	p.to_name = "Ana \"Boss\" Souza\\Jr";
	msg = compose_and_check("refsync@example.com", &p);
	to = header_value(msg, "To");
	assert_string_equal(to, "\"Ana \\\"Boss\\\" Souza\\\\Jr\" <ana.souza@example.com>");
	from = header_value(msg, "From");
	assert_string_equal(from, "refsync@example.com");
	free(to);
	free(from);
	free(msg);

	/* text that looks like an encoded-word is encoded, not passed through */
	p.to_name = "=?UTF-8?B?QWRtaW4=?=";
	msg = compose_and_check(FROM, &p);
	to = header_value(msg, "To");
	char *decoded = decode_words(to);
	assert_string_equal(decoded, "=?UTF-8?B?QWRtaW4=?= <ana.souza@example.com>");
	free(decoded);
	free(to);
	free(msg);
}

static void test_crlf_injection(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.candidate_name = "Eve\r\nBcc: victim@example.com";
	p.to_name = "Bob\nX-Evil: 1";
	/* (a recipient address with CR LF is refused: test_hostile_header_values) */
	p.job_title = "Engineer\r\n\r\nInjected body";
	p.message_id = "id@example.com>\r\nX-Injected: 1";
	p.report_url = REPORT "\r\n.\r\n";
	p.request_id = "cq\rreq";
	char *msg = compose_and_check("Refs\r\nX-From: 1 <refsync@example.com>", &p);

	char *names = field_names(msg);
	assert_string_equal(names, "From|To|Subject|Date|Message-ID|MIME-Version|Content-Type|"
				   "Content-Transfer-Encoding|Auto-Submitted");
	free(names);
	char *subject = header_value(msg, "Subject");
	assert_string_equal(subject, "Was Eve  Bcc: victim@example.com hired?");
	char *text = qp_decode(body_of(msg));
	assert_non_null(strstr(text, "\nJob: Engineer    Injected body\n"));
	assert_non_null(strstr(text, "\nCandidate: Eve  Bcc: victim@example.com\n"));
	assert_non_null(strstr(text, "reference check cq req.\n"));
	free(text);
	free(subject);
	free(msg);
}

/* issue 16: no raw control character from remote data (request id, owner's name) reaches a header */
static void test_hostile_header_values(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.request_id = "cq\x1b[2Jreq\x07";
	p.message_id = "cq\x1b<x>\t\x0b req\"@id@r.example.com";
	p.to_name = "Ana\x1b\x08\x0b\x0c\x7f\xc2\x85 Souza\xe2\x80\xa8";
	p.candidate_name = "John\x1b\x00";
	char *msg = compose_and_check(FROM, &p);
	char *headers = header_block(msg);
	for (const char *c = headers; *c; c++)
		if (*c != '\r' && *c != '\n')
			assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
	char *names = field_names(msg);
	assert_string_equal(names, "From|To|Subject|Date|Message-ID|MIME-Version|Content-Type|"
				   "Content-Transfer-Encoding|Auto-Submitted");
	free(names);
	/* the id: atext, dots and one '@'; everything else %XX, the same every time */
	char *id = header_value(msg, "Message-ID");
	assert_string_equal(id, "<cq%20%3Cx%3E%09%20%20req%22%40id@r.example.com>");
	free(id);
	char *again = compose_and_check(FROM, &p);
	assert_string_equal(again, msg);
	free(again);
	/* the name: control characters are spaces, then encoded as any non-plain name */
	char *to = header_value(msg, "To");
	char *decoded = decode_words(to);
	assert_string_equal(decoded, "Ana       Souza <ana.souza@example.com>");
	free(decoded);
	free(to);
	char *text = qp_decode(body_of(msg));
	assert_non_null(strstr(text, "Hello Ana       Souza,\n"));
	assert_null(strchr(text, '\x1b'));
	free(text);
	free(headers);
	free(msg);

	/* an owner address that is not a plain address is refused, never mangled */
	const char *bad[] = { "ana.souza@example.com\r\nCc: other@example.com", "ana\x1b@example.com",
			      "ana souza@example.com", "<ana@example.com>", "ana@example.com\x7f", "" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		p = base_prompt();
		p.to_email = bad[i];
		assert_null(mail_compose_prompt(FROM, &p));
	}
}

static void test_invalid_utf8_replaced(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.candidate_name = "Jo\xE9 \xC3\x28 Ok"; /* Latin-1 é, a broken sequence */
	char *msg = compose_and_check(FROM, &p);
	char *subject = header_value(msg, "Subject");
	char *decoded = decode_words(subject);
	assert_string_equal(decoded, "Was Jo\xEF\xBF\xBD \xEF\xBF\xBD( Ok hired?");
	free(decoded);
	free(subject);
	free(msg);

	/* an overlong form, a surrogate, a code point above U+10FFFF: each byte replaced */
	p.candidate_name = "a\xE0\x80\xAF b\xED\xA0\x80 c\xF4\x90\x80\x80";
	msg = compose_and_check(FROM, &p);
	subject = header_value(msg, "Subject");
	decoded = decode_words(subject);
	assert_string_equal(decoded, "Was a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD b\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
				     "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD hired?");
	free(decoded);
	free(subject);
	free(msg);
}

static void test_qp_rules(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	/* '=' and a tab, a name ending in spaces, a long line of dots */
	p.candidate_name = "A=B\tC";
	p.job_title = "Lead  ";
	p.report_url = "https://r.example/................................................................"
		       "....................................................x";
	char *msg = compose_and_check(FROM, &p);
	const char *body = body_of(msg);
	assert_non_null(strstr(body, "Candidate: A=3DB\tC\r\n"));
	/* trailing blanks of an input are dropped, not encoded */
	assert_non_null(strstr(body, "Job: Lead\r\n"));
	/* the dots line was cut: its continuation starts with =2E, not '.' */
	assert_non_null(strstr(body, "=\r\n=2E"));
	char *text = qp_decode(body);
	assert_non_null(strstr(text, "Report: https://r.example/......"));
	assert_non_null(strstr(text, "....x\n"));
	free(text);
	free(msg);
}

static void test_empty_fields(void **state)
{
	(void)state;
	/* a blank name, no candidate name, no job: sensible words, no empty phrase */
	struct mail_prompt p = base_prompt();
	p.to_name = " \t ";
	p.candidate_name = "";
	p.job_title = NULL;
	char *msg = compose_and_check(FROM, &p);
	char *to = header_value(msg, "To");
	assert_string_equal(to, "ana.souza@example.com");
	char *subject = header_value(msg, "Subject");
	assert_string_equal(subject, "Was the candidate hired?");
	char *text = qp_decode(body_of(msg));
	assert_true(strncmp(text, "Hello,\n\n", 8) == 0);
	assert_null(strstr(text, "Job:"));
	free(text);
	free(subject);
	free(to);
	free(msg);

	/* without a link the question line ends in a space: encoded, not dropped */
	p = base_prompt();
	p.answer_link = NULL;
	msg = compose_and_check(FROM, &p);
	assert_non_null(strstr(body_of(msg), "\r\nWas John Smith hired? Answer here:=20\r\n"));
	text = qp_decode(body_of(msg));
	assert_non_null(strstr(text, "\nWas John Smith hired? Answer here: \n"));
	free(text);
	free(msg);
}

static void test_date_format(void **state)
{
	(void)state;
	static const struct {
		int64_t ms;
		const char *date;
	} cases[] = {
		{ DATE_MS, "Sat, 28 Nov 2026 16:49:59 +0000" },
		{ DATE_MS + 999, "Sat, 28 Nov 2026 16:49:59 +0000" },
		{ 0, "Thu, 1 Jan 1970 00:00:00 +0000" },
		{ 951868799999LL, "Tue, 29 Feb 2000 23:59:59 +0000" },
		{ -1, "Wed, 31 Dec 1969 23:59:59 +0000" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mail_prompt p = base_prompt();
		p.date_ms = cases[i].ms;
		char *msg = compose_and_check(FROM, &p);
		char *date = header_value(msg, "Date");
		assert_string_equal(date, cases[i].date);
		free(date);
		free(msg);
	}
}

static void test_message_id_verbatim(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.message_id = "refsync.cq-req-42.1795884599000+x_y@refsync.example.com";
	char *msg = compose_and_check(FROM, &p);
	char *id = header_value(msg, "Message-ID");
	assert_string_equal(id, "<refsync.cq-req-42.1795884599000+x_y@refsync.example.com>");
	free(id);
	free(msg);

	/* given with its brackets, they are not doubled */
	p.message_id = "<a@b.example>";
	msg = compose_and_check(FROM, &p);
	id = header_value(msg, "Message-ID");
	assert_string_equal(id, "<a@b.example>");
	free(id);
	free(msg);

	/* the same prompt composes to the same bytes (a resend after a crash) */
	p = base_prompt();
	char *a = mail_compose_prompt(FROM, &p), *b = mail_compose_prompt(FROM, &p);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_line_lengths(void **state)
{
	(void)state;
	struct mail_prompt p = base_prompt();
	p.to_name = "Maximiliana Alexandrina Konstantinopoulou-Wittgenstein von und zu Hohenzollern";
	p.candidate_name = "Bartholomew Fitzgerald-Montgomery Featherstonehaugh Cholmondeley "
			   "Supercalifragilisticexpialidociousandthensomemorecharacters Smith";
	p.job_title = "Principal Staff Software Engineer, Distributed Systems and Infrastructure "
		      "(Remote, Europe / Middle East / Africa) — Platform Reliability Group";
	p.report_url = "https://app.crosschq.example/reports/cq-req-42?view=full&section=all&lang=pt-BR"
		       "&utm_source=refsync&utm_medium=email&utm_campaign=followup";
	char *msg = compose_and_check(FROM, &p);
	char *to = header_value(msg, "To");
	char *decoded = decode_words(to);
	assert_string_equal(decoded, "Maximiliana Alexandrina Konstantinopoulou-Wittgenstein von und zu "
				     "Hohenzollern <ana.souza@example.com>");
	char *subject = header_value(msg, "Subject");
	char *decoded_subject = decode_words(subject);
	char expect[512];
	snprintf(expect, sizeof expect, "Was %s hired?", p.candidate_name);
	assert_string_equal(decoded_subject, expect);
	char *text = qp_decode(body_of(msg));
	snprintf(expect, sizeof expect, "\nJob: %s\nReport: %s\n", p.job_title, p.report_url);
	assert_non_null(strstr(text, expect));
	free(text);
	free(decoded_subject);
	free(subject);
	free(decoded);
	free(to);
	free(msg);
}

static void test_address_of(void **state)
{
	(void)state;
	char out[MAIL_ADDRESS_MAX + 1];
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "Reference checks <refsync@example.com>", "refsync@example.com" },
		{ "refsync@example.com", "refsync@example.com" },
		{ "  refsync@example.com  ", "refsync@example.com" },
		{ "<refsync@example.com>", "refsync@example.com" },
		{ "\"Refsync, Inc. <x>\" <a.b+c@mail.example.co.uk>", "a.b+c@mail.example.co.uk" },
		{ "José <jose@example.com>", "jose@example.com" },
		{ "Name < a@b >", "a@b" },
		{ "\"Back\\\\slash \\\"q\\\"\" <q@example.com>", "q@example.com" },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(mail_address_of(good[i].in, out, sizeof out), 0);
		assert_string_equal(out, good[i].out);
	}
	static const char *const bad[] = {
		"", "Reference checks", "refsync", "@example.com", "refsync@", "a@@b", "a@b@c",
		"Name <>", "Name <a@b", "a b@example.com", "Name a@example.com", "a@example..com",
		"a@.example.com", "a@example.com.", "a@exa,mple.com", "a\r\n@example.com", "<a@b>\r\nRCPT TO:<c@d>",
		"jos\xC3\xA9@example.com", "<a@b> <c@d>", "\"Name\\\" <a@b>", "Na\"me <a@b>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		strcpy(out, "junk");
		if (mail_address_of(bad[i], out, sizeof out) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_string_equal(out, "");
	}
	/* too small an output */
	char small[8];
	assert_int_equal(mail_address_of("abc@example.com", small, sizeof small), -1);
	assert_int_equal(mail_address_of("a@b.c", small, sizeof small), 0);
	assert_string_equal(small, "a@b.c");
	assert_int_equal(mail_address_of(NULL, out, sizeof out), -1);
}

/* ------------------------------------------------- a scripted SMTP server */

/*
 * One connection on 127.0.0.1: a greeting, then canned replies per command.
 * It records the command lines and the raw DATA lines (still dot-stuffed).
 */
struct fake_smtp {
	int listen_fd;
	int port;
	const char *ehlo_reply;
	const char *auth_reply;
	const char *rcpt_reply;
	const char *end_of_data_reply;
	char commands[8192];
	char data[16384 + 1];
	size_t data_len;
	int accepted;
	pthread_t thread;
	char in[4096];
	size_t in_len;
};

/* Read one line (without CRLF) into line; 0, or -1 at EOF or timeout. */
static int fake_read_line(struct fake_smtp *f, int fd, char *line, size_t linelen)
{
	for (;;) {
		char *eol = memchr(f->in, '\n', f->in_len);
		if (eol) {
			size_t n = (size_t)(eol - f->in) + 1;
			size_t keep = n - 1;
			if (keep > 0 && f->in[keep - 1] == '\r')
				keep--;
			if (keep >= linelen)
				keep = linelen - 1;
			memcpy(line, f->in, keep);
			line[keep] = '\0';
			memmove(f->in, f->in + n, f->in_len - n);
			f->in_len -= n;
			return 0;
		}
		if (f->in_len == sizeof f->in)
			return -1;
		ssize_t r = recv(fd, f->in + f->in_len, sizeof f->in - f->in_len, 0);
		if (r <= 0)
			return -1;
		f->in_len += (size_t)r;
	}
}

static void fake_say(int fd, const char *reply)
{
	size_t n = strlen(reply);
	(void)!send(fd, reply, n, MSG_NOSIGNAL);
	(void)!send(fd, "\r\n", 2, MSG_NOSIGNAL);
}

static void *fake_smtp_serve(void *arg)
{
	struct fake_smtp *f = arg;
	struct pollfd pfd = { .fd = f->listen_fd, .events = POLLIN };
	if (poll(&pfd, 1, 15000) != 1)
		return NULL;
	int fd = accept(f->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	f->accepted = 1;
	struct timeval tv = { .tv_sec = 15 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	char line[2048];
	fake_say(fd, "220 fake.localhost ESMTP");
	while (fake_read_line(f, fd, line, sizeof line) == 0) {
		strncat(f->commands, line, sizeof f->commands - strlen(f->commands) - 2);
		strcat(f->commands, "\n");
		if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
			fake_say(fd, f->ehlo_reply);
		} else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
			if (line[10] == '\0') {
				fake_say(fd, "334 ");
				if (fake_read_line(f, fd, line, sizeof line))
					break;
				strncat(f->commands, line, sizeof f->commands - strlen(f->commands) - 2);
				strcat(f->commands, "\n");
			}
			fake_say(fd, f->auth_reply);
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			fake_say(fd, "250 2.1.0 sender ok");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			fake_say(fd, f->rcpt_reply);
		} else if (strcasecmp(line, "DATA") == 0) {
			fake_say(fd, "354 end with <CRLF>.<CRLF>");
			while (fake_read_line(f, fd, line, sizeof line) == 0 && strcmp(line, ".") != 0) {
				size_t n = strlen(line);
				if (f->data_len + n + 2 < sizeof f->data) {
					memcpy(f->data + f->data_len, line, n);
					memcpy(f->data + f->data_len + n, "\r\n", 2);
					f->data_len += n + 2;
				}
			}
			fake_say(fd, f->end_of_data_reply);
		} else if (strcasecmp(line, "QUIT") == 0) {
			fake_say(fd, "221 2.0.0 bye");
			break;
		} else if (strcasecmp(line, "RSET") == 0 || strcasecmp(line, "NOOP") == 0) {
			fake_say(fd, "250 2.0.0 ok");
		} else {
			fake_say(fd, "502 5.5.2 not implemented");
		}
	}
	close(fd);
	return NULL;
}

static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct fake_smtp *fake_smtp_start(void)
{
	struct fake_smtp *f = calloc(1, sizeof *f);
	f->ehlo_reply = "250-fake.localhost\r\n250-AUTH PLAIN\r\n250 8BITMIME";
	f->auth_reply = "235 2.7.0 authenticated";
	f->rcpt_reply = "250 2.1.5 recipient ok";
	f->end_of_data_reply = "250 2.0.0 queued as 42";
	f->listen_fd = listen_loopback(&f->port);
	return f;
}

static void fake_smtp_run(struct fake_smtp *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, fake_smtp_serve, f), 0);
}

#define SIMPLE_MESSAGE                                                                                                 \
	"From: refsync@example.com\r\nTo: ana@example.com\r\nSubject: dots\r\n\r\n.leading dot\r\n"                  \
	"..two\r\nend\r\n"

static int send_to_fake(struct fake_smtp *f, const char *host, const char *user, const char *password,
			const char *rcpt, int *permanent, char *err, size_t errlen)
{
	char url[128];
	snprintf(url, sizeof url, "smtp://%s:%d", host, f->port);
	fake_smtp_run(f);
	int r = mail_send(url, user, password, "Reference checks <refsync@example.com>", rcpt, SIMPLE_MESSAGE,
			  permanent, err, errlen);
	return r;
}

/* Release a server whose thread was joined. */
static void fake_smtp_free(struct fake_smtp *f)
{
	close(f->listen_fd);
	free(f);
}

static void test_send_ok(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	char err[512];
	int permanent = -1;
	int r = send_to_fake(f, "127.0.0.1", NULL, NULL, "ana@example.com", &permanent, err, sizeof err);
	pthread_join(f->thread, NULL);
	if (r != 0)
		fail_msg("mail_send: %s", err);
	assert_int_equal(permanent, 0);
	/* no AUTH without a user; the envelope as given */
	assert_null(strstr(f->commands, "AUTH"));
	assert_non_null(strstr(f->commands, "\nMAIL FROM:<refsync@example.com>"));
	assert_non_null(strstr(f->commands, "\nRCPT TO:<ana@example.com>\nDATA\n"));
	/* the message byte for byte, dot-stuffed on the wire */
	f->data[f->data_len] = '\0';
	assert_string_equal(f->data, "From: refsync@example.com\r\nTo: ana@example.com\r\nSubject: dots\r\n\r\n"
				     "..leading dot\r\n...two\r\nend\r\n");
	fake_smtp_free(f);
}

static void test_send_auth_ok(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	char err[512];
	int permanent = -1;
	int r = send_to_fake(f, "127.0.0.1", "refsync", "s3cret-pw", "Ana <ana@example.com>", &permanent, err,
			     sizeof err);
	pthread_join(f->thread, NULL);
	if (r != 0)
		fail_msg("mail_send: %s", err);
	/* base64("\0refsync\0s3cret-pw") */
	assert_non_null(strstr(f->commands, "AUTH PLAIN\nAHJlZnN5bmMAczNjcmV0LXB3\n"));
	assert_non_null(strstr(f->commands, "\nRCPT TO:<ana@example.com>\n"));
	fake_smtp_free(f);
}

/* Run one failing exchange and return mail_send's result. */
static int send_failing(struct fake_smtp *f, const char *user, const char *password, int *permanent, char *err,
			size_t errlen)
{
	int r = send_to_fake(f, "127.0.0.1", user, password, "ana@example.com", permanent, err, errlen);
	pthread_join(f->thread, NULL);
	return r;
}

static void assert_err_names(const char *err, int port, const char *step, const char *reply)
{
	char server[64];
	snprintf(server, sizeof server, "smtp://127.0.0.1:%d", port);
	print_message("mail_send error: %s\n", err);
	if (!strstr(err, server) || !strstr(err, step) || (reply && !strstr(err, reply)))
		fail_msg("error '%s' should name %s, %s and '%s'", err, server, step, reply ? reply : "");
}

static void test_send_rcpt_permanent(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	f->rcpt_reply = "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown";
	char err[512];
	int permanent = -1;
	assert_int_equal(send_failing(f, NULL, NULL, &permanent, err, sizeof err), -1);
	assert_int_equal(permanent, 1);
	assert_err_names(err, f->port, "RCPT TO", "550 5.1.1 <ana@example.com>: Recipient address rejected");
	assert_null(strstr(f->commands, "DATA"));
	fake_smtp_free(f);
}

static void test_send_rcpt_temporary(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	f->rcpt_reply = "450 4.2.0 <ana@example.com>: mailbox busy";
	char err[512];
	int permanent = -1;
	assert_int_equal(send_failing(f, NULL, NULL, &permanent, err, sizeof err), -1);
	assert_int_equal(permanent, 0);
	assert_err_names(err, f->port, "RCPT TO", "450 4.2.0");
	fake_smtp_free(f);
}

static void test_send_data_refused(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	f->end_of_data_reply = "554 5.6.0 message refused";
	char err[512];
	int permanent = -1;
	assert_int_equal(send_failing(f, NULL, NULL, &permanent, err, sizeof err), -1);
	assert_int_equal(permanent, 0);
	assert_err_names(err, f->port, "end of data", "554 5.6.0 message refused");
	fake_smtp_free(f);
}

static void test_send_auth_refused_hides_password(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	/* a server that echoes the password: the error still does not carry it */
	f->auth_reply = "535 5.7.8 Authentication credentials invalid: hunter2-very-secret";
	char err[512];
	int permanent = -1;
	assert_int_equal(send_failing(f, "refsync", "hunter2-very-secret", &permanent, err, sizeof err), -1);
	assert_int_equal(permanent, 0);
	assert_err_names(err, f->port, "AUTH", "535 5.7.8");
	assert_null(strstr(err, "hunter2"));
	/* nor its AUTH PLAIN form: base64("\0refsync\0hunter2-very-secret") */
	assert_null(strstr(err, "AHJlZnN5bmMAaHVudGVyMi12ZXJ5LXNlY3JldA"));
	assert_null(strstr(f->commands, "MAIL FROM"));
	fake_smtp_free(f);
}

static void test_send_connect_refused(void **state)
{
	(void)state;
	int port;
	int fd = listen_loopback(&port);
	close(fd); /* nothing listens there now */
	char url[64], err[512];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	int permanent = -1;
	assert_int_equal(mail_send(url, NULL, NULL, "refsync@example.com", "ana@example.com", SIMPLE_MESSAGE,
				   &permanent, err, sizeof err),
			 -1);
	assert_int_equal(permanent, 0);
	assert_err_names(err, port, "connect failed", NULL);
}

/*
 * smtp:// to a host that is not loopback must use STARTTLS. 0.0.0.0 is not
 * on the loopback list, yet Linux delivers a connection to it locally: the
 * scripted server (which offers no STARTTLS) must see no AUTH and no MAIL.
 */
static void test_send_requires_starttls(void **state)
{
	(void)state;
	struct fake_smtp *f = fake_smtp_start();
	char err[512];
	int permanent = -1;
	int r = send_to_fake(f, "0.0.0.0", "refsync", "hunter2-very-secret", "ana@example.com", &permanent, err,
			     sizeof err);
	pthread_join(f->thread, NULL);
	assert_int_equal(r, -1);
	assert_int_equal(permanent, 0);
	if (!f->accepted)
		fail_msg("the connection to 0.0.0.0 did not reach the server: %s", err);
	assert_non_null(strstr(f->commands, "EHLO"));
	assert_null(strstr(f->commands, "AUTH"));
	assert_null(strstr(f->commands, "MAIL"));
	print_message("mail_send error: %s\n", err);
	assert_non_null(strstr(err, "STARTTLS"));
	fake_smtp_free(f);
}

static void test_send_bad_arguments(void **state)
{
	(void)state;
	char err[512];
	int permanent = -1;
	static const char *const urls[] = { "http://127.0.0.1:25", "127.0.0.1:25", "", "smtp://user:pw@127.0.0.1:25" };
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		assert_int_equal(mail_send(urls[i], NULL, NULL, "refsync@example.com", "ana@example.com",
					   SIMPLE_MESSAGE, &permanent, err, sizeof err),
				 -1);
		assert_int_equal(permanent, 0);
		assert_true(err[0] != '\0');
		assert_null(strstr(err, ":pw@"));
	}
	assert_int_equal(mail_send(NULL, NULL, NULL, "refsync@example.com", "ana@example.com", SIMPLE_MESSAGE,
				   &permanent, err, sizeof err),
			 -1);
	/* an implausible recipient is refused for good before connecting */
	assert_int_equal(mail_send("smtp://127.0.0.1:9", NULL, NULL, "refsync@example.com",
				   "ana@example.com>\r\nRCPT TO:<evil@example.com", SIMPLE_MESSAGE, &permanent, err,
				   sizeof err),
			 -1);
	assert_int_equal(permanent, 1);
	assert_non_null(strstr(err, "recipient"));
	assert_int_equal(mail_send("smtp://127.0.0.1:9", NULL, NULL, "no address", "ana@example.com", SIMPLE_MESSAGE,
				   &permanent, err, sizeof err),
			 -1);
	assert_int_equal(permanent, 0);
	assert_non_null(strstr(err, "sender"));
}

/* ------------------------------------------------------ live (e2e only) */

#define LIVE_SECRET "e2e-answer-secret"
#define LIVE_ANSWER_URL "http://127.0.0.1:8080/cgi-bin/refsync-hook/answer"
#define LIVE_EXPIRES_S 1798476599LL

static void test_send_live(void **state)
{
	(void)state;
	const char *url = getenv("REFSYNC_TEST_SMTP_URL");
	if (!url || !*url)
		skip();
	const char *user = getenv("REFSYNC_TEST_SMTP_USER");
	const char *password = getenv("REFSYNC_TEST_SMTP_PASSWORD");
	const char *expect_fail = getenv("REFSYNC_TEST_SMTP_EXPECT_FAIL");
	const char *out_path = getenv("REFSYNC_TEST_SMTP_MESSAGE_OUT");

	char *link = answer_link_build(LIVE_ANSWER_URL, LIVE_SECRET, "cq-req-e2e-1", LIVE_EXPIRES_S);
	assert_non_null(link);
	struct mail_prompt p = {
		.request_id = "cq-req-e2e-1",
		.to_name = "Tomás Berg",
		.to_email = "tomas.berg@example.com",
		.candidate_name = "José Müller",
		.job_title = "Senior Engineer — Platform",
		.report_url = "https://app.crosschq.example/reports/cq-req-e2e-1",
		.answer_link = link,
		.expires_at_ms = LIVE_EXPIRES_S * 1000,
		.message_id = "refsync-cq-req-e2e-1@refsync.example.com",
		.date_ms = DATE_MS,
	};
	char *msg = compose_and_check(FROM, &p);
	if (out_path) {
		FILE *f = fopen(out_path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(msg, 1, strlen(msg), f), strlen(msg));
		assert_int_equal(fclose(f), 0);
	}
	char err[512] = "";
	int permanent = -1;
	int r = mail_send(url, user, password, FROM, p.to_email, msg, &permanent, err, sizeof err);
	print_message("mail_send: %d %s\n", r, err);
	if (expect_fail && strcmp(expect_fail, "1") == 0) {
		assert_int_equal(r, -1);
		assert_int_equal(permanent, 0);
		assert_non_null(strstr(err, "AUTH"));
		assert_non_null(strstr(err, "smtp://127.0.0.1:"));
		if (password && *password)
			assert_null(strstr(err, password));
	} else {
		if (r != 0)
			fail_msg("mail_send: %s", err);
		assert_int_equal(permanent, 0);
	}
	free(msg);
	free(link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_headers_exact),
		cmocka_unit_test(test_exact_body),
		cmocka_unit_test(test_non_ascii_name_encoded),
		cmocka_unit_test(test_long_non_ascii_name_folded),
		cmocka_unit_test(test_specials_quoted),
		cmocka_unit_test(test_crlf_injection),
		cmocka_unit_test(test_hostile_header_values),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_qp_rules),
		cmocka_unit_test(test_empty_fields),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_message_id_verbatim),
		cmocka_unit_test(test_line_lengths),
		cmocka_unit_test(test_address_of),
		cmocka_unit_test(test_send_ok),
		cmocka_unit_test(test_send_auth_ok),
		cmocka_unit_test(test_send_rcpt_permanent),
		cmocka_unit_test(test_send_rcpt_temporary),
		cmocka_unit_test(test_send_data_refused),
		cmocka_unit_test(test_send_auth_refused_hides_password),
		cmocka_unit_test(test_send_connect_refused),
		cmocka_unit_test(test_send_requires_starttls),
		cmocka_unit_test(test_send_bad_arguments),
		cmocka_unit_test(test_send_live),
	};
	const char *live = getenv("REFSYNC_TEST_SMTP_URL");
	if (live && *live)
		cmocka_set_test_filter("test_send_live");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
