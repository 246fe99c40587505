/*
 * lever_parse.c - the Lever page parsers: table-driven mapping from jstream paths to record fields.
 * Lever times are epoch ms numbers; Crosschq times are ISO 8601 strings.
 * Fields may come as an id string or as an expanded object ({id, ...}):
 * both are listed in the tables.
 */
#include "lever_parse.h"
#include "escape.h"
#include "jstream.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_kind {
	F_STR,        /* copy a string (first occurrence wins when F_FIRST) */
	F_FIRST,      /* copy the first string of a list */
	F_MS,         /* epoch ms number; null => 0 */
	F_ISO,        /* ISO 8601 string => epoch ms; null => 0 */
	F_BOOL,       /* true/false => 1/0 */
	F_TRISTATE,   /* true/false/null => 1/0/-1 */
	F_LINES,      /* append a string as a line */
	F_DSTR,       /* a char * member: a malloc'd copy of a string, any length */
	F_DLINES      /* a char * member: append a string as a line, up to DYN_LINES_MAX */
};

/* The most of one record's text kept by F_DLINES (a Lever note is far shorter). */
#define DYN_LINES_MAX (1024 * 1024)

struct field_spec {
	const char *path;
	enum field_kind kind;
	size_t offset;
	size_t size;
};

#define FS(path, kind, type, member) { path, kind, offsetof(type, member), sizeof(((type *)0)->member) }

/* Copy len bytes of text into dst (size), cut at a UTF-8 boundary. */
static void copy_text(char *dst, size_t size, const char *text, size_t len)
{
	if (len >= size)
		len = utf8_cut(text, len, size - 1);
	memcpy(dst, text, len);
	dst[len] = '\0';
}

static int64_t parse_ms(const char *text, size_t len)
{
	char tmp[40];
	if (len >= sizeof tmp)
		return 0;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	/* epoch ms; anything outside 1970..9999 (or not a number) is no time */
	char *end;
	double d = strtod(tmp, &end);
	if (end == tmp || !(d > 0) || d > 253402300799999.0)
		return 0;
	return (int64_t)d;
}

static int64_t parse_iso(const char *text, size_t len)
{
	char tmp[64];
	int64_t ms = 0;
	if (len >= sizeof tmp)
		return 0;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	return parse_iso8601(tmp, &ms) == 0 ? ms : 0;
}

/* Free the char * members of a record (F_DSTR, F_DLINES) and set them NULL. */
static void free_dynamic(const struct field_spec *specs, void *rec)
{
	for (const struct field_spec *f = specs; f->path; f++) {
		if (f->kind == F_DSTR || f->kind == F_DLINES) {
			char **p = (char **)((char *)rec + f->offset);
			free(*p);
			*p = NULL;
		}
	}
}

/* Append text (len bytes) to *p as a new line, unless the whole would pass DYN_LINES_MAX. */
static void dyn_append_line(char **p, const char *text, size_t len)
{
	size_t used = *p ? strlen(*p) : 0;
	if (used + len + 2 > DYN_LINES_MAX)
		return;
	char *n = xrealloc(*p, used + len + 2);
	if (used)
		n[used++] = '\n';
	memcpy(n + used, text, len);
	n[used + len] = '\0';
	*p = n;
}

/* The specs of a table by the hash of their path: most scalars of an
 * expanded record match no spec, and a linear scan with strcmp was a tenth
 * of a backfill's CPU. Built on first use; slot holds spec index + 1. */
#define FIELD_SLOTS 128
#define FIELD_TABLES 16
struct field_index {
	const struct field_spec *specs;
	unsigned char slot[FIELD_SLOTS];
};

static unsigned field_hash(const char *path)
{
	unsigned h = 2166136261u; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h & (FIELD_SLOTS - 1);
}

