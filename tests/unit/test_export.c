/*
 * test_export.c - the export formats and their shared parts, on a database
 * built per test in a temporary directory (db_open + inserts + audit_append):
 * exact bytes of small CSV and XML exports, hostile names and invalid UTF-8
 * made inert, the HTML report's figures, determinism, windows, the summary
 * and its median, the chain check after an UPDATE of one row, the time
 * formatter, and the atomic output (no file left on failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "db.h"
#include "escape.h"
#include "export_csv.h"
#include "export_html.h"
#include "export_rows.h"
#include "export_xml.h"
#include "log.h"
#include "output.h"
#include "util.h"

#define DAY 86400000LL
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z, a Thursday */
#define FFFD UTF8_REPLACEMENT

struct fixture {
	char dir[64];
	char path[128];
	sqlite3 *db;
};

enum format { CSV, XML, HTML };

static struct output out; /* large: not on the stack */

/* Remove dir and the plain files in it. */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *de;
		char p[512];
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* Number of entries in dir other than . and .. */
static int count_entries(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Execute one statement with text/int arguments given as a format:
 * 't' text (NULL allowed), 'b' bytes (pointer, length), 'i' int64,
 * 'n' NULL. */
static void exec(sqlite3 *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	va_list ap;
	va_start(ap, types);
	for (int i = 0; types[i]; i++) {
		if (types[i] == 't') {
			db_bind_text(st, i + 1, va_arg(ap, const char *));
		} else if (types[i] == 'b') {
			const char *p = va_arg(ap, const char *);
			int n = va_arg(ap, int);
			sqlite3_bind_text(st, i + 1, p, n, SQLITE_TRANSIENT);
		} else if (types[i] == 'i') {
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		} else {
			sqlite3_bind_null(st, i + 1);
		}
	}
	va_end(ap);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Append an audit event at time at. */
static void event(sqlite3 *db, int64_t at, int64_t run, const char *kind, const char *subject, const char *detail)
{
	char now[32];
	snprintf(now, sizeof now, "%lld", (long long)at);
	setenv("REFSYNC_TEST_NOW", now, 1);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(audit_append(db, run, kind, subject, detail), 0);
	assert_int_equal(db_commit(db), 0);
	unsetenv("REFSYNC_TEST_NOW");
}

static void opportunity(sqlite3 *db, const char *id, const char *name, int len, const char *posting, int anonymized)
{
	exec(db, "INSERT INTO lever_opportunities(id, name, posting_id, anonymized, pulled_at) VALUES (?,?,?,?,?)",
	     "tbtii", id, name, len, posting, (int64_t)anonymized, T0);
}

static void request(sqlite3 *db, const char *id, const char *opp, const char *status, int64_t created,
		    int64_t completed, int hired, int64_t hired_at)
{
	char external[96];
	snprintf(external, sizeof external, "lever:%s:%lld", opp, (long long)created);
	exec(db,
	     "INSERT INTO cq_requests(id, external_id, opportunity_id, template_id, status, created_at, updated_at, "
	     "completed_at, hired, hired_at) VALUES (?,?,?,'tpl',?,?,?,nullif(?,0),nullif(?,-1),nullif(?,0))",
	     "ttttiiiii", id, external, opp, status, created, created + 1, completed, (int64_t)hired, hired_at);
}

/* The database every test starts from (small: exact outputs are asserted). */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[256];
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/refsync-test-export.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof f->path, "%s/refsync.db", f->dir);
	if (db_open(f->path, DB_READWRITE, &f->db, NULL, err, sizeof err) != 0)
		return -1;
	sqlite3 *db = f->db;
	exec(db, "INSERT INTO lever_postings(id, text) VALUES ('post-1', 'Engineer, Platform')", "");
	static const char bad[] = "Bad\xFF\xC3(Name";
	opportunity(db, "opp-formula", "=HYPERLINK(\"http://x\",\"y\")", -1, "post-1", 0);
	opportunity(db, "opp-script", "<script>alert(1)</script>", -1, "post-1", 0);
	opportunity(db, "opp-bad", bad, (int)sizeof bad - 1, "post-1", 0);
	opportunity(db, "opp-gone", "Erased Person", -1, "post-1", 1);
	request(db, "req-1", "opp-formula", "completed", T0 + DAY, T0 + 3 * DAY, 1, T0 + 4 * DAY);
	request(db, "req-2", "opp-script", "cancelled", T0 + 8 * DAY, 0, -1, 0);
	request(db, "req-3", "opp-bad", "completed", T0 + 8 * DAY, T0 + 9 * DAY, 0, 0);
	request(db, "req-4", "opp-gone", "completed", T0 + 9 * DAY, T0 + 13 * DAY, -1, 0);
	exec(db,
	     "INSERT INTO triggers(opportunity_id, entered_at, state, reason, first_seen_at, updated_at) "
	     "VALUES ('opp-script', ?, 'held', '-no template', ?, ?)",
	     "iii", T0 + 2 * DAY, T0 + 2 * DAY, T0 + 2 * DAY);
	exec(db,
	     "INSERT INTO outbox(key, kind, subject, payload, reason, state, attempts, last_error, created_at, "
	     "updated_at) VALUES ('k1', 'lever.add_note', 'opportunity:opp-script', '{}', 'r', 'failed', 2, "
	     "'<b>x</b>', ?, ?)",
	     "ii", T0 + DAY, T0 + 2 * DAY);
	exec(db, "INSERT INTO runs(id, command, started_at, ended_at, exit_code, pulled) VALUES (1, 'run', ?, ?, 0, 1)",
	     "ii", T0, T0 + 1500);
	exec(db,
	     "INSERT INTO runs(id, command, started_at, ended_at, exit_code, failed, error) "
	     "VALUES (2, 'backfill', ?, NULL, 1, 1, ?)",
	     "ib", T0 + 2 * DAY, "<b>x</b> \x01", 10);
	event(db, T0, 1, "run.start", "run:1", "command run");
	event(db, T0 + 1, 1, "action.done", "opportunity:opp-formula", "=1+1, \"quoted\"");
	event(db, T0 + 2 * DAY, 0, "trigger.held", "opportunity:opp-script", "no template\tfor\x02tag");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	db_close(f->db);
	remove_dir(f->dir);
	free(f);
	return 0;
}

