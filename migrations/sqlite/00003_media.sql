-- +goose Up
-- Media objects (photos, videos, audio, PDF) the server holds, by the SHA-256 of their bytes.
-- The bytes live in the media store under originals/<sha256>; this row is what the server
-- learned from them: the sniffed type, EXIF time and place, who sent them and when.
CREATE TABLE media_objects (
    sha256       TEXT PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('photo', 'video', 'audio', 'pdf')),
    filename     TEXT NOT NULL DEFAULT '',
    uploaded_by  TEXT NOT NULL DEFAULT '',
    received_at  TIMESTAMP NOT NULL,
    taken_at     TIMESTAMP,
    lat          REAL,
    lng          REAL,
    status       TEXT NOT NULL DEFAULT 'ready'
);
CREATE INDEX media_objects_uploaded_by ON media_objects (uploaded_by);

-- Resumable uploads in progress (tus); their partial bytes are files under the upload folder.
CREATE TABLE media_uploads (
    id           TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    user_id      TEXT NOT NULL,
    filename     TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX media_uploads_sha256 ON media_uploads (sha256);
CREATE INDEX media_uploads_updated ON media_uploads (updated_at);

-- Which records refer to which media, with the records' scope keys: a user may read a media
-- object when he may read one of the records that refer to it. Rewritten with each record.
CREATE TABLE media_refs (
    sha256        TEXT NOT NULL,
    collection    TEXT NOT NULL,
    record_id     TEXT NOT NULL,
    org_path      TEXT NOT NULL DEFAULT '',
    enterprise_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (sha256, collection, record_id)
);
CREATE INDEX media_refs_record ON media_refs (collection, record_id);

-- Hazards saved before this migration.
INSERT INTO media_refs (sha256, collection, record_id, org_path, enterprise_id)
SELECT DISTINCT j.value, 'hazards', h.id, h.org_path, h.enterprise_id
FROM hazards h, json_each(CASE WHEN json_valid(h.photos) THEN h.photos ELSE '[]' END) j
WHERE j.type = 'text' AND length(j.value) = 64;

-- +goose Down
DROP TABLE media_refs;
DROP TABLE media_uploads;
DROP TABLE media_objects;
DELETE FROM meta WHERE key = 'media_url_secret';