/* The index of specs, or NULL when it cannot have one (then scan). */
static const struct field_index *field_index_of(const struct field_spec *specs)
{
	static struct field_index tables[FIELD_TABLES];
	for (int t = 0; t < FIELD_TABLES; t++) {
		struct field_index *x = &tables[t];
		if (x->specs == specs)
			return x;
		if (x->specs)
			continue;
		size_t n = 0;
		while (specs[n].path)
			n++;
		if (2 * n > FIELD_SLOTS || n > 255)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			unsigned h = field_hash(specs[i].path);
			while (x->slot[h])
				h = (h + 1) & (FIELD_SLOTS - 1);
			x->slot[h] = (unsigned char)(i + 1);
		}
		x->specs = specs;
		return x;
	}
	return NULL;
}

static void apply_spec(const struct field_spec *f, void *rec, enum jvalue_type type, const char *text, size_t len);

/* Apply a scalar to the record per the table (every spec of that path).
 * Returns 1 when a spec matched. */
static int apply_field(const struct field_spec *specs, void *rec, const char *path, enum jvalue_type type,
		       const char *text, size_t len)
{
	int matched = 0;
	const struct field_index *x = field_index_of(specs);
	if (x) {
		for (unsigned h = field_hash(path); x->slot[h]; h = (h + 1) & (FIELD_SLOTS - 1)) {
			const struct field_spec *f = &specs[x->slot[h] - 1];
			if (strcmp(f->path, path) == 0) {
				matched = 1;
				apply_spec(f, rec, type, text, len);
			}
		}
		return matched;
	}
	for (const struct field_spec *f = specs; f->path; f++) {
		if (f->path[0] == path[0] && strcmp(f->path, path) == 0) {
			matched = 1;
			apply_spec(f, rec, type, text, len);
		}
	}
	return matched;
}

/* Apply a scalar to the record member that spec f describes. */
static void apply_spec(const struct field_spec *f, void *rec, enum jvalue_type type, const char *text, size_t len)
{
	char *p = (char *)rec + f->offset;
	switch (f->kind) {
	case F_DSTR:
		if (type == JV_STRING || type == JV_NUMBER) {
			free(*(char **)p);
			*(char **)p = xstrndup(text, len);
		} else if (type == JV_NULL) {
			free(*(char **)p);
			*(char **)p = NULL;
		}
		break;
	case F_DLINES:
		if (type == JV_STRING)
			dyn_append_line((char **)p, text, len);
		break;
	case F_STR:
		if (type == JV_STRING || type == JV_NUMBER)
			copy_text(p, f->size, text, len);
		break;
	case F_FIRST:
		if (type == JV_STRING && p[0] == '\0')
			copy_text(p, f->size, text, len);
		break;
	case F_MS:
		if (type == JV_NUMBER)
			*(int64_t *)p = parse_ms(text, len);
		else if (type == JV_STRING) /* tolerate ISO strings too */
			*(int64_t *)p = parse_iso(text, len);
		break;
	case F_ISO:
		if (type == JV_STRING)
			*(int64_t *)p = parse_iso(text, len);
		else if (type == JV_NUMBER)
			*(int64_t *)p = parse_ms(text, len);
		break;
	case F_BOOL:
		*(int *)p = type == JV_BOOL && text[0] == 't';
		break;
	case F_TRISTATE:
		*(int *)p = type == JV_BOOL ? (text[0] == 't') : -1;
		break;
	case F_LINES:
		if (type == JV_STRING) {
			size_t used = strlen(p);
			if (used + len + 2 < f->size) {
				if (used)
					p[used++] = '\n';
				copy_text(p + used, f->size - used, text, len);
			}
		}
		break;
	}
}

static void top_field(struct page_info *page, const char *key, enum jvalue_type type, const char *text, size_t len)
{
	if ((strcmp(key, "next") == 0 || strcmp(key, "next_cursor") == 0) && type == JV_STRING) {
		copy_text(page->next, sizeof page->next, text, len);
		if (strcmp(key, "next_cursor") == 0)
			page->has_next = len > 0;
	} else if (strcmp(key, "hasNext") == 0) {
		page->has_next = type == JV_BOOL && text[0] == 't';
	}
}

static void page_reset(struct page_info *page)
{
	page->next[0] = '\0';
	page->has_next = 0;
	page->records = 0;
}

