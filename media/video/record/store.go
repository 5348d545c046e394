package record

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/sqldb"
)

// recordingRow is a video_recordings row.
type recordingRow struct {
	ID            string    `json:"id"`
	StreamID      string    `json:"stream_id"`
	IncidentID    string    `json:"incident_id,omitempty"`
	Publisher     string    `json:"publisher"`
	PublisherName string    `json:"publisher_name"`
	OrgPath       string    `json:"org_path"`
	Started       time.Time `json:"started"`
}

// gapRow is a video_gaps row.
type gapRow struct {
	RecordingID string
	Started     time.Time
	Ended       time.Time
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (r *Recorder) insertRecording(ctx context.Context, row recordingRow) {
	if row.Publisher == "" && r.Describe != nil {
		for i := 0; i < 20; i++ { // the stream's row may be a moment behind its first track
			if m, err := r.Describe(ctx, row.StreamID); err == nil && m.Publisher != "" {
				row.Publisher, row.PublisherName, row.OrgPath = m.Publisher, m.PublisherName, m.OrgPath
				if row.IncidentID == "" {
					row.IncidentID = m.IncidentID
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	_, err := r.DB.Exec(ctx, `INSERT INTO video_recordings (id, stream_id, incident_id, publisher, publisher_name, org_path, started)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		row.ID, row.StreamID, nullable(row.IncidentID), row.Publisher, row.PublisherName, row.OrgPath, row.Started.UTC())
	if err != nil {
		r.Log.Error("录像记录写入失败 (insert recording)", "recording", row.ID, "err", err)
	}
}

func (r *Recorder) insertGap(ctx context.Context, g gapRow) {
	_, err := r.DB.Exec(ctx, `INSERT INTO video_gaps (recording_id, started, ended) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		g.RecordingID, g.Started.UTC(), g.Ended.UTC())
	if err != nil {
		r.Log.Error("录像中断记录写入失败 (insert gap)", "recording", g.RecordingID, "err", err)
	}
}

func (r *Recorder) endRecording(ctx context.Context, id string, end time.Time) {
	if end.IsZero() {
		return
	}
	if _, err := r.DB.Exec(ctx, `UPDATE video_recordings SET ended = $2 WHERE id = $1`, id, end.UTC()); err != nil {
		r.Log.Error("录像结束写入失败 (end recording)", "recording", id, "err", err)
	}
}

func (r *Recorder) reopenRecording(ctx context.Context, id string) {
	if _, err := r.DB.Exec(ctx, `UPDATE video_recordings SET ended = NULL WHERE id = $1`, id); err != nil {
		r.Log.Error("录像续录写入失败 (reopen recording)", "recording", id, "err", err)
	}
}

// storeSegment moves a closed segment file from the spool folder into the media store and
// records it. On failure the files stay in the spool folder for the next start.
func (r *Recorder) storeSegment(ctx context.Context, m segMeta, recovered bool) {
	if err := r.storeSegmentErr(ctx, m, recovered); err != nil {
		r.Log.Error("录像分段保存失败 (store segment)", "recording", m.Recording.ID, "index", m.Index, "err", err)
	}
}

func (r *Recorder) storeSegmentErr(ctx context.Context, m segMeta, recovered bool) error {
	path := filepath.Join(r.cfg.SpoolDir, m.base()+".mp4")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	key := media.Original(sum)
	if _, err := r.Store.Put(ctx, key, f, size, media.PutOptions{SHA256: sum, ContentType: "video/mp4"}); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	end := m.Started.Add(time.Duration(m.DurationMS) * time.Millisecond)
	row := m.Recording
	if row.Publisher == "" && r.Describe != nil {
		if d, err := r.Describe(ctx, row.StreamID); err == nil {
			row.Publisher, row.PublisherName, row.OrgPath = d.Publisher, d.PublisherName, d.OrgPath
			if row.IncidentID == "" {
				row.IncidentID = d.IncidentID
			}
		}
	}
	err = r.DB.InTx(ctx, func(q sqldb.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO video_recordings (id, stream_id, incident_id, publisher, publisher_name, org_path, started)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			row.ID, row.StreamID, nullable(row.IncidentID), row.Publisher, row.PublisherName, row.OrgPath, row.Started.UTC()); err != nil {
			return err
		}
		n, err := q.Exec(ctx, `INSERT INTO video_segments (recording_id, idx, media_key, sha256, started, ended, duration_ms, bytes, codecs, recovered)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (recording_id, idx) DO NOTHING`,
			row.ID, m.Index, string(key), sum, m.Started.UTC(), end.UTC(), m.DurationMS, size, m.Codecs, recovered)
		if err != nil || n == 0 {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE video_recordings SET duration_ms = duration_ms + $2, size = size + $3,
			codecs = CASE WHEN codecs = '' THEN $4 ELSE codecs END WHERE id = $1`, row.ID, m.DurationMS, size, m.Codecs)
		return err
	})
	if err != nil {
		return fmt.Errorf("record: %w", err)
	}
	f.Close()
	os.Remove(path)
	os.Remove(filepath.Join(r.cfg.SpoolDir, m.base()+".json"))
	r.Log.Info("录像分段已保存 (segment stored)", "recording", m.Recording.ID, "index", m.Index, "duration_ms", m.DurationMS, "bytes", size, "recovered", recovered)
	return nil
}
