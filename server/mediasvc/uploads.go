package mediasvc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	expslog "golang.org/x/exp/slog"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Uploads speaks tus 1.0 (core, creation, creation-with-upload, termination, checksum) on
// tusd's handler, with tusd's file store keeping the partial data under the upload folder.
// Around tusd it adds what evidence needs: the declared SHA-256 (Upload-Metadata key sha256),
// deduplication (an object the server has completes at creation), content sniffing and size
// limits by kind, per-request checksums (Upload-Checksum; tusd has no checksum extension),
// the final hash check before the bytes enter the media store, and uploads that belong to the
// user who created them. Every error is answered through WriteError (the API's JSON error body
// with a stable code and a Chinese message).
//
// Requests reach ServeHTTP with the caller in their context (WithActor) and the path relative
// to the upload collection: "" or "/" for POST and OPTIONS, "/<id>" for HEAD, PATCH and DELETE.
type Uploads struct {
	svc        *Service
	files      filestore.FileStore
	basePath   string
	writeError func(w http.ResponseWriter, r *http.Request, err error)
	post       http.Handler
	head       http.Handler
	patch      http.Handler
	del        http.Handler
}

// Extensions are the tus extensions the server supports.
const Extensions = "creation,creation-with-upload,termination,checksum"

// ChecksumAlgorithms are the algorithms Upload-Checksum may name.
const ChecksumAlgorithms = "sha1,sha256,md5"

// HeaderMediaStatus tells a client whether the object is stored ("ready": a creation that was
// deduplicated, or the request that completed an upload) or still expected ("uploading").
const HeaderMediaStatus = "Media-Status"

var checksumAlgos = map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "md5": md5.New}

type actorKey struct{}
type stateKey struct{}

