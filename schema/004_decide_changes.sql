-- What deciding must look at again, so that a run with nothing new reads
-- nothing big (issue 17). The store adds an opportunity here when it stores
-- one with an entry into the trigger stage that decide last used (settings
-- 'decide.trigger_stage'), or learns that one was deleted or anonymized;
-- decide reads these and the held triggers, then empties the table, in the
-- transaction of its decisions.
CREATE TABLE decide_dirty (
    opportunity_id TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- Held triggers are looked at again on every run (a tag or template added
-- later releases them); `refsync status` counts them.
CREATE INDEX triggers_state ON triggers(state);

-- The follow-up prompt looks at the requests whose waiting time ended since
-- the last decide.
CREATE INDEX cq_requests_completed ON cq_requests(completed_at);
