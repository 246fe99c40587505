/*
 * test_lever_parse.c - sync/lever_parse.c: the page parsers on the shapes Lever and
 * Crosschq really send (ids or expanded objects, legacy and current archive
 * forms, nulls, single-object envelopes), paging facts, and records that
 * must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "lever_parse.h"
#include "util.h"

#define MAXREC 8

/* ---- collectors: copies of what the callbacks were given ------------------ */

struct opp_copy {
	struct lever_opportunity o;   /* changes/tags pointers not used; links points to links below */
	struct stage_change changes[8];
	char tags[8][TEXT_MAX];
	char links[8192];             /* the parser owns o->links: copied here ("" for none) */
};

struct opps {
	struct opp_copy rec[MAXREC];
	int n;
	int stop_after; /* return non-0 from this record on (1-based); 0 never */
};

static int on_opp(void *ctx, const struct lever_opportunity *o)
{
	struct opps *c = ctx;
	assert_true(c->n < MAXREC);
	struct opp_copy *r = &c->rec[c->n++];
	r->o = *o;
	assert_true(o->n_changes <= 8);
	assert_true(o->n_tags <= 8);
	for (size_t i = 0; i < o->n_changes; i++)
		r->changes[i] = o->changes[i];
	for (size_t i = 0; i < o->n_tags; i++)
		memcpy(r->tags[i], o->tags[i], TEXT_MAX);
	r->o.changes = NULL;
	r->o.tags = NULL;
	assert_true(!o->links || strlen(o->links) < sizeof r->links);
	r->o.links = strcpy(r->links, o->links ? o->links : "");
	return c->stop_after && c->n >= c->stop_after ? 1 : 0;
}

/* Parse one opportunity page that must succeed. */
static void opp_page(const char *json, struct opps *c, struct page_info *page)
{
	char err[256] = "";
	memset(c, 0, sizeof *c);
	memset(page, 0x5a, sizeof *page);
	if (parse_opportunity_page(json, strlen(json), on_opp, c, page, err, sizeof err) != 0)
		fail_msg("parse_opportunity_page: %s\n--- json ---\n%s", err, json);
	assert_int_equal(page->records, c->n);
}

/* One opportunity record wrapped in a page. */
static const struct lever_opportunity *one_opp(const char *record, struct opps *c)
{
	char json[4096];
	struct page_info page;
	snprintf(json, sizeof json, "{\"data\":[%s],\"hasNext\":false}", record);
	opp_page(json, c, &page);
	assert_int_equal(c->n, 1);
	return &c->rec[0].o;
}

struct simples {
	struct lever_simple rec[MAXREC];
	int n;
};

static int on_simple(void *ctx, const struct lever_simple *s)
{
	struct simples *c = ctx;
	assert_true(c->n < MAXREC);
	c->rec[c->n++] = *s;
	return 0;
}

struct note_texts {
	char note[4096];
	char text[TEXT_MAX];
	int n;
};

static int on_note_text(void *ctx, const struct lever_simple *n)
{
	struct note_texts *c = ctx;
	assert_non_null(n->note);
	assert_true(strlen(n->note) < sizeof c->note);
	strcpy(c->note, n->note);
	strcpy(c->text, n->text);
	c->n++;
	return 0;
}

struct postings {
	struct lever_posting rec[MAXREC];
	char tags[MAXREC][4][TEXT_MAX];
	int n;
};

static int on_posting(void *ctx, const struct lever_posting *p)
{
	struct postings *c = ctx;
	assert_true(c->n < MAXREC);
	assert_true(p->n_tags <= 4);
	for (size_t i = 0; i < p->n_tags; i++)
		memcpy(c->tags[c->n][i], p->tags[i], TEXT_MAX);
	c->rec[c->n] = *p;
	c->rec[c->n].tags = NULL;
	c->n++;
	return 0;
}

/* ---- opportunities: Lever's shapes -------------------------------------- */