/* Grow a tag array by one and return the new slot. */
static char *push_tag(char (**tags)[TEXT_MAX], size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*tags = xrealloc(*tags, *cap * sizeof **tags);
	}
	return (*tags)[(*n)++];
}

/* ---- Lever opportunities ------------------------------------------------ */

#define OPP(path, kind, member) FS(path, kind, struct lever_opportunity, member)
static const struct field_spec opportunity_fields[] = {
	OPP("id", F_STR, id),
	OPP("name", F_STR, name),
	OPP("emails", F_FIRST, email),
	OPP("phones.value", F_FIRST, phone),
	OPP("stage", F_STR, stage_id),
	OPP("stage.id", F_STR, stage_id),
	OPP("owner", F_STR, owner_id),
	OPP("owner.id", F_STR, owner_id),
	OPP("owner.name", F_STR, owner_name),
	OPP("owner.email", F_STR, owner_email),
	OPP("applications.posting", F_FIRST, posting_id),
	OPP("applications.posting.id", F_FIRST, posting_id),
	OPP("confidentiality", F_STR, confidentiality),
	OPP("archived.reason", F_STR, archive_reason),
	OPP("archived.archivedAt", F_MS, archived_at),
	OPP("archiveReason", F_STR, archive_reason),  /* legacy top-level form */
	OPP("archivedAt", F_MS, archived_at),
	OPP("urls.show", F_STR, url),
	OPP("createdAt", F_MS, created_at),
	OPP("updatedAt", F_MS, updated_at),
	OPP("deletedAt", F_MS, deleted_at),
	OPP("isAnonymized", F_BOOL, anonymized),
	OPP("links", F_DLINES, links),
	{ NULL, 0, 0, 0 }
};

struct opp_ctx {
	struct lever_opportunity rec;
	opportunity_fn fn;
	void *user;
	struct page_info *page;
	int missing_id;
};

static void opp_start(void *ctx)
{
	struct opp_ctx *c = ctx;
	struct lever_opportunity *o = &c->rec;
	free_dynamic(opportunity_fields, o);
	struct stage_change *changes = o->changes;
	size_t cap_changes = o->cap_changes, cap_tags = o->cap_tags;
	char (*tags)[TEXT_MAX] = o->tags;
	memset(o, 0, sizeof *o);
	o->changes = changes;
	o->cap_changes = cap_changes;
	o->tags = tags;
	o->cap_tags = cap_tags;
}

static void opp_object(void *ctx, const char *path)
{
	struct opp_ctx *c = ctx;
	struct lever_opportunity *o = &c->rec;
	if (strcmp(path, "stageChanges") == 0) {
		if (o->n_changes == o->cap_changes) {
			o->cap_changes = o->cap_changes ? o->cap_changes * 2 : 8;
			o->changes = xrealloc(o->changes, o->cap_changes * sizeof *o->changes);
		}
		memset(&o->changes[o->n_changes++], 0, sizeof *o->changes);
	}
}

static void opp_field(void *ctx, const char *path, enum jvalue_type type, const char *text, size_t len)
{
	struct opp_ctx *c = ctx;
	struct lever_opportunity *o = &c->rec;
	if (path[0] == 's' && strncmp(path, "stageChanges.", 13) == 0) {
		if (!o->n_changes)
			return;
		struct stage_change *sc = &o->changes[o->n_changes - 1];
		if (strcmp(path + 13, "toStageId") == 0 && type == JV_STRING)
			copy_text(sc->stage_id, sizeof sc->stage_id, text, len);
		else if (strcmp(path + 13, "updatedAt") == 0 && type == JV_NUMBER) {
			sc->at = parse_ms(text, len);
			sc->has_at = sc->at > 0;
		}
		return;
	}
	if (strcmp(path, "tags") == 0) {
		if (type == JV_STRING)
			copy_text(push_tag(&o->tags, &o->n_tags, &o->cap_tags), TEXT_MAX, text, len);
		return;
	}
	apply_field(opportunity_fields, o, path, type, text, len);
}

