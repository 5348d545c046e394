package record

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Position is a GPS fix the publisher sent during the recording (video_positions).
type Position struct {
	At      time.Time `json:"at"`
	Lat     float64   `json:"lat"`
	Lng     float64   `json:"lng"`
	Heading *float64  `json:"heading,omitempty"`
	Speed   *float64  `json:"speed,omitempty"`
}

// ExportManifest is metadata.json of an evidence export.
type ExportManifest struct {
	Recording  Recording  `json:"recording"`
	Segments   []Segment  `json:"segments"`
	Gaps       []Gap      `json:"gaps"`
	Positions  []Position `json:"positions"`
	ExportedAt time.Time  `json:"exported_at"`
	ExportedBy string     `json:"exported_by"`
	Files      []string   `json:"files"`
}

// Export writes a recording as a zip for the case file: each segment as it is stored
// (segments/000.mp4, ...: self-contained MP4 files that play on their own), metadata.json
// (who, incident, start, end, segments, gaps, positions), segments.csv (the same table for a
// spreadsheet) and SHA256SUMS over every file (sha256sum -c checks it). Audited.
func (r *Recorder) Export(ctx context.Context, a *yingji.Actor, id string, w io.Writer) error {
	rec, err := r.Get(ctx, a, id)
	if err != nil {
		return err
	}
	if rec.Live {
		return yingji.Errorf(yingji.ECONFLICT, "video.recording_live", "录像尚未结束，结束后才能导出证据包")
	}
	positions, err := r.positions(ctx, rec)
	if err != nil {
		return err
	}
	r.Audit.Record(ctx, a, yingji.Event{Action: "video.recording.export", ObjectType: "video_recording", ObjectID: id, Result: "ok",
		Detail: map[string]any{"segments": len(rec.Segments)}})
	zw := zip.NewWriter(w)
	var sums [][2]string
	add := func(name string, modified time.Time, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: modified})
		if err != nil {
			return err
		}
		h := sha256.New()
		if err := write(io.MultiWriter(fw, h)); err != nil {
			return err
		}
		sums = append(sums, [2]string{hex.EncodeToString(h.Sum(nil)), name})
		return nil
	}
	m := ExportManifest{Recording: rec, Segments: rec.Segments, Gaps: rec.Gaps, Positions: positions, ExportedAt: r.Now().UTC(), ExportedBy: a.Username}
	for _, s := range rec.Segments {
		name := fmt.Sprintf("segments/%03d.mp4", s.Index)
		m.Files = append(m.Files, name)
		err := add(name, s.Started, func(w io.Writer) error {
			rc, _, err := r.Store.Get(ctx, s.key, 0, -1)
			if err != nil {
				return err
			}
			defer rc.Close()
			h := sha256.New()
			if _, err := io.Copy(io.MultiWriter(w, h), rc); err != nil {
				return err
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
				return fmt.Errorf("record: segment %d does not match its SHA-256 (%s, stored %s)", s.Index, got, s.SHA256)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("record: export %s: %w", id, err)
		}
	}
	m.Recording.Segments, m.Recording.Gaps = nil, nil
	if err := add("metadata.json", m.ExportedAt, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}); err != nil {
		return err
	}
	if err := add("segments.csv", m.ExportedAt, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"类型", "序号", "开始", "结束", "时长(毫秒)", "字节", "编码", "SHA-256", "崩溃后修复"})
		for _, s := range rec.Segments {
			cw.Write([]string{"分段", strconv.Itoa(s.Index), s.Started.Format(time.RFC3339Nano), s.Ended.Format(time.RFC3339Nano),
				strconv.FormatInt(s.DurationMS, 10), strconv.FormatInt(s.Bytes, 10), s.Codecs, s.SHA256, strconv.FormatBool(s.Recovered)})
		}
		for _, g := range rec.Gaps {
			cw.Write([]string{"中断", "", g.Started.Format(time.RFC3339Nano), g.Ended.Format(time.RFC3339Nano),
				strconv.FormatInt(g.DurationMS, 10), "", "", "", ""})
		}
		cw.Flush()
		return cw.Error()
	}); err != nil {
		return err
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: "SHA256SUMS", Method: zip.Store, Modified: m.ExportedAt})
	if err != nil {
		return err
	}
	for _, s := range sums {
		fmt.Fprintf(fw, "%s  %s\n", s[0], s[1])
	}
	return zw.Close()
}

// positions are the publisher's GPS fixes during the recording, when the SFU kept them.
func (r *Recorder) positions(ctx context.Context, rec Recording) ([]Position, error) {
	end := time.Now().UTC()
	if rec.Ended != nil {
		end = *rec.Ended
	}
	rows, err := r.DB.Query(ctx, `SELECT at, lat, lng, heading, speed FROM video_positions
		WHERE stream_id = $1 AND at >= $2 AND at <= $3 ORDER BY at`, rec.StreamID, rec.Started, end)
	ps, err := sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Position, error) {
		var p Position
		err := r.Scan(&p.At, &p.Lat, &p.Lng, &p.Heading, &p.Speed)
		p.At = p.At.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("record: positions: %w", err)
	}
	if ps == nil {
		ps = []Position{}
	}
	return ps, nil
}
