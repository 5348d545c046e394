-- +goose Up
-- Live video (单兵/手机视频回传): one row per stream a responder publishes by WHIP, kept after it
-- ends (the 复盘 timeline lists past streams). incident_id names the incident the stream was
-- sent for; the incidents table comes with the response module, so there is no foreign key
-- yet. org_path is the publisher's unit: who may watch is decided by it. The last position is
-- kept on the stream so the live map needs no scan of video_positions.
CREATE TABLE video_streams (
    id             TEXT PRIMARY KEY,
    publisher_id   TEXT NOT NULL REFERENCES users(id),
    incident_id    TEXT,
    org_path       TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL CHECK (state IN ('connecting', 'live', 'interrupted', 'ended')),
    codecs         TEXT NOT NULL DEFAULT '',
    started_at     TIMESTAMP NOT NULL,
    ended_at       TIMESTAMP,
    gaps           INTEGER NOT NULL DEFAULT 0,
    last_lat       REAL,
    last_lng       REAL,
    last_heading   REAL,
    last_speed     REAL,
    last_fix_at    TIMESTAMP
);
CREATE INDEX video_streams_path ON video_streams (org_path, started_at);
CREATE INDEX video_streams_state ON video_streams (state);
CREATE INDEX video_streams_incident ON video_streams (incident_id);
CREATE INDEX video_streams_publisher ON video_streams (publisher_id, started_at);

-- The track of a stream: one row per GPS fix the publisher sent.
CREATE TABLE video_positions (
    stream_id  TEXT NOT NULL REFERENCES video_streams(id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    lat        REAL NOT NULL,
    lng        REAL NOT NULL,
    heading    REAL,
    speed      REAL
);
CREATE INDEX video_positions_stream ON video_positions (stream_id, at);

-- +goose Down
DROP TABLE video_positions;
DROP TABLE video_streams;
