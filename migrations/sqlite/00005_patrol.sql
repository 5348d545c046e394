-- +goose Up
-- Checklists (巡查清单): risk points (and optionally some of their measures) to patrol at a
-- frequency (daily, weekly from Monday, monthly, per shift), computed in Asia/Shanghai.
CREATE TABLE checklists (
    id             TEXT PRIMARY KEY,
    enterprise_id  TEXT NOT NULL REFERENCES enterprises(id),
    org_path       TEXT NOT NULL,
    name           TEXT NOT NULL,
    frequency      TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'shift')),
    shifts         TEXT NOT NULL DEFAULT '[]',
    risk_point_ids TEXT NOT NULL DEFAULT '[]',
    measure_ids    TEXT NOT NULL DEFAULT '[]',
    assignee       TEXT NOT NULL DEFAULT '',
    active         INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX checklists_enterprise ON checklists (enterprise_id);
CREATE INDEX checklists_org_path ON checklists (org_path);

-- Patrol records (巡查记录): append-only, written offline on phones. JSON in TEXT columns;
-- finished_utc is finished_at in UTC for period queries.
CREATE TABLE patrols (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id),
    org_path      TEXT NOT NULL,
    risk_point_id TEXT NOT NULL,
    checklist_id  TEXT NOT NULL DEFAULT '',
    qr_token      TEXT NOT NULL DEFAULT '',
    started_at    TEXT NOT NULL,
    finished_at   TEXT NOT NULL,
    finished_utc  TIMESTAMP NOT NULL,
    location      TEXT NOT NULL DEFAULT 'null',
    items         TEXT NOT NULL DEFAULT '[]',
    patrolled_by  TEXT NOT NULL DEFAULT '',
    received_at   TEXT NOT NULL DEFAULT '',
    distance_m    TEXT NOT NULL DEFAULT 'null',
    flags         TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX patrols_point_time ON patrols (risk_point_id, finished_utc);
CREATE INDEX patrols_org_path ON patrols (org_path);

-- Supervision of an enterprise: credit score (starts at 100), level (normal, attention, key)
-- and the history of reasons (flagged patrols), shown to the enterprise.
CREATE TABLE enterprise_supervision (
    enterprise_id     TEXT PRIMARY KEY REFERENCES enterprises(id),
    credit_score      INTEGER NOT NULL DEFAULT 100,
    supervision_level TEXT NOT NULL DEFAULT 'normal' CHECK (supervision_level IN ('normal', 'attention', 'key')),
    reasons           TEXT NOT NULL DEFAULT '[]',
    updated_at        TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE enterprise_supervision;
DROP TABLE patrols;
DROP TABLE checklists;
