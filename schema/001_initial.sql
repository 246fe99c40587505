-- refsync schema, migration 1: the initial tables.
--
-- Conventions:
--   * every time is an INTEGER of epoch milliseconds UTC (Crosschq's ISO 8601
--     strings are converted on the way in);
--   * ids are the remote systems' own ids (TEXT);
--   * personal data (names, emails, phones) lives only in lever_opportunities,
--     lever_users, cq_requests.candidate_* and cq_prospects, so that erasing a
--     deleted or anonymized candidate is a handful of UPDATEs;
--   * audit_events is append-only and hash-chained (see sync/audit.c).

-- Key/value settings of this installation, e.g. 'live_since'.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Incremental pull positions. A listing in progress keeps its window
-- [since, until] and the remote's opaque next-page token; when the listing
-- ends, token is NULL and since/until describe the last completed window.
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    since      INTEGER,
    until      INTEGER,
    token      TEXT,
    pages      INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE lever_stages (
    id   TEXT PRIMARY KEY,
    text TEXT NOT NULL
) STRICT;

CREATE TABLE lever_archive_reasons (
    id     TEXT PRIMARY KEY,
    text   TEXT NOT NULL,
    type   TEXT NOT NULL,          -- 'hired' | 'non-hired'
    status TEXT
) STRICT;

CREATE TABLE lever_users (
    id    TEXT PRIMARY KEY,
    name  TEXT,
    email TEXT
) STRICT;

CREATE TABLE lever_postings (
    id                TEXT PRIMARY KEY,
    text              TEXT,
    state             TEXT,
    owner_id          TEXT,
    hiring_manager_id TEXT,
    updated_at        INTEGER
) STRICT;

-- Tags of postings ('posting') and opportunities ('opportunity'), as written
-- in Lever (case preserved).
CREATE TABLE lever_tags (
    owner_kind TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, tag)
) STRICT, WITHOUT ROWID;

CREATE TABLE lever_opportunities (
    id                TEXT PRIMARY KEY,
    name              TEXT,
    email             TEXT,              -- first email, NULL when none
    phone             TEXT,
    owner_id          TEXT,
    posting_id        TEXT,
    stage_id          TEXT,
    confidential      INTEGER NOT NULL DEFAULT 0,
    archived_at       INTEGER,
    archive_reason_id TEXT,
    anonymized        INTEGER NOT NULL DEFAULT 0,
    deleted_at        INTEGER,
    url               TEXT,
    links             TEXT,              -- newline-separated
    created_at        INTEGER,
    updated_at        INTEGER,           -- NULL when Lever says null
    pulled_at         INTEGER NOT NULL
) STRICT;

-- Every element of stageChanges: one row per entry into a stage. Keyed by
-- the opportunity's rowid, which grows as opportunities are first stored, so
-- that a backfill appends entries instead of scattering them over the tree
-- (Lever's ids are random). No index by stage: the trigger query scans this
-- table once per run, a few milliseconds for 100,000 opportunities.
-- (The key columns come first: SQLite 3.40's integrity_check misreads NOT
-- NULL columns declared before them in a WITHOUT ROWID table.)
CREATE TABLE stage_entries (
    opportunity_seq INTEGER NOT NULL,     -- lever_opportunities.rowid
    stage_id        TEXT NOT NULL,
    entered_at      INTEGER NOT NULL,
    opportunity_id  TEXT NOT NULL,
    PRIMARY KEY (opportunity_seq, stage_id, entered_at)
) STRICT, WITHOUT ROWID;

CREATE TABLE cq_templates (
    id                   TEXT PRIMARY KEY,
    name                 TEXT,
    ats_tag              TEXT,
    jobrole              TEXT,
    is_default           INTEGER NOT NULL DEFAULT 0,
    hiring_manager_name  TEXT,
    hiring_manager_email TEXT,
    updated_at           INTEGER,
    seen_at              INTEGER NOT NULL  -- the pull that last listed it
) STRICT;

CREATE TABLE cq_requests (
    id              TEXT PRIMARY KEY,
    external_id     TEXT UNIQUE,
    opportunity_id  TEXT,                  -- parsed from external_id
    template_id     TEXT,
    status          TEXT NOT NULL,
    candidate_name  TEXT,
    candidate_email TEXT,
    created_at      INTEGER,
    updated_at      INTEGER,
    completed_at    INTEGER,
    report_url      TEXT,
    hired           INTEGER,               -- NULL unknown, 0, 1
    hired_at        INTEGER,
    hired_source    TEXT
) STRICT;
CREATE INDEX cq_requests_opportunity ON cq_requests(opportunity_id);

CREATE TABLE cq_prospects (
    id              TEXT PRIMARY KEY,
    first_name      TEXT,
    last_name       TEXT,
    email           TEXT,
    phone           TEXT,
    job_title       TEXT,
    tags            TEXT,                  -- newline-separated
    source          TEXT,
    created_at      INTEGER,
    updated_at      INTEGER,
    ats_id          TEXT,
    ats_exported_at INTEGER
) STRICT;

-- The trigger's verdict on each stage entry that counts (in the trigger
-- stage, at or after live_since). state: 'queued' (an outbox action exists),
-- 'held' (no or ambiguous template; re-examined every run), 'skipped'
-- (archived, anonymized, no email; re-examined every run).
CREATE TABLE triggers (
    opportunity_id TEXT NOT NULL,
    entered_at     INTEGER NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT,
    template_id    TEXT,
    first_seen_at  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (opportunity_id, entered_at)
) STRICT;

-- Every remote side effect. The key is the idempotency key: one key, at
-- most one effect, ever. state: planned -> sending -> done | failed.
-- A row found in 'sending' when a run starts is in doubt and is resolved
-- against the remote before anything is sent again.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,         -- the object it concerns (ids only)
    payload         TEXT NOT NULL,         -- JSON, fixed when planned
    reason          TEXT NOT NULL,         -- why decide planned it
    state           TEXT NOT NULL DEFAULT 'planned',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    result          TEXT,                  -- remote id of what was created
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_state ON outbox(state, next_attempt_at);

-- Owners' answers to the follow-up prompt, written by refsync-hook.
CREATE TABLE answers (
    request_id  TEXT PRIMARY KEY,
    hired       INTEGER NOT NULL,
    answered_at INTEGER NOT NULL
) STRICT;

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    command       TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    exit_code     INTEGER,
    invocation_id TEXT,
    pulled        INTEGER NOT NULL DEFAULT 0,
    decided       INTEGER NOT NULL DEFAULT 0,
    done          INTEGER NOT NULL DEFAULT 0,
    failed        INTEGER NOT NULL DEFAULT 0,
    held          INTEGER NOT NULL DEFAULT 0,
    error         TEXT
) STRICT;

-- The audit trail: append-only (only sync/audit.c inserts; nothing updates
-- or deletes), hash-chained so that any edit is found by --verify.
--   hash = hex(SHA-256(prev_hash || canonical(event)))
-- where prev_hash is the previous event's hex hash ('' for the first) and
-- canonical(event) is defined in sync/audit.c. detail never holds names or
-- emails: ids, states, counts and remote messages only.
CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    run_id    INTEGER,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
