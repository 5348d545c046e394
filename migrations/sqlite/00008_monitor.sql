-- +goose Up
-- Monitoring (监测预警): devices and their points, readings with minute/hour rollups, device
-- online history, data-quality anomalies, ingest rejects per device and reason, and the rule
-- engine's state per point. Reading and rollup times are Unix milliseconds (UTC); rollup
-- buckets start at the minute or hour. readings has no foreign key (bulk writes, retention).
CREATE TABLE devices (
    id                  TEXT PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL,
    enterprise_id       TEXT NOT NULL REFERENCES enterprises(id),
    org_path            TEXT NOT NULL,
    category            TEXT NOT NULL,
    kind                TEXT NOT NULL,
    lat                 REAL,
    lng                 REAL,
    heartbeat_timeout_s INTEGER NOT NULL DEFAULT 300,
    secret_hash         TEXT NOT NULL,
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    online              BOOLEAN NOT NULL DEFAULT FALSE,
    last_seen_at        TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX devices_org_path ON devices (org_path);
CREATE INDEX devices_enterprise ON devices (enterprise_id);

CREATE TABLE monitor_points (
    id                TEXT PRIMARY KEY,
    device_id         TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    enterprise_id     TEXT NOT NULL REFERENCES enterprises(id),
    org_path          TEXT NOT NULL,
    code              TEXT NOT NULL,
    name              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    unit              TEXT NOT NULL,
    range_min         REAL,
    range_max         REAL,
    sampling_period_s INTEGER NOT NULL,
    thresholds        TEXT NOT NULL DEFAULT '[]',
    quality           TEXT NOT NULL DEFAULT '{}',
    disabled          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    UNIQUE (device_id, code)
);
CREATE INDEX monitor_points_org_path ON monitor_points (org_path);
CREATE INDEX monitor_points_enterprise ON monitor_points (enterprise_id);

CREATE TABLE readings (
    point_id TEXT NOT NULL,
    ts       INTEGER NOT NULL,
    value    REAL NOT NULL
);
CREATE INDEX readings_point_ts ON readings (point_id, ts);
CREATE INDEX readings_ts ON readings (ts);

CREATE TABLE reading_rollups (
    point_id   TEXT NOT NULL,
    resolution TEXT NOT NULL,
    bucket     INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    sum        REAL NOT NULL,
    min        REAL NOT NULL,
    max        REAL NOT NULL,
    last       REAL NOT NULL,
    last_ts    INTEGER NOT NULL,
    PRIMARY KEY (point_id, resolution, bucket)
);
CREATE INDEX reading_rollups_bucket ON reading_rollups (resolution, bucket);

CREATE TABLE device_status_log (
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    online    BOOLEAN NOT NULL,
    at        TIMESTAMP NOT NULL,
    reason    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_status_log_device ON device_status_log (device_id, at);

CREATE TABLE anomalies (
    id        TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    point_id  TEXT NOT NULL DEFAULT '',
    kind      TEXT NOT NULL,
    value     REAL NOT NULL,
    message   TEXT NOT NULL,
    at        TIMESTAMP NOT NULL
);
CREATE INDEX anomalies_device ON anomalies (device_id, at);
CREATE INDEX anomalies_at ON anomalies (at);

CREATE TABLE ingest_rejects (
    device     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    count      INTEGER NOT NULL,
    last_at    TIMESTAMP NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (device, reason)
);

CREATE TABLE rule_states (
    point_id   TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE rule_states;
DROP TABLE ingest_rejects;
DROP TABLE anomalies;
DROP TABLE device_status_log;
DROP TABLE reading_rollups;
DROP TABLE readings;
DROP TABLE monitor_points;
DROP TABLE devices;
