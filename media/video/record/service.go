package record

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/yingji/yingji/media"
	"github.com/yingji/yingji/server/sqldb"
	"github.com/yingji/yingji/server/yingji"
)

// Recording is a stream's recording as the API shows it.
type Recording struct {
	ID            string     `json:"id"`
	StreamID      string     `json:"stream_id"`
	IncidentID    *string    `json:"incident_id"`
	Publisher     string     `json:"publisher"`
	PublisherName string     `json:"publisher_name"`
	Started       time.Time  `json:"started"`
	Ended         *time.Time `json:"ended"` // nil while it is being recorded
	DurationMS    int64      `json:"duration_ms"`
	Size          int64      `json:"size"`
	Codecs        string     `json:"codecs"`
	Live          bool       `json:"live"`
	Segments      []Segment  `json:"segments,omitempty"`
	Gaps          []Gap      `json:"gaps,omitempty"`
	orgPath       string
}

// Segment is one stored segment: a self-contained fragmented MP4 file.
type Segment struct {
	Index      int       `json:"index"`
	SHA256     string    `json:"sha256"`
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended"`
	OffsetMS   int64     `json:"offset_ms"` // from the recording's start
	DurationMS int64     `json:"duration_ms"`
	Bytes      int64     `json:"bytes"`
	Codecs     string    `json:"codecs"`
	Recovered  bool      `json:"recovered"` // cut after its last complete fragment after a crash
	key        media.Key
}

// Gap is a time the publisher was away: nothing was recorded from Started to Ended.
type Gap struct {
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended"`
	OffsetMS   int64     `json:"offset_ms"`
	DurationMS int64     `json:"duration_ms"`
}

// Filter selects recordings.
type Filter struct {
	IncidentID string
	Publisher  string
	From, To   *time.Time // recordings that overlap [From, To]
	yingji.ListParams
}

const recCols = "id, stream_id, incident_id, publisher, publisher_name, org_path, started, ended, duration_ms, size, codecs"

func scanRecording(r interface{ Scan(...any) error }) (Recording, error) {
	var x Recording
	err := r.Scan(&x.ID, &x.StreamID, &x.IncidentID, &x.Publisher, &x.PublisherName, &x.orgPath, &x.Started, &x.Ended, &x.DurationMS, &x.Size, &x.Codecs)
	x.Started = x.Started.UTC()
	if x.Ended != nil {
		t := x.Ended.UTC()
		x.Ended = &t
	}
	x.Live = x.Ended == nil
	return x, err
}

// canRead follows who may watch the stream (video.CanWatch): the publisher reads his own
// recordings; a watcher (video:watch) those of publishers in his subtree (a recording of
// nobody's unit is the city's).
func canRead(a *yingji.Actor, rec Recording) bool {
	if a == nil {
		return false
	}
	if a == yingji.System || a.UserID != "" && a.UserID == rec.Publisher {
		return true
	}
	path := rec.orgPath
	if path == "" {
		path = "/"
	}
	return a.UserID != "" && a.Can(yingji.PermVideoWatch) && a.InSubtree(path)
}

func scopeWhere(a *yingji.Actor, where []string, args []any) ([]string, []any) {
	if a == yingji.System {
		return where, args
	}
	if !a.Can(yingji.PermVideoWatch) || a.OrgPath == "" {
		args = append(args, a.UserID)
		return append(where, fmt.Sprintf("publisher = $%d", len(args))), args
	}
	args = append(args, a.OrgPath+"%", a.UserID)
	n := len(args)
	if a.OrgPath == "/" {
		return append(where, fmt.Sprintf("(org_path LIKE $%d OR org_path = '' OR publisher = $%d)", n-1, n)), args
	}
	return append(where, fmt.Sprintf("(org_path LIKE $%d OR publisher = $%d)", n-1, n)), args
}

var recSorts = map[string]string{"started": "started", "duration": "duration_ms", "size": "size"}

