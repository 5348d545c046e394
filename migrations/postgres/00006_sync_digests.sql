-- +goose Up
-- A short digest of each field's value as last recorded, so an office write re-stamps only the
-- fields it really changed (and an older phone edit of another field keeps its say).
ALTER TABLE sync_records ADD COLUMN digests TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE sync_records DROP COLUMN digests;
