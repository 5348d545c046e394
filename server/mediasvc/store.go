package mediasvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// object is a media_objects row.
type object struct {
	SHA256, ContentType, Kind, Filename, UploadedBy, Status string
	Size                                                    int64
	ReceivedAt                                              time.Time
	TakenAt                                                 *time.Time
	Lat, Lng                                                *float64
}

const objectCols = "sha256, size, content_type, kind, filename, uploaded_by, received_at, taken_at, lat, lng, status"

func getObject(ctx context.Context, q sqldb.Querier, sha string) (object, error) {
	var o object
	err := q.QueryRow(ctx, "SELECT "+objectCols+" FROM media_objects WHERE sha256 = $1", sha).Scan(
		&o.SHA256, &o.Size, &o.ContentType, &o.Kind, &o.Filename, &o.UploadedBy, &o.ReceivedAt, &o.TakenAt, &o.Lat, &o.Lng, &o.Status)
	if err != nil {
		return o, fmt.Errorf("media: object %s: %w", sha, err)
	}
	return o, nil
}

// insertObject records a stored object; an object already recorded (the same bytes uploaded
// twice at once) keeps its first row.
func insertObject(ctx context.Context, q sqldb.Querier, o object) error {
	_, err := q.Exec(ctx, "INSERT INTO media_objects ("+objectCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"+
		" ON CONFLICT (sha256) DO NOTHING",
		o.SHA256, o.Size, o.ContentType, o.Kind, o.Filename, o.UploadedBy, o.ReceivedAt.UTC(), utcPtr(o.TakenAt), o.Lat, o.Lng, o.Status)
	if err != nil {
		return fmt.Errorf("media: insert object: %w", err)
	}
	return nil
}

func utcPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// uploadRow is a media_uploads row: an upload in progress.
type uploadRow struct {
	ID, SHA256, UserID, Filename, ContentType string
	Size                                      int64
	CreatedAt, UpdatedAt                      time.Time
}

const uploadCols = "id, sha256, size, user_id, filename, content_type, created_at, updated_at"

func scanUpload(r interface{ Scan(...any) error }) (uploadRow, error) {
	var u uploadRow
	err := r.Scan(&u.ID, &u.SHA256, &u.Size, &u.UserID, &u.Filename, &u.ContentType, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

func getUpload(ctx context.Context, q sqldb.Querier, id string) (uploadRow, error) {
	u, err := scanUpload(q.QueryRow(ctx, "SELECT "+uploadCols+" FROM media_uploads WHERE id = $1", id))
	if err != nil {
		return u, fmt.Errorf("media: upload %s: %w", id, err)
	}
	return u, nil
}

func uploadsOf(ctx context.Context, q sqldb.Querier, sha string) ([]uploadRow, error) {
	rows, err := q.Query(ctx, "SELECT "+uploadCols+" FROM media_uploads WHERE sha256 = $1 ORDER BY updated_at DESC", sha)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (uploadRow, error) { return scanUpload(r) })
}

func staleUploads(ctx context.Context, q sqldb.Querier, before time.Time) ([]uploadRow, error) {
	rows, err := q.Query(ctx, "SELECT "+uploadCols+" FROM media_uploads WHERE updated_at < $1 LIMIT 1000", before.UTC())
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (uploadRow, error) { return scanUpload(r) })
}

func insertUpload(ctx context.Context, q sqldb.Querier, u uploadRow) error {
	_, err := q.Exec(ctx, "INSERT INTO media_uploads ("+uploadCols+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		u.ID, u.SHA256, u.Size, u.UserID, u.Filename, u.ContentType, u.CreatedAt.UTC(), u.UpdatedAt.UTC())
	if err != nil {
		return fmt.Errorf("media: insert upload: %w", err)
	}
	return nil
}

func touchUpload(ctx context.Context, q sqldb.Querier, id string, now time.Time) error {
	_, err := q.Exec(ctx, "UPDATE media_uploads SET updated_at = $2 WHERE id = $1", id, now.UTC())
	return err
}

func deleteUpload(ctx context.Context, q sqldb.Querier, id string) error {
	_, err := q.Exec(ctx, "DELETE FROM media_uploads WHERE id = $1", id)
	return err
}

// refRow is a media_refs row.
type refRow struct {
	Collection, RecordID, OrgPath, EnterpriseID, IncidentID, Perm string
	Shared                                                        bool
}

func refsOf(ctx context.Context, q sqldb.Querier, sha string) ([]refRow, error) {
	rows, err := q.Query(ctx, "SELECT collection, record_id, org_path, enterprise_id, incident_id, shared, perm FROM media_refs WHERE sha256 = $1", sha)
	return sqldb.CollectRows(rows, err, func(r sqldb.Rows) (refRow, error) {
		var x refRow
		return x, r.Scan(&x.Collection, &x.RecordID, &x.OrgPath, &x.EnterpriseID, &x.IncidentID, &x.Shared, &x.Perm)
	})
}

const secretKey = "media_url_secret"

// loadSecret returns the key that signs media URLs, creating it on first use. Concurrent
// first starts agree: the first insert wins and everyone reads it back.
func loadSecret(ctx context.Context, db sqldb.DB) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := db.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", secretKey, hex.EncodeToString(b)); err != nil {
		return nil, fmt.Errorf("mediasvc: url secret: %w", err)
	}
	var v string
	if err := db.QueryRow(ctx, "SELECT value FROM meta WHERE key = $1", secretKey).Scan(&v); err != nil {
		return nil, fmt.Errorf("mediasvc: url secret: %w", err)
	}
	secret, err := hex.DecodeString(v)
	if err != nil || len(secret) < 16 {
		return nil, errors.New("mediasvc: url secret in the meta table is not hex of at least 16 bytes")
	}
	return secret, nil
}

func isNotFound(err error) bool { return errors.Is(err, yingji.ErrNotFound) }
