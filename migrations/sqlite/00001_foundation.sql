-- +goose Up
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE org_units (
    id         TEXT PRIMARY KEY,
    parent_id  TEXT REFERENCES org_units(id),
    level      TEXT NOT NULL CHECK (level IN ('city', 'district', 'township', 'grid')),
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL UNIQUE,
    sort       INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX org_units_code ON org_units (code) WHERE level <> 'grid';
CREATE UNIQUE INDEX org_units_parent_code ON org_units (parent_id, code);
CREATE INDEX org_units_parent ON org_units (parent_id);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT '',
    org_unit_id TEXT NOT NULL REFERENCES org_units(id),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX teams_org_unit ON teams (org_unit_id);

CREATE TABLE enterprises (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    credit_code         TEXT NOT NULL UNIQUE,
    industry            TEXT NOT NULL DEFAULT '',
    township_id         TEXT NOT NULL REFERENCES org_units(id),
    grid_id             TEXT REFERENCES org_units(id),
    org_path            TEXT NOT NULL,
    address             TEXT NOT NULL DEFAULT '',
    lat                 REAL,
    lng                 REAL,
    cell                TEXT NOT NULL DEFAULT '',
    hazardous_chemicals INTEGER NOT NULL DEFAULT 0,
    major_hazard        INTEGER NOT NULL DEFAULT 0,
    legal_person        TEXT NOT NULL DEFAULT '',
    phone               TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX enterprises_org_path ON enterprises (org_path);
CREATE INDEX enterprises_cell ON enterprises (cell);
CREATE INDEX enterprises_township ON enterprises (township_id);
CREATE INDEX enterprises_grid ON enterprises (grid_id);

CREATE TABLE contacts (
    id            TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    title         TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    is_primary    INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX contacts_enterprise ON contacts (enterprise_id);
-- At most one primary contact per enterprise.
CREATE UNIQUE INDEX contacts_primary ON contacts (enterprise_id) WHERE is_primary = 1;

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    phone                TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL,
    org_unit_id          TEXT REFERENCES org_units(id),
    enterprise_id        TEXT REFERENCES enterprises(id),
    team_id              TEXT REFERENCES teams(id),
    org_path             TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    password_changed_at  TIMESTAMP NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    disabled             INTEGER NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0,
    locked_until         TIMESTAMP,
    last_login_at        TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE INDEX users_org_path ON users (org_path);
CREATE INDEX users_enterprise ON users (enterprise_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    client       TEXT NOT NULL,
    device_id    TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    ended_at     TIMESTAMP,
    end_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_client ON sessions (user_id, client) WHERE ended_at IS NULL;
CREATE INDEX sessions_device ON sessions (device_id) WHERE ended_at IS NULL;

CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,
    at             TIMESTAMP NOT NULL,
    user_id        TEXT NOT NULL DEFAULT '',
    username       TEXT NOT NULL DEFAULT '',
    actor_org_path TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    request_id     TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL,
    object_type    TEXT NOT NULL DEFAULT '',
    object_id      TEXT NOT NULL DEFAULT '',
    result         TEXT NOT NULL DEFAULT 'ok',
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_user_at ON audit_log (user_id, at);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE contacts;
DROP TABLE enterprises;
DROP TABLE teams;
DROP TABLE org_units;
DROP TABLE meta;
