/*
 * crosschq_parse.c - what Crosschq answers (crosschq-api.md section 1): a
 * Request (GET, list element, webhook body), the create's request_id, the
 * surveys and the account's limits. Crosschq's objects are small, so yajl's
 * tree API reads them; unknown fields are ignored, and a value of the wrong
 * type counts as absent.
 */
#include "crosschq.h"
#include "json_read.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#define PARSE_ERR_MAX 256

/* An ISO 8601 member as epoch ms, 0 when absent or unreadable. */
static int64_t when(yajl_val v, const char *key)
{
	const char *s = json_string(v, key);
	int64_t ms = 0;
	if (!s || parse_iso8601(s, &ms) || ms < 0)
		return 0;
	return ms;
}

/* An integer member (a number, or digits in a string as /partners/config/ writes them); def when neither. */
static long integer(yajl_val v, const char *key, long def)
{
	yajl_val x = json_member(v, key);
	if (x && YAJL_IS_INTEGER(x))
		return (long)YAJL_GET_INTEGER(x);
	if (x && YAJL_IS_DOUBLE(x))
		return (long)YAJL_GET_DOUBLE(x);
	const char *text = x && YAJL_IS_STRING(x) ? x->u.string : NULL;
	if (text) {
		char *end;
		long n = strtol(text, &end, 10);
		if (end != text && *end == '\0')
			return n;
	}
	return def;
}

/* Compare a status word with a known one, ignoring case and treating
 * space, '_' and '-' alike. */
static int word_is(const char *word, const char *known)
{
	for (; *word && *known; word++, known++) {
		char a = (char)tolower((unsigned char)*word), b = *known;
		if (a == '_' || a == '-')
			a = ' ';
		if (a != b)
			return 0;
	}
	return *word == '\0' && *known == '\0';
}

enum cq_state crosschq_state_of(const char *word, int progress, const char *report_url, int *known)
{
	static const char *const open_words[] = { "pending", "sent", "new", "open", "created", "started",
						  "in progress", "awaiting references", "awaiting candidate",
						  "requested", NULL };
	static const struct {
		const char *word;
		enum cq_state state;
	} final_words[] = { { "completed", CQ_COMPLETED }, { "complete", CQ_COMPLETED }, { "done", CQ_COMPLETED },
			    { "cancelled", CQ_CANCELLED }, { "canceled", CQ_CANCELLED }, { "expired", CQ_EXPIRED } };
	int k = 0;
	enum cq_state s = CQ_OPEN;
	if (word) {
		while (isspace((unsigned char)*word))
			word++;
		for (size_t i = 0; i < sizeof final_words / sizeof final_words[0] && !k; i++)
			if (word_is(word, final_words[i].word)) {
				s = final_words[i].state;
				k = 1;
			}
		for (size_t i = 0; open_words[i] && !k; i++)
			k = word_is(word, open_words[i]);
	}
	/* the production client's rule: progress 100 with a report is complete */
	if (s == CQ_OPEN && progress >= 100 && report_url && *report_url) {
		s = CQ_COMPLETED;
		k = 1;
	}
	if (known)
		*known = k || !word;
	return s;
}

const char *crosschq_state_name(enum cq_state s)
{
	switch (s) {
	case CQ_COMPLETED: return "completed";
	case CQ_CANCELLED: return "cancelled";
	case CQ_EXPIRED: return "expired";
	default: return "open";
	}
}

/* One Request object into r. 0, or -1 when it has no id. */
static int read_request(yajl_val v, struct cq_request *r)
{
	memset(r, 0, sizeof *r);
	yajl_val idv = json_member(v, "id");
	static char idbuf[32];
	if (idv && YAJL_IS_INTEGER(idv)) {
		snprintf(idbuf, sizeof idbuf, "%lld", (long long)YAJL_GET_INTEGER(idv));
		r->id = idbuf;
	} else {
		r->id = json_string(v, "id");
	}
	if (!r->id || !*r->id)
		return -1;
	yajl_val c = json_member(v, "candidate");
	r->first_name = json_string(c, "first_name");
	r->last_name = json_string(c, "last_name");
	r->email = json_string(c, "email");
	r->phone = json_string(c, "mobile_phone");
	r->job_position = json_string(v, "job_position");
	r->status_word = json_string(v, "status");
	long progress = integer(v, "progress", -1);
	r->progress = progress < 0 ? -1 : progress > 100 ? 100 : (int)progress;
	r->report_url = json_string(v, "report_url");
	if (r->report_url && !*r->report_url)
		r->report_url = NULL;
	r->state = crosschq_state_of(r->status_word, r->progress, r->report_url, &r->word_known);
	r->created_at = when(v, "created_at");
	r->updated_at = when(v, "updated_on");
	r->status_updated_at = when(v, "status_updated_on");
	yajl_val h = json_member(v, "hired");
	r->has_hired = h != NULL;
	r->hired = h && YAJL_IS_TRUE(h) ? 1 : h && YAJL_IS_FALSE(h) ? 0 : -1;
	return 0;
}

