/*
 * mail_compose.c - the follow-up prompt as an RFC 5322 message (RFC 2047
 * encoded-words in headers, a quoted-printable UTF-8 body, RFC 2045).
 * Addresses are read in mail_address.c, the message is sent by mail.c.
 */
#include "mail.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/sha.h>

#define HEADER_LINE_MAX 78   /* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
#define ENCODED_WORD_MAX 75  /* RFC 2047 2: an encoded-word is at most 75 characters */
#define ENCODED_WORD_HEAD "=?UTF-8?B?"
#define ENCODED_WORD_OVERHEAD 12 /* "=?UTF-8?B?" + "?=" */
#define QP_LINE_MAX 76       /* RFC 2045 6.7 (5), the '=' of a soft break included */
/*
 * The longest word of a display name or subject written as it is; a longer
 * one is encoded (an encoded-word can be split anywhere). Twice this (every
 * byte escaped in a quoted string) plus quotes and a separator fits on a
 * folded line.
 */
#define PLAIN_WORD_MAX 36

static const char day_names[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char month_names[12][10] = { "January", "February", "March",     "April",   "May",      "June",
					  "July",    "August",   "September", "October", "November", "December" };

/* ------------------------------------------------------------------------ */
/* Input cleaning                                                           */

/* Length (1-4) of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, cp = c & 0x1Fu, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, cp = c & 0x0Fu, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, cp = c & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[k] & 0x3Fu);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * A copy of s (NULL reads as "") that is safe to put into a message: CR, LF
 * and every other control character but the tab (C0, DEL, C1, and the
 * Unicode line and paragraph separators) become spaces (so no input can start a header or a
 * line, or hide in one), every byte that is not part of valid UTF-8 becomes
 * U+FFFD, and leading and trailing blanks are dropped. Returns a malloc'd
 * string, or NULL when memory runs out.
 */
static char *clean_text(const char *s)
{
	const unsigned char *in = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)in);
	if (n > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(3 * n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_sequence_length(in + i, n - i);
		if ((in[i] < 0x20 && in[i] != '\t') || in[i] == 0x7F) {
			out[o++] = ' ';
			i++;
		} else if ((len == 2 && in[i] == 0xC2 && in[i + 1] < 0xA0) ||
			   (len == 3 && in[i] == 0xE2 && in[i + 1] == 0x80 && (in[i + 2] == 0xA8 || in[i + 2] == 0xA9))) {
			out[o++] = ' ';
			i += len;
		} else if (len == 0) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, in + i, len);
			o += len;
			i += len;
		}
	}
	out[o] = '\0';
	size_t start = strspn(out, " \t");
	while (o > start && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		out[--o] = '\0';
	if (start)
		memmove(out, out + start, o - start + 1);
	return out;
}

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
/* Headers: folding, phrases, RFC 2047 encoded-words                        */

/* One header field being written, with its current line's length. */
struct header {
	struct buf *b;
	size_t col;    /* characters on the current line */
	int has_token; /* the current line holds a token after the field name */
};

static int header_begin(struct header *h, struct buf *b, const char *name)
{
	h->b = b;
	h->col = strlen(name) + 1;
	h->has_token = 0;
	return buf_appendz(b, name) || buf_append(b, ":", 1);
}

static int header_end(struct header *h)
{
	return buf_append(h->b, "\r\n", 2);
}

/* Start a continuation line (the space that follows is the folding white space). */
static int header_fold(struct header *h)
{
	h->col = 0;
	h->has_token = 0;
	return buf_append(h->b, "\r\n", 2);
}

/*
 * Append one space and the token s (n bytes), folding before the space when
 * the line already holds a token and would grow past HEADER_LINE_MAX. An
 * empty token adds the space only and is never folded before (a folded line
 * must not be blank).
 */
static int header_token(struct header *h, const char *s, size_t n)
{
	if (n > 0 && h->has_token && h->col + 1 + n > HEADER_LINE_MAX && header_fold(h))
		return -1;
	if (buf_append(h->b, " ", 1) || buf_append(h->b, s, n))
		return -1;
	h->col += 1 + n;
	h->has_token |= n > 0;
	return 0;
}

/* Append every space-separated word of s as a token (runs of spaces are kept). */
static int header_words(struct header *h, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, " ");
		if (header_token(h, s, n))
			return -1;
		if (!s[n])
			return 0;
		s += n + 1;
	}
}

/*
 * 1 when the Subject "Was <s> hired?" folds as plain words within
 * HEADER_LINE_MAX (the layout header_token makes: a word too long for a line
 * of its own, or a long run of spaces, does not fold), else 0.
 */
static int subject_words_fit(const char *s)
{
	size_t col = strlen("Subject: Was");
	int has_token = 1;
	for (int last = 0; !last;) {
		size_t n = strcspn(s, " ");
		last = s[n] == '\0';
		for (int pass = 0; pass < 1 + last; pass++) {
			size_t len = pass ? strlen(" hired?") - 1 : n;
			if (len > 0 && has_token && col + 1 + len > HEADER_LINE_MAX) {
				col = 0;
				has_token = 0;
			}
			col += 1 + len;
			has_token |= len > 0;
			if (col > HEADER_LINE_MAX)
				return 0;
		}
		s += n + !last;
	}
	return 1;
}

/* Base64 (RFC 4648, padded) of n bytes at in into out (4 * ceil(n / 3) + 1 bytes). */
static void base64_encode(const unsigned char *in, size_t n, char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
}

