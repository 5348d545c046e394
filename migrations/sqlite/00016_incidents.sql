-- +goose Up
-- Incidents (灾情定位 and the response, 启动响应/变更/终止): the incident, its command groups
-- and members, the response steps the duty officer proposes and the leader approves, and the
-- incident group chat (群组). Incidents, response steps and chat messages are synced
-- collections. Times a person or device sets (occurred_at, reported_at, received_at,
-- terminated_at, proposed_at, decided_at, sent_at, added_at, removed_at) are UTC RFC 3339
-- text of fixed width ("2026-12-07T08:00:00Z"; they sort as text), like the alerts'; the
-- row stamps created_at and updated_at are timestamps. received_at beside an action time is
-- when the server got it (syncsvc/step.go).
CREATE TABLE incidents (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL DEFAULT '',
    title          TEXT NOT NULL,
    class          TEXT NOT NULL CHECK (class IN ('natural', 'accident', 'health', 'social')),
    sub_type       TEXT NOT NULL DEFAULT '',
    grade          TEXT NOT NULL DEFAULT '' CHECK (grade IN ('特别重大', '重大', '较大', '一般', '')),
    status         TEXT NOT NULL DEFAULT 'reported' CHECK (status IN ('reported', 'responding', 'terminated')),
    response_level INTEGER NOT NULL DEFAULT 0,
    plan_id        TEXT NOT NULL DEFAULT '',
    lat            REAL,
    lng            REAL,
    cell           TEXT NOT NULL DEFAULT '',
    area           TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL DEFAULT '',
    org_path       TEXT NOT NULL,
    org_unit_id    TEXT NOT NULL,
    enterprise_id  TEXT NOT NULL DEFAULT '',
    occurred_at    TEXT NOT NULL,
    reported_at    TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    reporter_id    TEXT NOT NULL DEFAULT '',
    reporter_name  TEXT NOT NULL DEFAULT '',
    reporter_phone TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL DEFAULT 'portal' CHECK (source IN ('phone', 'alert', 'field', 'portal')),
    alert_id       TEXT NOT NULL DEFAULT '',
    dead           INTEGER NOT NULL DEFAULT 0,
    injured        INTEGER NOT NULL DEFAULT 0,
    missing        INTEGER NOT NULL DEFAULT 0,
    trapped        INTEGER NOT NULL DEFAULT 0,
    affected       INTEGER NOT NULL DEFAULT 0,
    economic_loss  REAL NOT NULL DEFAULT 0,
    materials      TEXT NOT NULL DEFAULT '[]',
    exercise       INTEGER NOT NULL DEFAULT 0,
    description    TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    terminated_at  TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX incidents_code ON incidents (code) WHERE code <> '';
CREATE INDEX incidents_org_path ON incidents (org_path);
CREATE INDEX incidents_occurred ON incidents (occurred_at);
CREATE INDEX incidents_status ON incidents (status, occurred_at);
CREATE INDEX incidents_alert ON incidents (alert_id) WHERE alert_id <> '';
CREATE INDEX incidents_cell ON incidents (cell);

-- The incident an alert became (both ways: incidents.alert_id and alerts.incident_id).
ALTER TABLE alerts ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';

-- Members of an incident's command groups: headquarters (hq), on-site command (onsite), a
-- dispatched team (team) and anyone else involved (member); together they are the incident
-- group (群组). A member removed keeps his row with removed_at; active rows hold the sync
-- scope inc:<incident id>.
CREATE TABLE incident_members (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    user_id     TEXT NOT NULL,
    grp         TEXT NOT NULL CHECK (grp IN ('hq', 'onsite', 'team', 'member')),
    role_title  TEXT NOT NULL DEFAULT '',
    team_id     TEXT NOT NULL DEFAULT '',
    added_by    TEXT NOT NULL DEFAULT '',
    added_at    TEXT NOT NULL,
    removed_by  TEXT NOT NULL DEFAULT '',
    removed_at  TEXT
);
CREATE UNIQUE INDEX incident_members_active ON incident_members (incident_id, user_id, grp) WHERE removed_at IS NULL;
CREATE INDEX incident_members_user ON incident_members (user_id) WHERE removed_at IS NULL;
CREATE INDEX incident_members_team ON incident_members (incident_id, team_id);

-- Response steps (启动响应, 升级, 降级, 终止): proposed by the duty officer with the plan and
-- level (matched_* is what matching proposed; a different choice needs a reason: the
-- override), decided by the designated leader (approver_id) on the portal or on his phone.
CREATE TABLE response_actions (
    id                   TEXT PRIMARY KEY,
    incident_id          TEXT NOT NULL REFERENCES incidents(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('start', 'raise', 'lower', 'terminate')),
    level                INTEGER NOT NULL DEFAULT 0,
    plan_id              TEXT NOT NULL DEFAULT '',
    matched_plan_id      TEXT NOT NULL DEFAULT '',
    matched_level        INTEGER NOT NULL DEFAULT 0,
    reason               TEXT NOT NULL DEFAULT '',
    state                TEXT NOT NULL DEFAULT 'proposed' CHECK (state IN ('proposed', 'approved', 'rejected')),
    proposed_by          TEXT NOT NULL,
    proposed_at          TEXT NOT NULL,
    proposed_received_at TEXT NOT NULL DEFAULT '',
    approver_id          TEXT NOT NULL,
    approver_role        TEXT NOT NULL DEFAULT '',
    decided_by           TEXT NOT NULL DEFAULT '',
    decided_at           TEXT NOT NULL DEFAULT '',
    decided_received_at  TEXT NOT NULL DEFAULT '',
    comment              TEXT NOT NULL DEFAULT '',
    org_path             TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX response_actions_incident ON response_actions (incident_id, proposed_at);
CREATE INDEX response_actions_approver ON response_actions (approver_id, state);

-- The incident group chat (群组): append-only; text, photos (media SHA-256 refs) or a
-- location; ordered by the device's time (sent_at), then id.
CREATE TABLE incident_messages (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'photo', 'location')),
    text        TEXT NOT NULL DEFAULT '',
    photos      TEXT NOT NULL DEFAULT '[]',
    location    TEXT NOT NULL DEFAULT 'null',
    sender_id   TEXT NOT NULL,
    sender_name TEXT NOT NULL DEFAULT '',
    sent_at     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    org_path    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX incident_messages_incident ON incident_messages (incident_id, sent_at, id);

-- The next incident code of each year (编号 YJ-2026-0001).
INSERT INTO meta (key, value) VALUES ('incident_seq', '0');

-- +goose Down
DELETE FROM meta WHERE key = 'incident_seq';
DROP TABLE incident_messages;
DROP TABLE response_actions;
DROP TABLE incident_members;
ALTER TABLE alerts DROP COLUMN incident_id;
DROP TABLE incidents;
