/*
 * fuzz_crosschq_page.c - what refsync reads from Crosschq (sync/crosschq_parse.c)
 * on arbitrary bytes: Requests (a GET answer, a webhook body, a list page),
 * prospects, the create's answer, the surveys and the account config.
 *
 * Input: one byte that picks the kind, then the document. The kind byte is
 * one of "rpcjk" (requests, prospects, created id, jobroles, account config)
 * in the seed corpus; any other byte picks byte % 5. (byte / 5) % 4, when
 * not 0, makes the callback stop the parse at that record.
 *
 * Checked for every record: an id, strings readable to their NUL, the state,
 * progress and hired in range. After the parse: the count agrees with the
 * records seen, a stop was obeyed, the error and next URL are terminated.
 */
#include "fuzz.h"
#include "crosschq.h"

#include <stdlib.h>
#include <string.h>

struct seen {
	int stop_at, records;
	unsigned long checksum;
};

static void touch(struct seen *s, const char *str)
{
	for (const char *p = str; p && *p; p++)
		s->checksum = s->checksum * 31 + (unsigned char)*p;
}

static int stop(struct seen *s)
{
	s->records++;
	return s->stop_at && s->records >= s->stop_at;
}

static int on_request(void *ctx, const struct cq_request *r)
{
	struct seen *s = ctx;
	FUZZ_CHECK(r->id && r->id[0]);
	const char *strs[] = { r->id, r->first_name, r->last_name, r->email, r->phone, r->job_position,
			       r->status_word, r->report_url };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		touch(s, strs[i]);
	FUZZ_CHECK(r->state >= CQ_OPEN && r->state <= CQ_EXPIRED);
	FUZZ_CHECK(r->progress >= -1 && r->progress <= 100);
	FUZZ_CHECK(r->hired >= -1 && r->hired <= 1);
	FUZZ_CHECK(r->has_hired == 0 || r->has_hired == 1);
	FUZZ_CHECK(r->word_known == 0 || r->word_known == 1);
	FUZZ_CHECK(r->created_at >= 0 && r->updated_at >= 0 && r->status_updated_at >= 0);
	return stop(s);
}

static int on_prospect(void *ctx, const struct cq_prospect *p)
{
	struct seen *s = ctx;
	FUZZ_CHECK(p->id && p->id[0]);
	const char *strs[] = { p->id, p->first_name, p->last_name, p->email, p->phone, p->job_title, p->source,
			       p->ats_id, p->tags };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		touch(s, strs[i]);
	return stop(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char kinds[] = "rpcjk";
	if (size < 1)
		return 0;
	const char *found = memchr(kinds, data[0], sizeof kinds - 1);
	char kind = found ? *found : kinds[data[0] % 5];
	struct seen seen = { .stop_at = (data[0] / 5) % 4 };
	size_t len = size - 1;
	char *doc = malloc(len ? len : 1);
	memcpy(doc, data + 1, len);
	char err[256], next[512];
	memset(err, 0x5a, sizeof err);
	memset(next, 0x5a, sizeof next);
	if (kind == 'r' || kind == 'p') {
		int n = kind == 'r' ? crosschq_parse_requests(doc, len, on_request, &seen, next, sizeof next, err, sizeof err)
				    : crosschq_parse_prospects(doc, len, on_prospect, &seen, next, sizeof next, err,
							       sizeof err);
		FUZZ_CHECK(n >= -1);
		FUZZ_CHECK(memchr(next, '\0', sizeof next) != NULL);
		if (n >= 0)
			FUZZ_CHECK(n == seen.records);
		else
			FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		if (seen.stop_at && seen.records >= seen.stop_at)
			FUZZ_CHECK(n == -1);
	} else if (kind == 'c') {
		char id[CQ_ID_MAX];
		if (crosschq_parse_created_id(doc, len, id, sizeof id) == 0)
			FUZZ_CHECK(id[0] && memchr(id, '\0', sizeof id));
	} else {
		struct cq_limits l;
		memset(&l, 0, sizeof l);
		int r = kind == 'j' ? crosschq_parse_jobrole(doc, len, "generic", &l, err, sizeof err)
				    : crosschq_parse_account_config(doc, len, &l, err, sizeof err);
		FUZZ_CHECK(r == 0 || r == -1);
		if (r)
			FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		FUZZ_CHECK(l.listed == 0 || l.listed == 1);
	}
	free(doc);
	return 0;
}