static void test_stage_forms(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	assert_string_equal(one_opp("{\"id\":\"o1\",\"stage\":\"stage-ref\"}", c)->stage_id, "stage-ref");
	assert_string_equal(one_opp("{\"id\":\"o1\",\"stage\":{\"id\":\"stage-ref\",\"text\":\"Reference Check\"}}", c)
				    ->stage_id, "stage-ref");
	assert_string_equal(one_opp("{\"id\":\"o1\",\"stage\":null}", c)->stage_id, "");
	free(c);
}

static void test_owner_forms(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	const struct lever_opportunity *o = one_opp("{\"id\":\"o1\",\"owner\":\"user-7\"}", c);
	assert_string_equal(o->owner_id, "user-7");
	assert_string_equal(o->owner_name, "");
	assert_string_equal(o->owner_email, "");
	o = one_opp("{\"id\":\"o1\",\"owner\":{\"id\":\"user-7\",\"name\":\"Rita Recruiter\","
		    "\"email\":\"rita@acme.example\",\"accessRole\":\"admin\",\"photo\":null}}", c);
	assert_string_equal(o->owner_id, "user-7");
	assert_string_equal(o->owner_name, "Rita Recruiter");
	assert_string_equal(o->owner_email, "rita@acme.example");
	assert_string_equal(o->id, "o1"); /* owner.id did not touch id */
	free(c);
}

static void test_application_forms(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	/* ids only (not expanded): no posting is known */
	assert_string_equal(one_opp("{\"id\":\"o1\",\"applications\":[\"app-1\",\"app-2\"]}", c)->posting_id, "");
	/* expanded, posting as an id */
	assert_string_equal(one_opp("{\"id\":\"o1\",\"applications\":[{\"id\":\"app-1\",\"type\":\"posting\","
				    "\"posting\":\"post-1\"}]}", c)->posting_id, "post-1");
	/* expanded, posting expanded too; the first application's posting wins */
	const struct lever_opportunity *o =
		one_opp("{\"id\":\"o1\",\"applications\":["
			"{\"id\":\"app-1\",\"posting\":{\"id\":\"post-2\",\"text\":\"Engineer\"},\"user\":\"u\"},"
			"{\"id\":\"app-2\",\"posting\":{\"id\":\"post-3\",\"text\":\"Manager\"}}]}", c);
	assert_string_equal(o->posting_id, "post-2");
	assert_string_equal(o->id, "o1");
	/* an application without a posting (a referral) */
	assert_string_equal(one_opp("{\"id\":\"o1\",\"applications\":[{\"id\":\"app-1\",\"posting\":null}]}", c)
				    ->posting_id, "");
	free(c);
}

static void test_stage_changes(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	const struct lever_opportunity *o =
		one_opp("{\"id\":\"o1\",\"stageChanges\":["
			"{\"toStageId\":\"lead-new\",\"toStageIndex\":0,\"updatedAt\":1795000000000,\"userId\":\"u1\"},"
			"{\"toStageId\":\"stage-ref\",\"toStageIndex\":4,\"updatedAt\":1795884599000,\"userId\":\"u2\"},"
			"{\"toStageId\":\"offer\",\"updatedAt\":null}]}", c);
	assert_int_equal(o->n_changes, 3);
	struct stage_change *sc = c->rec[0].changes;
	assert_string_equal(sc[0].stage_id, "lead-new");
	assert_int_equal(sc[0].at, 1795000000000LL);
	assert_int_equal(sc[0].has_at, 1);
	assert_string_equal(sc[1].stage_id, "stage-ref");
	assert_int_equal(sc[1].at, 1795884599000LL);
	assert_int_equal(sc[1].has_at, 1);
	assert_string_equal(sc[2].stage_id, "offer");
	assert_int_equal(sc[2].at, 0);
	assert_int_equal(sc[2].has_at, 0);
	/* many changes: the array grows */
	char json[4096] = "{\"id\":\"o2\",\"stageChanges\":[";
	for (int i = 0; i < 8; i++) {
		char one[96];
		snprintf(one, sizeof one, "%s{\"toStageId\":\"s%d\",\"updatedAt\":%d}", i ? "," : "", i, 1000 + i);
		strcat(json, one);
	}
	strcat(json, "]}");
	o = one_opp(json, c);
	assert_int_equal(o->n_changes, 8);
	assert_string_equal(c->rec[0].changes[7].stage_id, "s7");
	assert_int_equal(c->rec[0].changes[7].at, 1007);
	free(c);
}

