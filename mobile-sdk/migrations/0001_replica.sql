-- The device's replica: session, collection specs, server records with their local view,
-- scope membership with incrementally kept checksums, the outbox and rejected changes.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- CollectionSpecs from the last pull, as JSON.
CREATE TABLE specs (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL
);

-- One row per record: the server's state (s_*, seq) and the local view (v_*): the server's
-- state with the pending outbox mutations merged on top.
CREATE TABLE records (
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    seq          INTEGER NOT NULL DEFAULT 0,
    s_exists     INTEGER NOT NULL DEFAULT 0,
    s_deleted    INTEGER NOT NULL DEFAULT 0,
    s_deleted_at TEXT    NOT NULL DEFAULT '',
    s_fields     TEXT    NOT NULL DEFAULT '{}',
    s_stamps     TEXT    NOT NULL DEFAULT '{}',
    v_exists     INTEGER NOT NULL DEFAULT 0,
    v_deleted    INTEGER NOT NULL DEFAULT 0,
    v_fields     TEXT    NOT NULL DEFAULT '{}',
    state        TEXT    NOT NULL DEFAULT 'synced',
    PRIMARY KEY (collection, id)
);
CREATE INDEX records_view ON records (collection, v_exists, v_deleted);

-- Which scopes hold a live record, at the seq that scope delivered (the checksum input).
CREATE TABLE scope_records (
    scope      TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (scope, collection, id)
);
CREATE INDEX scope_records_record ON scope_records (collection, id);

-- Per scope: the checkpoint applied up to and the local checksum (uint64 sum stored as its
-- two's-complement int64) and count of live records.
CREATE TABLE scopes (
    scope      TEXT PRIMARY KEY,
    checkpoint INTEGER NOT NULL DEFAULT 0,
    sum        INTEGER NOT NULL DEFAULT 0,
    count      INTEGER NOT NULL DEFAULT 0,
    verified   INTEGER NOT NULL DEFAULT 0,
    repairs    INTEGER NOT NULL DEFAULT 0,
    synced_at  TEXT    NOT NULL DEFAULT ''
);

-- Changes not yet answered by the server, in order. state: pending or sending (a push was
-- sent; its answer may not have arrived: resend as is, the mutation id makes it idempotent).
CREATE TABLE outbox (
    pos         INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT    NOT NULL UNIQUE,
    collection  TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    base_seq    INTEGER NOT NULL DEFAULT 0,
    fields      TEXT    NOT NULL DEFAULT '{}',
    base        TEXT    NOT NULL DEFAULT '{}',
    hlc         TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_record ON outbox (collection, id);

-- Changes the server refused, kept for the user to fix (retry) or dismiss.
CREATE TABLE rejected (
    mutation_id TEXT PRIMARY KEY,
    collection  TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    op          TEXT    NOT NULL,
    base_seq    INTEGER NOT NULL DEFAULT 0,
    fields      TEXT    NOT NULL DEFAULT '{}',
    base        TEXT    NOT NULL DEFAULT '{}',
    hlc         TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    rejected_at TEXT    NOT NULL
);
CREATE INDEX rejected_record ON rejected (collection, id);
