-- +goose Up
-- A reading is unique per point and time: one sent again (a gateway replaying its buffer
-- after a reconnect) is stored once. Duplicates stored before keep one row.
DELETE FROM readings a USING readings b WHERE a.point_id = b.point_id AND a.ts = b.ts AND a.ctid > b.ctid;
DROP INDEX readings_point_ts;
CREATE UNIQUE INDEX readings_point_ts ON readings (point_id, ts);

-- +goose Down
DROP INDEX readings_point_ts;
CREATE INDEX readings_point_ts ON readings (point_id, ts);
