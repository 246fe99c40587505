/*
 * lever_parse.h - the Lever objects refsync keeps, as parsed from
 * the remote's JSON by jstream, and the page parsers that produce them.
 * Strings are fixed-size (longer values are cut at a UTF-8 boundary), so a
 * record costs no allocation; lists (stage changes, tags) reuse their arrays
 * across records.
 */
#ifndef REFSYNC_LEVER_PARSE_H
#define REFSYNC_LEVER_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define ID_MAX 96
#define TEXT_MAX 512
#define URL_MAX 1024
#define TOKEN_MAX 1024

struct stage_change {
	char stage_id[ID_MAX];
	int64_t at;
	int has_at;
};

struct lever_opportunity {
	char id[ID_MAX];
	char name[TEXT_MAX];
	char email[TEXT_MAX];
	char phone[64];
	char stage_id[ID_MAX];
	char owner_id[ID_MAX], owner_name[TEXT_MAX], owner_email[TEXT_MAX];
	char posting_id[ID_MAX];
	char confidentiality[32];
	char archive_reason[ID_MAX];
	char url[URL_MAX];
	int64_t archived_at, created_at, updated_at, deleted_at; /* 0 = null */
	int anonymized;
	struct stage_change *changes;
	size_t n_changes, cap_changes;
	char (*tags)[TEXT_MAX];
	size_t n_tags, cap_tags;
	char *links;      /* newline-separated, NULL when none; owned by the parser, valid in the callback */
};

struct lever_posting {
	char id[ID_MAX];
	char text[TEXT_MAX];
	char state[32];
	char owner_id[ID_MAX];
	char hiring_manager_id[ID_MAX];
	int64_t updated_at;
	char (*tags)[TEXT_MAX];
	size_t n_tags, cap_tags;
};

/* stages, archive reasons, users, deleted records, notes share this shape */
struct lever_simple {
	char id[ID_MAX];
	char text[TEXT_MAX];   /* stage/reason text, user name, note text (its first TEXT_MAX - 1 bytes) */
	char *note;            /* notes: the whole text, or NULL; owned by the parser, valid in the callback */
	char type[32];         /* archive reason type */
	char status[32];
	char email[TEXT_MAX];  /* users */
	int64_t at;            /* deletedAt, note createdAt */
};

/* Paging facts of one page: Lever's next and hasNext. */
struct page_info {
	char next[TOKEN_MAX];
	int has_next;
	int records;
};

typedef int (*opportunity_fn)(void *ctx, const struct lever_opportunity *o);
typedef int (*posting_fn)(void *ctx, const struct lever_posting *p);
typedef int (*simple_fn)(void *ctx, const struct lever_simple *s);

enum lever_simple_kind { LS_STAGE, LS_ARCHIVE_REASON, LS_USER, LS_DELETED, LS_NOTE };

/*
 * Page parsers: call fn for every record of the page (a list envelope or a
 * single {"data": {...}} object), fill page. A callback returning non-0
 * stops the parse. Return 0, or -1 with err set (malformed JSON, or a
 * record without an id).
 */
int parse_opportunity_page(const char *data, size_t len, opportunity_fn fn, void *ctx,
			   struct page_info *page, char *err, size_t errlen);
int parse_posting_page(const char *data, size_t len, posting_fn fn, void *ctx, struct page_info *page,
		       char *err, size_t errlen);
int parse_simple_page(const char *data, size_t len, enum lever_simple_kind kind, simple_fn fn, void *ctx,
		      struct page_info *page, char *err, size_t errlen);

#endif