static void test_archive_forms(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	const struct lever_opportunity *o =
		one_opp("{\"id\":\"o1\",\"archived\":{\"reason\":\"reason-hired\",\"archivedAt\":1795884599000}}", c);
	assert_string_equal(o->archive_reason, "reason-hired");
	assert_int_equal(o->archived_at, 1795884599000LL);
	/* the legacy top-level form */
	o = one_opp("{\"id\":\"o1\",\"archivedAt\":1795884599001,\"archiveReason\":\"reason-legacy\"}", c);
	assert_string_equal(o->archive_reason, "reason-legacy");
	assert_int_equal(o->archived_at, 1795884599001LL);
	/* not archived */
	o = one_opp("{\"id\":\"o1\",\"archived\":null}", c);
	assert_string_equal(o->archive_reason, "");
	assert_int_equal(o->archived_at, 0);
	o = one_opp("{\"id\":\"o1\",\"archivedAt\":null,\"archiveReason\":null}", c);
	assert_string_equal(o->archive_reason, "");
	assert_int_equal(o->archived_at, 0);
	free(c);
}

static void test_times_and_nulls(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	const struct lever_opportunity *o =
		one_opp("{\"id\":\"o1\",\"createdAt\":1795000000000,\"updatedAt\":null,\"deletedAt\":null,"
			"\"name\":null,\"isAnonymized\":null}", c);
	assert_int_equal(o->created_at, 1795000000000LL);
	assert_int_equal(o->updated_at, 0);
	assert_int_equal(o->deleted_at, 0);
	assert_string_equal(o->name, "");
	assert_int_equal(o->anonymized, 0);
	o = one_opp("{\"id\":\"o1\",\"updatedAt\":1795884599000,\"deletedAt\":1.7958846e12}", c);
	assert_int_equal(o->updated_at, 1795884599000LL);
	assert_int_equal(o->deleted_at, 1795884600000LL);
	free(c);
}

static void test_anonymized(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	assert_int_equal(one_opp("{\"id\":\"o1\",\"isAnonymized\":true}", c)->anonymized, 1);
	assert_int_equal(one_opp("{\"id\":\"o1\",\"isAnonymized\":false}", c)->anonymized, 0);
	assert_int_equal(one_opp("{\"id\":\"o1\"}", c)->anonymized, 0);
	free(c);
}

static void test_full_opportunity(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	const struct lever_opportunity *o = one_opp(
		"{\"id\":\"250d8f03-738a-4bba-a671-8a3d73477145\",\"name\":\"Shane Smith\","
		"\"headline\":\"Grinnell College\",\"contact\":{\"id\":\"c-1\",\"name\":\"ignored\"},"
		"\"emails\":[\"shane@exampleq3.com\",\"second@example.com\"],"
		"\"phones\":[{\"type\":\"mobile\",\"value\":\"+1 555 0100\"},{\"type\":\"home\",\"value\":\"2\"}],"
		"\"confidentiality\":\"non-confidential\",\"location\":\"Oakland\","
		"\"tags\":[\"Customer Success\",\"Customer Service\"],\"sources\":[\"linkedin\"],"
		"\"origin\":\"sourced\",\"sourcedBy\":\"u-9\",\"followers\":[\"u-1\",\"u-2\"],"
		"\"links\":[\"https://a.example/1\",\"https://b.example/2\"],"
		"\"urls\":{\"list\":\"https://hire.lever.co/candidates\",\"show\":\"https://hire.lever.co/candidates/250d\"},"
		"\"dataProtection\":{\"store\":{\"allowed\":true,\"expiresAt\":null}},"
		"\"isAnonymized\":false,\"createdAt\":1407460071043,\"updatedAt\":1795884599000,"
		"\"lastInteractionAt\":1417588008126,\"lastAdvancedAt\":1417587916944,\"snoozedUntil\":null}",
		c);
	assert_string_equal(o->id, "250d8f03-738a-4bba-a671-8a3d73477145");
	assert_string_equal(o->name, "Shane Smith");
	assert_string_equal(o->email, "shane@exampleq3.com");
	assert_string_equal(o->phone, "+1 555 0100");
	assert_string_equal(o->confidentiality, "non-confidential");
	assert_string_equal(o->url, "https://hire.lever.co/candidates/250d");
	assert_string_equal(o->links, "https://a.example/1\nhttps://b.example/2");
	assert_int_equal(o->created_at, 1407460071043LL);
	assert_int_equal(o->updated_at, 1795884599000LL);
	assert_int_equal(o->anonymized, 0);
	assert_int_equal(o->n_tags, 2);
	assert_string_equal(c->rec[0].tags[0], "Customer Success");
	assert_string_equal(c->rec[0].tags[1], "Customer Service");
	/* fields refsync does not keep change nothing */
	assert_string_equal(o->stage_id, "");
	assert_string_equal(o->owner_id, "");
	assert_string_equal(o->posting_id, "");
	assert_string_equal(o->archive_reason, "");
	assert_int_equal(o->deleted_at, 0);
	assert_int_equal(o->n_changes, 0);
	free(c);
}