/* Export to a file in the fixture's directory and return its bytes
 * (malloc'd, NUL-terminated) and length. */
static char *export_file(struct fixture *f, enum format format, enum rowset set, const struct export_window *w,
			 size_t *len)
{
	char err[512] = "", path[192];
	static const struct html_meta meta = { "Acme <Hiring> & Co", T0 + 400 * DAY };
	snprintf(path, sizeof path, "%s/export.out", f->dir);
	assert_int_equal(output_open(&out, path, err, sizeof err), 0);
	assert_int_equal(rows_begin(f->db, err, sizeof err), 0);
	int rc = format == CSV	 ? export_csv(f->db, set, w, &out, err, sizeof err)
		 : format == XML ? export_xml(f->db, set, w, &out, err, sizeof err)
				 : export_html(f->db, w, &meta, &out, err, sizeof err);
	rows_end(f->db);
	if (rc)
		fail_msg("export failed: %s", err);
	assert_int_equal(output_commit(&out, err, sizeof err), 0);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	struct stat sb;
	assert_int_equal(fstat(fileno(fp), &sb), 0);
	char *data = malloc((size_t)sb.st_size + 1);
	assert_int_equal(fread(data, 1, (size_t)sb.st_size, fp), (size_t)sb.st_size);
	data[sb.st_size] = '\0';
	fclose(fp);
	unlink(path);
	*len = (size_t)sb.st_size;
	return data;
}

static const struct export_window all_time = { 0, 0, 0, 0 };

/* The stored hash of event seq. */
static void stored_hash(sqlite3 *db, int64_t seq, char out_hash[AUDIT_HASH_HEX])
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM audit_events WHERE seq = ?", -1, &st, NULL), 0);
	sqlite3_bind_int64(st, 1, seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	strlcpy_(out_hash, (const char *)sqlite3_column_text(st, 0), AUDIT_HASH_HEX);
	sqlite3_finalize(st);
}

static void test_csv_events_exact(void **state)
{
	struct fixture *f = *state;
	char h1[AUDIT_HASH_HEX], h2[AUDIT_HASH_HEX], h3[AUDIT_HASH_HEX], want[2048];
	stored_hash(f->db, 1, h1);
	stored_hash(f->db, 2, h2);
	stored_hash(f->db, 3, h3);
	/* the stored hashes are the chain computed from the canonical form */
	char calc[AUDIT_HASH_HEX];
	audit_compute_hash("", 1, T0, 1, 0, "run.start", "run:1", "command run", calc);
	assert_string_equal(calc, h1);
	snprintf(want, sizeof want,
		 "seq,at,run_id,kind,subject,detail,prev_hash,hash,dry_run\r\n"
		 "1,2026-01-01T00:00:00.000Z,1,run.start,run:1,command run,,%s,\r\n"
		 "2,2026-01-01T00:00:00.001Z,1,action.done,opportunity:opp-formula,\"'=1+1, \"\"quoted\"\"\",%s,%s,\r\n"
		 "3,2026-01-03T00:00:00.000Z,,trigger.held,opportunity:opp-script,no template\tfor" FFFD "tag,%s,%s,\r\n",
		 h1, h1, h2, h2, h3);
	size_t len;
	char *got = export_file(f, CSV, ROWS_EVENTS, &all_time, &len);
	assert_string_equal(got, want);
	free(got);
}