static int opp_end(void *ctx)
{
	struct opp_ctx *c = ctx;
	if (!c->rec.id[0]) {
		c->missing_id = 1;
		return -1;
	}
	c->page->records++;
	return c->fn(c->user, &c->rec);
}

static void opp_top(void *ctx, const char *key, enum jvalue_type type, const char *text, size_t len)
{
	top_field(((struct opp_ctx *)ctx)->page, key, type, text, len);
}

int parse_opportunity_page(const char *data, size_t len, opportunity_fn fn, void *ctx, struct page_info *page,
			   char *err, size_t errlen)
{
	struct opp_ctx c;
	memset(&c, 0, sizeof c);
	c.fn = fn;
	c.user = ctx;
	c.page = page;
	page_reset(page);
	struct jstream_handler h = { &c, opp_start, opp_end, opp_object, opp_field, opp_top };
	int r = jstream_parse(data, len, &h, err, errlen);
	if (r && c.missing_id)
		snprintf(err, errlen, "an opportunity without an id");
	free(c.rec.changes);
	free(c.rec.tags);
	free_dynamic(opportunity_fields, &c.rec);
	return r;
}

/* ---- Generic single-struct records -------------------------------------- */

/* A parse context for record types whose fields are all in a table, plus
 * an optional "tags" list. */
struct table_ctx;
struct table_ctx {
	const struct field_spec *specs;
	void *rec;
	size_t rec_size;
	const char *tags_path;                   /* NULL when none */
	char (**tags)[TEXT_MAX];
	size_t *n_tags, *cap_tags;
	int (*emit)(const struct table_ctx *c); /* calls fn with its real type */
	void (*fn)(void);
	void *user;
	struct page_info *page;
	int missing_id;
	void (*init)(void *rec);
};


/* Emitters: cast the stored callback back to its real type. */
static int emit_posting(const struct table_ctx *c)
{
	return ((posting_fn)c->fn)(c->user, (const struct lever_posting *)c->rec);
}

static int emit_simple(const struct table_ctx *c)
{
	return ((simple_fn)c->fn)(c->user, (const struct lever_simple *)c->rec);
}

static void table_start(void *ctx)
{
	struct table_ctx *c = ctx;
	free_dynamic(c->specs, c->rec);
	if (c->tags) {
		char (*tags)[TEXT_MAX] = *c->tags;
		size_t cap = *c->cap_tags;
		memset(c->rec, 0, c->rec_size);
		*c->tags = tags;
		*c->cap_tags = cap;
		*c->n_tags = 0;
	} else {
		memset(c->rec, 0, c->rec_size);
	}
	if (c->init)
		c->init(c->rec);
}

static void table_field(void *ctx, const char *path, enum jvalue_type type, const char *text, size_t len)
{
	struct table_ctx *c = ctx;
	if (c->tags_path && strcmp(path, c->tags_path) == 0) {
		if (type == JV_STRING)
			copy_text(push_tag(c->tags, c->n_tags, c->cap_tags), TEXT_MAX, text, len);
		return;
	}
	apply_field(c->specs, c->rec, path, type, text, len);
}

static int table_end(void *ctx)
{
	struct table_ctx *c = ctx;
	/* every record type starts with its id */
	if (!((const char *)c->rec)[0]) {
		c->missing_id = 1;
		return -1;
	}
	c->page->records++;
	return c->emit(c);
}

static void table_top(void *ctx, const char *key, enum jvalue_type type, const char *text, size_t len)
{
	top_field(((struct table_ctx *)ctx)->page, key, type, text, len);
}

static int table_parse(struct table_ctx *c, const char *data, size_t len, const char *what, char *err,
		       size_t errlen)
{
	page_reset(c->page);
	struct jstream_handler h = { c, table_start, table_end, NULL, table_field, table_top };
	memset(c->rec, 0, c->rec_size);
	int r = jstream_parse(data, len, &h, err, errlen);
	free_dynamic(c->specs, c->rec);
	if (r && c->missing_id)
		snprintf(err, errlen, "%s without an id", what);
	return r;
}