// WithActor returns a context carrying the authenticated caller of an upload request.
func WithActor(ctx context.Context, a *yingji.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorOf(ctx context.Context) *yingji.Actor {
	a, _ := ctx.Value(actorKey{}).(*yingji.Actor)
	return a
}

// reqState is one request's state shared with the data store through the context.
type reqState struct {
	err      error     // the coded error behind an error answer
	checksum *checksum // the request body's Upload-Checksum
	create   creation  // a validated creation request
}

func stateOf(ctx context.Context) *reqState {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	if st == nil {
		return &reqState{}
	}
	return st
}

// fail records err as the reason of the error answer and returns the error tusd needs to
// answer with that status (the body is replaced by WriteError).
func fail(ctx context.Context, err error) error {
	stateOf(ctx).err = err
	status := HTTPStatus(err)
	if status == 0 {
		switch yingji.ErrorKind(err) {
		case yingji.EINVALID:
			status = http.StatusBadRequest
		case yingji.EFORBIDDEN:
			status = http.StatusForbidden
		case yingji.ENOTFOUND:
			status = http.StatusNotFound
		case yingji.ECONFLICT:
			status = http.StatusConflict
		case yingji.ETOOLARGE:
			status = http.StatusRequestEntityTooLarge
		default:
			status = http.StatusInternalServerError
		}
	}
	return handler.NewError("ERR_YINGJI", yingji.ErrorCode(err), status)
}

// Uploads returns the upload handler. basePath is the URL path of the upload collection
// (Location headers are basePath + id); writeError writes an error answer.
func (s *Service) Uploads(basePath string, writeError func(w http.ResponseWriter, r *http.Request, err error)) (*Uploads, error) {
	if !strings.HasSuffix(basePath, "/") {
		basePath += "/"
	}
	u := &Uploads{svc: s, files: filestore.New(s.cfg.UploadDir), basePath: basePath, writeError: writeError}
	composer := handler.NewStoreComposer()
	ds := &dataStore{u: u}
	composer.UseCore(ds)
	composer.UseTerminater(ds)
	memorylocker.New().UseIn(composer)
	tus, err := handler.NewUnroutedHandler(handler.Config{
		StoreComposer:           composer,
		BasePath:                basePath,
		MaxSize:                 s.cfg.maxSize(),
		DisableDownload:         true,
		DisableConcatenation:    true,
		RespectForwardedHeaders: true,
		Cors:                    &handler.CorsConfig{Disable: true},
		Logger:                  expslog.New(expslog.NewTextHandler(io.Discard, nil)), // we log what matters
		PreUploadCreateCallback: func(handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
			return handler.HTTPResponse{Header: handler.HTTPHeader{HeaderMediaStatus: StatusUploading}}, handler.FileInfoChanges{}, nil
		},
		PreFinishResponseCallback: func(handler.HookEvent) (handler.HTTPResponse, error) {
			return handler.HTTPResponse{Header: handler.HTTPHeader{HeaderMediaStatus: StatusReady}}, nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mediasvc: tus handler: %w", err)
	}
	u.post = tus.Middleware(http.HandlerFunc(tus.PostFile))
	u.head = tus.Middleware(http.HandlerFunc(tus.HeadFile))
	u.patch = tus.Middleware(http.HandlerFunc(tus.PatchFile))
	u.del = tus.Middleware(http.HandlerFunc(tus.DelFile))
	return u, nil
}

// ServeHTTP serves one tus request.
func (u *Uploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &reqState{}
	r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
	id := strings.Trim(r.URL.Path, "/")
	if r.Method == http.MethodOptions {
		u.options(w)
		return
	}
	if v := r.Header.Get("Upload-Checksum"); v != "" && (r.Method == http.MethodPatch || r.Method == http.MethodPost) {
		cs, err := parseChecksum(v)
		if err != nil {
			u.writeError(w, r, err)
			return
		}
		st.checksum = cs
	}
	tw := &tusWriter{ResponseWriter: w}
	switch {
	case r.Method == http.MethodPost && id == "":
		done, err := u.create(w, r, st)
		if err != nil {
			u.writeError(w, r, err)
			return
		}
		if done {
			return
		}
		u.post.ServeHTTP(tw, r)
	case id == "" || strings.Contains(id, "/"):
		u.writeError(w, r, errNoUpload())
		return
	case r.Method == http.MethodHead:
		r.URL.Path = "/" + id
		u.head.ServeHTTP(tw, r)
	case r.Method == http.MethodPatch:
		r.URL.Path = "/" + id
		u.patch.ServeHTTP(tw, r)
	case r.Method == http.MethodDelete:
		r.URL.Path = "/" + id
		u.del.ServeHTTP(tw, r)
	default:
		u.writeError(w, r, withStatus(http.StatusMethodNotAllowed,
			yingji.Errorf(yingji.EINVALID, "request.method_not_allowed", "不支持该请求方法")))
		return
	}
	if tw.status != 0 {
		err := st.err
		if err == nil {
			err = tusdError(tw.status, string(tw.body))
		}
		h := w.Header()
		h.Del("Content-Length")
		h.Del("Content-Type")
		u.writeError(w, r, err)
	}
}

// options answers the tus discovery request.
func (u *Uploads) options(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Tus-Version", "1.0.0")
	h.Set("Tus-Extension", Extensions)
	h.Set("Tus-Max-Size", strconv.FormatInt(u.svc.cfg.maxSize(), 10))
	h.Set("Tus-Checksum-Algorithm", ChecksumAlgorithms)
	w.WriteHeader(http.StatusNoContent)
}

// tusWriter holds back tusd's error answers (plain English text) so that ServeHTTP can
// answer them as the API answers errors.
type tusWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *tusWriter) WriteHeader(code int) {
	if code >= 400 {
		if w.status == 0 {
			w.status = code
		}
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tusWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		w.body = append(w.body, b...)
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets tusd's http.ResponseController reach the connection (read deadlines).
func (w *tusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func errNoUpload() error {
	return yingji.Errorf(yingji.ENOTFOUND, "upload.not_found", "上传不存在或已过期，请重新创建上传")
}

// tusdError turns one of tusd's errors ("ERR_CODE: message") into a coded error.
func tusdError(status int, body string) error {
	code, _, _ := strings.Cut(strings.TrimSpace(body), ":")
	e := func(kind, c, msg string) error { return withStatus(status, yingji.Errorf(kind, c, "%s", msg)) }
	switch code {
	case "ERR_UPLOAD_NOT_FOUND":
		return errNoUpload()
	case "ERR_MISMATCHED_OFFSET":
		return e(yingji.ECONFLICT, "upload.offset_mismatch", "续传位置与服务器不一致：请先用 HEAD 查询服务器已收到的字节数（Upload-Offset），再从该处续传")
	case "ERR_UNSUPPORTED_VERSION":
		return e(yingji.EINVALID, "upload.bad_version", "请求须带请求头 Tus-Resumable: 1.0.0")
	case "ERR_INVALID_CONTENT_TYPE":
		return e(yingji.EINVALID, "upload.bad_content_type", "上传数据的 Content-Type 须为 application/offset+octet-stream")
	case "ERR_INVALID_OFFSET":
		return e(yingji.EINVALID, "upload.bad_offset", "请求头 Upload-Offset 应为非负整数")
	case "ERR_INVALID_UPLOAD_LENGTH", "ERR_AMBIGUOUS_UPLOAD_LENGTH", "ERR_INVALID_UPLOAD_LENGTH_DEFER":
		return e(yingji.EINVALID, "upload.bad_length", "请求头 Upload-Length 应为文件的字节数")
	case "ERR_UPLOAD_SIZE_EXCEEDED":
		return e(yingji.ETOOLARGE, "upload.size_exceeded", "上传的数据超过了创建上传时声明的文件大小")
	case "ERR_MAX_SIZE_EXCEEDED":
		return e(yingji.ETOOLARGE, "media.too_large", "文件超过大小上限")
	case "ERR_UPLOAD_LOCKED", "ERR_LOCK_TIMEOUT":
		return withStatus(http.StatusLocked, yingji.Errorf(yingji.ECONFLICT, "upload.busy", "该上传正被另一个请求写入，请稍后再试"))
	case "ERR_UPLOAD_INTERRUPTED":
		return e(yingji.ECONFLICT, "upload.interrupted", "该上传已被同一上传的新请求接管")
	case "ERR_UNEXPECTED_EOF", "ERR_READ_TIMEOUT", "ERR_CONNECTION_RESET":
		return e(yingji.EINVALID, "upload.transfer_broken", "传输中断：已收到的数据已保存，请用 HEAD 查询偏移量后续传")
	case "ERR_SERVER_SHUTDOWN":
		return e(yingji.EINVALID, "upload.server_shutdown", "服务器正在重启，请稍后续传")
	case "ERR_NOT_IMPLEMENTED", "ERR_INVALID_CONCAT", "ERR_CONCATENATION_UNSUPPORTED", "ERR_MODIFY_FINAL":
		return e(yingji.EINVALID, "upload.not_supported", "不支持该上传方式（支持 tus 1.0 的 creation、creation-with-upload、termination、checksum 扩展）")
	}
	if status < 500 {
		return e(yingji.EINVALID, "upload.failed", "上传请求无效")
	}
	return fmt.Errorf("tusd: %d %s", status, strings.TrimSpace(body))
}

// checksum is a request body's Upload-Checksum.
type checksum struct {
	algo string
	sum  []byte
}

func parseChecksum(v string) (*checksum, error) {
	algo, b64, _ := strings.Cut(strings.TrimSpace(v), " ")
	algo = strings.ToLower(algo)
	newHash, ok := checksumAlgos[algo]
	if !ok {
		return nil, yingji.Errorf(yingji.EINVALID, "upload.bad_checksum_algorithm", "不支持的校验算法“%s”，可用 %s", algo, ChecksumAlgorithms)
	}
	sum, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(sum) != newHash().Size() {
		return nil, yingji.Errorf(yingji.EINVALID, "upload.bad_checksum", "请求头 Upload-Checksum 应为“算法 摘要的 base64”，如 sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
	}
	return &checksum{algo: algo, sum: sum}, nil
}

// creation is a validated creation request.
type creation struct {
	sha, filename, contentType string
	size                       int64
}

// create validates a creation request. An object the server already has is answered here
// (201 with Upload-Offset equal to the length, Media-Status: ready), so nothing is sent again.
func (u *Uploads) create(w http.ResponseWriter, r *http.Request, st *reqState) (bool, error) {
	ctx := r.Context()
	if r.Header.Get("Tus-Resumable") != "1.0.0" {
		return false, tusdError(http.StatusPreconditionFailed, "ERR_UNSUPPORTED_VERSION")
	}
	c, err := u.svc.parseCreation(r.Header)
	if err != nil {
		return false, err
	}
	st.create = c
	u.svc.purgeStale(ctx)
	o, err := getObject(ctx, u.svc.DB, c.sha)
	if isNotFound(err) {
		return u.resumeOwn(w, r, c)
	} else if err != nil {
		return false, err
	}
	if o.Size != c.size {
		e := yingji.Errorf(yingji.ECONFLICT, "media.size_mismatch", "服务器已有该 SHA-256 的文件，大小为 %d 字节，与声明的 %d 字节不符", o.Size, c.size)
		return false, e.WithData(map[string]any{"size": o.Size})
	}
	h := w.Header()
	h.Set("Tus-Resumable", "1.0.0")
	h.Set("Location", absURL(r, u.basePath+c.sha))
	h.Set("Upload-Offset", strconv.FormatInt(o.Size, 10))
	h.Set("Upload-Length", strconv.FormatInt(o.Size, 10))
	h.Set(HeaderMediaStatus, StatusReady)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	u.svc.Audit.Record(ctx, actorOf(ctx), yingji.Event{Action: "media.upload", ObjectType: "media", ObjectID: c.sha,
		Detail: map[string]any{"deduplicated": true, "size": o.Size}})
	return true, nil
}

// resumeOwn answers a creation with the caller's own unfinished upload of the same file, if he
// has one: a phone killed before it kept the Location of its upload does not start again
// from zero. The answer is 201 with that upload's Location and the Upload-Offset to resume at.
func (u *Uploads) resumeOwn(w http.ResponseWriter, r *http.Request, c creation) (bool, error) {
	ctx := r.Context()
	a := actorOf(ctx)
	rows, err := uploadsOf(ctx, u.svc.DB, c.sha)
	if err != nil || a == nil {
		return false, err
	}
	for _, row := range rows {
		if row.UserID != a.UserID || row.Size != c.size {
			continue
		}
		fi, err := os.Stat(filepath.Join(u.svc.cfg.UploadDir, row.ID))
		if err != nil || fi.Size() >= row.Size {
			continue
		}
		h := w.Header()
		h.Set("Tus-Resumable", "1.0.0")
		h.Set("Location", absURL(r, u.basePath+row.ID))
		h.Set("Upload-Offset", strconv.FormatInt(fi.Size(), 10))
		h.Set(HeaderMediaStatus, StatusUploading)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusCreated)
		return true, nil
	}
	return false, nil
}

// parseCreation reads Upload-Length and Upload-Metadata (sha256 required; filename and
// content_type optional) and refuses what can be refused before any byte arrives.
func (s *Service) parseCreation(h http.Header) (creation, error) {
	var c creation
	if h.Get("Upload-Defer-Length") != "" {
		return c, yingji.Errorf(yingji.EINVALID, "upload.length_required", "创建上传时须在 Upload-Length 中声明文件大小")
	}
	if h.Get("Upload-Concat") != "" {
		return c, tusdError(http.StatusBadRequest, "ERR_CONCATENATION_UNSUPPORTED")
	}
	size, err := strconv.ParseInt(h.Get("Upload-Length"), 10, 64)
	if err != nil || size < 0 {
		return c, tusdError(http.StatusBadRequest, "ERR_INVALID_UPLOAD_LENGTH")
	}
	if size == 0 {
		return c, yingji.Errorf(yingji.EINVALID, "media.empty", "不能上传空文件")
	}
	meta := handler.ParseMetadataHeader(h.Get("Upload-Metadata"))
	c.size = size
	c.sha = strings.ToLower(strings.TrimSpace(meta["sha256"]))
	if c.sha == "" {
		return c, yingji.Invalid("media.no_sha256", "sha256", "请在 Upload-Metadata 中声明文件的 sha256（64 位十六进制，base64 编码后放入）")
	}
	if !media.ValidSHA256(c.sha) {
		return c, badSHA256()
	}
	c.filename = clip(filepath.Base(strings.ReplaceAll(printable(meta["filename"]), `\`, "/")), 255)
	if c.filename == "." || c.filename == ".." || c.filename == "/" {
		c.filename = ""
	}
	c.contentType = clip(printable(meta["content_type"]), 100)
	if err := s.cfg.checkSize("", size); err != nil {
		return c, err
	}
	if err := s.cfg.checkSize(declaredKind(c.contentType), size); err != nil {
		return c, err
	}
	return c, nil
}

// printable drops control characters (a NUL or a line break in a file name would reach the
// Content-Disposition of downloads) and the spaces around.
func printable(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s))
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// absURL is the absolute URL of path as the client reached the server (behind a proxy too),
// the way tusd writes its Location headers.
func absURL(r *http.Request, path string) string {
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		proto = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return proto + "://" + host + path
}

// dataStore is the tusd data store: tusd's file store for the partial data, a media_uploads
// row per upload (owner, declared hash), and the media store once complete.
type dataStore struct{ u *Uploads }

func (d *dataStore) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	st, a := stateOf(ctx), actorOf(ctx)
	if st.create.sha == "" || a == nil {
		return nil, fail(ctx, errors.New("mediasvc: creation reached the data store unvalidated"))
	}
	up, err := d.u.files.NewUpload(ctx, info)
	if err != nil {
		return nil, fail(ctx, err)
	}
	fi, err := up.GetInfo(ctx)
	if err != nil {
		return nil, fail(ctx, err)
	}
	now := d.u.svc.Now()
	row := uploadRow{ID: fi.ID, SHA256: st.create.sha, Size: st.create.size, UserID: a.UserID, Filename: st.create.filename,
		ContentType: st.create.contentType, CreatedAt: now, UpdatedAt: now}
	if err := insertUpload(ctx, d.u.svc.DB, row); err != nil {
		d.u.files.AsTerminatableUpload(up).Terminate(ctx)
		return nil, fail(ctx, err)
	}
	return &fileUpload{Upload: up, row: row, d: d}, nil
}

func (d *dataStore) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	svc := d.u.svc
	if media.ValidSHA256(id) { // the Location of a deduplicated creation
		o, err := getObject(ctx, svc.DB, id)
		if isNotFound(err) {
			return nil, fail(ctx, errNoUpload())
		} else if err != nil {
			return nil, fail(ctx, err)
		}
		return &doneUpload{o: o}, nil
	}
	row, err := getUpload(ctx, svc.DB, id)
	if isNotFound(err) {
		return nil, fail(ctx, errNoUpload())
	} else if err != nil {
		return nil, fail(ctx, err)
	}
	if a := actorOf(ctx); a == nil || a.UserID != row.UserID { // another user's upload does not exist for him
		return nil, fail(ctx, errNoUpload())
	}
	up, err := d.u.files.GetUpload(ctx, id)
	if errors.Is(err, handler.ErrNotFound) {
		// A finished upload keeps its row (until UploadTTL) without data: its URL answers
		// as complete, so a client that lost the last answer learns it is done.
		if o, err := getObject(ctx, svc.DB, row.SHA256); err == nil {
			return &doneUpload{o: o}, nil
		}
		deleteUpload(ctx, svc.DB, id)
		return nil, fail(ctx, errNoUpload())
	} else if err != nil {
		return nil, fail(ctx, err)
	}
	f := &fileUpload{Upload: up, row: row, d: d}
	if info, err := up.GetInfo(ctx); err == nil && info.Offset >= info.Size {
		// Every byte arrived but the server stopped before storing them: store them now.
		if err := f.FinishUpload(ctx); err != nil {
			return nil, err
		}
		o, err := getObject(ctx, svc.DB, row.SHA256)
		if err != nil {
			return nil, fail(ctx, err)
		}
		return &doneUpload{o: o}, nil
	}
	return f, nil
}

func (d *dataStore) AsTerminatableUpload(up handler.Upload) handler.TerminatableUpload {
	return up.(handler.TerminatableUpload)
}

// fileUpload is an upload in progress.
type fileUpload struct {
	handler.Upload // tusd's file store upload
	row            uploadRow
	d              *dataStore
}

// WriteChunk appends a request body. At offset 0 it sniffs the first bytes and refuses a type
// or size that is not accepted before storing anything; with an Upload-Checksum it discards a
// body that does not match (or did not arrive whole), so the upload resumes where it was.
func (f *fileUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	st, svc := stateOf(ctx), f.d.u.svc
	var h hash.Hash
	if st.checksum != nil {
		h = checksumAlgos[st.checksum.algo]()
		src = io.TeeReader(src, h)
	}
	if offset == 0 {
		head := make([]byte, min(sniffLen, f.row.Size))
		n, _ := io.ReadFull(src, head)
		if n == len(head) {
			if _, _, err := svc.cfg.classify(head, f.row.Size); err != nil {
				svc.Audit.Record(ctx, actorOf(ctx), yingji.Event{Action: "media.upload", ObjectType: "media", ObjectID: f.row.SHA256,
					Result: "failed", Detail: map[string]any{"reason": yingji.ErrorCode(err)}})
				f.discard(ctx)
				return 0, fail(ctx, err)
			}
		}
		src = io.MultiReader(bytes.NewReader(head[:n]), src)
	}
	n, err := f.Upload.WriteChunk(ctx, offset, src)
	if h != nil && (err != nil || !bytes.Equal(h.Sum(nil), st.checksum.sum)) {
		info, _ := f.Upload.GetInfo(ctx)
		if terr := os.Truncate(info.Storage[filestore.StorageKeyPath], offset); terr != nil {
			return n, fail(ctx, terr)
		}
		if err == nil {
			err = fail(ctx, withStatus(StatusChecksumMismatch, yingji.Errorf(yingji.EINVALID, "upload.checksum_mismatch",
				"本段数据与 Upload-Checksum 不符，已丢弃本段；请从 Upload-Offset %d 重新发送", offset)))
		}
		return 0, err
	}
	if n > 0 {
		if terr := touchUpload(ctx, svc.DB, f.row.ID, svc.Now()); terr != nil {
			svc.Log.Warn("touch upload", "id", f.row.ID, "err", terr)
		}
	}
	return n, err
}

// FinishUpload stores the complete upload: sniffed, its EXIF read, verified against the
// declared SHA-256 by the media store and recorded. A refused or mismatched upload is
// discarded; after an internal failure the data stays, and the next HEAD or PATCH retries.
func (f *fileUpload) FinishUpload(ctx context.Context) error {
	if err := f.Upload.FinishUpload(ctx); err != nil {
		return fail(ctx, err)
	}
	open := func() (io.ReadCloser, error) { return f.Upload.GetReader(ctx) }
	if err := f.d.u.svc.ingest(ctx, actorOf(ctx), f.row, open); err != nil {
		if yingji.ErrorKind(err) != yingji.EINTERNAL {
			f.discard(ctx)
		}
		return fail(ctx, err)
	}
	// The data is in the media store; the row stays (ingest touched it) so the upload's URL
	// answers HEAD as complete until UploadTTL.
	if err := f.d.u.files.AsTerminatableUpload(f.Upload).Terminate(ctx); err != nil {
		f.d.u.svc.Log.Warn("remove finished upload data", "id", f.row.ID, "err", err)
	}
	return nil
}

// Terminate cancels the upload (DELETE).
func (f *fileUpload) Terminate(ctx context.Context) error {
	f.d.u.svc.Audit.Record(ctx, actorOf(ctx), yingji.Event{Action: "media.upload_cancel", ObjectType: "media", ObjectID: f.row.SHA256,
		Detail: map[string]any{"upload_id": f.row.ID}})
	return f.discard(ctx)
}

// discard removes the partial data and the upload's row.
func (f *fileUpload) discard(ctx context.Context) error {
	err := f.d.u.files.AsTerminatableUpload(f.Upload).Terminate(ctx)
	if derr := deleteUpload(context.WithoutCancel(ctx), f.d.u.svc.DB, f.row.ID); err == nil {
		err = derr
	}
	return err
}

// doneUpload is the upload resource of an object the server holds: complete, nothing to add
// and nothing to terminate (the object stays).
type doneUpload struct{ o object }

func (d *doneUpload) WriteChunk(context.Context, int64, io.Reader) (int64, error) { return 0, nil }
func (d *doneUpload) GetReader(context.Context) (io.ReadCloser, error) {
	return nil, handler.ErrNotImplemented
}
func (d *doneUpload) FinishUpload(context.Context) error { return nil }
func (d *doneUpload) Terminate(context.Context) error    { return nil }
func (d *doneUpload) GetInfo(context.Context) (handler.FileInfo, error) {
	return handler.FileInfo{ID: d.o.SHA256, Size: d.o.Size, Offset: d.o.Size, MetaData: handler.MetaData{"sha256": d.o.SHA256}}, nil
}

// ingest moves a complete upload into the media store and records it.
func (s *Service) ingest(ctx context.Context, a *yingji.Actor, row uploadRow, open func() (io.ReadCloser, error)) error {
	rc, err := open()
	if err != nil {
		return err
	}
	head := make([]byte, min(sniffLen, row.Size))
	_, err = io.ReadFull(rc, head)
	rc.Close()
	if err != nil {
		return fmt.Errorf("media: read upload %s: %w", row.ID, err)
	}
	ct, kind, err := s.cfg.classify(head, row.Size)
	if err != nil {
		s.Audit.Record(ctx, a, yingji.Event{Action: "media.upload", ObjectType: "media", ObjectID: row.SHA256, Result: "failed",
			Detail: map[string]any{"reason": yingji.ErrorCode(err)}})
		return err
	}
	o := object{SHA256: row.SHA256, Size: row.Size, ContentType: ct, Kind: kind, Filename: row.Filename, UploadedBy: row.UserID,
		ReceivedAt: s.Now().UTC(), Status: StatusReady}
	if kind == KindPhoto {
		if rc, err := open(); err == nil {
			md := s.ReadMetadata(bufio.NewReader(rc), nil)
			rc.Close()
			o.TakenAt, o.Lat, o.Lng = md.TakenAt, md.Lat, md.Lng
		}
	}
	if rc, err = open(); err != nil {
		return err
	}
	_, err = s.Store.Put(ctx, media.Original(row.SHA256), rc, row.Size, media.PutOptions{SHA256: row.SHA256, ContentType: ct})
	rc.Close()
	if errors.Is(err, media.ErrHashMismatch) || errors.Is(err, media.ErrSizeMismatch) {
		s.Audit.Record(ctx, a, yingji.Event{Action: "media.upload", ObjectType: "media", ObjectID: row.SHA256, Result: "failed",
			Detail: map[string]any{"reason": "media.hash_mismatch", "size": row.Size}})
		return withStatus(StatusChecksumMismatch, yingji.Errorf(yingji.ECONFLICT, "media.hash_mismatch",
			"文件内容与声明的 SHA-256 不符，本次上传的数据已丢弃，请重新上传"))
	} else if err != nil {
		return fmt.Errorf("media: store %s: %w", row.SHA256, err)
	}
	if err := s.DB.InTx(ctx, func(q sqldb.Querier) error {
		if err := insertObject(ctx, q, o); err != nil {
			return err
		}
		return touchUpload(ctx, q, row.ID, s.Now())
	}); err != nil {
		return err
	}
	s.Log.Info("media stored", "sha256", row.SHA256, "size", row.Size, "kind", kind, "user_id", row.UserID)
	s.Audit.Record(ctx, a, yingji.Event{Action: "media.upload", ObjectType: "media", ObjectID: row.SHA256,
		Detail: map[string]any{"size": row.Size, "kind": kind, "content_type": ct, "filename": row.Filename}})
	return nil
}

// purgeStale removes, at most once an hour, the uploads untouched for longer than UploadTTL
// with their partial data.
func (s *Service) purgeStale(ctx context.Context) {
	now := s.Now()
	last := s.lastPurge.Load()
	if now.Unix()-last < 3600 || !s.lastPurge.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := s.PurgeStaleUploads(ctx); err != nil {
		s.Log.Warn("purge stale uploads", "err", err)
	}
}

// PurgeStaleUploads removes the uploads untouched for longer than UploadTTL with their partial
// data, and returns how many.
func (s *Service) PurgeStaleUploads(ctx context.Context) (int, error) {
	rows, err := staleUploads(ctx, s.DB, s.Now().Add(-s.cfg.UploadTTL))
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		for _, p := range []string{filepath.Join(s.cfg.UploadDir, r.ID), filepath.Join(s.cfg.UploadDir, r.ID+".info")} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return 0, err
			}
		}
		if err := deleteUpload(ctx, s.DB, r.ID); err != nil {
			return 0, err
		}
	}
	if len(rows) > 0 {
		s.Log.Info("stale uploads removed", "count", len(rows))
	}
	return len(rows), nil
}
