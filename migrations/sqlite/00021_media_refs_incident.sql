-- +goose Up
-- Media referred to by an incident's records (scene feedback, the incident chat) carry the
-- incident: its active members (incident_members) may read them, wherever their own unit is.
ALTER TABLE media_refs ADD COLUMN incident_id TEXT NOT NULL DEFAULT '';
CREATE INDEX media_refs_incident ON media_refs (sha256, incident_id);
UPDATE media_refs SET incident_id = COALESCE((SELECT f.incident_id FROM feedback f WHERE f.id = media_refs.record_id), '')
WHERE collection = 'feedback';
UPDATE media_refs SET incident_id = COALESCE((SELECT m.incident_id FROM incident_messages m WHERE m.id = media_refs.record_id), '')
WHERE collection = 'incident_messages';

-- +goose Down
DROP INDEX media_refs_incident;
ALTER TABLE media_refs DROP COLUMN incident_id;
