-- +goose Up
-- The offsets of every occurrence of a term in its document (varint deltas), so a search
-- verifies a long phrase by its bigrams' positions in the index instead of scanning each
-- candidate's text. NULL for documents indexed before this migration: their phrases are still
-- checked against the text, and the next publish or edit indexes them with positions.
ALTER TABLE search_terms ADD COLUMN positions BLOB;

-- A permission the reader of a referenced file must hold besides the record's scope: the
-- attachments of a plan not yet published (a draft or under review) are read only by those
-- who may author plans, as the plan itself.
ALTER TABLE media_refs ADD COLUMN perm TEXT NOT NULL DEFAULT '';
UPDATE media_refs SET perm = 'plan:write' WHERE collection = 'plans'
    AND record_id IN (SELECT id FROM plans WHERE status NOT IN ('published', 'retired'));

-- +goose Down
ALTER TABLE media_refs DROP COLUMN perm;
ALTER TABLE search_terms DROP COLUMN positions;
