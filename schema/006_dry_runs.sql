-- refsync schema: a dry run is recorded as one (issue 18 item 8).
--
-- runs.dry_run is 1 for `run --dry-run` and `backfill --dry-run` (they send
-- nothing and roll their decisions back), 0 for every other run. `refsync
-- status` and every export of refsync-export mark those runs. Runs recorded
-- before this migration are marked from their run.end audit event, whose
-- detail has always started with the command as run ("run --dry-run exit=").
ALTER TABLE runs ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0 CHECK (dry_run IN (0, 1));
UPDATE runs SET dry_run = 1 WHERE id IN (
    SELECT run_id FROM audit_events WHERE kind = 'run.end' AND run_id IS NOT NULL
    AND (detail LIKE 'run --dry-run %' OR detail LIKE 'backfill --dry-run %'));
