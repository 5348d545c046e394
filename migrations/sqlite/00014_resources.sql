-- +goose Up
-- Emergency resources (应急资源保障): supplies and equipment, depots, rescue teams, experts,
-- shelters, medical institutions, police and fire forces, and the targets of the one-map, in
-- one table: the fields every kind shares in columns, each kind's own in details (JSON text).
-- A rescue team's row has the id of its row in teams (accounts of rescue members refer to
-- that). The cell (zoom-18 quadkey) lets both engines range-scan a neighbourhood; exact
-- distances are computed in Go.
CREATE TABLE resources (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('supply', 'depot', 'team', 'expert', 'shelter', 'medical', 'police', 'fire', 'target')),
    name           TEXT NOT NULL,
    code           TEXT NOT NULL DEFAULT '',
    category       TEXT NOT NULL DEFAULT '',
    subtype        TEXT NOT NULL DEFAULT '',
    owner          TEXT NOT NULL DEFAULT 'government' CHECK (owner IN ('government', 'enterprise')),
    org_unit_id    TEXT NOT NULL REFERENCES org_units(id),
    org_path       TEXT NOT NULL,
    enterprise_id  TEXT NOT NULL DEFAULT '',
    holder_id      TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'available',
    quantity       REAL NOT NULL DEFAULT 0,
    unit           TEXT NOT NULL DEFAULT '',
    accident_types TEXT NOT NULL DEFAULT '[]',
    contact        TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL DEFAULT '',
    lat            REAL,
    lng            REAL,
    cell           TEXT NOT NULL DEFAULT '',
    details        TEXT NOT NULL DEFAULT '{}',
    source         TEXT NOT NULL DEFAULT '',
    external_id    TEXT NOT NULL DEFAULT '',
    remark         TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX resources_kind_path ON resources (kind, org_path);
CREATE INDEX resources_org_path ON resources (org_path);
CREATE INDEX resources_enterprise ON resources (enterprise_id);
CREATE INDEX resources_holder ON resources (holder_id);
CREATE INDEX resources_cell ON resources (cell);
CREATE UNIQUE INDEX resources_external ON resources (source, external_id) WHERE external_id <> '';

-- The table's version: every write moves it, so the spatial index of each server instance
-- knows when to reload.
INSERT INTO meta (key, value) VALUES ('resources_version', '0');

-- Teams created before this version become team resources.
INSERT INTO resources (id, kind, name, category, subtype, owner, org_unit_id, org_path, created_at, updated_at)
SELECT t.id, 'team', t.name, '专业', t.kind, 'government', t.org_unit_id, u.path, t.created_at, t.updated_at
FROM teams t JOIN org_units u ON u.id = t.org_unit_id;

-- +goose Down
DELETE FROM meta WHERE key = 'resources_version';
DROP TABLE resources;