/* The records of a document: the object itself, a bare array, or a page's results. */
static yajl_val records_of(yajl_val doc, int *single)
{
	*single = 0;
	if (YAJL_IS_ARRAY(doc))
		return doc;
	yajl_val results = json_member(doc, "results");
	if (results && YAJL_IS_ARRAY(results))
		return results;
	*single = 1;
	return doc;
}

static yajl_val parse_doc(const char *data, size_t len, char *err, size_t errlen)
{
	char *text = xstrndup(data, len);
	char perr[PARSE_ERR_MAX];
	yajl_val doc = yajl_tree_parse(text, perr, sizeof perr);
	free(text);
	if (!doc) {
		char *nl = strchr(perr, '\n');
		if (nl)
			*nl = '\0';
		snprintf(err, errlen, "malformed JSON: %s", perr);
	}
	return doc;
}

/* The next page's URL of a page, into next. */
static void next_of(yajl_val doc, char *next, size_t next_len)
{
	if (!next)
		return;
	const char *n = json_string(doc, "next");
	snprintf(next, next_len, "%s", n && strlen(n) < next_len ? n : "");
}

int crosschq_requests_of(yajl_val doc, cq_request_fn fn, void *ctx, char *next, size_t next_len, char *err,
			 size_t errlen)
{
	err[0] = '\0';
	if (next && next_len)
		next[0] = '\0';
	int single, n = 0;
	yajl_val recs = records_of(doc, &single);
	size_t count = single ? 1 : recs->u.array.len;
	for (size_t i = 0; i < count; i++) {
		yajl_val v = single ? recs : recs->u.array.values[i];
		struct cq_request r;
		if (!YAJL_IS_OBJECT(v) || read_request(v, &r)) {
			snprintf(err, errlen, "a Crosschq request without an id (element %zu)", i);
			return -1;
		}
		if (fn && fn(ctx, &r))
			return -1;
		n++;
	}
	next_of(doc, next, next_len);
	return n;
}

int crosschq_parse_requests(const char *data, size_t len, cq_request_fn fn, void *ctx, char *next, size_t next_len,
			    char *err, size_t errlen)
{
	if (next && next_len)
		next[0] = '\0';
	yajl_val doc = parse_doc(data, len, err, errlen);
	if (!doc)
		return -1;
	int n = crosschq_requests_of(doc, fn, ctx, next, next_len, err, errlen);
	yajl_tree_free(doc);
	return n;
}

int crosschq_parse_prospects(const char *data, size_t len, cq_prospect_fn fn, void *ctx, char *next,
			     size_t next_len, char *err, size_t errlen)
{
	err[0] = '\0';
	if (next && next_len)
		next[0] = '\0';
	yajl_val doc = parse_doc(data, len, err, errlen);
	if (!doc)
		return -1;
	int single, n = 0;
	yajl_val recs = records_of(doc, &single);
	size_t count = single ? 1 : recs->u.array.len;
	for (size_t i = 0; i < count && n >= 0; i++) {
		yajl_val v = single ? recs : recs->u.array.values[i];
		struct cq_prospect p = { 0 };
		p.id = json_string(v, "id");
		if (!YAJL_IS_OBJECT(v) || !p.id || !*p.id) {
			snprintf(err, errlen, "a Crosschq prospect without an id (element %zu)", i);
			n = -1;
			break;
		}
		p.first_name = json_string(v, "first_name");
		p.last_name = json_string(v, "last_name");
		p.email = json_string(v, "email");
		p.phone = json_string(v, "mobile_phone");
		p.job_title = json_string(v, "job_title");
		p.source = json_string(v, "source");
		p.ats_id = json_string(v, "ats_id");
		p.created_at = when(v, "created_at");
		p.updated_at = when(v, "updated_on");
		yajl_val tags = json_member(v, "tags");
		struct buf t;
		buf_init(&t, 8192);
		for (size_t j = 0; tags && YAJL_IS_ARRAY(tags) && j < tags->u.array.len; j++) {
			yajl_val tv = tags->u.array.values[j];
			const char *tag = YAJL_IS_STRING(tv) ? tv->u.string : NULL;
			if (tag && !strchr(tag, '\n'))
				buf_printf(&t, "%s%s", t.len ? "\n" : "", tag);
		}
		p.tags = t.data;
		if (fn(ctx, &p))
			n = -1;
		else
			n++;
		buf_free(&t);
	}
	if (n >= 0)
		next_of(doc, next, next_len);
	yajl_tree_free(doc);
	return n;
}