static void test_records_do_not_leak_into_each_other(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	struct page_info page;
	opp_page("{\"data\":["
		 "{\"id\":\"a\",\"owner\":{\"id\":\"u\",\"name\":\"N\",\"email\":\"e@x.io\"},\"tags\":[\"t1\",\"t2\"],"
		 "\"stageChanges\":[{\"toStageId\":\"s\",\"updatedAt\":5}],\"links\":[\"l\"],\"isAnonymized\":true},"
		 "{\"id\":\"b\"}],\"hasNext\":false}",
		 c, &page);
	assert_int_equal(c->n, 2);
	const struct lever_opportunity *b = &c->rec[1].o;
	assert_string_equal(b->id, "b");
	assert_string_equal(b->owner_id, "");
	assert_string_equal(b->owner_name, "");
	assert_string_equal(b->owner_email, "");
	assert_int_equal(b->n_tags, 0);
	assert_int_equal(b->n_changes, 0);
	assert_string_equal(b->links, "");
	assert_int_equal(b->anonymized, 0);
	assert_int_equal(c->rec[0].o.n_tags, 2);
	assert_int_equal(c->rec[0].o.n_changes, 1);
	free(c);
}

static void test_long_text_cut_at_utf8_boundary(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	/* 510 x, then é (2 bytes), then y: 513 bytes into a 512-byte field */
	char rec[1200], name[600];
	memset(name, 'x', 510);
	memcpy(name + 510, "\xc3\xa9y", 4);
	snprintf(rec, sizeof rec, "{\"id\":\"o1\",\"name\":\"%s\"}", name);
	const struct lever_opportunity *o = one_opp(rec, c);
	assert_int_equal(strlen(o->name), 510);
	assert_memory_equal(o->name, name, 510);
	/* 511 x then é: é does not fit, the cut lands before it */
	memset(name, 'x', 511);
	memcpy(name + 511, "\xc3\xa9", 3);
	snprintf(rec, sizeof rec, "{\"id\":\"o1\",\"name\":\"%s\"}", name);
	o = one_opp(rec, c);
	assert_int_equal(strlen(o->name), 511);
	free(c);
}

/*
 * BUG (in sync/jstream.c, seen here): a key too long for jstream's 256-byte
 * path is reported under its parent's path, so an unknown 300-byte key
 * inside the expanded owner overwrites the owner id: owner_id comes out as
 * "evil" instead of "u-real".
 */
static void test_overlong_key_does_not_overwrite(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	char rec[1024], key[301];
	memset(key, 'x', 300);
	key[300] = '\0';
	snprintf(rec, sizeof rec, "{\"id\":\"o1\",\"owner\":{\"id\":\"u-real\",\"%s\":\"evil\"}}", key);
	char owner[ID_MAX];
	snprintf(owner, sizeof owner, "%s", one_opp(rec, c)->owner_id);
	free(c);
	assert_string_equal(owner, "u-real");
}

