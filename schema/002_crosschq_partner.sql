-- refsync schema, migration 2: Crosschq as it is known (crosschq-api.md).
--
--   * Templates live in refsync's config ([template NAME] sections), so the
--     mirror of Crosschq templates goes. triggers.template_id and
--     cq_requests.template_id now hold a template's NAME.
--   * cq_requests.status is refsync's reading of Crosschq's free status word:
--     'open' | 'completed' | 'cancelled' | 'expired' | 'gone' (404 on read);
--     status_word keeps the word as Crosschq wrote it. external_id is the
--     outbox key of the create that made the request (NULL: not ours, or not
--     adopted yet); Crosschq itself stores no external id.
--   * checked_at: when the request was last read or received (webhook, list,
--     read by id): open requests are read again oldest check first.
--   * outbox.send_started_at: when a create was last claimed for sending. A
--     create in doubt is adopted only from a request created after it.
--   * capabilities: what the section-2 probes found ('present' | 'absent' |
--     'unknown'), with the evidence and when.
DROP TABLE cq_templates;

ALTER TABLE cq_requests ADD COLUMN status_word TEXT;
ALTER TABLE cq_requests ADD COLUMN progress INTEGER;
ALTER TABLE cq_requests ADD COLUMN job_position TEXT;
ALTER TABLE cq_requests ADD COLUMN status_updated_at INTEGER;
ALTER TABLE cq_requests ADD COLUMN checked_at INTEGER;
UPDATE cq_requests SET status_word = status, checked_at = 0,
    status = CASE WHEN status IN ('sent', 'in_progress') THEN 'open' ELSE status END;
-- the requests of ours to read again, oldest check first (crosschq_store.c)
CREATE INDEX cq_requests_poll ON cq_requests(status, checked_at) WHERE external_id IS NOT NULL;
CREATE INDEX cq_requests_email ON cq_requests(lower(candidate_email)) WHERE external_id IS NULL;

ALTER TABLE outbox ADD COLUMN send_started_at INTEGER;

CREATE TABLE capabilities (
    name      TEXT PRIMARY KEY,
    state     TEXT NOT NULL,        -- 'present' | 'absent' | 'unknown'
    detail    TEXT NOT NULL,        -- the probe and what it answered
    probed_at INTEGER NOT NULL
) STRICT;
