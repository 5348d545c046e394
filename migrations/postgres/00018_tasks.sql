-- +goose Up
-- Tasks (本岗位应急任务), team check-ins (队伍报到) and scene feedback (现场反馈) of an incident,
-- synced to its members' phones; the timeline's tamper-evidence anchors; assessment reports
-- (应急评估). Times written by the server or the phones are UTC RFC 3339 text of fixed width
-- (they sort as text); JSON columns hold JSON text as the sync table mapping stores them.
CREATE TABLE tasks (
    id            TEXT PRIMARY KEY,
    incident_id   TEXT NOT NULL,
    org_path      TEXT COLLATE "C" NOT NULL DEFAULT '',
    title         TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT 'hq' CHECK (source IN ('hq', 'plan')),
    plan_id       TEXT NOT NULL DEFAULT '',
    level         TEXT NOT NULL DEFAULT '0',
    team_id       TEXT NOT NULL DEFAULT '',
    assignee_id   TEXT NOT NULL DEFAULT '',
    due_at        TEXT NOT NULL DEFAULT '',
    location      TEXT NOT NULL DEFAULT 'null',
    status        TEXT NOT NULL DEFAULT 'assigned',
    reason        TEXT NOT NULL DEFAULT '',
    assigned_by   TEXT NOT NULL DEFAULT '',
    assigned_at   TEXT NOT NULL DEFAULT '',
    steps         TEXT NOT NULL DEFAULT '[]',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX tasks_incident ON tasks (incident_id, assigned_at);
CREATE INDEX tasks_assignee ON tasks (assignee_id);
CREATE INDEX tasks_team ON tasks (team_id);

-- Check-ins: append-only.
CREATE TABLE checkins (
    id           TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    org_path     TEXT COLLATE "C" NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT '',
    user_id      TEXT NOT NULL DEFAULT '',
    location     TEXT NOT NULL DEFAULT 'null',
    note         TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL,
    received_at  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX checkins_incident ON checkins (incident_id, at);

-- Scene feedback: append-only text, photos and videos (media by SHA-256) and a position.
CREATE TABLE feedback (
    id           TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    org_path     TEXT COLLATE "C" NOT NULL DEFAULT '',
    task_id      TEXT NOT NULL DEFAULT '',
    team_id      TEXT NOT NULL DEFAULT '',
    user_id      TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL DEFAULT '',
    photos       TEXT NOT NULL DEFAULT '[]',
    videos       TEXT NOT NULL DEFAULT '[]',
    location     TEXT NOT NULL DEFAULT 'null',
    at           TEXT NOT NULL,
    received_at  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX feedback_incident ON feedback (incident_id, at);

-- The timeline's tamper evidence: every derived event of an incident, once seen, is anchored
-- here with its hash, chained to the anchor before it (seq order). Verifying re-derives the
-- events and compares: a changed row changes its event's hash, a deleted row leaves an anchor
-- without its event, an edited anchor breaks the chain.
CREATE TABLE timeline_anchors (
    incident_id  TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event_key    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    at           TEXT NOT NULL,
    title        TEXT NOT NULL DEFAULT '',
    event_hash   TEXT NOT NULL,
    chain_hash   TEXT NOT NULL,
    anchored_at  TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE UNIQUE INDEX timeline_anchors_key ON timeline_anchors (incident_id, event_key);

-- Assessment reports (应急评估): the four steps of the seed as structured JSON, pre-filled
-- from the timeline, edited by staff, draft → final.
CREATE TABLE assessments (
    id           TEXT PRIMARY KEY,
    incident_id  TEXT NOT NULL,
    org_path     TEXT COLLATE "C" NOT NULL DEFAULT '',
    title        TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'final')),
    content      TEXT NOT NULL DEFAULT '{}',
    figures      TEXT NOT NULL DEFAULT '{}',
    created_by   TEXT NOT NULL DEFAULT '',
    finalized_by TEXT NOT NULL DEFAULT '',
    finalized_at TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX assessments_incident ON assessments (incident_id);
CREATE INDEX assessments_org_path ON assessments (org_path);

-- +goose Down
DROP TABLE assessments;
DROP TABLE timeline_anchors;
DROP TABLE feedback;
DROP TABLE checkins;
DROP TABLE tasks;
