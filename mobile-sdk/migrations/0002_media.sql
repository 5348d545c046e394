-- The media upload queue: files attached to records, copied into the replica's media folder
-- under their SHA-256 and sent to the server with tus. One row per file (its hash), whatever
-- number of records refer to it. state: queued (nothing sent, or sending stopped), uploading
-- (upload_url is the server's upload, uploaded its last known offset), done (the server holds
-- it; the copy is removed), failed (the server refused it: error_* say why, for the user).
CREATE TABLE media_queue (
    sha256        TEXT    PRIMARY KEY,
    path          TEXT    NOT NULL,            -- the copy, relative to the media folder
    size          INTEGER NOT NULL,
    content_type  TEXT    NOT NULL DEFAULT '',
    filename      TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL DEFAULT 'queued',
    server        TEXT    NOT NULL DEFAULT '', -- the server upload_url belongs to
    upload_url    TEXT    NOT NULL DEFAULT '', -- the Location of the tus upload
    uploaded      INTEGER NOT NULL DEFAULT 0,  -- bytes the server had at the last answer
    error_code    TEXT    NOT NULL DEFAULT '',
    error_message TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,  -- syncs that tried to send it
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX media_queue_state ON media_queue (state, created_at);

-- Which record fields a file was attached to (shown with the queue).
CREATE TABLE media_attachments (
    sha256     TEXT NOT NULL,
    collection TEXT NOT NULL,
    id         TEXT NOT NULL,
    field      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (sha256, collection, id, field)
);
