/*
 * buf.h - bounded growable byte buffers (the in-memory destination of
 * text: escape.h's sink_for_buf writes into one), allocation that aborts
 * rather than fail, and small string helpers (buf.c).
 */
#ifndef REFSYNC_BUF_H
#define REFSYNC_BUF_H

#include <stddef.h>

/*
 * A growable byte buffer with a hard maximum set at birth (curl's dynbuf
 * habit): nothing grows without bound because a remote sent more.
 * data is always NUL-terminated when len > 0 or after buf_reset.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Returns 0, or -1 when appending would exceed max or memory ran out. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appendz(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* malloc/strdup that abort with a message when memory runs out. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Copy with truncation, always NUL-terminated. Returns strlen(src). */
size_t strlcpy_(char *dst, const char *src, size_t size);

/* Case-insensitive ASCII equality; NULL equals only NULL. */
int str_ieq(const char *a, const char *b);

/* 1 when s (may be NULL) is NULL or empty. */
int str_empty(const char *s);

/* The canonical form of an email address, for searching and comparing: the
 * surrounding white space removed, ASCII letters lowercased. malloc'd;
 * NULL stays NULL. */
char *email_canonical(const char *email);

#endif
