-- refsync schema, migration 2: webhooks that Lever answered badly.
--
-- A webhook is a hint: when the opportunity it names cannot be fetched
-- (403, 5xx, a redirect elsewhere, a malformed answer), its spool file stays
-- in new/ and is tried again at later runs with a growing delay; after a few
-- tries it is set aside (moved to done/) with its reason. Shown by
-- `refsync status`. name is the spool file name.
CREATE TABLE webhook_retries (
    name           TEXT PRIMARY KEY,
    opportunity_id TEXT NOT NULL,
    attempts       INTEGER NOT NULL,
    next_at        INTEGER NOT NULL,
    last_error     TEXT NOT NULL,
    set_aside_at   INTEGER,
    updated_at     INTEGER NOT NULL
) STRICT;
