/*
 * fuzz_crosschq_page.c - the Crosschq page parsers (sync/records.c over
 * sync/jstream.c) on arbitrary bytes: templates, requests, prospects.
 *
 * Input: one byte that picks the kind, then the page. The kind byte is one
 * of "trp" (template, request, prospect) in the seed corpus; any other byte
 * picks byte % 3. (byte / 3) % 4, when not 0, makes the callback stop the
 * parse at that record.
 *
 * Checked for every record: fixed-size strings NUL-terminated inside their
 * arrays, an id, hired one of -1/0/1. After the parse:
 * the error is a terminated string and the paging facts are sane.
 */
#include "fuzz_page.h"

#include <stdlib.h>
#include <string.h>

static int on_template(void *ctx, const struct cq_template *t)
{
	struct seen *s = ctx;
	CHECK_STR(t->id);
	CHECK_STR(t->name);
	CHECK_STR(t->ats_tag);
	CHECK_STR(t->jobrole);
	CHECK_STR(t->hm_name);
	CHECK_STR(t->hm_email);
	FUZZ_CHECK(t->id[0] != '\0');
	FUZZ_CHECK(t->is_default == 0 || t->is_default == 1);
	touch(s, t->ats_tag);
	return stop(s);
}

static int on_request(void *ctx, const struct cq_request *r)
{
	struct seen *s = ctx;
	CHECK_STR(r->id);
	CHECK_STR(r->external_id);
	CHECK_STR(r->template_id);
	CHECK_STR(r->status);
	CHECK_STR(r->first_name);
	CHECK_STR(r->last_name);
	CHECK_STR(r->email);
	CHECK_STR(r->hired_source);
	FUZZ_CHECK(r->id[0] != '\0');
	FUZZ_CHECK(r->hired >= -1 && r->hired <= 1);
	touch(s, r->external_id);
	if (r->report_url)
		touch(s, r->report_url);
	return stop(s);
}

static int on_prospect(void *ctx, const struct cq_prospect *p)
{
	struct seen *s = ctx;
	CHECK_STR(p->id);
	CHECK_STR(p->first_name);
	CHECK_STR(p->last_name);
	CHECK_STR(p->email);
	CHECK_STR(p->phone);
	CHECK_STR(p->job_title);
	CHECK_STR(p->source);
	CHECK_STR(p->tags);
	CHECK_STR(p->ats_id);
	FUZZ_CHECK(p->id[0] != '\0');
	touch(s, p->tags);
	return stop(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char kinds[] = "trp";
	if (size < 1)
		return 0;
	const char *found = memchr(kinds, data[0], sizeof kinds - 1);
	char kind = found ? *found : kinds[data[0] % 3];
	struct seen seen = { .stop_at = (data[0] / 3) % 4 };
	struct page_info page;
	char err[256];
	size_t len = size - 1;
	char *page_data = malloc(len ? len : 1);
	memcpy(page_data, data + 1, len);
	memset(&page, 0x5a, sizeof page);
	memset(err, 0x5a, sizeof err);

	int r;
	if (kind == 't')
		r = parse_template_page(page_data, len, on_template, &seen, &page, err, sizeof err);
	else if (kind == 'r')
		r = parse_request_page(page_data, len, on_request, &seen, &page, err, sizeof err);
	else
		r = parse_prospect_page(page_data, len, on_prospect, &seen, &page, err, sizeof err);

	check_parse(r, err, sizeof err, &page, &seen);
	free(page_data);
	return 0;
}
