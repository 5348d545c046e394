-- +goose Up
-- Risk points (风险点): what grid workers and safety officers patrol. Control measures are a
-- structured list inside the point (each with an id patrol items refer to, a kind, the text,
-- and an optional hazard template raised when the measure is found not under control).
CREATE TABLE risk_points (
    id             TEXT PRIMARY KEY,
    enterprise_id  TEXT NOT NULL REFERENCES enterprises(id),
    org_path       TEXT COLLATE "C" NOT NULL,
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('red', 'orange', 'yellow', 'blue')),
    accident_types TEXT NOT NULL DEFAULT '[]',
    responsible    TEXT NOT NULL DEFAULT '',
    location       TEXT NOT NULL DEFAULT 'null',
    measures       TEXT NOT NULL DEFAULT '[]',
    qr_version     INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (enterprise_id, code)
);
CREATE INDEX risk_points_org_path ON risk_points (org_path);

-- +goose Down
DROP TABLE risk_points;
