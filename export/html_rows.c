/*
 * html_rows.c - the tables of the HTML report. See html_rows.h. Every query
 * takes the window as ?1 (from, inclusive) and ?2 (to, exclusive), and
 * orders its rows completely, as export_rows.c does.
 */
#include "html_rows.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct export_column hold_columns[] = {
	{ "candidate_name", "Candidate", COLUMN_TEXT, 0, SHOW_NAME },
	{ "posting", "Posting", COLUMN_TEXT, 0, SHOW_WRAP },
	{ "reason", "Reason", COLUMN_TEXT, 0, SHOW_WRAP },
	{ "entered_at", "Entered stage", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "first_seen_at", "First held", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "updated_at", "Last checked", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "opportunity_id", "Opportunity", COLUMN_TEXT, 0, SHOW_ID },
};
static const char hold_sql[] =
	"SELECT " CANDIDATE_NAME("NULL") ", p.text, t.reason, t.entered_at, t.first_seen_at, t.updated_at, "
	"t.opportunity_id FROM triggers t LEFT JOIN lever_opportunities o ON o.id = t.opportunity_id "
	"LEFT JOIN lever_postings p ON p.id = o.posting_id WHERE t.state = 'held' AND " WINDOW("t.entered_at")
	" ORDER BY t.entered_at, t.opportunity_id";

/*
 * Every failure of an action, from its action.failed event (detail
 * "KIND key=KEY: ERROR", act.c), with what became of the action since: a
 * failure that `refsync retry` put back and a later run sent is still a
 * failure in its window. The candidate is found from the subject
 * (opportunity:ID[:...] or request:ID).
 */
static const struct export_column failure_columns[] = {
	{ "at", "Failed at", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "candidate_name", "Candidate", COLUMN_TEXT, 0, SHOW_NAME },
	{ "kind", "Action", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "error", "Error", COLUMN_TEXT, 0, SHOW_WRAP },
	{ "attempts", "Attempts", COLUMN_INT, 0, SHOW_PLAIN },
	{ "state", "Now", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "key", "Action key", COLUMN_TEXT, 0, SHOW_ID },
};
static const char failure_sql[] =
	"WITH f AS (SELECT seq, at, subject, detail, instr(detail, ' key=') AS kp FROM audit_events "
	"WHERE kind = 'action.failed' AND " WINDOW("at") "), "
	"g AS (SELECT f.*, CASE WHEN kp > 0 THEN substr(detail, kp + 5) END AS rest, "
	"CASE WHEN subject LIKE 'opportunity:%' THEN substr(subject, 13) "
	"WHEN subject LIKE 'request:%' THEN (SELECT q.opportunity_id FROM cq_requests q "
	"WHERE q.id = substr(f.subject, 9)) END AS os FROM f), "
	"h AS (SELECT g.*, CASE WHEN instr(rest, ': ') > 0 THEN substr(rest, 1, instr(rest, ': ') - 1) END AS k, "
	"CASE WHEN instr(os, ':') > 0 THEN substr(os, 1, instr(os, ':') - 1) ELSE os END AS opp FROM g) "
	"SELECT h.at, " CANDIDATE_NAME("NULL") ", COALESCE(x.kind, CASE WHEN h.kp > 0 THEN substr(h.detail, 1, "
	"h.kp - 1) END), CASE WHEN h.k IS NULL THEN h.detail ELSE substr(h.rest, length(h.k) + 3) END, x.attempts, "
	"CASE x.state WHEN 'failed' THEN 'failed' WHEN 'done' THEN 'done after a retry' "
	"WHEN 'planned' THEN 'to be sent again' WHEN 'sending' THEN 'in doubt' END, h.k "
	"FROM h LEFT JOIN outbox x ON x.key = h.k LEFT JOIN lever_opportunities o ON o.id = h.opp "
	"ORDER BY h.at, h.seq";

