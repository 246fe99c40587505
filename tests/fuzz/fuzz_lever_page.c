/*
 * fuzz_lever_page.c - the Lever page parsers (sync/lever_parse.c over
 * sync/jstream.c) on arbitrary bytes: opportunities, postings, and the five
 * "simple" kinds (stages, archive reasons, users, deleted opportunities,
 * notes).
 *
 * Input: one byte that picks the kind, then the page as the API would send
 * it. The kind byte is one of "opsaudn" (opportunity, posting, stage,
 * archive reason, user, deleted, note) in the seed corpus; any other byte
 * picks byte % 7. (byte / 7) % 4, when not 0, makes the callback stop the
 * parse at that record, as a failing store would.
 *
 * Checked for every record handed to a callback: each fixed-size string is
 * NUL-terminated inside its array, the lists are readable to their counts,
 * and a record has an id. After the parse: the error is a terminated string
 * and the paging facts are sane.
 */
#include "fuzz_page.h"

#include <stdlib.h>
#include <string.h>

static int on_opportunity(void *ctx, const struct lever_opportunity *o)
{
	struct seen *s = ctx;
	CHECK_STR(o->id);
	CHECK_STR(o->name);
	CHECK_STR(o->email);
	CHECK_STR(o->phone);
	CHECK_STR(o->stage_id);
	CHECK_STR(o->owner_id);
	CHECK_STR(o->owner_name);
	CHECK_STR(o->owner_email);
	CHECK_STR(o->posting_id);
	CHECK_STR(o->confidentiality);
	CHECK_STR(o->archive_reason);
	CHECK_STR(o->url);
	FUZZ_CHECK(o->id[0] != '\0');
	FUZZ_CHECK(o->n_changes <= o->cap_changes);
	FUZZ_CHECK(o->n_tags <= o->cap_tags);
	touch(s, o->id);
	if (o->links)
		touch(s, o->links);
	for (size_t i = 0; i < o->n_changes; i++) {
		CHECK_STR(o->changes[i].stage_id);
		touch(s, o->changes[i].stage_id);
		FUZZ_CHECK(o->changes[i].has_at == (o->changes[i].at > 0));
	}
	for (size_t i = 0; i < o->n_tags; i++) {
		CHECK_STR(o->tags[i]);
		touch(s, o->tags[i]);
	}
	return stop(s);
}

static int on_posting(void *ctx, const struct lever_posting *p)
{
	struct seen *s = ctx;
	CHECK_STR(p->id);
	CHECK_STR(p->text);
	CHECK_STR(p->state);
	CHECK_STR(p->owner_id);
	CHECK_STR(p->hiring_manager_id);
	FUZZ_CHECK(p->id[0] != '\0');
	FUZZ_CHECK(p->n_tags <= p->cap_tags);
	touch(s, p->text);
	for (size_t i = 0; i < p->n_tags; i++) {
		CHECK_STR(p->tags[i]);
		touch(s, p->tags[i]);
	}
	return stop(s);
}

static int on_simple(void *ctx, const struct lever_simple *r)
{
	struct seen *s = ctx;
	CHECK_STR(r->id);
	CHECK_STR(r->text);
	CHECK_STR(r->type);
	CHECK_STR(r->status);
	CHECK_STR(r->email);
	FUZZ_CHECK(r->id[0] != '\0');
	touch(s, r->text);
	if (r->note)
		touch(s, r->note);
	return stop(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char kinds[] = "opsaudn";
	static const enum lever_simple_kind simple_kinds[] = {
		['s'] = LS_STAGE, ['a'] = LS_ARCHIVE_REASON, ['u'] = LS_USER, ['d'] = LS_DELETED, ['n'] = LS_NOTE,
	};
	if (size < 1)
		return 0;
	const char *found = memchr(kinds, data[0], sizeof kinds - 1);
	char kind = found ? *found : kinds[data[0] % 7];
	struct seen seen = { .stop_at = (data[0] / 7) % 4 };
	struct page_info page;
	char err[256];
	/* the page alone, in its own allocation, so that ASan sees a read past it */
	size_t len = size - 1;
	char *page_data = malloc(len ? len : 1);
	memcpy(page_data, data + 1, len);
	memset(&page, 0x5a, sizeof page);
	memset(err, 0x5a, sizeof err);

	int r;
	if (kind == 'o')
		r = parse_opportunity_page(page_data, len, on_opportunity, &seen, &page, err, sizeof err);
	else if (kind == 'p')
		r = parse_posting_page(page_data, len, on_posting, &seen, &page, err, sizeof err);
	else
		r = parse_simple_page(page_data, len, simple_kinds[(unsigned char)kind], on_simple, &seen, &page,
				      err, sizeof err);

	check_parse(r, err, sizeof err, &page, &seen);
	free(page_data);
	return 0;
}