// List returns the recordings the actor may read, newest first.
func (r *Recorder) List(ctx context.Context, a *yingji.Actor, f Filter) (yingji.Page[Recording], error) {
	var page yingji.Page[Recording]
	if a == nil || a.UserID == "" && a != yingji.System {
		return page, yingji.Errorf(yingji.EUNAUTHORIZED, "auth.required", "请先登录")
	}
	f.Normalize()
	order, err := f.OrderBy(recSorts, "started DESC, id DESC")
	if err != nil {
		return page, err
	}
	where, args := scopeWhere(a, nil, nil)
	if f.IncidentID != "" {
		args = append(args, f.IncidentID)
		where = append(where, fmt.Sprintf("incident_id = $%d", len(args)))
	}
	if f.Publisher != "" {
		args = append(args, f.Publisher)
		where = append(where, fmt.Sprintf("publisher = $%d", len(args)))
	}
	if f.To != nil {
		args = append(args, f.To.UTC())
		where = append(where, fmt.Sprintf("started <= $%d", len(args)))
	}
	if f.From != nil {
		args = append(args, f.From.UTC())
		where = append(where, fmt.Sprintf("(ended IS NULL OR ended >= $%d)", len(args)))
	}
	w := ""
	if len(where) > 0 {
		w = " WHERE " + strings.Join(where, " AND ")
	}
	err = r.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM video_recordings"+w, args...).Scan(&page.Total); err != nil {
			return err
		}
		rows, err := q.Query(ctx, fmt.Sprintf("SELECT %s FROM video_recordings%s ORDER BY %s LIMIT %d OFFSET %d", recCols, w, order, f.PageSize, f.Offset()), args...)
		page.Items, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Recording, error) { return scanRecording(r) })
		return err
	})
	if err != nil {
		return page, fmt.Errorf("record: list: %w", err)
	}
	if page.Items == nil {
		page.Items = []Recording{}
	}
	return page, nil
}

// ListRecordings returns every recording of an incident, oldest first, with segments and
// gaps: the incident timeline's hook (the caller has checked the incident's scope).
func (r *Recorder) ListRecordings(ctx context.Context, incidentID string) ([]Recording, error) {
	var out []Recording
	err := r.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		rows, err := q.Query(ctx, "SELECT "+recCols+" FROM video_recordings WHERE incident_id = $1 ORDER BY started, id", incidentID)
		out, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Recording, error) { return scanRecording(r) })
		if err != nil {
			return err
		}
		for i := range out {
			if err := loadParts(ctx, q, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record: incident %s: %w", incidentID, err)
	}
	return out, nil
}

func notFound() *yingji.Error {
	return yingji.Errorf(yingji.ENOTFOUND, "video.recording_not_found", "录像不存在")
}

// Get returns a recording with its segments and gaps. One the actor may not read does not
// exist for him (the refusal is audited).
func (r *Recorder) Get(ctx context.Context, a *yingji.Actor, id string) (Recording, error) {
	var rec Recording
	err := r.DB.ReadTx(ctx, func(q sqldb.Querier) error {
		var err error
		rec, err = scanRecording(q.QueryRow(ctx, "SELECT "+recCols+" FROM video_recordings WHERE id = $1", id))
		if err != nil {
			return err
		}
		return loadParts(ctx, q, &rec)
	})
	if errors.Is(err, yingji.ErrNotFound) {
		return rec, notFound()
	} else if err != nil {
		return rec, fmt.Errorf("record: get %s: %w", id, err)
	}
	if !canRead(a, rec) {
		r.Audit.Record(ctx, a, yingji.Event{Action: "video.recording.read", ObjectType: "video_recording", ObjectID: id, Result: "denied"})
		return Recording{}, notFound()
	}
	return rec, nil
}

