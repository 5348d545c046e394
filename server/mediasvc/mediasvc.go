// Package mediasvc is the server side of photo, video, audio and PDF evidence: resumable
// uploads (tus 1.0 on tusd's handler), content sniffing and size limits, EXIF time and place,
// thumbnails cached in the media store, and access. Records refer to media by SHA-256; a user
// may read a media object only when he may read a record that refers to it (media_refs), or
// when he sent it himself. Originals are stored byte for byte under media.Original(sha256),
// verified against the declared hash and never rewritten; every download of one is audited.
package mediasvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	exif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Config are the limits and places of the service.
type Config struct {
	MaxPhoto, MaxVideo, MaxAudio, MaxPDF int64 // bytes, by kind
	// UploadDir holds the partial data of unfinished uploads (tusd's file store).
	UploadDir string
	// UploadTTL: an unfinished upload untouched this long is removed with its data.
	UploadTTL time.Duration
	// Location is where times without a zone (EXIF DateTimeOriginal without OffsetTimeOriginal)
	// were taken; Asia/Shanghai when nil.
	Location *time.Location
}

// Service is the media service.
type Service struct {
	DB    sqldb.DB
	Store media.Store
	Audit yingji.Auditor
	Log   *slog.Logger
	Now   func() time.Time

	cfg       Config
	secret    []byte
	ifds      *exifcommon.IfdMapping
	tags      *exif.TagIndex
	decoding  chan struct{} // bounds concurrent image decoding (memory)
	thumbing  keyedMutex    // one thumbnail generation per object at a time
	lastPurge atomic.Int64  // unix seconds of the last removal of stale uploads
}

// New returns the service. It creates the upload folder and, on first start, the secret that
// signs short-lived media URLs (kept in the meta table, so every instance shares it).
func New(ctx context.Context, db sqldb.DB, store media.Store, audit yingji.Auditor, log *slog.Logger, cfg Config) (*Service, error) {
	if cfg.UploadDir == "" {
		return nil, errors.New("mediasvc: no upload folder")
	}
	if err := os.MkdirAll(cfg.UploadDir, 0o750); err != nil {
		return nil, fmt.Errorf("mediasvc: upload folder: %w", err)
	}
	if cfg.UploadTTL <= 0 {
		cfg.UploadTTL = 30 * 24 * time.Hour
	}
	if cfg.Location == nil {
		cfg.Location = shanghai()
	}
	ifds, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		return nil, fmt.Errorf("mediasvc: exif: %w", err)
	}
	if audit == nil {
		audit = yingji.AuditFunc(func(context.Context, *yingji.Actor, yingji.Event) {})
	}
	s := &Service{DB: db, Store: store, Audit: audit, Log: log.With("component", "media"), Now: time.Now, cfg: cfg,
		ifds: ifds, tags: exif.NewTagIndex(), decoding: make(chan struct{}, max(2, runtime.NumCPU()/2))}
	if s.secret, err = loadSecret(ctx, db); err != nil {
		return nil, err
	}
	return s, nil
}

func shanghai() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}

// Statuses of a media object as the API shows them.
const (
	StatusReady     = "ready"     // stored
	StatusUploading = "uploading" // an upload of it is in progress
	StatusMissing   = "missing"   // referred to, not (yet) uploaded
)

// statusLabels are what the portal shows for each status.
var statusLabels = map[string]string{StatusReady: "已上传", StatusUploading: "上传中", StatusMissing: "上传中"}

// Info describes a media object, stored or not yet.
type Info struct {
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`         // declared size while uploading; 0 when missing
	ContentType string `json:"content_type"` // sniffed from the bytes; "" until stored
	Kind        string `json:"kind"`         // photo, video, audio, pdf; "" until stored
	Filename    string `json:"filename"`
	Status      string `json:"status"`       // ready, uploading, missing
	StatusLabel string `json:"status_label"` // 已上传, 上传中
	// ReceivedBytes is how much of an upload in progress the server has.
	ReceivedBytes *int64     `json:"received_bytes,omitempty"`
	TakenAt       *time.Time `json:"taken_at"` // EXIF DateTimeOriginal
	Lat           *float64   `json:"lat"`      // EXIF GPS, WGS84
	Lng           *float64   `json:"lng"`
	ReceivedAt    *time.Time `json:"received_at"` // when the upload completed
	UploadedBy    string     `json:"uploaded_by"` // user id of the first uploader
}

// statusError gives a coded error the HTTP status the tus protocol asks for where no error
// kind maps to it (460 Checksum Mismatch, 412, 415, 423, 503).
type statusError struct {
	status int
	err    *yingji.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func withStatus(status int, e *yingji.Error) error { return &statusError{status: status, err: e} }

// HTTPStatus returns the status an error of this package must be answered with when it is
// not the one of its kind, else 0.
func HTTPStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return 0
}

// Status codes of the tus protocol and of content refusals.
const (
	StatusChecksumMismatch = 460 // tus checksum extension
)

func badSHA256() *yingji.Error {
	return yingji.Invalid("media.bad_sha256", "sha256", "文件摘要应为 64 位小写十六进制 SHA-256")
}

func notFound() *yingji.Error {
	return yingji.Errorf(yingji.ENOTFOUND, "media.not_found", "媒体文件不存在")
}

// keyedMutex serialises work per key.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	n int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.n++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.n--; l.n == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
