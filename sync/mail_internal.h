/*
 * mail_internal.h - what mail_compose.c (the prompt message) and
 * mail_header.c (cleaning remote text, header fields with folding, phrases
 * and RFC 2047 encoded-words) share. Not for other modules.
 */
#ifndef REFSYNC_MAIL_INTERNAL_H
#define REFSYNC_MAIL_INTERNAL_H

#include "mail.h"
#include "util.h"

#include <stddef.h>

#define HEADER_LINE_MAX 78   /* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
#define ENCODED_WORD_MAX 75  /* RFC 2047 2: an encoded-word is at most 75 characters */
#define ENCODED_WORD_HEAD "=?UTF-8?B?"
#define ENCODED_WORD_OVERHEAD 12 /* "=?UTF-8?B?" + "?=" */
/*
 * The longest word of a display name or subject written as it is; a longer
 * one is encoded (an encoded-word can be split anywhere). Twice this (every
 * byte escaped in a quoted string) plus quotes and a separator fits on a
 * folded line.
 */
#define PLAIN_WORD_MAX 36

/* One header field being written, with its current line's length. */
struct header {
	struct buf *b;
	size_t col;    /* characters on the current line */
	int has_token; /* the current line holds a token after the field name */
};

/* Each is described where it is defined, in mail_header.c. */
char *clean_text(const char *s);
int header_begin(struct header *h, struct buf *b, const char *name);
int header_end(struct header *h);
int header_token(struct header *h, const char *s, size_t n);
int header_words(struct header *h, const char *s);
int subject_words_fit(const char *s);
int header_encoded(struct header *h, const char *s, size_t n);
int header_plain(const char *s);
int is_atext(unsigned char c);
int header_mailbox(struct header *h, const char *name, const char *address);
int header_from(struct buf *b, const char *from);

#endif