int crosschq_parse_created_id(const char *data, size_t len, char *id, size_t id_len)
{
	char err[64];
	id[0] = '\0';
	yajl_val doc = parse_doc(data, len, err, sizeof err);
	yajl_val v = json_member(doc, "request_id");
	const char *text = v && YAJL_IS_STRING(v) ? v->u.string : NULL;
	if (text && *text && strlen(text) < id_len)
		snprintf(id, id_len, "%s", text);
	else if (v && YAJL_IS_INTEGER(v))
		snprintf(id, id_len, "%lld", (long long)YAJL_GET_INTEGER(v));
	yajl_tree_free(doc);
	return id[0] ? 0 : -1;
}

int crosschq_parse_jobrole(const char *data, size_t len, const char *codename, struct cq_limits *out, char *err,
			   size_t errlen)
{
	memset(out, 0, sizeof *out);
	out->min_reference_count = -1;
	yajl_val doc = parse_doc(data, len, err, errlen);
	if (!doc)
		return -1;
	yajl_val list = YAJL_IS_ARRAY(doc) ? doc : json_member(doc, "results");
	if (!list || !YAJL_IS_ARRAY(list)) {
		snprintf(err, errlen, "not a list of surveys");
		yajl_tree_free(doc);
		return -1;
	}
	for (size_t i = 0; i < list->u.array.len; i++) {
		yajl_val jr = list->u.array.values[i];
		const char *cn = json_string(jr, "codename");
		if (!cn || strcmp(cn, codename) != 0)
			continue;
		out->listed = 1;
		yajl_val rel = json_member(jr, "relationships");
		for (int r = 0; r < REL_COUNT; r++) {
			yajl_val one = json_member(rel, config_relationship_name((enum cq_relationship)r));
			if (!one || !YAJL_IS_OBJECT(one))
				continue;
			out->has[r] = 1;
			out->min[r] = (int)integer(one, "min", 0);
			out->max[r] = (int)integer(one, "max", 20);
		}
		break;
	}
	yajl_tree_free(doc);
	return 0;
}

int crosschq_parse_account_config(const char *data, size_t len, struct cq_limits *out, char *err, size_t errlen)
{
	yajl_val doc = parse_doc(data, len, err, errlen);
	if (!doc)
		return -1;
	yajl_val rels = json_member(doc, "relationships");
	if (!YAJL_IS_OBJECT(doc) || !rels || !YAJL_IS_ARRAY(rels)) {
		snprintf(err, errlen, "no relationships in the account config");
		yajl_tree_free(doc);
		return -1;
	}
	out->min_reference_count = (int)integer(doc, "min_reference_count", -1);
	for (size_t i = 0; i < rels->u.array.len; i++) {
		yajl_val one = rels->u.array.values[i];
		const char *id = json_string(one, "id"), *name = json_string(one, "name");
		for (int r = 0; r < REL_COUNT; r++) {
			const char *rn = config_relationship_name((enum cq_relationship)r);
			if ((id && strcasecmp(id, rn) == 0) || (name && strcasecmp(name, rn) == 0)) {
				if (!out->listed) {
					/* the survey's own limits win; these fill in */
					out->has[r] = 1;
					out->min[r] = (int)integer(one, "min", 0);
					out->max[r] = (int)integer(one, "max", 20);
				}
			}
		}
	}
	yajl_tree_free(doc);
	return 0;
}

/* Append the text of v (strings, numbers; arrays space-separated; objects as
 * "key: value; ...") to out, within n bytes. */
static void render_json(yajl_val v, char *out, size_t n, int depth)
{
	size_t used = strlen(out);
	if (!v || used + 1 >= n || depth > 8)
		return;
	if (YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v)) {
		snprintf(out + used, n - used, "%s", YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : YAJL_GET_NUMBER(v));
	} else if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++) {
			if (i)
				strncat(out, " ", n - strlen(out) - 1);
			render_json(v->u.array.values[i], out, n, depth + 1);
		}
	} else if (YAJL_IS_OBJECT(v)) {
		for (size_t i = 0; i < v->u.object.len; i++) {
			used = strlen(out);
			snprintf(out + used, n - used, "%s%s: ", i ? "; " : "", v->u.object.keys[i]);
			render_json(v->u.object.values[i], out, n, depth + 1);
		}
	}
}

/* See crosschq.h. */
void crosschq_error_line(const char *body, size_t len, char *out, size_t n)
{
	char perr[PARSE_ERR_MAX];
	yajl_val doc = parse_doc(body, len, perr, sizeof perr);
	const char *detail = json_string(doc, "detail");
	yajl_val errors = json_member(doc, "errors");
	if (detail) {
		snprintf(out, n, "%s", detail);
	} else if (errors) {
		out[0] = '\0';
		render_json(errors, out, n, 0);
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 32)
				*p = ' ';
	}
	yajl_tree_free(doc);
}
