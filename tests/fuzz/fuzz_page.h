/*
 * fuzz_page.h - what the two page-parser targets (fuzz_lever_page.c,
 * fuzz_crosschq_page.c) share: the callbacks' bookkeeping and the checks
 * made after every parse. Header-only (static inline).
 */
#ifndef REFSYNC_FUZZ_PAGE_H
#define REFSYNC_FUZZ_PAGE_H

#include "fuzz.h"
#include "lever_parse.h"

#include <string.h>

/* What the callbacks are told to do and what they saw. */
struct seen {
	int stop_at;   /* return 1 from this record on (1-based), 0 never */
	int records;
	unsigned long checksum; /* keeps the reads below from being optimized out */
};

/* A fixed-size string field must hold its NUL. */
#define CHECK_STR(field) FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

/* Read every byte of a string (so ASan sees reads past it) and fold it in. */
static inline void touch(struct seen *s, const char *str)
{
	for (const char *p = str; *p; p++)
		s->checksum = s->checksum * 31 + (unsigned char)*p;
}

/* Count a record; 1 (stop the parse) once stop_at records were seen. */
static inline int stop(struct seen *s)
{
	s->records++;
	return s->stop_at && s->records >= s->stop_at;
}

/* After a parse that returned r: the error is a terminated string, the
 * paging facts are sane, and a stop asked for by a callback was obeyed. */
static inline void check_parse(int r, const char *err, size_t errlen, const struct page_info *page,
			       const struct seen *seen)
{
	FUZZ_CHECK(r == 0 || r == -1);
	if (r)
		FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
	CHECK_STR(page->next);
	FUZZ_CHECK(page->has_next == 0 || page->has_next == 1);
	FUZZ_CHECK(page->records == seen->records);
	if (seen->stop_at && seen->records >= seen->stop_at)
		FUZZ_CHECK(r == -1);
}

#endif