static const struct export_column request_columns[] = {
	{ "candidate_name", "Candidate", COLUMN_TEXT, 0, SHOW_NAME },
	{ "posting", "Posting", COLUMN_TEXT, 0, SHOW_WRAP },
	{ "status", "Status", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "hold_reason", "Hold reason", COLUMN_TEXT, 0, SHOW_WRAP },
	{ "created_at", "Started", COLUMN_TIME, 0, SHOW_DATE },
	{ "completed_at", "Completed", COLUMN_TIME, 0, SHOW_DATE },
	{ "report_url", "Report", COLUMN_TEXT, 0, SHOW_URL },
	{ "hired", "Hired", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "started_by", "Started by", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "template_id", "Template", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "request_id", "Request", COLUMN_TEXT, 0, SHOW_ID },
	{ "opportunity_id", "Opportunity", COLUMN_TEXT, 0, SHOW_ID },
};
/* columns 13 and 14 only order the rows: time, then requests before holds */
static const char request_sql[] =
	"SELECT " CANDIDATE_NAME("r.candidate_name") ", p.text, r.status, NULL, r.created_at, r.completed_at, "
	"r.report_url, CASE r.hired WHEN 1 THEN 'yes' || COALESCE(' (' || r.hired_source || ')', '') "
	"WHEN 0 THEN 'no' END, CASE WHEN r.external_id IS NOT NULL THEN 'refsync' ELSE 'someone else' END, "
	"r.template_id, r.id, r.opportunity_id, r.created_at, 0 "
	"FROM cq_requests r LEFT JOIN lever_opportunities o ON o.id = r.opportunity_id "
	"LEFT JOIN lever_postings p ON p.id = o.posting_id WHERE " WINDOW("r.created_at") " "
	"UNION ALL "
	"SELECT " CANDIDATE_NAME("NULL") ", p.text, 'held', t.reason, t.entered_at, NULL, NULL, NULL, NULL, "
	"t.template_id, NULL, t.opportunity_id, t.entered_at, 1 "
	"FROM triggers t LEFT JOIN lever_opportunities o ON o.id = t.opportunity_id "
	"LEFT JOIN lever_postings p ON p.id = o.posting_id "
	"WHERE t.state = 'held' AND " WINDOW("t.entered_at") " "
	"ORDER BY 13, 14, 11, 12";

static const struct export_column run_columns[] = {
	{ "id", "Run", COLUMN_INT, 0, SHOW_PLAIN },
	{ "command", "Command", COLUMN_TEXT, 0, SHOW_PLAIN },
	{ "started_at", "Started", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "ended_at", "Ended", COLUMN_TIME, 0, SHOW_PLAIN },
	{ "exit_code", "Exit", COLUMN_INT, 0, SHOW_PLAIN },
	{ "pulled", "Pulled", COLUMN_INT, 0, SHOW_PLAIN },
	{ "decided", "Decided", COLUMN_INT, 0, SHOW_PLAIN },
	{ "done", "Done", COLUMN_INT, 0, SHOW_PLAIN },
	{ "failed", "Failed", COLUMN_INT, 0, SHOW_PLAIN },
	{ "held", "Held", COLUMN_INT, 0, SHOW_PLAIN },
	{ "error", "Error", COLUMN_TEXT, 0, SHOW_WRAP },
	{ "invocation_id", "Invocation", COLUMN_TEXT, 0, SHOW_ID },
};
#define RUN_SQL(command) \
	"SELECT id, " command ", started_at, ended_at, exit_code, pulled, decided, done, failed, held, error, " \
	"invocation_id FROM runs WHERE " WINDOW("started_at") " ORDER BY id"
static const char run_sql[] =
	RUN_SQL("command || CASE WHEN dry_run = 1 THEN ' (dry run: nothing sent)' ELSE '' END");
static const char run_sql_no_dry[] = RUN_SQL("command");

/* The SQL and columns of an HTML table. */
void html_rowset(enum rowset set, int have_dry, const char **sql, const struct export_column **columns,
		 int *ncolumns)
{
	switch (set) {
	case ROWS_HTML_HOLDS:
		*sql = hold_sql;
		*columns = hold_columns;
		*ncolumns = COUNT(hold_columns);
		return;
	case ROWS_HTML_FAILURES:
		*sql = failure_sql;
		*columns = failure_columns;
		*ncolumns = COUNT(failure_columns);
		return;
	case ROWS_HTML_REQUESTS:
		*sql = request_sql;
		*columns = request_columns;
		*ncolumns = COUNT(request_columns);
		return;
	default:
		*sql = have_dry ? run_sql : run_sql_no_dry;
		*columns = run_columns;
		*ncolumns = COUNT(run_columns);
		return;
	}
}
