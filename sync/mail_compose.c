/*
 * mail_compose.c - the follow-up prompt as an RFC 5322 message (RFC 2047
 * encoded-words in headers, a quoted-printable UTF-8 body, RFC 2045).
 * Addresses are read in mail_address.c, the message is sent by mail.c.
 */
#include "mail_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/sha.h>

#define QP_LINE_MAX 76       /* RFC 2045 6.7 (5), the '=' of a soft break included */

static const char day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char month_names[12][10] = { "January", "February", "March",     "April",   "May",      "June",
					  "July",    "August",   "September", "October", "November", "December" };

/* ------------------------------------------------------------------------ */
/* Dates                                                                    */

/* Broken-down UTC time of epoch ms (rounded down to the second). */
static void utc_time(int64_t ms, struct tm *tm)
{
	int64_t s = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);
	time_t t = (time_t)s;
	memset(tm, 0, sizeof *tm);
	gmtime_r(&t, tm);
}

/* "Sat, 28 Nov 2026 16:49:59 +0000" (RFC 5322 3.3, English names whatever the locale). */
static void format_rfc5322_date(int64_t ms, char *out, size_t outlen)
{
	struct tm tm;
	utc_time(ms, &tm);
	snprintf(out, outlen, "%s, %d %.3s %04d %02d:%02d:%02d +0000", day_names[tm.tm_wday % 7], tm.tm_mday,
		 month_names[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "28 December 2026, 16:49 UTC", for people. */
static void format_human_date(int64_t ms, char *out, size_t outlen)
{
	struct tm tm;
	utc_time(ms, &tm);
	snprintf(out, outlen, "%d %s %04d, %02d:%02d UTC", tm.tm_mday, month_names[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

/* ------------------------------------------------------------------------ */
/* Body: quoted-printable                                                   */

/*
 * The quoted-printable form of byte c into tok; returns its length. at_end:
 * c is the last byte of its line (a space or tab there is encoded);
 * at_start: c begins an output line (a '.' there is encoded, so that no line
 * of the body can look like SMTP's end of data to a careless relay).
 */
static size_t qp_token(unsigned char c, int at_end, int at_start, char tok[4])
{
	static const char hex[] = "0123456789ABCDEF";
	int literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end);
	if (c == '.' && at_start)
		literal = 0;
	if (literal) {
		tok[0] = (char)c;
		return 1;
	}
	tok[0] = '=';
	tok[1] = hex[c >> 4];
	tok[2] = hex[c & 15];
	return 3;
}

/*
 * Append text (lines ended by '\n') quoted-printable encoded (RFC 2045 6.7):
 * hard line breaks become CRLF, '=' and every byte outside printable ASCII
 * become =XX, and lines longer than QP_LINE_MAX are cut by soft line breaks
 * ("=" CRLF) that never split an =XX.
 */
static int qp_encode(struct buf *out, const char *text, size_t len)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && t[end] != '\n')
			end++;
		size_t col = 0;
		for (size_t j = i; j < end; j++) {
			char tok[4];
			int last = j + 1 == end;
			size_t n = qp_token(t[j], last, col == 0, tok);
			/* room for "=" after the token unless it is the line's last */
			if (col + n > QP_LINE_MAX - 1 && !(last && col + n <= QP_LINE_MAX)) {
				if (buf_append(out, "=\r\n", 3))
					return -1;
				col = 0;
				n = qp_token(t[j], last, 1, tok);
			}
			if (buf_append(out, tok, n))
				return -1;
			col += n;
		}
		if (buf_append(out, "\r\n", 2))
			return -1;
		i = end + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The prompt                                                               */

/* The inputs of one prompt after clean_text. */
struct prompt_text {
	char *from, *request_id, *to_name, *to_email, *candidate, *job, *report, *link, *message_id;
};

static void prompt_text_free(struct prompt_text *t)
{
	free(t->from);
	free(t->request_id);
	free(t->to_name);
	free(t->to_email);
	free(t->candidate);
	free(t->job);
	free(t->report);
	free(t->link);
	free(t->message_id);
}

/*
 * Make *id (cleaned, without brackets) an RFC 5322 msg-id: it holds remote
 * data (the Crosschq request id), so every byte that is not atext or '.',
 * and '%' itself, is written %XX, all but the last '@'. The same input
 * always gives the same id (a prompt sent again keeps its Message-ID).
 * Replaces *id; 0, or -1 when memory ran out.
 */
#define MESSAGE_ID_MAX 250
static int message_id_encode(char **id)
{
	const char *in = *id, *at = strrchr(in, '@');
	char *out = malloc(3 * strlen(in) + 2 * SHA256_DIGEST_LENGTH + 32);
	if (!out)
		return -1;
	size_t o = 0;
	for (const char *p = in; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((is_atext(c) && c != '%') || (c == '.' && p != in && p[1] && p[1] != '@' && p[-1] != '.' &&
						  p[-1] != '@') || p == at) {
			out[o++] = (char)c;
		} else {
			static const char hex[] = "0123456789ABCDEF";
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	if (o > MESSAGE_ID_MAX) {
		/* a header line stays under RFC 5322's 998: a long id becomes its
		 * SHA-256, still the same for the same input */
		unsigned char md[SHA256_DIGEST_LENGTH];
		SHA256((const unsigned char *)in, strlen(in), md);
		for (size_t i = 0; i < sizeof md; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
		strcpy(out + 2 * sizeof md, "@refsync.invalid");
	}
	free(*id);
	*id = out;
	return 0;
}

/* Clean every input; 0, or -1 when memory ran out. */
static int prompt_text_init(struct prompt_text *t, const char *from, const struct mail_prompt *p)
{
	t->from = clean_text(from);
	t->request_id = clean_text(p->request_id);
	t->to_name = clean_text(p->to_name);
	t->to_email = clean_text(p->to_email);
	t->candidate = clean_text(p->candidate_name);
	t->job = clean_text(p->job_title);
	t->report = clean_text(p->report_url);
	t->link = clean_text(p->answer_link);
	t->message_id = clean_text(p->message_id);
	if (!t->from || !t->request_id || !t->to_name || !t->to_email || !t->candidate || !t->job || !t->report ||
	    !t->link || !t->message_id)
		return -1;
	/* tolerate an id given with its brackets */
	size_t n = strlen(t->message_id);
	if (n >= 2 && t->message_id[0] == '<' && t->message_id[n - 1] == '>') {
		memmove(t->message_id, t->message_id + 1, n - 2);
		t->message_id[n - 2] = '\0';
	}
	return message_id_encode(&t->message_id);
}

static int compose_headers(struct buf *m, const struct prompt_text *t, int64_t date_ms)
{
	struct header h;
	char date[64];
	const char *candidate = *t->candidate ? t->candidate : "the candidate";

	if (header_from(m, t->from))
		return -1;
	if (header_begin(&h, m, "To") || header_mailbox(&h, t->to_name, t->to_email) || header_end(&h))
		return -1;
	if (header_begin(&h, m, "Subject") || header_token(&h, "Was", 3))
		return -1;
	/* plain words when they fold within 78 characters; else encoded-words, which do */
	if (header_plain(candidate) && subject_words_fit(candidate) ? header_words(&h, candidate)
							    : header_encoded(&h, candidate, strlen(candidate)))
		return -1;
	if (header_token(&h, "hired?", 6) || header_end(&h))
		return -1;
	format_rfc5322_date(date_ms, date, sizeof date);
	if (buf_printf(m, "Date: %s\r\n", date))
		return -1;
	if (*t->message_id && buf_printf(m, "Message-ID: <%s>\r\n", t->message_id))
		return -1;
	return buf_appendz(m,
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=UTF-8\r\n"
			   "Content-Transfer-Encoding: quoted-printable\r\n"
			   "Auto-Submitted: auto-generated\r\n");
}

/* The body as plain UTF-8 text with '\n' line ends. */
static int compose_body(struct buf *b, const struct prompt_text *t, int64_t expires_at_ms)
{
	char expiry[64];
	const char *candidate = *t->candidate ? t->candidate : "the candidate";
	format_human_date(expires_at_ms, expiry, sizeof expiry);

	if (*t->to_name ? buf_printf(b, "Hello %s,\n\n", t->to_name) : buf_appendz(b, "Hello,\n\n"))
		return -1;
	if (buf_printf(b,
		       "The reference check for %s is complete, and Lever shows\n"
		       "the candidate neither hired nor archived yet.\n\n",
		       candidate))
		return -1;
	if (buf_printf(b, "Candidate: %s\n", candidate))
		return -1;
	if (*t->job && buf_printf(b, "Job: %s\n", t->job))
		return -1;
	if (*t->report && buf_printf(b, "Report: %s\n", t->report))
		return -1;
	if (buf_printf(b, "\nWas %s hired? Answer here: %s\n\n", candidate, t->link))
		return -1;
	if (buf_printf(b, "The link works until %s.\n", expiry))
		return -1;
	if (buf_appendz(b, "The link only opens a page; nothing changes until you press a button.\n"))
		return -1;
	if (*t->request_id && buf_printf(b, "\nSent automatically by refsync for reference check %s.\n", t->request_id))
		return -1;
	return 0;
}

char *mail_compose_prompt(const char *from, const struct mail_prompt *p)
{
	struct prompt_text t = { 0 };
	struct buf body, message;
	char *result = NULL;
	if (!p)
		return NULL;
	buf_init(&body, 0);
	buf_init(&message, 0);
	if (prompt_text_init(&t, from, p))
		goto out;
	/* the recipient comes from Lever: an address that is not plausible
	 * (spaces, control characters, specials) is refused, never mangled */
	if (!p->to_email || !mail_address_plausible(p->to_email, strlen(p->to_email)))
		goto out;

	/* a bound on what the inputs can become (each byte at most 3 x 3 in the
	 * body, less in headers), so the buffers never hit their limit */
	size_t inputs = strlen(t.from) + strlen(t.request_id) + strlen(t.to_name) + strlen(t.to_email) +
			4 * strlen(t.candidate) + strlen(t.job) + strlen(t.report) + 2 * strlen(t.link) +
			strlen(t.message_id);
	if (inputs > (SIZE_MAX - 65536) / 16)
		goto out;
	buf_init(&body, 4 * inputs + 4096);
	buf_init(&message, 16 * inputs + 65536);

	if (compose_headers(&message, &t, p->date_ms) || buf_append(&message, "\r\n", 2))
		goto out;
	if (compose_body(&body, &t, p->expires_at_ms) || qp_encode(&message, body.data, body.len))
		goto out;
	result = message.data;
	message.data = NULL;
out:
	buf_free(&body);
	buf_free(&message);
	prompt_text_free(&t);
	return result;
}
