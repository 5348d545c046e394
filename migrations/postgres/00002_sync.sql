-- +goose Up
-- The change log: one row per accepted change, numbered by the counter row so numbers are
-- taken and committed in the same order (a puller never skips an uncommitted lower number).
CREATE TABLE sync_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO sync_counter (id, seq) VALUES (1, 0);

CREATE TABLE sync_changes (
    seq               BIGINT PRIMARY KEY,
    collection        TEXT NOT NULL,
    record_id         TEXT NOT NULL,
    org_path          TEXT COLLATE "C" NOT NULL DEFAULT '',
    enterprise_id     TEXT NOT NULL DEFAULT '',
    old_org_path      TEXT COLLATE "C" NOT NULL DEFAULT '',
    old_enterprise_id TEXT NOT NULL DEFAULT '',
    deleted           BOOLEAN NOT NULL DEFAULT FALSE,
    at                TIMESTAMPTZ NOT NULL
);
CREATE INDEX sync_changes_record ON sync_changes (collection, record_id);

-- The latest change of each record, its scope keys and the per-field HLC stamps.
CREATE TABLE sync_records (
    collection    TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    seq           BIGINT NOT NULL,
    org_path      TEXT COLLATE "C" NOT NULL DEFAULT '',
    enterprise_id TEXT NOT NULL DEFAULT '',
    deleted       BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at    TEXT NOT NULL DEFAULT '',
    stamps        TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (collection, record_id)
);

-- Per-scope checksums (sum modulo 2^64 of record hashes, stored as signed 64-bit) and counts.
CREATE TABLE sync_sums (
    scope TEXT PRIMARY KEY,
    sum   BIGINT NOT NULL,
    count BIGINT NOT NULL
);

-- Answers to mutation ids, kept so a replay from a phone offline for months gets the same answer.
CREATE TABLE sync_mutations (
    mutation_id  TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    collection   TEXT NOT NULL DEFAULT '',
    record_id    TEXT NOT NULL DEFAULT '',
    payload_hash TEXT NOT NULL,
    status       TEXT NOT NULL,
    result       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sync_mutations_record ON sync_mutations (collection, record_id);

-- Hidden dangers (隐患): the first collection phones write.
CREATE TABLE hazards (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    org_path      TEXT COLLATE "C" NOT NULL,
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    level         TEXT NOT NULL DEFAULT 'general',
    status        TEXT NOT NULL DEFAULT 'reported',
    photos        TEXT NOT NULL DEFAULT '[]',
    reported_by   TEXT NOT NULL DEFAULT '',
    reported_at   TEXT NOT NULL DEFAULT '',
    deadline      TEXT NOT NULL DEFAULT '',
    rectifier_id  TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT 'null',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX hazards_enterprise ON hazards (enterprise_id);
CREATE INDEX hazards_org_path ON hazards (org_path);

-- Actions on a hazard (comments, assignments): append-only.
CREATE TABLE hazard_actions (
    id         TEXT PRIMARY KEY,
    hazard_id  TEXT NOT NULL REFERENCES hazards(id),
    kind       TEXT NOT NULL,
    text       TEXT NOT NULL DEFAULT '',
    assignee   TEXT NOT NULL DEFAULT '',
    by_user    TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX hazard_actions_hazard ON hazard_actions (hazard_id);

-- +goose Down
DROP TABLE hazard_actions;
DROP TABLE hazards;
DROP TABLE sync_mutations;
DROP TABLE sync_sums;
DROP TABLE sync_records;
DROP TABLE sync_changes;
DROP TABLE sync_counter;
