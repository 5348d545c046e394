package sdk

// Media: files (photos, video, audio, PDF) attached to records by their SHA-256.
//
// Attach copies the file into the replica's media folder (the replica file's path + "-media")
// under its hash, adds the hash to the record's set field with an outbox change (as Update
// does) and queues the upload, in one transaction: it works offline, and the user may delete
// the original at once. Sync sends the queue with tus 1.0 after pushing the records: the saved
// upload URL is asked for its offset (HEAD) and the upload resumes there; a file the server
// already has completes at creation. A file the server refuses (type, size, hash) is marked
// failed with the server's Chinese message and not sent again unless the user asks; a network
// failure keeps everything queued. Thumbnail fetches a thumbnail once and keeps it in the
// media folder.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/yingji/yingji/syncproto"
)

// States of a queued file.
const (
	MediaQueued    = "queued"    // waiting; nothing sent yet, or sending stopped before the server had a part
	MediaUploading = "uploading" // the server holds part of it: the next sync resumes at its offset
	MediaDone      = "done"      // the server holds it (the local copy is removed)
	MediaFailed    = "failed"    // the server refused it; ErrorMessage says why
)

// mediaUploadsPath is the tus upload collection.
const mediaUploadsPath = "/api/v1/media/uploads"

// Attachment is a file attached to a record.
type Attachment struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// AttachedTo names a record field a file was attached to.
type AttachedTo struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
	Field      string `json:"field"`
}

// MediaItem is a file of the upload queue.
type MediaItem struct {
	SHA256       string       `json:"sha256"`
	Size         int64        `json:"size"`
	ContentType  string       `json:"content_type"`
	Filename     string       `json:"filename"`
	State        string       `json:"state"`
	Uploaded     int64        `json:"uploaded"` // bytes the server had at its last answer
	ErrorCode    string       `json:"error_code,omitempty"`
	ErrorMessage string       `json:"error_message,omitempty"`
	Attempts     int          `json:"attempts"`
	CreatedAt    string       `json:"created_at"`
	UpdatedAt    string       `json:"updated_at"`
	Records      []AttachedTo `json:"records"`

	path, server, url string
}

// mediaDir is the replica's media folder: copies of attached files by hash, and thumbs/.
func (c *Client) mediaDir() string { return c.path + "-media" }

// Attach adds a file to a record's set field (photos of a hazard, ...): the file is copied
// into the replica's media folder and verified, its hash is added to the field by an outbox
// change, and its upload is queued for the next Sync. It works offline.
func (c *Client) Attach(ctx context.Context, collection, id, field, file string) (Attachment, error) {
	if !validName(collection) {
		return Attachment{}, errorf(KindInvalid, CodeUnknownColl, "数据集名称无效")
	}
	if !validName(field) || strings.HasPrefix(field, "_") {
		return Attachment{}, errorf(KindInvalid, CodeUnknownField, "字段名“%s”无效", field)
	}
	if err := checkSetField(ctx, c.db, collection, field); err != nil { // before copying a large file
		return Attachment{}, err
	}
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	cp, err := c.copyIn(file)
	if err != nil {
		return Attachment{}, err
	}
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkSetField(ctx, tx, collection, field); err != nil {
			return err
		}
		r, err := loadRow(ctx, tx, collection, id)
		if err != nil {
			return err
		}
		if !r.found || !r.view.Exists {
			return errorf(KindNotFound, CodeNotFound, "记录不存在：%s %s", collection, id)
		}
		if r.view.Deleted {
			return errorf(KindInvalid, syncproto.CodeDeleted, "该记录已被删除")
		}
		var cur []string
		if v := r.view.Fields[field]; len(v) > 0 && string(v) != "null" {
			if json.Unmarshal(v, &cur) != nil {
				return errorf(KindInvalid, "media.not_a_set", "字段“%s”不是附件列表", field)
			}
		}
		if !slices.Contains(cur, cp.sha) {
			next := append(slices.Clone(cur), cp.sha)
			sort.Strings(next)
			raw, _ := json.Marshal(next)
			if err := c.writeTx(ctx, tx, collection, id, syncproto.OpUpdate, map[string]json.RawMessage{field: raw}, ""); err != nil {
				return err
			}
		}
		return c.queueMedia(ctx, tx, cp, collection, id, field)
	})
	if err != nil {
		c.dropCopy(context.WithoutCancel(ctx), cp.sha)
		return Attachment{}, err
	}
	return Attachment{SHA256: cp.sha, Size: cp.size}, nil
}