static void test_csv_requests_hostile_names(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *got = export_file(f, CSV, ROWS_REQUESTS, &all_time, &len);
	static const char want[] =
		"record,request_id,external_id,opportunity_id,candidate_name,posting,status,template_id,created_at,"
		"completed_at,report_url,hired,hired_at,hired_source,hold_reason\r\n"
		"request,req-1,lever:opp-formula:1767312000000,opp-formula,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\","
		"\"Engineer, Platform\",completed,tpl,2026-01-02T00:00:00.000Z,2026-01-04T00:00:00.000Z,,1,"
		"2026-01-05T00:00:00.000Z,,\r\n"
		"hold,,,opp-script,<script>alert(1)</script>,\"Engineer, Platform\",held,,2026-01-03T00:00:00.000Z,,,,,,"
		"\"'-no template\"\r\n"
		"request,req-2,lever:opp-script:1767916800000,opp-script,<script>alert(1)</script>,"
		"\"Engineer, Platform\",cancelled,tpl,2026-01-09T00:00:00.000Z,,,,,,\r\n"
		"request,req-3,lever:opp-bad:1767916800000,opp-bad,Bad" FFFD FFFD "(Name,\"Engineer, Platform\","
		"completed,tpl,2026-01-09T00:00:00.000Z,2026-01-10T00:00:00.000Z,,0,,,\r\n"
		"request,req-4,lever:opp-gone:1768003200000,opp-gone,,\"Engineer, Platform\",completed,tpl,"
		"2026-01-10T00:00:00.000Z,2026-01-14T00:00:00.000Z,,,,,\r\n";
	assert_string_equal(got, want);
	free(got);
}

static void test_xml_runs_exact(void **state)
{
	struct fixture *f = *state;
	char h3[AUDIT_HASH_HEX], want[2048];
	stored_hash(f->db, 3, h3);
	snprintf(want, sizeof want,
		 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		 "<refsync-audit version=\"1\" kind=\"runs\" from=\"2025-12-31T00:00:00.000Z\">\n"
		 "  <chain-head seq=\"3\" at=\"2026-01-03T00:00:00.000Z\" hash=\"%s\"/>\n"
		 "  <run id=\"1\" command=\"run\" started_at=\"2026-01-01T00:00:00.000Z\" "
		 "ended_at=\"2026-01-01T00:00:01.500Z\" exit_code=\"0\" pulled=\"1\" decided=\"0\" done=\"0\" "
		 "failed=\"0\" held=\"0\" dry_run=\"0\"/>\n"
		 "  <run id=\"2\" command=\"backfill\" started_at=\"2026-01-03T00:00:00.000Z\" exit_code=\"1\" "
		 "pulled=\"0\" decided=\"0\" done=\"0\" failed=\"1\" held=\"0\" dry_run=\"0\">\n"
		 "    <error>&lt;b&gt;x&lt;/b&gt; " FFFD "</error>\n"
		 "  </run>\n"
		 "  <end records=\"2\"/>\n"
		 "</refsync-audit>\n",
		 h3);
	struct export_window w = { 1, 0, T0 - DAY, 0 };
	size_t len;
	char *got = export_file(f, XML, ROWS_RUNS, &w, &len);
	assert_string_equal(got, want);
	free(got);
}

static void test_xml_requests_inert(void **state)
{
	struct fixture *f = *state;
	size_t len;
	char *got = export_file(f, XML, ROWS_REQUESTS, &all_time, &len);
	assert_non_null(strstr(got, "<candidate_name>=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)</candidate_name>"));
	assert_non_null(strstr(got, "<candidate_name>&lt;script&gt;alert(1)&lt;/script&gt;</candidate_name>"));
	assert_non_null(strstr(got, "<candidate_name>Bad" FFFD FFFD "(Name</candidate_name>"));
	assert_non_null(strstr(got, "<hold opportunity_id=\"opp-script\" status=\"held\" "
				    "created_at=\"2026-01-03T00:00:00.000Z\">"));
	assert_null(strstr(got, "<script"));
	assert_null(strstr(got, "Erased Person"));
	assert_true(text_is_clean(got, len));
	free(got);
}

