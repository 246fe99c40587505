/*
 * fuzz_mail.c - composing the follow-up prompt (mail_compose_prompt,
 * sync/mail.c) from strings that come from Lever and Crosschq (names,
 * addresses, the job title, the report URL, the request id in the
 * Message-ID) and from the config (From).
 *
 * Input: bytes 0-7 and 8-15 are the Date and the link's expiry (epoch ms,
 * little-endian, taken modulo year 2200: they come from refsync's clock);
 * the rest are the strings, separated by NUL bytes, in this order: from,
 * request_id, to_name, to_email, candidate_name, job_title, report_url,
 * answer_link, message_id. A missing string is NULL (job_title NULL leaves
 * the Job line out).
 *
 * Checked, as mail.h promises:
 *  - a message always comes back, and the same inputs give the same bytes;
 *  - every line ends in CRLF, no CR or LF stands alone, so no input can add
 *    a header or a line; the header ends at the first empty line;
 *  - no header holds a control character (a remote string is encoded or
 *    refused, never copied raw into a header);
 *  - Subject lines (encoded words) are folded to at most 78 characters, and
 *    no header line exceeds RFC 5322's 998;
 *  - the body is quoted-printable: printable ASCII, lines of at most 76.
 */
#include "fuzz.h"
#include "mail.h"
#include "util.h"

#include <string.h>

#define YEAR_2200_MS 7258118400000LL
#define FIELDS 9

/* An int64 clock from 8 bytes of data (fewer when size is short). */
static int64_t clock_of(const uint8_t *data, size_t size, size_t at)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8 && at + i < size; i++)
		v |= (uint64_t)data[at + i] << (8 * i);
	return (int64_t)(v % (uint64_t)YEAR_2200_MS);
}

/* Check the header section m[0..n) (without the empty line). */
static void check_headers(const char *m, size_t n)
{
	const char *line = m, *end = m + n;
	int in_subject = 0;
	while (line < end) {
		const char *crlf = memmem(line, (size_t)(end - line), "\r\n", 2);
		FUZZ_CHECK(crlf != NULL);
		size_t len = (size_t)(crlf - line);
		FUZZ_CHECK(len > 0);
		if (line[0] != ' ' && line[0] != '\t')
			in_subject = len >= 8 && memcmp(line, "Subject:", 8) == 0;
		else
			FUZZ_CHECK(line != m); /* a continuation follows a header */
		FUZZ_CHECK(len <= 998);
		if (in_subject)
			FUZZ_CHECK(len <= 78);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)line[i];
			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
		}
		line = crlf + 2;
	}
}

/* Check the quoted-printable body b[0..n). */
static void check_body(const char *b, size_t n)
{
	const char *line = b, *end = b + n;
	while (line < end) {
		const char *crlf = memmem(line, (size_t)(end - line), "\r\n", 2);
		const char *stop = crlf ? crlf : end;
		size_t len = (size_t)(stop - line);
		FUZZ_CHECK(len <= 76);
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)line[i];
			FUZZ_CHECK(c == '\t' || (c >= 0x20 && c < 0x7f));
		}
		line = crlf ? crlf + 2 : end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[FIELDS] = { NULL };
	const char *p = size > 16 ? (const char *)data + 16 : "";
	const char *end = size > 16 ? (const char *)data + size : p;
	for (int i = 0; i < FIELDS && p < end; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		const char *stop = nul ? nul : end;
		field[i] = xstrndup(p, (size_t)(stop - p));
		p = nul ? nul + 1 : end;
	}
	struct mail_prompt prompt = {
		.request_id = field[1],
		.to_name = field[2],
		.to_email = field[3],
		.candidate_name = field[4],
		.job_title = field[5],
		.report_url = field[6],
		.answer_link = field[7],
		.message_id = field[8],
		.date_ms = clock_of(data, size, 0),
		.expires_at_ms = clock_of(data, size, 8),
	};
	char *m = mail_compose_prompt(field[0], &prompt);
	if (!m) {
		/* refused, never rewritten: only for a recipient that is not a plain address */
		FUZZ_CHECK(!prompt.to_email || !mail_address_plausible(prompt.to_email, strlen(prompt.to_email)));
		FUZZ_CHECK(mail_compose_prompt(field[0], &prompt) == NULL);
		for (int i = 0; i < FIELDS; i++)
			free(field[i]);
		return 0;
	}
	char *again = mail_compose_prompt(field[0], &prompt);
	FUZZ_CHECK(again != NULL && strcmp(m, again) == 0);
	free(again);

	size_t n = strlen(m);
	for (size_t i = 0; i < n; i++) {
		if (m[i] == '\r')
			FUZZ_CHECK(i + 1 < n && m[i + 1] == '\n');
		if (m[i] == '\n')
			FUZZ_CHECK(i > 0 && m[i - 1] == '\r');
	}
	const char *blank = strstr(m, "\r\n\r\n");
	FUZZ_CHECK(blank != NULL);
	check_headers(m, (size_t)(blank - m) + 2);
	check_body(blank + 4, n - (size_t)(blank + 4 - m));
	free(m);
	for (int i = 0; i < FIELDS; i++)
		free(field[i]);
	return 0;
}