// queueMedia queues the upload of a copied file and records which record field refers to it.
func (c *Client) queueMedia(ctx context.Context, tx *sql.Tx, cp copied, collection, id, field string) error {
	now := c.now().Format(stampFormat)
	// A file attached again after it was sent or refused is sent again: the server
	// completes it at once when it has it (nothing is transferred twice).
	if _, err := tx.ExecContext(ctx, `INSERT INTO media_queue (sha256, path, size, content_type, filename, state, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
		ON CONFLICT (sha256) DO UPDATE SET path = excluded.path, updated_at = excluded.updated_at,
			filename = CASE WHEN media_queue.filename = '' THEN excluded.filename ELSE media_queue.filename END,
			state = CASE WHEN media_queue.state IN ('done', 'failed') THEN 'queued' ELSE media_queue.state END,
			upload_url = CASE WHEN media_queue.state IN ('done', 'failed') THEN '' ELSE media_queue.upload_url END,
			uploaded = CASE WHEN media_queue.state IN ('done', 'failed') THEN 0 ELSE media_queue.uploaded END,
			error_code = '', error_message = '',
			attempts = CASE WHEN media_queue.state IN ('done', 'failed') THEN 0 ELSE media_queue.attempts END`,
		cp.sha, cp.sha, cp.size, cp.contentType, cp.filename, now, now); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO media_attachments (sha256, collection, id, field, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, cp.sha, collection, id, field, now)
	return err
}

// CreateWithFiles creates a record whose array fields list files by their SHA-256 — an
// append-only record such as scene feedback, whose photos cannot be attached afterwards: each
// file of files[field] is copied into the media folder, its hash appended to the field, the
// record queued as Create does and the uploads queued, in one transaction. It works offline.
func (c *Client) CreateWithFiles(ctx context.Context, collection string, fields map[string]json.RawMessage, files map[string][]string) (string, []Attachment, error) {
	fields = copyFields(fields)
	id := uuid.Must(uuid.NewV7()).String()
	if raw, ok := fields["id"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || uuid.Validate(s) != nil {
			return "", nil, errorf(KindInvalid, CodeBadInput, "记录编号（id）必须是 UUID")
		}
		id = strings.ToLower(s)
		delete(fields, "id")
	}
	spec, known, err := specFor(ctx, c.db, collection)
	if err != nil {
		return "", nil, err
	}
	names := make([]string, 0, len(files))
	for f := range files {
		if !validName(f) || strings.HasPrefix(f, "_") {
			return "", nil, errorf(KindInvalid, CodeUnknownField, "字段名“%s”无效", f)
		}
		if known {
			fs, ok := spec.Field(f)
			if !ok || fs.Type != syncproto.TypeArray {
				return "", nil, errorf(KindInvalid, "media.not_a_list", "“%s”的字段“%s”不能添加附件（不是附件列表）", collection, f)
			}
		}
		names = append(names, f)
	}
	sort.Strings(names)
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	type one struct {
		field string
		cp    copied
	}
	var cps []one
	drop := func() {
		for _, x := range cps {
			c.dropCopy(context.WithoutCancel(ctx), x.cp.sha)
		}
	}
	for _, f := range names {
		var list []string
		if v := fields[f]; len(v) > 0 && string(v) != "null" {
			if json.Unmarshal(v, &list) != nil {
				drop()
				return "", nil, errorf(KindInvalid, "media.not_a_list", "字段“%s”应为附件摘要的列表", f)
			}
		}
		for _, file := range files[f] {
			cp, err := c.copyIn(file)
			if err != nil {
				drop()
				return "", nil, err
			}
			cps = append(cps, one{f, cp})
			if !slices.Contains(list, cp.sha) {
				list = append(list, cp.sha)
			}
		}
		raw, _ := json.Marshal(list)
		fields[f] = raw
	}
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		if err := c.writeTx(ctx, tx, collection, id, syncproto.OpCreate, fields, ""); err != nil {
			return err
		}
		for _, x := range cps {
			if err := c.queueMedia(ctx, tx, x.cp, collection, id, x.field); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		drop()
		return "", nil, err
	}
	out := make([]Attachment, 0, len(cps))
	for _, x := range cps {
		out = append(out, Attachment{SHA256: x.cp.sha, Size: x.cp.size})
	}
	return id, out, nil
}

