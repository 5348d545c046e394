-- +goose Up
-- Recordings of live video streams (单兵/手机视频回传). One recording per published stream; a
-- publisher that drops and comes back continues the same recording with a new segment and an
-- explicit gap. Segments are self-contained fragmented MP4 files in the media store
-- (originals/<sha256>); org_path is the publisher's unit, the recording's read scope.
CREATE TABLE video_recordings (
    id           TEXT PRIMARY KEY,
    stream_id    TEXT NOT NULL,
    incident_id  TEXT,
    publisher    TEXT NOT NULL DEFAULT '',
    publisher_name TEXT NOT NULL DEFAULT '',
    org_path     TEXT COLLATE "C" NOT NULL DEFAULT '',
    started      TIMESTAMPTZ NOT NULL,
    ended        TIMESTAMPTZ,
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    size         BIGINT NOT NULL DEFAULT 0,
    codecs       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX video_recordings_started ON video_recordings (started);
CREATE INDEX video_recordings_incident ON video_recordings (incident_id, started);
CREATE INDEX video_recordings_publisher ON video_recordings (publisher, started);
CREATE INDEX video_recordings_stream ON video_recordings (stream_id);

CREATE TABLE video_segments (
    recording_id TEXT NOT NULL REFERENCES video_recordings(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,
    media_key    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    started      TIMESTAMPTZ NOT NULL,
    ended        TIMESTAMPTZ NOT NULL,
    duration_ms  BIGINT NOT NULL,
    bytes        BIGINT NOT NULL,
    codecs       TEXT NOT NULL DEFAULT '',
    recovered    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (recording_id, idx)
);

CREATE TABLE video_gaps (
    recording_id TEXT NOT NULL REFERENCES video_recordings(id) ON DELETE CASCADE,
    started      TIMESTAMPTZ NOT NULL,
    ended        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (recording_id, started)
);

-- +goose Down
DROP TABLE video_gaps;
DROP TABLE video_segments;
DROP TABLE video_recordings;