static void test_opportunity_paging(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	struct page_info page;
	opp_page("{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"}],\"hasNext\":true,\"next\":\"%5B1795884599000%5D\"}", c,
		 &page);
	assert_int_equal(page.records, 2);
	assert_int_equal(page.has_next, 1);
	assert_string_equal(page.next, "%5B1795884599000%5D");
	assert_string_equal(c->rec[0].o.id, "a");
	assert_string_equal(c->rec[1].o.id, "b");
	/* last page */
	opp_page("{\"data\":[{\"id\":\"c\"}],\"hasNext\":false}", c, &page);
	assert_int_equal(page.has_next, 0);
	assert_string_equal(page.next, "");
	assert_int_equal(page.records, 1);
	/* hasNext missing: there is no next page, whatever next says */
	opp_page("{\"data\":[],\"next\":\"stale\"}", c, &page);
	assert_int_equal(page.has_next, 0);
	assert_int_equal(page.records, 0);
	assert_string_equal(page.next, "stale");
	/* hasNext that is not a boolean is false */
	opp_page("{\"data\":[],\"hasNext\":\"true\"}", c, &page);
	assert_int_equal(page.has_next, 0);
	/* a single {"data": {...}} object */
	opp_page("{\"data\":{\"id\":\"single\",\"stage\":\"s\"}}", c, &page);
	assert_int_equal(c->n, 1);
	assert_int_equal(page.records, 1);
	assert_string_equal(c->rec[0].o.id, "single");
	assert_string_equal(c->rec[0].o.stage_id, "s");
	free(c);
}

static void test_opportunity_without_id(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	struct page_info page;
	char err[256] = "";
	const char *json = "{\"data\":[{\"id\":\"a\"},{\"name\":\"No Id\",\"owner\":{\"id\":\"u\"}},{\"id\":\"c\"}],"
			   "\"hasNext\":false}";
	assert_int_equal(parse_opportunity_page(json, strlen(json), on_opp, c, &page, err, sizeof err), -1);
	assert_string_equal(err, "an opportunity without an id");
	assert_int_equal(c->n, 1);
	assert_string_equal(c->rec[0].o.id, "a");
	/* an id of null is no id */
	memset(c, 0, sizeof *c);
	json = "{\"data\":[{\"id\":null}]}";
	assert_int_equal(parse_opportunity_page(json, strlen(json), on_opp, c, &page, err, sizeof err), -1);
	assert_string_equal(err, "an opportunity without an id");
	assert_int_equal(c->n, 0);
	free(c);
}

static void test_opportunity_callback_stops(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	struct page_info page;
	char err[256] = "";
	c->stop_after = 1;
	const char *json = "{\"data\":[{\"id\":\"a\"},{\"id\":\"b\"}]}";
	assert_int_equal(parse_opportunity_page(json, strlen(json), on_opp, c, &page, err, sizeof err), -1);
	assert_string_equal(err, "a record could not be stored");
	assert_int_equal(c->n, 1);
	free(c);
}

static void test_opportunity_malformed(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	struct page_info page;
	char err[256] = "";
	const char *json = "{\"data\":[{\"id\":\"a\"}";
	assert_int_equal(parse_opportunity_page(json, strlen(json), on_opp, c, &page, err, sizeof err), -1);
	assert_memory_equal(err, "malformed JSON: ", 16);
	free(c);
}

/* ---- Lever simple lists -------------------------------------------------- */

static int simple_page(const char *json, enum lever_simple_kind kind, struct simples *c, struct page_info *page,
		       char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	memset(page, 0x5a, sizeof *page);
	err[0] = '\0';
	return parse_simple_page(json, strlen(json), kind, on_simple, c, page, err, errlen);
}

