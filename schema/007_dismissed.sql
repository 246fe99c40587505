-- A failed action that an operator settled for good (`refsync resolve KEY
-- --dismiss`, issue 18 item 9): it stays failed and is never sent, and it no
-- longer keeps every run at exit 1. NULL: not dismissed (`refsync retry KEY`
-- puts it back to planned and clears this).
ALTER TABLE outbox ADD COLUMN dismissed_at INTEGER;