static void test_xml_events_window(void **state)
{
	struct fixture *f = *state;
	struct export_window w = { 1, 1, T0 + 1, T0 + 2 * DAY };
	size_t len;
	char *got = export_file(f, XML, ROWS_EVENTS, &w, &len);
	assert_non_null(strstr(got, "kind=\"events\" from=\"2026-01-01T00:00:00.001Z\" "
				    "to=\"2026-01-03T00:00:00.000Z\">"));
	assert_null(strstr(got, "<event seq=\"1\""));
	assert_non_null(strstr(got, "<event seq=\"2\""));
	assert_null(strstr(got, "<event seq=\"3\""));
	assert_non_null(strstr(got, "<detail>=1+1, &quot;quoted&quot;</detail>"));
	assert_non_null(strstr(got, "<end records=\"1\"/>"));
	free(got);
}

static void test_html_report(void **state)
{
	struct fixture *f = *state;
	size_t len;
	/* failures are counted from the audit trail */
	event(f->db, T0 + 2 * DAY + 5, 2, "action.failed", "opportunity:opp-script", "lever.add_note key=k1: <b>x</b>");
	char *got = export_file(f, HTML, ROWS_EVENTS, &all_time, &len);
	assert_true(text_is_clean(got, len));
	assert_non_null(strstr(got, "<span id=\"tenant\">Acme &lt;Hiring&gt; &amp; Co</span>"));
	assert_non_null(strstr(got, "Generated <time datetime=\"2027-02-05T00:00:00.000Z\""));
	assert_null(strstr(got, "<script"));
	assert_non_null(strstr(got, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(got, "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)"));
	assert_non_null(strstr(got, "<td id=\"requests-started\">4</td>"));
	assert_non_null(strstr(got, "<td id=\"requests-completed\">3</td>"));
	assert_non_null(strstr(got, "<td id=\"requests-cancelled\">1</td>"));
	assert_non_null(strstr(got, "<td id=\"triggers-held\">1</td>"));
	assert_non_null(strstr(got, "<td id=\"hires\">1</td>"));
	assert_non_null(strstr(got, "<td id=\"actions-failed\">1</td>"));
	assert_non_null(strstr(got, "<td id=\"runs\">2</td>"));
	assert_non_null(strstr(got, "<td id=\"audit-events\">4</td>"));
	/* turnarounds 1 d, 2 d, 4 d */
	assert_non_null(strstr(got, "<td id=\"median-turnaround\">2 d 00:00:00"));
	assert_non_null(strstr(got, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(got, "<title>Week of 2025-12-29: 1 request started</title>"));
	assert_non_null(strstr(got, "<title>Week of 2026-01-05: 3 requests started</title>"));
	assert_non_null(strstr(got, "<td class=\"w\">&lt;b&gt;x&lt;/b&gt;</td><td class=\"n\">2</td><td>failed</td>"));
	assert_true(len > 11 && strcmp(got + len - 8, "</html>\n") == 0);
	free(got);
}

static void test_html_empty_database(void **state)
{
	struct fixture *f = *state;
	exec(f->db, "DELETE FROM cq_requests", "");
	exec(f->db, "DELETE FROM triggers", "");
	exec(f->db, "DELETE FROM runs", "");
	exec(f->db, "DELETE FROM outbox", "");
	exec(f->db, "DELETE FROM audit_events", "");
	size_t len;
	char *got = export_file(f, HTML, ROWS_EVENTS, &all_time, &len);
	assert_non_null(strstr(got, "<td id=\"requests-started\">0</td>"));
	assert_non_null(strstr(got, "<td id=\"median-turnaround\">&#8212;</td>"));
	assert_non_null(strstr(got, "No requests started in this window."));
	assert_non_null(strstr(got, "Audit chain head: no events recorded"));
	free(got);
	got = export_file(f, XML, ROWS_EVENTS, &all_time, &len);
	assert_non_null(strstr(got, "<chain-head seq=\"0\"/>"));
	assert_non_null(strstr(got, "<end records=\"0\"/>"));
	free(got);
}

static void test_exports_are_deterministic(void **state)
{
	struct fixture *f = *state;
	static const struct {
		enum format format;
		enum rowset set;
	} cases[] = { { CSV, ROWS_EVENTS }, { CSV, ROWS_REQUESTS }, { CSV, ROWS_RUNS }, { XML, ROWS_EVENTS },
		      { XML, ROWS_REQUESTS }, { XML, ROWS_RUNS },	{ HTML, ROWS_EVENTS } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t l1, l2;
		char *a = export_file(f, cases[i].format, cases[i].set, &all_time, &l1);
		char *b = export_file(f, cases[i].format, cases[i].set, &all_time, &l2);
		assert_int_equal(l1, l2);
		assert_memory_equal(a, b, l1);
		free(a);
		free(b);
	}
}

static void test_summary_median_even(void **state)
{
	struct fixture *f = *state;
	struct export_summary s;
	char err[256];
	/* a fourth completion of 3 days: turnarounds 1, 2, 3, 4 days: median 2.5 days */
	request(f->db, "req-5", "opp-bad", "completed", T0 + 10 * DAY, T0 + 13 * DAY, -1, 0);
	assert_int_equal(rows_summary(f->db, &all_time, &s, err, sizeof err), 0);
	assert_int_equal(s.turnaround_count, 4);
	assert_int_equal(s.turnaround_median_ms, 2 * DAY + DAY / 2);
	assert_int_equal(s.requests_started, 5);
	assert_int_equal(s.weeks_first, rows_week_of(T0));
	assert_int_equal(s.weeks_last, rows_week_of(T0 + 10 * DAY));
	assert_int_equal(s.weeks_max, 4);
	struct export_window w = { 1, 1, T0 + 9 * DAY, T0 + 14 * DAY };
	assert_int_equal(rows_summary(f->db, &w, &s, err, sizeof err), 0);
	assert_int_equal(s.requests_started, 2);
	assert_int_equal(s.requests_completed, 3);
	assert_int_equal(s.turnaround_median_ms, 3 * DAY);
	assert_int_equal(s.held, 0);
	assert_int_equal(s.hires, 0);
}

static void test_verify_finds_updated_row(void **state)
{
	struct fixture *f = *state;
	int64_t checked = 0, bad = 0, at = 0;
	char why[256], kind[64];
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 0);
	assert_int_equal(checked, 3);
	exec(f->db, "UPDATE audit_events SET detail = 'nothing' WHERE seq = 2", "");
	assert_int_equal(audit_verify(f->db, &checked, &bad, why, sizeof why), 1);
	assert_int_equal(bad, 2);
	assert_int_equal(checked, 2);
	assert_int_equal(rows_event_info(f->db, bad, kind, sizeof kind, &at), 0);
	assert_string_equal(kind, "action.done");
	assert_int_equal(at, T0 + 1);
	assert_int_equal(rows_event_info(f->db, 99, kind, sizeof kind, &at), 1);
	/* the export still shows the stored (tampered) row and head */
	size_t len;
	char *got = export_file(f, CSV, ROWS_EVENTS, &all_time, &len);
	assert_non_null(strstr(got, ",nothing,"));
	free(got);
}

static void test_time_format_matches_util(void **state)
{
	(void)state;
	static const int64_t samples[] = { 0, 1, 999, 1000, -1, -1000, -1001, 951782400000LL /* 2000-02-29 */,
					   4107542399999LL /* 2100-02-28T23:59:59.999 */, 253402300799999LL,
					   -62135596800000LL /* 0001-01-01 */, T0, T0 + 59 * DAY - 1 };
	char a[ROWS_NUMBER_MAX], b[ROWS_NUMBER_MAX];
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		size_t n = rows_format_time(samples[i], a);
		format_iso8601(samples[i], 1, b, sizeof b);
		assert_string_equal(a, b);
		assert_int_equal(n, strlen(b));
	}
	/* every day across four years, at a varying time of day */
	for (int64_t t = T0 - 2 * 366 * DAY; t < T0 + 2 * 366 * DAY; t += DAY + 3723456) {
		rows_format_time(t, a);
		format_iso8601(t, 1, b, sizeof b);
		assert_string_equal(a, b);
	}
	assert_int_equal(rows_format_int(-9223372036854775807LL - 1, a), 20);
	assert_string_equal(a, "-9223372036854775808");
	assert_int_equal(rows_format_int(0, a), 1);
	assert_string_equal(a, "0");
}

