-- +goose Up
-- Alerts (预警): one open alert per cause (device + rule), raised by the monitoring rules,
-- synced to the phones of its enterprise and the units above it, handled offline. Times the
-- server writes are UTC RFC 3339 text of fixed width (they sort as text); level, value,
-- threshold and photos are JSON text, as the sync table mapping stores them.
CREATE TABLE alerts (
    id                TEXT PRIMARY KEY,
    enterprise_id     TEXT NOT NULL DEFAULT '',
    org_path          TEXT NOT NULL,
    device_id         TEXT NOT NULL DEFAULT '',
    point_id          TEXT NOT NULL DEFAULT '',
    rule_id           TEXT NOT NULL DEFAULT '',
    cause             TEXT NOT NULL,
    kind              TEXT NOT NULL,
    level             TEXT NOT NULL DEFAULT '1',
    level_name        TEXT NOT NULL DEFAULT '',
    title             TEXT NOT NULL,
    message           TEXT NOT NULL DEFAULT '',
    value             TEXT NOT NULL DEFAULT '0',
    threshold         TEXT NOT NULL DEFAULT '0',
    unit              TEXT NOT NULL DEFAULT '',
    started_at        TEXT NOT NULL,
    last_at           TEXT NOT NULL,
    cleared_at        TEXT NOT NULL DEFAULT '',
    tier              TEXT NOT NULL DEFAULT 'enterprise' CHECK (tier IN ('enterprise', 'township', 'county')),
    escalated_at      TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'new',
    disposal_reason   TEXT NOT NULL DEFAULT '',
    disposal_measures TEXT NOT NULL DEFAULT '',
    photos            TEXT NOT NULL DEFAULT '[]',
    acknowledged_by   TEXT NOT NULL DEFAULT '',
    acknowledged_at   TEXT NOT NULL DEFAULT '',
    disposed_by       TEXT NOT NULL DEFAULT '',
    disposed_at       TEXT NOT NULL DEFAULT '',
    closed_at         TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
-- One open alert per cause, whichever instance raises it.
CREATE UNIQUE INDEX alerts_open_cause ON alerts (cause) WHERE status NOT IN ('closed', 'false_alarm');
CREATE INDEX alerts_org_path ON alerts (org_path);
CREATE INDEX alerts_enterprise ON alerts (enterprise_id, started_at);
CREATE INDEX alerts_started ON alerts (started_at);

-- Comments, acknowledgements, disposals and per-tier feedback (每一级都要反馈): append-only.
CREATE TABLE alert_actions (
    id         TEXT PRIMARY KEY,
    alert_id   TEXT NOT NULL REFERENCES alerts(id),
    kind       TEXT NOT NULL,
    text       TEXT NOT NULL DEFAULT '',
    photos     TEXT NOT NULL DEFAULT '[]',
    tier       TEXT NOT NULL DEFAULT '',
    by_user    TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX alert_actions_alert ON alert_actions (alert_id, at);

-- What happened to an alert (raised, level changes, cleared, escalated, status changes),
-- written in the transaction that made the change: the timeline reads it.
CREATE TABLE alert_events (
    id       TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts(id),
    kind     TEXT NOT NULL,
    level    INTEGER NOT NULL DEFAULT 0,
    tier     TEXT NOT NULL DEFAULT '',
    status   TEXT NOT NULL DEFAULT '',
    by_user  TEXT NOT NULL DEFAULT '',
    message  TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);

-- Every delivery attempt on every channel (the seed's 短信提醒记录).
CREATE TABLE alert_deliveries (
    id            TEXT PRIMARY KEY,
    alert_id      TEXT NOT NULL REFERENCES alerts(id),
    tier          TEXT NOT NULL,
    level         INTEGER NOT NULL,
    channel       TEXT NOT NULL,
    receiver_key  TEXT NOT NULL,
    receiver_name TEXT NOT NULL DEFAULT '',
    user_id       TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    attempt       INTEGER NOT NULL DEFAULT 1,
    status        TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'skipped')),
    provider_id   TEXT NOT NULL DEFAULT '',
    error_code    TEXT NOT NULL DEFAULT '',
    error_message TEXT NOT NULL DEFAULT '',
    at            TEXT NOT NULL
);
CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id, at);

-- Who receives alerts at each tier: an enterprise (enterprise tier) or an org unit (township
-- and county tiers), by which channels, from which level.
CREATE TABLE alert_receivers (
    id               TEXT PRIMARY KEY,
    tier             TEXT NOT NULL CHECK (tier IN ('enterprise', 'township', 'county')),
    enterprise_id    TEXT NOT NULL DEFAULT '',
    org_unit_id      TEXT NOT NULL DEFAULT '',
    org_path         TEXT NOT NULL,
    user_id          TEXT NOT NULL DEFAULT '',
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL DEFAULT '',
    zzd_account_id   TEXT NOT NULL DEFAULT '',
    dingtalk_webhook TEXT NOT NULL DEFAULT '',
    dingtalk_secret  TEXT NOT NULL DEFAULT '',
    channels         TEXT NOT NULL DEFAULT '[]',
    min_level        INTEGER NOT NULL DEFAULT 1,
    enabled          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX alert_receivers_enterprise ON alert_receivers (tier, enterprise_id);
CREATE INDEX alert_receivers_unit ON alert_receivers (tier, org_unit_id);
CREATE INDEX alert_receivers_org_path ON alert_receivers (org_path);

-- FCM registration tokens of users' phones, one per device.
CREATE TABLE push_tokens (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_id  TEXT NOT NULL,
    token      TEXT NOT NULL,
    platform   TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
CREATE INDEX push_tokens_token ON push_tokens (token);

-- +goose Down
DROP TABLE push_tokens;
DROP TABLE alert_receivers;
DROP TABLE alert_deliveries;
DROP TABLE alert_events;
DROP TABLE alert_actions;
DROP TABLE alerts;
