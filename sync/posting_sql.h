/*
 * posting_sql.h - SQL text shared by `status` and `plan` to show a person
 * the Lever posting behind an id: its name, then its tags in brackets
 * ("Backend Engineer [Engineering, Remote]"), or NULL when the posting is
 * not known. Constant text only: the ids are bound or are columns.
 */
#ifndef REFSYNC_POSTING_SQL_H
#define REFSYNC_POSTING_SQL_H

/* The posting of the opportunity whose id is the SQL expression OPP. (The
 * tags come in the table's key order: by tag.) */
#define POSTING_OF_OPPORTUNITY_SQL(OPP)                                                                       \
	"(SELECT coalesce(p.text, p.id) || coalesce(' [' || (SELECT group_concat(g.tag, ', ') FROM lever_tags g " \
	"WHERE g.owner_kind = 'posting' AND g.owner_id = p.id) || ']', '') FROM lever_opportunities o "          \
	"JOIN lever_postings p ON p.id = o.posting_id WHERE o.id = " OPP ")"

/* The opportunity an outbox subject (column SUBJ) is about: "opportunity:ID",
 * "opportunity:ID:MS", or "request:ID" of a Crosschq request linked to one. */
#define OPPORTUNITY_OF_SUBJECT_SQL(SUBJ)                                                                      \
	"(CASE WHEN " SUBJ " LIKE 'opportunity:%' THEN CASE WHEN instr(substr(" SUBJ ", 13), ':') > 0 THEN "     \
	"substr(" SUBJ ", 13, instr(substr(" SUBJ ", 13), ':') - 1) ELSE substr(" SUBJ ", 13) END "               \
	"WHEN " SUBJ " LIKE 'request:%' THEN (SELECT r.opportunity_id FROM cq_requests r WHERE r.id = "           \
	"substr(" SUBJ ", 9)) END)"

#endif
