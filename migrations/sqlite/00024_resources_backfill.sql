-- +goose Up
-- Resources the change log has never seen (the teams migration 00014 turned into team
-- resources in SQL, on a server upgraded from before it) reach the phones: the next start's
-- reconcile (syncsvc) logs every resource without a change-log entry and recomputes the places
-- of the others.
INSERT INTO sync_replace (collection) VALUES ('resources') ON CONFLICT (collection) DO NOTHING;

-- +goose Down
DELETE FROM sync_replace WHERE collection = 'resources';
