-- +goose Up
-- A reading is unique per point and time: one sent again (a gateway replaying its buffer
-- after a reconnect) is stored once. Duplicates stored before keep their first row.
DELETE FROM readings WHERE rowid NOT IN (SELECT MIN(rowid) FROM readings GROUP BY point_id, ts);
DROP INDEX readings_point_ts;
CREATE UNIQUE INDEX readings_point_ts ON readings (point_id, ts);

-- +goose Down
DROP INDEX readings_point_ts;
CREATE INDEX readings_point_ts ON readings (point_id, ts);