/*
 * Append the UTF-8 text s (n bytes, valid) as RFC 2047 B encoded-words,
 * each holding whole characters (RFC 2047 5), at most ENCODED_WORD_MAX
 * characters long and fitting the current line (else folded before). The
 * white space between adjacent encoded-words is not part of the text when
 * decoded, so spaces of s are carried inside the words.
 */
static int header_encoded(struct header *h, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t room = h->col + 1 < HEADER_LINE_MAX ? HEADER_LINE_MAX - h->col - 1 : 0;
		size_t word_max = room < ENCODED_WORD_MAX ? room : ENCODED_WORD_MAX;
		size_t raw_max = word_max > ENCODED_WORD_OVERHEAD ? (word_max - ENCODED_WORD_OVERHEAD) / 4 * 3 : 0;
		size_t k = 0;
		while (i + k < n) {
			size_t len = utf8_sequence_length(u + i + k, n - i - k);
			if (len == 0)
				len = 1; /* cannot happen after clean_text; keep going */
			if (k + len > raw_max)
				break;
			k += len;
		}
		if (k == 0) {
			if (h->col == 0 || header_fold(h))
				return -1;
			continue;
		}
		char word[ENCODED_WORD_MAX + 1];
		char b64[ENCODED_WORD_MAX];
		base64_encode(u + i, k, b64);
		int w = snprintf(word, sizeof word, ENCODED_WORD_HEAD "%s?=", b64);
		if (w < 0 || (size_t)w >= sizeof word)
			return -1;
		if (buf_append(h->b, " ", 1) || buf_append(h->b, word, (size_t)w))
			return -1;
		h->col += 1 + (size_t)w;
		h->has_token = 1;
		i += k;
	}
	return 0;
}

/*
 * 1 when s can stand in a header as it is: printable ASCII, no "=?" (a
 * reader would take it for an encoded-word), no word longer than
 * PLAIN_WORD_MAX.
 */
static int header_plain(const char *s)
{
	size_t word = 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c > 0x7E || (c == '=' && p[1] == '?'))
			return 0;
		word = c == ' ' ? 0 : word + 1;
		if (word > PLAIN_WORD_MAX)
			return 0;
	}
	return 1;
}

/* 1 when c is RFC 5322 atext. */
static int is_atext(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/*
 * Append a display name (cleaned, not empty) as an RFC 5322 phrase: atoms
 * as they are, a quoted string when a character is not atext (a comma, a
 * dot, a quote, ...), RFC 2047 encoded-words when it is not plain ASCII.
 */
static int header_phrase(struct header *h, const char *name)
{
	if (!header_plain(name))
		return header_encoded(h, name, strlen(name));
	int quote = 0;
	for (const char *p = name; *p; p++)
		if (*p != ' ' && !is_atext((unsigned char)*p))
			quote = 1;
	if (!quote)
		return header_words(h, name);
	struct buf q;
	buf_init(&q, 2 * strlen(name) + 3);
	int r = buf_append(&q, "\"", 1);
	for (const char *p = name; *p && !r; p++)
		r = (*p == '"' || *p == '\\') ? buf_append(&q, "\\", 1) || buf_append(&q, p, 1) : buf_append(&q, p, 1);
	/* a quoted string may be folded at its spaces (RFC 5322 3.2.4) */
	r = r || buf_append(&q, "\"", 1) || header_words(h, q.data);
	buf_free(&q);
	return r;
}

/*
 * Append a mailbox: "phrase <address>", or the address alone when there is
 * no name.
 */
static int header_mailbox(struct header *h, const char *name, const char *address)
{
	if (!*name)
		return header_token(h, address, strlen(address));
	struct buf a;
	buf_init(&a, strlen(address) + 3);
	int r = header_phrase(h, name) || buf_append(&a, "<", 1) || buf_appendz(&a, address) ||
		buf_append(&a, ">", 1) || header_token(h, a.data, a.len);
	buf_free(&a);
	return r;
}

/*
 * The From header from the configured "Name <addr>", "\"Name\" <addr>" or
 * "addr" (cleaned). A value without a plausible address is written as words.
 */
static int header_from(struct buf *b, const char *from)
{
	struct header h;
	char address[MAIL_ADDRESS_MAX + 1];
	if (header_begin(&h, b, "From"))
		return -1;
	if (mail_address_of(from, address, sizeof address))
		return (header_plain(from) ? header_words(&h, from) : header_encoded(&h, from, strlen(from))) ||
		       header_end(&h);
	const char *lt = strrchr(from, '<');
	size_t n = lt ? (size_t)(lt - from) : 0;
	while (n > 0 && (from[n - 1] == ' ' || from[n - 1] == '\t'))
		n--;
	char *name = malloc(n + 1);
	if (!name)
		return -1;
	/* undo the quoting of a quoted display name; header_phrase quotes again as needed */
	size_t o = 0;
	if (n >= 2 && from[0] == '"' && from[n - 1] == '"') {
		for (size_t i = 1; i + 1 < n; i++) {
			if (from[i] == '\\' && i + 2 < n)
				i++;
			name[o++] = from[i];
		}
	} else {
		memcpy(name, from, n);
		o = n;
	}
	name[o] = '\0';
	int r = header_mailbox(&h, name, address) || header_end(&h);
	free(name);
	return r;
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
