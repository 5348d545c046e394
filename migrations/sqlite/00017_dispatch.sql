-- +goose Up
-- Dispatch (救援资源调度): resource requests from the scene and dispatch orders from
-- headquarters, both synced to the members of the incident (incidents, migration 00016).
-- As in the other synced tables, times are UTC RFC 3339 text and numbers, points and routes
-- JSON text, as the sync table mapping stores them; org_path is the incident's.

-- What the scene asks for (made offline by responders): what, how much, where.
CREATE TABLE resource_requests (
    id           TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    org_path     TEXT NOT NULL,
    kind         TEXT NOT NULL DEFAULT 'supply',
    item         TEXT NOT NULL,
    quantity     TEXT NOT NULL DEFAULT '0',
    unit         TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT 'null',
    address      TEXT NOT NULL DEFAULT '',
    urgency      TEXT NOT NULL DEFAULT 'normal',
    note         TEXT NOT NULL DEFAULT '',
    photos       TEXT NOT NULL DEFAULT '[]',
    status       TEXT NOT NULL DEFAULT 'open',
    requested_by TEXT NOT NULL DEFAULT '',
    requested_at TEXT NOT NULL,
    received_at  TEXT NOT NULL DEFAULT '',
    handled_by   TEXT NOT NULL DEFAULT '',
    handled_at   TEXT NOT NULL DEFAULT '',
    reply        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX resource_requests_incident ON resource_requests (incident_id, requested_at);
CREATE INDEX resource_requests_org_path ON resource_requests (org_path);

-- What headquarters sends: a team or a quantity of a supply, from where to where, with the
-- route planned when ordered and the time of each step (ordered → departed → arrived →
-- returned, or cancelled).
CREATE TABLE dispatch_orders (
    id                 TEXT PRIMARY KEY,
    incident_id        TEXT NOT NULL,
    org_path           TEXT NOT NULL,
    code               TEXT NOT NULL DEFAULT '',
    request_id         TEXT NOT NULL DEFAULT '',
    kind               TEXT NOT NULL CHECK (kind IN ('team', 'supply')),
    resource_id        TEXT NOT NULL,
    resource_name      TEXT NOT NULL DEFAULT '',
    quantity           TEXT NOT NULL DEFAULT '0',
    unit               TEXT NOT NULL DEFAULT '',
    from_id            TEXT NOT NULL DEFAULT '',
    from_name          TEXT NOT NULL DEFAULT '',
    from_location      TEXT NOT NULL DEFAULT 'null',
    to_location        TEXT NOT NULL DEFAULT 'null',
    to_address         TEXT NOT NULL DEFAULT '',
    route              TEXT NOT NULL DEFAULT 'null',
    note               TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'ordered',
    cancel_reason      TEXT NOT NULL DEFAULT '',
    ordered_by         TEXT NOT NULL DEFAULT '',
    ordered_at         TEXT NOT NULL,
    departed_at        TEXT NOT NULL DEFAULT '',
    arrived_at         TEXT NOT NULL DEFAULT '',
    returned_at        TEXT NOT NULL DEFAULT '',
    cancelled_at       TEXT NOT NULL DEFAULT '',
    status_by          TEXT NOT NULL DEFAULT '',
    status_received_at TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX dispatch_orders_incident ON dispatch_orders (incident_id, ordered_at);
CREATE INDEX dispatch_orders_org_path ON dispatch_orders (org_path);
CREATE INDEX dispatch_orders_resource ON dispatch_orders (resource_id, status);

-- Stock reserved by open supply orders: a supply's free stock is quantity − reserved, never
-- below zero (the reservation is one conditional UPDATE, safe under concurrent orders).
ALTER TABLE resources ADD COLUMN reserved REAL NOT NULL DEFAULT 0;

-- One-click contact (一键短信/浙政钉/传真): every message sent and what the channel answered.
CREATE TABLE contact_messages (
    id            TEXT PRIMARY KEY,
    channel       TEXT NOT NULL CHECK (channel IN ('sms', 'zzd', 'fax')),
    target_kind   TEXT NOT NULL DEFAULT '',
    target_id     TEXT NOT NULL DEFAULT '',
    target_name   TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    incident_id   TEXT NOT NULL DEFAULT '',
    org_path      TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
    provider_id   TEXT NOT NULL DEFAULT '',
    error_code    TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    sent_by       TEXT NOT NULL DEFAULT '',
    sent_by_name  TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL
);
CREATE INDEX contact_messages_incident ON contact_messages (incident_id, at);
CREATE INDEX contact_messages_at ON contact_messages (at);

-- +goose Down
DROP TABLE contact_messages;
ALTER TABLE resources DROP COLUMN reserved;
DROP TABLE dispatch_orders;
DROP TABLE resource_requests;