static void test_simple_single_object(void **state)
{
	(void)state;
	/* GET /archive_reasons?type=hired answers one object, not a list */
	struct simples c;
	struct page_info page;
	char err[256];
	assert_int_equal(simple_page("{\"data\":{\"id\":\"reason-hired\",\"text\":\"Hired\",\"status\":\"active\","
				     "\"type\":\"hired\"}}",
				     LS_ARCHIVE_REASON, &c, &page, err, sizeof err), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(page.records, 1);
	assert_int_equal(page.has_next, 0);
	assert_string_equal(page.next, "");
	assert_string_equal(c.rec[0].id, "reason-hired");
	assert_string_equal(c.rec[0].text, "Hired");
	assert_string_equal(c.rec[0].type, "hired");
	assert_string_equal(c.rec[0].status, "active");
}

static void test_simple_list(void **state)
{
	(void)state;
	struct simples c;
	struct page_info page;
	char err[256];
	assert_int_equal(simple_page("{\"data\":[{\"id\":\"lead-new\",\"text\":\"New lead\"},"
				     "{\"id\":\"stage-ref\",\"text\":\"Reference Check\"}],"
				     "\"hasNext\":true,\"next\":\"tok2\"}",
				     LS_STAGE, &c, &page, err, sizeof err), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(page.records, 2);
	assert_int_equal(page.has_next, 1);
	assert_string_equal(page.next, "tok2");
	assert_string_equal(c.rec[0].id, "lead-new");
	assert_string_equal(c.rec[0].text, "New lead");
	assert_string_equal(c.rec[1].id, "stage-ref");
	assert_string_equal(c.rec[1].text, "Reference Check");
	assert_string_equal(c.rec[1].type, "");

	assert_int_equal(simple_page("{\"data\":[{\"id\":\"u1\",\"name\":\"Rita R\",\"email\":\"rita@acme.example\","
				     "\"accessRole\":\"admin\"}]}",
				     LS_USER, &c, &page, err, sizeof err), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.rec[0].text, "Rita R");
	assert_string_equal(c.rec[0].email, "rita@acme.example");
	assert_int_equal(page.has_next, 0);

	assert_int_equal(simple_page("{\"data\":[{\"id\":\"o9\",\"deletedAt\":1795884599000}]}", LS_DELETED, &c,
				     &page, err, sizeof err), 0);
	assert_string_equal(c.rec[0].id, "o9");
	assert_int_equal(c.rec[0].at, 1795884599000LL);

	assert_int_equal(simple_page("{\"data\":{\"noteId\":\"n1\",\"fields\":[{\"type\":\"note\",\"text\":\"Note\","
				     "\"value\":\"line one\"},{\"value\":\"line two\"}],\"createdAt\":5}}",
				     LS_NOTE, &c, &page, err, sizeof err), 0);
	assert_string_equal(c.rec[0].id, "n1");
	assert_string_equal(c.rec[0].text, "Note\nline one\nline two");
	assert_int_equal(c.rec[0].at, 5);
}

static void test_simple_without_id(void **state)
{
	(void)state;
	struct simples c;
	struct page_info page;
	char err[256];
	assert_int_equal(simple_page("{\"data\":[{\"name\":\"x\"}]}", LS_USER, &c, &page, err, sizeof err), -1);
	assert_string_equal(err, "a user without an id");
	assert_int_equal(simple_page("{\"data\":{\"text\":\"x\"}}", LS_STAGE, &c, &page, err, sizeof err), -1);
	assert_string_equal(err, "a stage without an id");
	assert_int_equal(simple_page("{\"data\":[{}]}", LS_ARCHIVE_REASON, &c, &page, err, sizeof err), -1);
	assert_string_equal(err, "an archive reason without an id");
	assert_int_equal(c.n, 0);
}

/* ---- Crosschq ------------------------------------------------------------ */

static void test_opportunity_long_links_whole(void **state)
{
	(void)state;
	struct opps *c = calloc(1, sizeof *c);
	struct page_info page;
	char a[3001], b[3001], json[8192];
	memset(a, 'a', 3000);
	memset(b, 'b', 3000);
	a[3000] = b[3000] = '\0';
	memcpy(a, "https://", 8);
	memcpy(b, "https://", 8);
	snprintf(json, sizeof json, "{\"data\":[{\"id\":\"o1\",\"links\":[\"%s\",\"%s\"]},{\"id\":\"o2\"}]}", a, b);
	opp_page(json, c, &page);
	assert_int_equal(c->n, 2);
	assert_int_equal(strlen(c->rec[0].o.links), 6001);
	assert_int_equal(strncmp(c->rec[0].o.links, a, 3000), 0);
	assert_int_equal(c->rec[0].o.links[3000], '\n');
	assert_string_equal(c->rec[0].o.links + 3001, b);
	assert_string_equal(c->rec[1].o.links, "");
	free(c);
}

static void test_long_note_text_whole(void **state)
{
	(void)state;
	char json[4096], value[2001];
	memset(value, 'v', sizeof value - 1);
	memcpy(value + 2000 - 34, "(refsync, Crosschq request req-9)", 34);
	value[2000] = '\0';
	snprintf(json, sizeof json, "{\"data\":[{\"id\":\"n1\",\"text\":\"Note\",\"fields\":[{\"type\":\"note\","
		 "\"text\":\"Comment\",\"value\":\"%s\"}]}]}", value);
	struct note_texts got = { "", "", 0 };
	struct page_info page;
	char err[256] = "";
	assert_int_equal(parse_simple_page(json, strlen(json), LS_NOTE, on_note_text, &got, &page, err, sizeof err), 0);
	assert_int_equal(got.n, 1);
	char want[4096];
	snprintf(want, sizeof want, "Note\nComment\n%s", value);
	assert_string_equal(got.note, want);
	assert_int_equal(strncmp(got.text, want, strlen(got.text)), 0); /* the bounded text: a prefix */
	assert_non_null(strstr(got.note, "(refsync, Crosschq request req-9)"));
}

static void test_posting_page(void **state)
{
	(void)state;
	struct postings *c = calloc(1, sizeof *c);
	struct page_info page;
	char err[256] = "";
	const char *json = "{\"data\":["
			   "{\"id\":\"post-1\",\"text\":\"Engineer\",\"state\":\"published\",\"owner\":\"u1\","
			   "\"hiringManager\":\"u2\",\"updatedAt\":1795884599000,\"tags\":[\"eng\",\"remote\"]},"
			   "{\"id\":\"post-2\",\"owner\":{\"id\":\"u3\",\"name\":\"O\"},"
			   "\"hiringManager\":{\"id\":\"u4\"}}],\"hasNext\":false}";
	assert_int_equal(parse_posting_page(json, strlen(json), on_posting, c, &page, err, sizeof err), 0);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->rec[0].text, "Engineer");
	assert_string_equal(c->rec[0].state, "published");
	assert_string_equal(c->rec[0].owner_id, "u1");
	assert_string_equal(c->rec[0].hiring_manager_id, "u2");
	assert_int_equal(c->rec[0].updated_at, 1795884599000LL);
	assert_int_equal(c->rec[0].n_tags, 2);
	assert_string_equal(c->tags[0][0], "eng");
	assert_string_equal(c->tags[0][1], "remote");
	assert_string_equal(c->rec[1].owner_id, "u3");
	assert_string_equal(c->rec[1].hiring_manager_id, "u4");
	assert_int_equal(c->rec[1].n_tags, 0);
	free(c);
}

int main(void)
{
	log_init("test_records", LOG_ERR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage_forms),
		cmocka_unit_test(test_owner_forms),
		cmocka_unit_test(test_application_forms),
		cmocka_unit_test(test_stage_changes),
		cmocka_unit_test(test_archive_forms),
		cmocka_unit_test(test_times_and_nulls),
		cmocka_unit_test(test_anonymized),
		cmocka_unit_test(test_full_opportunity),
		cmocka_unit_test(test_records_do_not_leak_into_each_other),
		cmocka_unit_test(test_long_text_cut_at_utf8_boundary),
		cmocka_unit_test(test_overlong_key_does_not_overwrite),
		cmocka_unit_test(test_opportunity_paging),
		cmocka_unit_test(test_opportunity_without_id),
		cmocka_unit_test(test_opportunity_callback_stops),
		cmocka_unit_test(test_opportunity_malformed),
		cmocka_unit_test(test_simple_single_object),
		cmocka_unit_test(test_simple_list),
		cmocka_unit_test(test_simple_without_id),
		cmocka_unit_test(test_opportunity_long_links_whole),
		cmocka_unit_test(test_long_note_text_whole),
		cmocka_unit_test(test_posting_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