// checkSetField refuses a field that is not a set (once the specs are known).
func checkSetField(ctx context.Context, q querier, collection, field string) error {
	spec, known, err := specFor(ctx, q, collection)
	if err != nil || !known {
		return err
	}
	f, ok := spec.Field(field)
	if !ok {
		return errorf(KindInvalid, CodeUnknownField, "“%s”没有字段“%s”", collection, field)
	}
	if f.Rule != syncproto.Set {
		return errorf(KindInvalid, "media.not_a_set", "“%s”的字段“%s”不能添加附件（不是附件列表）", collection, field)
	}
	return nil
}

type copied struct {
	sha, contentType, filename string
	size                       int64
}

// copyIn copies file into the media folder under its SHA-256, verified by reading the copy
// back. The caller holds mediaMu.
func (c *Client) copyIn(file string) (copied, error) {
	var cp copied
	src, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return cp, errorf(KindInvalid, "media.no_file", "找不到文件：%s", file)
	} else if err != nil {
		return cp, &Error{Kind: KindInvalid, Code: "media.unreadable", Message: "无法读取文件：" + file, Err: err}
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return cp, errorf(KindInvalid, "media.no_file", "不是文件：%s", file)
	}
	if fi.Size() == 0 {
		return cp, errorf(KindInvalid, "media.empty", "不能添加空文件：%s", file)
	}
	dir := c.mediaDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return cp, &Error{Kind: KindInternal, Code: "media.local", Message: "无法创建本机附件目录", Err: err}
	}
	tmp, err := os.CreateTemp(dir, ".attach-*")
	if err != nil {
		return cp, &Error{Kind: KindInternal, Code: "media.local", Message: "无法在本机保存附件", Err: err}
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	var head bytes.Buffer
	n, err := io.Copy(io.MultiWriter(tmp, h, &limitWriter{w: &head, n: 512}), src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cp, &Error{Kind: KindInternal, Code: "media.local", Message: "复制文件到本机附件目录失败（存储空间不足？）", Err: err}
	}
	cp.sha, cp.size = hex.EncodeToString(h.Sum(nil)), n
	if got, err := fileSHA256(tmp.Name()); err != nil || got != cp.sha {
		return cp, &Error{Kind: KindInternal, Code: "media.copy_mismatch", Message: "附件复制后校验不一致，请重试", Err: err}
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, cp.sha)); err != nil {
		return cp, &Error{Kind: KindInternal, Code: "media.local", Message: "无法在本机保存附件", Err: err}
	}
	syncDir(dir)
	cp.contentType = http.DetectContentType(head.Bytes())
	if cp.contentType == "application/octet-stream" {
		if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(file))); t != "" {
			cp.contentType = t
		}
	}
	cp.contentType, _, _ = strings.Cut(cp.contentType, ";")
	cp.filename = filepath.Base(file)
	return cp, nil
}

