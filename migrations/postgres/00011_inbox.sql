-- +goose Up
-- Records that belong to one user (notifications, later tasks given to a person): the change
-- log keys them on the user as it keys others on org paths and enterprises, before and after
-- the change, so a pull of "user:ID" finds them and a record that leaves a user is removed.
ALTER TABLE sync_changes ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_changes ADD COLUMN old_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_records ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sync_changes_user ON sync_changes (user_id, seq) WHERE user_id <> '';
CREATE INDEX sync_changes_old_user ON sync_changes (old_user_id, seq) WHERE old_user_id <> '';

-- The per-user inbox (站内消息): written by the server (alert dispatch and escalation, hazard
-- assignment, deadline and checklist reminders), synced to the user's phones, read there
-- offline (read_at) and in the portal. Times are UTC RFC 3339 text of fixed width.
CREATE TABLE notifications (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    kind           TEXT NOT NULL,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL DEFAULT '',
    level          TEXT NOT NULL DEFAULT '',
    ref_collection TEXT NOT NULL DEFAULT '',
    ref_id         TEXT NOT NULL DEFAULT '',
    link           TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    read_at        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);

-- Every delivery attempt of a notification on an outside channel (FCM, SMS, 浙政钉, DingTalk)
-- and its in-app record; alert dispatches keep theirs in alert_deliveries, which now names the
-- notification its in-app delivery wrote.
CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    channel         TEXT NOT NULL,
    receiver_key    TEXT NOT NULL,
    receiver_name   TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    attempt         INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'skipped')),
    provider_id     TEXT NOT NULL DEFAULT '',
    error_code      TEXT NOT NULL DEFAULT '',
    error_message   TEXT NOT NULL DEFAULT '',
    at              TEXT NOT NULL
);
CREATE INDEX notification_deliveries_notification ON notification_deliveries (notification_id, at);
ALTER TABLE alert_deliveries ADD COLUMN notification_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alert_deliveries DROP COLUMN notification_id;
DROP TABLE notification_deliveries;
DROP TABLE notifications;
DROP INDEX sync_changes_old_user;
DROP INDEX sync_changes_user;
ALTER TABLE sync_records DROP COLUMN user_id;
ALTER TABLE sync_changes DROP COLUMN old_user_id;
ALTER TABLE sync_changes DROP COLUMN user_id;
