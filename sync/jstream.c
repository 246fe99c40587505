/*
 * jstream.c - yajl callback parser producing per-record dotted paths.
 */
#include "jstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define MAX_DEPTH 32
#define MAX_PATH 256

struct frame {
	int is_array;
	size_t base;    /* path length when this container started */
};

struct state {
	const struct jstream_handler *h;
	struct frame stack[MAX_DEPTH];
	int depth;              /* number of open containers */
	int record_depth;       /* depth of the open record's object, 0 when none */
	int data_depth;         /* depth of the "data" array, 0 when none */
	int pending_data;       /* the last top-level key was "data" */
	char top_key[64];
	char path[MAX_PATH];
	size_t path_len;
	int failed;
	int too_deep;
	int skip_depth;         /* >0: ignore values under an over-long key at this depth */
};

static void path_truncate(struct state *s, size_t n)
{
	s->path_len = n;
	s->path[n] = '\0';
}

/* 1 while inside the value of a key too long to name. */
static int skipping(const struct state *s)
{
	return s->skip_depth && s->depth >= s->skip_depth;
}

static void scalar(struct state *s, enum jvalue_type type, const char *text, size_t len)
{
	if (skipping(s)) {
		/* nothing to report */
	} else if (s->record_depth) {
		if (s->h->field)
			s->h->field(s->h->ctx, s->path, type, text, len);
	} else if (s->depth == 1 && s->h->top_field) {
		s->h->top_field(s->h->ctx, s->top_key, type, text, len);
	}
	/* a scalar value ends a key inside an object: restore the path */
	if (s->depth > 0 && !s->stack[s->depth - 1].is_array)
		path_truncate(s, s->stack[s->depth - 1].base);
}

static int cb_null(void *ctx)
{
	scalar(ctx, JV_NULL, "null", 4);
	return 1;
}

static int cb_bool(void *ctx, int v)
{
	scalar(ctx, JV_BOOL, v ? "true" : "false", v ? 4 : 5);
	return 1;
}

static int cb_number(void *ctx, const char *text, size_t len)
{
	scalar(ctx, JV_NUMBER, text, len);
	return 1;
}

static int cb_string(void *ctx, const unsigned char *text, size_t len)
{
	scalar(ctx, JV_STRING, (const char *)text, len);
	return 1;
}

static int push(struct state *s, int is_array)
{
	if (s->depth >= MAX_DEPTH) {
		s->too_deep = 1;
		return 0;
	}
	s->stack[s->depth].is_array = is_array;
	s->stack[s->depth].base = s->path_len;
	s->depth++;
	return 1;
}

static int cb_start_map(void *ctx)
{
	struct state *s = ctx;
	int starts_record = 0;
	if (!s->record_depth) {
		/* {"data": {...}} at depth 1, or an element of the data array */
		if ((s->depth == 1 && s->pending_data) || (s->data_depth && s->depth == s->data_depth))
			starts_record = 1;
	}
	if (!push(s, 0))
		return 0;
	if (starts_record) {
		s->record_depth = s->depth;
		path_truncate(s, 0);
		s->stack[s->depth - 1].base = 0;
		if (s->h->record_start)
			s->h->record_start(s->h->ctx);
	} else if (s->record_depth && s->h->object_start && !skipping(s)) {
		s->h->object_start(s->h->ctx, s->path);
	}
	return 1;
}

static int cb_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct state *s = ctx;
	struct frame *f = &s->stack[s->depth - 1];
	if (s->depth == 1) {
		size_t n = len < sizeof s->top_key - 1 ? len : sizeof s->top_key - 1;
		memcpy(s->top_key, key, n);
		s->top_key[n] = '\0';
		s->pending_data = strcmp(s->top_key, "data") == 0;
		return 1;
	}
	if (!s->record_depth)
		return 1;
	if (s->skip_depth == s->depth)
		s->skip_depth = 0; /* a new key of the object that held the long one */
	if (skipping(s))
		return 1;
	path_truncate(s, f->base);
	size_t need = (f->base ? 1 : 0) + len;
	if (f->base + need >= MAX_PATH) {
		/* absurdly long key path: its value (whatever it holds) is ignored,
		 * never reported under another path */
		s->skip_depth = s->depth;
		return 1;
	}
	if (f->base)
		s->path[s->path_len++] = '.';
	memcpy(s->path + s->path_len, key, len);
	path_truncate(s, s->path_len + len);
	return 1;
}

static int end_container(struct state *s)
{
	if (s->depth == 0)
		return 0;
	int closing = s->depth;
	s->depth--;
	if (s->skip_depth && s->depth < s->skip_depth)
		s->skip_depth = 0;
	if (s->record_depth && closing == s->record_depth) {
		s->record_depth = 0;
		path_truncate(s, 0);
		if (s->h->record_end && s->h->record_end(s->h->ctx)) {
			s->failed = 1;
			return 0;
		}
	} else if (s->data_depth && closing == s->data_depth) {
		s->data_depth = 0;
	}
	/* the container was a value of a key in an object: restore the path */
	if (s->depth > 0 && !s->stack[s->depth - 1].is_array)
		path_truncate(s, s->record_depth ? s->stack[s->depth - 1].base : 0);
	if (s->depth == 1)
		s->pending_data = 0;
	return 1;
}

static int cb_end_map(void *ctx)
{
	return end_container(ctx);
}

static int cb_start_array(void *ctx)
{
	struct state *s = ctx;
	int is_data = !s->record_depth && s->depth == 1 && s->pending_data;
	if (!push(s, 1))
		return 0;
	if (is_data)
		s->data_depth = s->depth;
	return 1;
}

static int cb_end_array(void *ctx)
{
	return end_container(ctx);
}

static const yajl_callbacks callbacks = {
	.yajl_null = cb_null,
	.yajl_boolean = cb_bool,
	.yajl_number = cb_number,
	.yajl_string = cb_string,
	.yajl_start_map = cb_start_map,
	.yajl_map_key = cb_map_key,
	.yajl_end_map = cb_end_map,
	.yajl_start_array = cb_start_array,
	.yajl_end_array = cb_end_array,
};

int jstream_parse(const char *data, size_t len, const struct jstream_handler *h, char *err, size_t errlen)
{
	struct state s;
	memset(&s, 0, sizeof s);
	s.h = h;
	size_t blank = 0;
	while (blank < len && (data[blank] == ' ' || data[blank] == '\t' || data[blank] == '\r' || data[blank] == '\n'))
		blank++;
	if (blank == len) {
		snprintf(err, errlen, "empty body where JSON was expected");
		return -1;
	}
	yajl_handle y = yajl_alloc(&callbacks, NULL, &s);
	if (!y) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	yajl_status st = yajl_parse(y, (const unsigned char *)data, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(y);
	int r = 0;
	if (st != yajl_status_ok) {
		if (s.failed) {
			snprintf(err, errlen, "a record could not be stored");
		} else if (s.too_deep) {
			snprintf(err, errlen, "JSON nested deeper than %d levels", MAX_DEPTH);
		} else {
			unsigned char *msg = yajl_get_error(y, 0, NULL, 0);
			snprintf(err, errlen, "malformed JSON: %s", msg ? (const char *)msg : "?");
			if (msg)
				yajl_free_error(y, msg);
			/* one line: yajl ends its message with a newline */
			size_t n = strlen(err);
			while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r' || err[n - 1] == ' '))
				err[--n] = '\0';
		}
		r = -1;
	}
	yajl_free(y);
	return r;
}
