-- +goose Up
-- Resources the change log has never seen (the teams migration 00014 turned into team
-- resources in SQL, on a server upgraded from before it) reach the phones: the next start's
-- reconcile (syncsvc) logs every resource without a change-log entry and recomputes the places
-- of the others.
INSERT INTO sync_replace (collection) VALUES ('resources') ON CONFLICT (collection) DO NOTHING;

-- A file referred to by a shared record (the attachments of a published or retired government
-- plan) is readable by everyone below the record's unit, as the record is: the reference
-- carries the flag; the published plans' attachments get it now.
ALTER TABLE media_refs ADD COLUMN shared BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE media_refs SET shared = TRUE WHERE collection = 'plans'
    AND record_id IN (SELECT id FROM plans WHERE enterprise_id = '' AND status IN ('published', 'retired'));

-- +goose Down
ALTER TABLE media_refs DROP COLUMN shared;
DELETE FROM sync_replace WHERE collection = 'resources';