// limitWriter keeps the first n bytes written.
type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(l.n, len(p))
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// dropCopy removes the local copy of a file unless the queue still needs it. The caller holds
// mediaMu.
func (c *Client) dropCopy(ctx context.Context, sha string) {
	var n int
	if err := c.db.QueryRowContext(ctx, "SELECT count(*) FROM media_queue WHERE sha256 = ? AND state <> 'done'", sha).Scan(&n); err != nil || n > 0 {
		return
	}
	if err := os.Remove(filepath.Join(c.mediaDir(), sha)); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("remove media copy", "sha256", sha, "err", err)
	}
}

// Media lists the upload queue: files waiting or refused first, then those sent, newest first
// within each.
func (c *Client) Media(ctx context.Context) ([]MediaItem, error) {
	items, err := c.mediaItems(ctx, "1 = 1")
	if err != nil {
		return nil, err
	}
	rows, err := c.db.QueryContext(ctx, "SELECT sha256, collection, id, field FROM media_attachments ORDER BY created_at, collection, id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	at := map[string][]AttachedTo{}
	for rows.Next() {
		var sha string
		var a AttachedTo
		if err := rows.Scan(&sha, &a.Collection, &a.ID, &a.Field); err != nil {
			return nil, err
		}
		at[sha] = append(at[sha], a)
	}
	rank := map[string]int{MediaFailed: 0, MediaUploading: 1, MediaQueued: 1, MediaDone: 2}
	for i := range items {
		items[i].Records = at[items[i].SHA256]
		if items[i].Records == nil {
			items[i].Records = []AttachedTo{}
		}
	}
	sort.SliceStable(items, func(i, j int) bool {
		if a, b := rank[items[i].State], rank[items[j].State]; a != b {
			return a < b
		}
		return items[i].CreatedAt > items[j].CreatedAt
	})
	return items, rows.Err()
}

func (c *Client) mediaItems(ctx context.Context, where string, args ...any) ([]MediaItem, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT sha256, path, size, content_type, filename, state, server, upload_url, uploaded,
		error_code, error_message, attempts, created_at, updated_at FROM media_queue WHERE `+where+` ORDER BY created_at, sha256`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []MediaItem{}
	for rows.Next() {
		var m MediaItem
		if err := rows.Scan(&m.SHA256, &m.path, &m.Size, &m.ContentType, &m.Filename, &m.State, &m.server, &m.url, &m.Uploaded,
			&m.ErrorCode, &m.ErrorMessage, &m.Attempts, &m.CreatedAt, &m.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RetryMedia queues a refused file again (after the server's limits changed, say).
func (c *Client) RetryMedia(ctx context.Context, sha string) error {
	res, err := c.db.ExecContext(ctx, `UPDATE media_queue SET state = 'queued', upload_url = '', uploaded = 0, error_code = '',
		error_message = '', attempts = 0, updated_at = ? WHERE sha256 = ? AND state = 'failed'`, c.now().Format(stampFormat), strings.ToLower(sha))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errorf(KindNotFound, CodeNotFound, "没有上传失败的附件 %s", sha)
	}
	return nil
}

// mediaRefused is the server's refusal of one file: it is marked failed, the others go on.
type mediaRefused struct{ e *Error }

func (r mediaRefused) Error() string { return r.e.Error() }
func (r mediaRefused) Unwrap() error { return r.e }

func refuse(code, format string, args ...any) error {
	return mediaRefused{errorf(KindInvalid, code, format, args...)}
}

// uploadMedia sends the queued files, oldest first. A file the server refuses is marked
// failed (with its reason, for the user) and the others go on; a network failure stops here
// with KindUnreachable and everything stays queued for the next sync.
func (c *Client) uploadMedia(ctx context.Context, r *retrier, server, token string, st *SyncStats) error {
	items, err := c.mediaItems(ctx, "state IN ('queued', 'uploading')")
	if err != nil {
		return err
	}
	for _, it := range items {
		if _, err := c.db.ExecContext(ctx, "UPDATE media_queue SET attempts = attempts + 1 WHERE sha256 = ?", it.SHA256); err != nil {
			return err
		}
		err := c.sendFile(ctx, r, server, token, it)
		var ref mediaRefused
		switch {
		case err == nil:
			st.MediaUploaded++
		case errors.As(err, &ref):
			c.log.Warn("media refused", "sha256", it.SHA256, "code", ref.e.Code, "message", ref.e.Message)
			if _, err := c.db.ExecContext(context.WithoutCancel(ctx), `UPDATE media_queue SET state = 'failed', upload_url = '', uploaded = 0,
				error_code = ?, error_message = ?, updated_at = ? WHERE sha256 = ?`, ref.e.Code, ref.e.Message, c.now().Format(stampFormat), it.SHA256); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return nil
}

// tusUpload is one file on its way: the server's upload URL and offset as last heard.
type tusUpload struct {
	c             *Client
	server, token string
	it            MediaItem
	f             *os.File
	url           string
	off           int64
	known         bool // off is the server's answer, not a saved guess
	ready         bool // the server holds the file
	creates       int
	mismatches    int
	badChunks     int
}

// sendFile uploads one queued file, resuming the saved upload when the server still has it.
func (c *Client) sendFile(ctx context.Context, r *retrier, server, token string, it MediaItem) error {
	f, err := os.Open(filepath.Join(c.mediaDir(), it.path))
	if err != nil {
		return refuse("media.local_missing", "本机的附件副本已丢失，无法上传；请重新添加该文件")
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != it.Size {
		return refuse("media.local_changed", "本机的附件副本已损坏，无法上传；请重新添加该文件")
	}
	u := &tusUpload{c: c, server: server, token: token, it: it, f: f}
	if it.url != "" && it.server == server {
		u.url, u.off = it.url, it.Uploaded
	}
	for !u.ready {
		if err := r.do(ctx, func() error { return u.step(ctx) }); err != nil {
			return err
		}
	}
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	if _, err := c.db.ExecContext(ctx, `UPDATE media_queue SET state = 'done', upload_url = '', uploaded = size, error_code = '',
		error_message = '', updated_at = ? WHERE sha256 = ?`, c.now().Format(stampFormat), it.SHA256); err != nil {
		return err
	}
	c.dropCopy(ctx, it.SHA256)
	return nil
}

// step makes one request: create the upload, ask its offset, or send the next chunk.
func (u *tusUpload) step(ctx context.Context) error {
	switch {
	case u.url == "":
		return u.create(ctx)
	case !u.known:
		return u.head(ctx)
	default:
		return u.patch(ctx)
	}
}

// save keeps the upload URL and offset, so that a killed app resumes there.
func (u *tusUpload) save(ctx context.Context) error {
	state := MediaUploading
	if u.url == "" {
		state = MediaQueued
	}
	_, err := u.c.db.ExecContext(ctx, `UPDATE media_queue SET state = ?, server = ?, upload_url = ?, uploaded = ?, updated_at = ?
		WHERE sha256 = ? AND state IN ('queued', 'uploading')`, state, u.server, u.url, u.off, u.c.now().Format(stampFormat), u.it.SHA256)
	return err
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (u *tusUpload) create(ctx context.Context) error {
	if u.creates++; u.creates > 3 {
		return errorf(KindUnreachable, CodeBadAnswer, "服务器多次丢弃附件 %s 的上传，稍后再试", u.it.SHA256[:12])
	}
	meta := "sha256 " + b64(u.it.SHA256)
	if u.it.Filename != "" {
		meta += ",filename " + b64(u.it.Filename)
	}
	if u.it.ContentType != "" {
		meta += ",content_type " + b64(u.it.ContentType)
	}
	res, raw, err := u.c.tusRequest(ctx, http.MethodPost, strings.TrimRight(u.server, "/")+mediaUploadsPath, u.token,
		map[string]string{"Upload-Length": strconv.FormatInt(u.it.Size, 10), "Upload-Metadata": meta}, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusCreated {
		return tusError(res, raw)
	}
	loc, err := u.resolve(res.Header.Get("Location"))
	if err != nil {
		return err
	}
	off, _ := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	u.url, u.off, u.known = loc, max(off, 0), true
	u.ready = u.off >= u.it.Size || res.Header.Get("Media-Status") == "ready"
	return u.save(ctx)
}

// resolve reads a Location header (absolute, or relative to the server).
func (u *tusUpload) resolve(loc string) (string, error) {
	base, err1 := url.Parse(strings.TrimRight(u.server, "/") + "/")
	ref, err2 := url.Parse(loc)
	if loc == "" || err1 != nil || err2 != nil {
		return "", errorf(KindUnreachable, CodeBadAnswer, "服务器的上传应答缺少有效的 Location")
	}
	return base.ResolveReference(ref).String(), nil
}

func (u *tusUpload) head(ctx context.Context) error {
	res, _, err := u.c.tusRequest(ctx, http.MethodHead, u.url, u.token, nil, nil)
	if err != nil {
		return err
	}
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		u.url, u.off, u.known = "", 0, false // expired or dropped: create it again
		return u.save(ctx)
	case res.StatusCode/100 != 2:
		return tusError(res, nil)
	}
	off, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off < 0 {
		return errorf(KindUnreachable, CodeBadAnswer, "服务器的上传进度应答缺少 Upload-Offset")
	}
	if l := res.Header.Get("Upload-Length"); l != "" && l != strconv.FormatInt(u.it.Size, 10) {
		u.url, u.off, u.known = "", 0, false // not this file's upload
		return u.save(ctx)
	}
	u.off, u.known = off, true
	u.ready = off >= u.it.Size
	return u.save(ctx)
}

func (u *tusUpload) patch(ctx context.Context) error {
	if u.off >= u.it.Size { // every byte arrived, but the server has not said it stored them
		u.known = false
		return u.head(ctx)
	}
	buf := make([]byte, min(int64(u.c.opts.MediaChunkSize), u.it.Size-u.off))
	if _, err := u.f.ReadAt(buf, u.off); err != nil {
		return refuse("media.local_unreadable", "无法读取本机的附件副本，请重新添加该文件")
	}
	sum := sha256.Sum256(buf)
	res, raw, err := u.c.tusRequest(ctx, http.MethodPatch, u.url, u.token, map[string]string{
		"Content-Type":    "application/offset+octet-stream",
		"Upload-Offset":   strconv.FormatInt(u.off, 10),
		"Upload-Checksum": "sha256 " + base64.StdEncoding.EncodeToString(sum[:]),
	}, buf)
	if err != nil {
		u.known = false // the server may hold part of the chunk: ask before sending more
		return err
	}
	if res.StatusCode/100 == 2 {
		off, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
		if err != nil || off <= u.off {
			u.known = false
		} else {
			u.off = off
		}
		u.mismatches, u.badChunks = 0, 0
		u.ready = u.off >= u.it.Size && res.Header.Get("Media-Status") != "uploading" || res.Header.Get("Media-Status") == "ready"
		return u.save(ctx)
	}
	code := errorCode(raw)
	switch {
	case res.StatusCode == http.StatusNotFound:
		u.url, u.off, u.known = "", 0, false
		return u.save(ctx)
	case res.StatusCode == http.StatusConflict && code == "upload.offset_mismatch",
		code == "upload.transfer_broken", code == "upload.interrupted":
		if u.mismatches++; u.mismatches > 5 {
			return errorf(KindUnreachable, CodeBadAnswer, "附件上传的续传位置多次与服务器不一致，稍后再试")
		}
		u.known = false
		return nil
	case code == "upload.checksum_mismatch":
		if u.badChunks++; u.badChunks > 3 {
			return errorf(KindUnreachable, "upload.checksum_mismatch", "附件数据在传输中多次损坏，稍后再试")
		}
		return nil // send the chunk again
	}
	return tusError(res, raw)
}

// tusRequest makes one request of the upload protocol (or a download) and reads the answer.
func (c *Client) tusRequest(ctx context.Context, method, target, token string, hdr map[string]string, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, errorf(KindUnreachable, CodeBadAnswer, "上传地址无效：%s", target)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, &Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "操作已取消或超时，未上传完的附件仍保存在本机", Err: err}
		}
		return nil, nil, retryable{&Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "无法连接服务器，附件仍保存在本机，联网后继续上传", Err: err}}
	}
	defer res.Body.Close()
	limit := int64(1 << 20)
	if method == http.MethodGet {
		limit = 64 << 20
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, limit))
	if err != nil {
		return nil, nil, retryable{&Error{Kind: KindUnreachable, Code: CodeUnreachable, Message: "读取服务器应答时连接中断", Err: err}}
	}
	return res, raw, nil
}

func errorCode(raw []byte) string {
	var e syncproto.Error
	json.Unmarshal(raw, &e)
	return e.Code
}

// tusError classifies a failed answer of the upload protocol: a busy or failing server is
// retried, a refused session ends the sync, anything else refuses the file.
func tusError(res *http.Response, raw []byte) error {
	var e syncproto.Error
	json.Unmarshal(raw, &e)
	status := res.StatusCode
	switch {
	case status == http.StatusUnauthorized, status == http.StatusLocked && e.Code == "auth.locked":
		return httpError(status, raw)
	case status == http.StatusLocked, status == http.StatusTooManyRequests, status >= 500:
		return httpError(http.StatusServiceUnavailable, raw) // retryable
	}
	if e.Code == "" {
		e.Code = "media.refused"
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("服务器拒绝了该附件（HTTP %d）", status)
	}
	return mediaRefused{&Error{Kind: KindInvalid, Code: e.Code, Message: e.Message}}
}

// thumbWidths are the thumbnail widths the server makes.
var thumbWidths = []int{320, 1280}

// Thumbnail returns the path of a JPEG thumbnail (width 320 or 1280) of an uploaded photo:
// fetched from the server on first use and kept in the replica's media folder.
func (c *Client) Thumbnail(ctx context.Context, sha string, width int) (string, error) {
	sha = strings.ToLower(strings.TrimSpace(sha))
	if b, err := hex.DecodeString(sha); err != nil || len(b) != sha256.Size {
		return "", errorf(KindInvalid, "media.bad_sha256", "文件摘要应为 64 位十六进制 SHA-256")
	}
	if !slices.Contains(thumbWidths, width) {
		return "", errorf(KindInvalid, "media.bad_width", "缩略图宽度只能是 320 或 1280")
	}
	dir := filepath.Join(c.mediaDir(), "thumbs")
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.jpg", sha, width))
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return path, nil
	}
	server, token, err := c.session(ctx)
	if err != nil {
		return "", err
	}
	var data []byte
	err = c.newRetrier().do(ctx, func() error {
		res, raw, err := c.tusRequest(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/media/%s/thumb/%d", strings.TrimRight(server, "/"), sha, width), token, nil, nil)
		switch {
		case err != nil:
			return err
		case res.StatusCode == http.StatusOK:
			data = raw
			return nil
		case res.StatusCode == http.StatusNotFound:
			var e syncproto.Error
			json.Unmarshal(raw, &e)
			if e.Code == "" || e.Message == "" {
				e.Code, e.Message = "media.not_found", "附件不存在或尚未上传"
			}
			return &Error{Kind: KindNotFound, Code: e.Code, Message: e.Message}
		}
		return httpError(res.StatusCode, raw)
	})
	if err != nil {
		return "", c.authFailed(ctx, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", &Error{Kind: KindInternal, Code: "media.local", Message: "无法创建本机缩略图目录", Err: err}
	}
	tmp, err := os.CreateTemp(dir, ".thumb-*")
	if err != nil {
		return "", &Error{Kind: KindInternal, Code: "media.local", Message: "无法保存缩略图", Err: err}
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return "", &Error{Kind: KindInternal, Code: "media.local", Message: "无法保存缩略图", Err: err}
	}
	return path, nil
}
