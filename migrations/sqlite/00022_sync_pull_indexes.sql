-- +goose Up
-- A pull page is a UNION of one ordered scan per branch of its scope (the records in the scope
-- after the change, and those that were in it before): each branch reads the index of its key
-- in seq order from the checkpoint and stops after the page, so a page reads at most twice
-- its size whatever the size of the log. User, shared (down:) and incident branches have had
-- their indexes since 00011 and 00015; these are the enterprise and org-subtree branches.
CREATE INDEX sync_changes_enterprise ON sync_changes (enterprise_id, seq) WHERE enterprise_id <> '';
CREATE INDEX sync_changes_old_enterprise ON sync_changes (old_enterprise_id, seq) WHERE old_enterprise_id <> '';
CREATE INDEX sync_changes_org ON sync_changes (org_path, seq) WHERE org_path <> '';
CREATE INDEX sync_changes_old_org ON sync_changes (old_org_path, seq) WHERE old_org_path <> '';

-- +goose Down
DROP INDEX sync_changes_old_org;
DROP INDEX sync_changes_org;
DROP INDEX sync_changes_old_enterprise;
DROP INDEX sync_changes_enterprise;
