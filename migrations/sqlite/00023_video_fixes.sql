-- +goose Up
-- Positions a video publisher takes while its data channel is down travel the sync path (the
-- append-only collection video_fixes, media/video/fixes.go) and land in video_positions with
-- the device's times; fix_id is the synced record's id (NULL for fixes that came over the
-- data channel).
ALTER TABLE video_positions ADD COLUMN fix_id TEXT;
CREATE UNIQUE INDEX video_positions_fix ON video_positions (fix_id) WHERE fix_id IS NOT NULL;

-- +goose Down
DROP INDEX video_positions_fix;
ALTER TABLE video_positions DROP COLUMN fix_id;
