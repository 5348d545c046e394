-- +goose Up
-- The newest change number of each scope beside its checksum, kept by every change-log write
-- in the same transaction: a pull skips, in one read, the scopes with nothing after the
-- device's checkpoint instead of scanning the log for each (a responder on a hundred incidents
-- holds a hundred scopes). Existing scopes start at the current head: the first pull after the
-- upgrade reads them once as before.
ALTER TABLE sync_sums ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
UPDATE sync_sums SET last_seq = (SELECT seq FROM sync_counter WHERE id = 1);

-- The periodic anchoring of the timelines (timeline.Anchorer) re-derives an incident only when
-- the change log has something new in its scope since its last anchoring, or when its last
-- full pass is older than the sweep interval (sources outside the change log: deliveries,
-- recordings, readings).
CREATE TABLE timeline_anchor_marks (
    incident_id TEXT PRIMARY KEY,
    change_seq  BIGINT NOT NULL,
    swept_at    TEXT NOT NULL
);

-- +goose Down
DROP TABLE timeline_anchor_marks;
ALTER TABLE sync_sums DROP COLUMN last_seq;
