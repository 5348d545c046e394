-- +goose Up
-- Two more kinds of sync scope. "down:UNIT" holds the read-only reference records a unit
-- publishes to everyone below it (published plans, the knowledge base, the directory,
-- government resources): the change log keys them on being shared, before and after the
-- change, so a record that stops being shared reaches the devices as a removal.
-- "inc:ID" holds the records of one incident; who holds it comes from data (the teams
-- dispatched to it), not from a role.
ALTER TABLE sync_changes ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_changes ADD COLUMN old_shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_changes ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_changes ADD COLUMN old_incident_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_records ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_records ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sync_changes_shared ON sync_changes (org_path, seq) WHERE shared;
CREATE INDEX sync_changes_old_shared ON sync_changes (old_org_path, seq) WHERE old_shared;
CREATE INDEX sync_changes_incident ON sync_changes (incident_id, seq) WHERE incident_id <> '';
CREATE INDEX sync_changes_old_incident ON sync_changes (old_incident_id, seq) WHERE old_incident_id <> '';

-- Collections whose records' places must be computed again: the server does it when it
-- starts (syncsvc's Reconcile), writing a change for every record whose place differs, so the
-- checksums stay true, and then forgets the row. The reference collections shared down are
-- backfilled this way on a server upgraded from 00014.
CREATE TABLE sync_replace (
    collection TEXT PRIMARY KEY
);
INSERT INTO sync_replace (collection) VALUES ('plans'), ('knowledge'), ('directory'), ('resources');

-- +goose Down
DROP TABLE sync_replace;
DROP INDEX sync_changes_old_incident;
DROP INDEX sync_changes_incident;
DROP INDEX sync_changes_old_shared;
DROP INDEX sync_changes_shared;
ALTER TABLE sync_records DROP COLUMN incident_id;
ALTER TABLE sync_records DROP COLUMN shared;
ALTER TABLE sync_changes DROP COLUMN old_incident_id;
ALTER TABLE sync_changes DROP COLUMN incident_id;
ALTER TABLE sync_changes DROP COLUMN old_shared;
ALTER TABLE sync_changes DROP COLUMN shared;