static void test_weeks(void **state)
{
	(void)state;
	char text[ROWS_NUMBER_MAX];
	/* 2026-01-01 is a Thursday: its week starts Monday 2025-12-29 */
	rows_format_time(rows_week_start(rows_week_of(T0)), text);
	assert_string_equal(text, "2025-12-29T00:00:00.000Z");
	assert_int_equal(rows_week_of(rows_week_start(100)), 100);
	assert_int_equal(rows_week_of(rows_week_start(100) - 1), 99);
	assert_int_equal(rows_week_of(0), -1); /* 1970-01-01 belongs to the week of 1969-12-29 */
}

static void test_duration_format(void **state)
{
	(void)state;
	char text[48];
	assert_string_equal(html_format_duration(0, text, sizeof text), "00:00:00");
	assert_string_equal(html_format_duration(3723999, text, sizeof text), "01:02:03");
	assert_string_equal(html_format_duration(2 * DAY + 60000, text, sizeof text), "2 d 00:01:00");
	assert_string_equal(html_format_duration(-DAY, text, sizeof text), "-1 d 00:00:00");
}

static void test_output_refuses_bad_paths(void **state)
{
	struct fixture *f = *state;
	char err[512], path[192];
	assert_int_equal(output_open(&out, f->dir, err, sizeof err), -1);
	assert_non_null(strstr(err, "is a directory"));
	snprintf(path, sizeof path, "%s/missing/x.csv", f->dir);
	assert_int_equal(output_open(&out, path, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(output_open(&out, "/dev/null/x.csv", err, sizeof err), -1);
}

static void test_output_abort_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	char err[512], path[192];
	int before = count_entries(f->dir);
	snprintf(path, sizeof path, "%s/report.csv", f->dir);
	assert_int_equal(output_open(&out, path, err, sizeof err), 0);
	assert_int_equal(output_puts(&out, "partial"), 0);
	assert_int_equal(count_entries(f->dir), before + 1); /* the temporary file */
	output_abort(&out);
	assert_int_equal(count_entries(f->dir), before);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_output_full_disk_keeps_old_file(void **state)
{
	struct fixture *f = *state;
	char err[512], path[192];
	snprintf(path, sizeof path, "%s/report.html", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("old\n", fp);
	fclose(fp);
	int before = count_entries(f->dir);
	/* a file size limit makes write() fail part way (EFBIG), as a full disk does (ENOSPC) */
	struct rlimit old_limit, limit = { 100000, RLIM_INFINITY };
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
	limit.rlim_max = old_limit.rlim_max;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
	assert_int_equal(output_open(&out, path, err, sizeof err), 0);
	char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	int failed = 0;
	for (int i = 0; i < 100 && !failed; i++)
		failed = output_write(&out, chunk, sizeof chunk) != 0;
	int rc = output_commit(&out, err, sizeof err);
	setrlimit(RLIMIT_FSIZE, &old_limit);
	signal(SIGXFSZ, old_handler);
	assert_true(failed);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "no file was written"));
	assert_int_equal(count_entries(f->dir), before);
	fp = fopen(path, "r");
	assert_non_null(fp);
	char line[16] = "";
	assert_non_null(fgets(line, sizeof line, fp));
	fclose(fp);
	assert_string_equal(line, "old\n");
}

static void test_output_large_writes_pass_through(void **state)
{
	struct fixture *f = *state;
	char err[512], path[192];
	snprintf(path, sizeof path, "%s/big.out", f->dir);
	size_t n = 3 * OUTPUT_BUFFER_SIZE + 17;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(output_open(&out, path, err, sizeof err), 0);
	assert_int_equal(output_write(&out, "head", 4), 0);
	assert_int_equal(output_write(&out, data, n), 0);
	assert_int_equal(output_write(&out, "tail", 4), 0);
	assert_int_equal(output_commit(&out, err, sizeof err), 0);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	char *back = malloc(n + 8);
	assert_int_equal(fread(back, 1, n + 8, fp), n + 8);
	fclose(fp);
	assert_memory_equal(back, "head", 4);
	assert_memory_equal(back + 4, data, n);
	assert_memory_equal(back + 4 + n, "tail", 4);
	free(back);
	free(data);
}

int main(void)
{
	log_init("test_export", LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_csv_events_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv_requests_hostile_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xml_runs_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xml_requests_inert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xml_events_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_empty_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exports_are_deterministic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_summary_median_even, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_finds_updated_row, setup, teardown),
		cmocka_unit_test(test_time_format_matches_util),
		cmocka_unit_test(test_weeks),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test_setup_teardown(test_output_refuses_bad_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_full_disk_keeps_old_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_large_writes_pass_through, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
