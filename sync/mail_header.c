/*
 * mail_header.c - the header fields of the prompt (RFC 5322 folding within
 * 78 characters, phrases and quoted strings, RFC 2047 encoded-words), and
 * the cleaning of remote text (control characters and invalid UTF-8) before
 * it reaches a message. mail_compose.c puts the message together.
 */
#include "escape.h"
#include "mail_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Input cleaning                                                           */

/* Length (1-4) of the valid UTF-8 sequence at s (n bytes left), or 0
 * (escape.h's decoder). */
static size_t utf8_sequence_length(const unsigned char *s, size_t n)
{
	unsigned cp;
	size_t bad;
	return n ? utf8_decode(s, n, &cp, &bad) : 0;
}

/*
 * A copy of s (NULL reads as "") that is safe to put into a message: CR, LF
 * and every other control character but the tab (C0, DEL, C1, and the
 * Unicode line and paragraph separators) become spaces (so no input can start a header or a
 * line, or hide in one), every byte that is not part of valid UTF-8 becomes
 * U+FFFD, and leading and trailing blanks are dropped. Returns a malloc'd
 * string, or NULL when memory runs out.
 */
char *clean_text(const char *s)
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
/* Headers: folding, phrases, RFC 2047 encoded-words                        */

int header_begin(struct header *h, struct buf *b, const char *name)
{
	h->b = b;
	h->col = strlen(name) + 1;
	h->has_token = 0;
	return buf_appendz(b, name) || buf_append(b, ":", 1);
}

int header_end(struct header *h)
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
int header_token(struct header *h, const char *s, size_t n)
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
int header_words(struct header *h, const char *s)
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
int subject_words_fit(const char *s)
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
int header_encoded(struct header *h, const char *s, size_t n)
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
int header_plain(const char *s)
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
int is_atext(unsigned char c)
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
int header_mailbox(struct header *h, const char *name, const char *address)
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
int header_from(struct buf *b, const char *from)
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

