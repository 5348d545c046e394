-- +goose Up
-- Reminders the jobs wrote (before a hazard's deadline, overdue escalations, overdue
-- checklist periods). The unique key makes every reminder appear once, across restarts and
-- instances.
CREATE TABLE reminders (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    message     TEXT NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, object_id, due_at)
);
CREATE INDEX reminders_user ON reminders (user_id, created_at);

-- +goose Down
DROP TABLE reminders;
