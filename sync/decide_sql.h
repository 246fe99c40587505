/*
 * decide_sql.h - the queries deciding reads with, in one place: decide.c
 * runs them, and the benchmark's floor (tests/bench/floor.c) runs the very
 * same ones to measure what deciding cannot avoid reading.
 */
#ifndef REFSYNC_DECIDE_SQL_H
#define REFSYNC_DECIDE_SQL_H

/* Every trigger-stage entry (?1 the stage id) since live_since (?2) that is
 * not queued, oldest first. */
#define DECIDE_ALL_ENTRIES_SQL                                                                                   \
	"SELECT e.opportunity_id, e.entered_at, t.state, t.reason FROM stage_entries e "                          \
	"LEFT JOIN triggers t ON t.opportunity_id = e.opportunity_id AND t.entered_at = e.entered_at "            \
	"WHERE e.stage_id = ?1 AND e.entered_at >= ?2 AND (t.state IS NULL OR t.state <> 'queued') "              \
	"ORDER BY e.entered_at, e.opportunity_id"

/* The same, of the opportunities the store marked since the last decide
 * (decide_dirty), and, when ?3, of the held triggers. CROSS JOIN keeps the
 * marks the outer loop: without statistics SQLite would scan stage_entries. */
#define DECIDE_CHANGED_ENTRIES_SQL                                                                               \
	"SELECT e.opportunity_id, e.entered_at, t.state, t.reason FROM decide_dirty d "                           \
	"CROSS JOIN lever_opportunities o ON o.id = d.opportunity_id "                                            \
	"CROSS JOIN stage_entries e ON e.opportunity_seq = o.rowid AND e.stage_id = ?1 AND e.entered_at >= ?2 "   \
	"LEFT JOIN triggers t ON t.opportunity_id = e.opportunity_id AND t.entered_at = e.entered_at "            \
	"WHERE t.state IS NULL OR t.state <> 'queued' "                                                           \
	"UNION "                                                                                                  \
	"SELECT t.opportunity_id, t.entered_at, t.state, t.reason FROM triggers t "                               \
	"WHERE ?3 AND t.state = 'held' AND t.entered_at >= ?2 AND EXISTS (SELECT 1 FROM lever_opportunities o "   \
	"CROSS JOIN stage_entries e ON e.opportunity_seq = o.rowid AND e.stage_id = ?1 "                          \
	"AND e.entered_at = t.entered_at "                                                                        \
	"WHERE o.id = t.opportunity_id) "                                                                         \
	"ORDER BY 2, 1"

/* One candidate (?1 its id) with its posting and the users it names. */
#define DECIDE_CANDIDATE_SQL                                                                                     \
	"SELECT o.name, o.email, o.phone, o.url, o.posting_id, p.text, ou.name, ou.email, "                       \
	"pu.name, pu.email, hu.name, hu.email, o.archived_at IS NOT NULL, o.anonymized, "                         \
	"o.deleted_at IS NOT NULL "                                                                               \
	"FROM lever_opportunities o "                                                                             \
	"LEFT JOIN lever_postings p ON p.id = o.posting_id "                                                      \
	"LEFT JOIN lever_users ou ON ou.id = o.owner_id "                                                         \
	"LEFT JOIN lever_users pu ON pu.id = p.owner_id "                                                         \
	"LEFT JOIN lever_users hu ON hu.id = p.hiring_manager_id "                                                \
	"WHERE o.id = ?"

/* An owner's tags (?1 kind, ?2 id): decide.c matches them with the
 * [template NAME] ats_tags of the config, ignoring case. */
#define DECIDE_MATCH_TAGS_SQL "SELECT tag FROM lever_tags WHERE owner_kind = ? AND owner_id = ? ORDER BY tag"

#endif