func loadParts(ctx context.Context, q sqldb.Querier, rec *Recording) error {
	rows, err := q.Query(ctx, `SELECT idx, media_key, sha256, started, ended, duration_ms, bytes, codecs, recovered
		FROM video_segments WHERE recording_id = $1 ORDER BY idx`, rec.ID)
	rec.Segments, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Segment, error) {
		var s Segment
		var key string
		err := r.Scan(&s.Index, &key, &s.SHA256, &s.Started, &s.Ended, &s.DurationMS, &s.Bytes, &s.Codecs, &s.Recovered)
		s.key, s.Started, s.Ended = media.Key(key), s.Started.UTC(), s.Ended.UTC()
		s.OffsetMS = s.Started.Sub(rec.Started).Milliseconds()
		return s, err
	})
	if err != nil {
		return err
	}
	rows, err = q.Query(ctx, `SELECT started, ended FROM video_gaps WHERE recording_id = $1 ORDER BY started`, rec.ID)
	rec.Gaps, err = sqldb.CollectRows(rows, err, func(r sqldb.Rows) (Gap, error) {
		var g Gap
		err := r.Scan(&g.Started, &g.Ended)
		g.Started, g.Ended = g.Started.UTC(), g.Ended.UTC()
		g.OffsetMS, g.DurationMS = g.Started.Sub(rec.Started).Milliseconds(), g.Ended.Sub(g.Started).Milliseconds()
		return g, err
	})
	return err
}

// SegmentFile is an open segment: a ReadSeeker over the media store for http.ServeContent
// (Range requests from a player).
type SegmentFile struct {
	Segment
	ctx   context.Context
	store media.Store
	pos   int64
	rc    io.ReadCloser
	rcPos int64
}

// OpenSegment opens a segment of a recording the actor may read; rangeHeader (what the
// player asked for) goes into the audit record of the playback.
func (r *Recorder) OpenSegment(ctx context.Context, a *yingji.Actor, id string, index int, rangeHeader string) (*SegmentFile, error) {
	rec, err := r.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	for _, s := range rec.Segments {
		if s.Index != index {
			continue
		}
		rc, _, err := r.Store.Get(ctx, s.key, 0, -1)
		if err != nil {
			return nil, fmt.Errorf("record: segment %s/%d: %w", id, index, err)
		}
		detail := map[string]any{"segment": index}
		if rangeHeader != "" {
			detail["range"] = rangeHeader
		}
		r.Audit.Record(ctx, a, yingji.Event{Action: "video.recording.play", ObjectType: "video_recording", ObjectID: id, Result: "ok", Detail: detail})
		return &SegmentFile{Segment: s, ctx: ctx, store: r.Store, rc: rc}, nil
	}
	return nil, yingji.Errorf(yingji.ENOTFOUND, "video.segment_not_found", "录像分段不存在")
}

// Read implements io.Reader.
func (f *SegmentFile) Read(p []byte) (int, error) {
	if f.pos >= f.Bytes {
		return 0, io.EOF
	}
	if f.rc != nil && f.rcPos != f.pos {
		f.rc.Close()
		f.rc = nil
	}
	if f.rc == nil {
		rc, _, err := f.store.Get(f.ctx, f.key, f.pos, -1)
		if err != nil {
			return 0, err
		}
		f.rc, f.rcPos = rc, f.pos
	}
	n, err := f.rc.Read(p)
	f.pos += int64(n)
	f.rcPos += int64(n)
	return n, err
}

// Seek implements io.Seeker; it costs nothing until the next read.
func (f *SegmentFile) Seek(offset int64, whence int) (int64, error) {
	var p int64
	switch whence {
	case io.SeekStart:
		p = offset
	case io.SeekCurrent:
		p = f.pos + offset
	case io.SeekEnd:
		p = f.Bytes + offset
	default:
		return 0, errors.New("record: bad whence")
	}
	if p < 0 {
		return 0, errors.New("record: negative position")
	}
	f.pos = p
	return p, nil
}

// Close releases the store reader.
func (f *SegmentFile) Close() error {
	if f.rc != nil {
		return f.rc.Close()
	}
	return nil
}
