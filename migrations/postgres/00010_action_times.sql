-- +goose Up
-- Field time is the truth of field work: acknowledged_at, disposed_at and closed_at hold the
-- time the person acted (the device's, bounded by what the server trusts); the time the
-- server received the step is kept beside it. Rows written before this migration had only
-- the receipt time: it is both. On events and actions an empty received_at means the same
-- as at (a step taken on the server, or recorded before this migration).
ALTER TABLE alerts ADD COLUMN acknowledged_received_at TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN disposed_received_at TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN closed_received_at TEXT NOT NULL DEFAULT '';
UPDATE alerts SET acknowledged_received_at = acknowledged_at, disposed_received_at = disposed_at,
    closed_received_at = closed_at;
ALTER TABLE alert_events ADD COLUMN received_at TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_actions ADD COLUMN received_at TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alert_actions DROP COLUMN received_at;
ALTER TABLE alert_events DROP COLUMN received_at;
ALTER TABLE alerts DROP COLUMN closed_received_at;
ALTER TABLE alerts DROP COLUMN disposed_received_at;
ALTER TABLE alerts DROP COLUMN acknowledged_received_at;
