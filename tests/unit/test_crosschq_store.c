/*
 * test_crosschq_store.c - the Crosschq side of the mirror (sync/crosschq_store.c):
 * what Crosschq shows never overwrites what refsync knows (the link to the
 * create, the source of a hire), an older update never wins, and a create
 * in doubt is adopted only from a request made after the send began.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "crosschq_store.h"
#include "db.h"
#include "test_tmpdir.h"

#include <stdlib.h>
#include <string.h>

struct fixture {
	char dir[64];
	sqlite3 *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/refsync-cqstore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/r.db", f->dir);
	int busy = 0;
	if (db_open(path, DB_READWRITE, &f->db, &busy, err, sizeof err))
		fail_msg("db_open: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* One request as Crosschq shows it. */
static struct cq_request request(const char *id, const char *word, int hired, int64_t updated)
{
	struct cq_request r = { 0 };
	r.id = id;
	r.email = "Zoe@Example.org";
	r.job_position = "Engineer";
	r.status_word = word;
	r.state = crosschq_state_of(word, -1, NULL, &r.word_known);
	r.progress = -1;
	r.has_hired = hired >= 0;
	r.hired = hired;
	r.created_at = 1000;
	r.updated_at = updated;
	return r;
}

static void row(sqlite3 *db, const char *id, char *out, size_t n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT status || '|' || COALESCE(external_id, '-') || '|' || "
					  "COALESCE(hired, -1) || '|' || COALESCE(hired_source, '-') || '|' || "
					  "COALESCE(hired_at, 0) FROM cq_requests WHERE id = ?");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void store(sqlite3 *db, const struct cq_request *r, int64_t at)
{
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(cq_store_request(db, r, at), 0);
	assert_int_equal(db_commit(db), 0);
}

/* refsync's link and its record of a hire survive what Crosschq echoes back. */
static void test_link_and_hire_source_kept(void **state)
{
	struct fixture *f = *state;
	char got[256];
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(cq_store_link(f->db, "r1", "lever:o1:5", NULL, NULL, 900), 0);
	assert_int_equal(cq_store_hired(f->db, "r1", 0, "owner_answer", 0), 0);
	assert_int_equal(db_commit(f->db), 0);
	row(f->db, "r1", got, sizeof got);
	assert_string_equal(got, "open|lever:o1:5|0|owner_answer|0");
	/* Crosschq's webhook echoes the "not hired" refsync sent: nothing of ours is lost */
	struct cq_request r = request("r1", "Completed", 0, 2000);
	store(f->db, &r, 2100);
	row(f->db, "r1", got, sizeof got);
	assert_string_equal(got, "completed|lever:o1:5|0|owner_answer|0");
	/* hired in Crosschq: its source is Crosschq, at Crosschq's time */
	r = request("r1", "Completed", 1, 3000);
	store(f->db, &r, 3100);
	row(f->db, "r1", got, sizeof got);
	assert_string_equal(got, "completed|lever:o1:5|1|crosschq|3000");
	/* an older update arriving late changes nothing */
	r = request("r1", "Pending", 0, 2500);
	store(f->db, &r, 3200);
	row(f->db, "r1", got, sizeof got);
	assert_string_equal(got, "completed|lever:o1:5|1|crosschq|3000");
	/* unhired in Crosschq later: the hire is gone */
	r = request("r1", "Completed", 0, 4000);
	store(f->db, &r, 4100);
	row(f->db, "r1", got, sizeof got);
	assert_string_equal(got, "completed|lever:o1:5|0|-|0");
}

/* Evidence: same email (any case) and position, unlinked, made at or after the send began. */
static void test_evidence(void **state)
{
	struct fixture *f = *state;
	char id[64];
	struct cq_request r = request("r2", "Pending", -1, 1500);
	store(f->db, &r, 1600);
	assert_int_equal(cq_find_evidence(f->db, "zoe@example.org ", "Engineer", 900, id, sizeof id), 1);
	assert_string_equal(id, "r2");
	assert_int_equal(cq_find_evidence(f->db, "zoe@example.org", "Engineer", 1001, id, sizeof id), 0);
	assert_int_equal(cq_find_evidence(f->db, "zoe@example.org", "Designer", 900, id, sizeof id), 0);
	assert_int_equal(cq_find_linked(f->db, "lever:o2:7", id, sizeof id), 0);
	assert_int_equal(db_begin(f->db), 0);
	assert_int_equal(cq_store_link(f->db, "r2", "lever:o2:7", NULL, NULL, 0), 0);
	assert_int_equal(db_commit(f->db), 0);
	/* linked: it is no one else's evidence, and it settles its own key */
	assert_int_equal(cq_find_evidence(f->db, "zoe@example.org", "Engineer", 900, id, sizeof id), 0);
	assert_int_equal(cq_find_linked(f->db, "lever:o2:7", id, sizeof id), 1);
	assert_string_equal(id, "r2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_link_and_hire_source_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