/* ---- Lever postings ------------------------------------------------------ */

#define POST(path, kind, member) FS(path, kind, struct lever_posting, member)
static const struct field_spec posting_fields[] = {
	POST("id", F_STR, id),
	POST("text", F_STR, text),
	POST("state", F_STR, state),
	POST("owner", F_STR, owner_id),
	POST("owner.id", F_STR, owner_id),
	POST("hiringManager", F_STR, hiring_manager_id),
	POST("hiringManager.id", F_STR, hiring_manager_id),
	POST("updatedAt", F_MS, updated_at),
	{ NULL, 0, 0, 0 }
};

int parse_posting_page(const char *data, size_t len, posting_fn fn, void *ctx, struct page_info *page,
		       char *err, size_t errlen)
{
	struct lever_posting rec;
	memset(&rec, 0, sizeof rec);
	struct table_ctx c = { posting_fields, &rec, sizeof rec, "tags", &rec.tags, &rec.n_tags, &rec.cap_tags,
			       emit_posting, (void (*)(void))fn, ctx, page, 0, NULL };
	int r = table_parse(&c, data, len, "a posting", err, errlen);
	free(rec.tags);
	return r;
}

/* ---- Lever stages, archive reasons, users, deleted, notes ---------------- */

#define SIMPLE(path, kind, member) FS(path, kind, struct lever_simple, member)
static const struct field_spec stage_fields[] = {
	SIMPLE("id", F_STR, id), SIMPLE("text", F_STR, text), { NULL, 0, 0, 0 }
};
static const struct field_spec reason_fields[] = {
	SIMPLE("id", F_STR, id), SIMPLE("text", F_STR, text), SIMPLE("type", F_STR, type),
	SIMPLE("status", F_STR, status), { NULL, 0, 0, 0 }
};
static const struct field_spec user_fields[] = {
	SIMPLE("id", F_STR, id), SIMPLE("name", F_STR, text), SIMPLE("email", F_STR, email),
	{ NULL, 0, 0, 0 }
};
static const struct field_spec deleted_fields[] = {
	SIMPLE("id", F_STR, id), SIMPLE("deletedAt", F_MS, at), { NULL, 0, 0, 0 }
};
/* notes: the text is in value (POST) or fields[].value / text (GET) */
static const struct field_spec note_fields[] = {
	SIMPLE("id", F_STR, id), SIMPLE("noteId", F_STR, id), SIMPLE("text", F_LINES, text),
	SIMPLE("value", F_LINES, text), SIMPLE("fields.value", F_LINES, text),
	SIMPLE("fields.text", F_LINES, text), SIMPLE("text", F_DLINES, note), SIMPLE("value", F_DLINES, note),
	SIMPLE("fields.value", F_DLINES, note), SIMPLE("fields.text", F_DLINES, note),
	SIMPLE("createdAt", F_MS, at), { NULL, 0, 0, 0 }
};

int parse_simple_page(const char *data, size_t len, enum lever_simple_kind kind, simple_fn fn, void *ctx,
		      struct page_info *page, char *err, size_t errlen)
{
	static const struct field_spec *tables[] = {
		[LS_STAGE] = stage_fields, [LS_ARCHIVE_REASON] = reason_fields, [LS_USER] = user_fields,
		[LS_DELETED] = deleted_fields, [LS_NOTE] = note_fields,
	};
	static const char *names[] = {
		[LS_STAGE] = "a stage", [LS_ARCHIVE_REASON] = "an archive reason", [LS_USER] = "a user",
		[LS_DELETED] = "a deleted opportunity", [LS_NOTE] = "a note",
	};
	struct lever_simple rec;
	struct table_ctx c = { tables[kind], &rec, sizeof rec, NULL, NULL, NULL, NULL,
			       emit_simple, (void (*)(void))fn, ctx, page, 0, NULL };
	return table_parse(&c, data, len, names[kind], err, errlen);
}
